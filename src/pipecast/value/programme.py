"""Public support programmes: expected outlay, its timing, and the cost per expected approval.

A programme pays, while it is valid, (1) a share of each stage's R&D cost, capped per stage (and in
total), when a candidate completes the stage (reaches the next one) or enters it, and (2) fixed rewards
on events such as approval. For every candidate the payment's probability of falling inside the
validity window comes from the forecast's timing model (`value.timing`); events dated in the window
before the as-of date count as due. Cost per expected approval = expected outlay / expected approvals,
both inside the window: a gross ratio (what the programme pays per approval it sees), not the cost of
an approval the programme caused, which would need a counterfactual.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pipecast.domain import PIPELINE_PHASES, Asset, Phase, PhaseEvent
from pipecast.engines.montecarlo import Entrants
from pipecast.errors import InputError
from pipecast.rates import RateSet
from pipecast.scenarios.levers import Scenario, apply
from pipecast.value.economics import Economics, check_discount_rate
from pipecast.value.rnpv import value_candidate
from pipecast.value.timing import DAYS_PER_YEAR, EventTiming, candidate_timeline, discount_factors

_STAGES = (Phase.PRECLINICAL, Phase.PHASE1, Phase.PHASE2, Phase.PHASE3)
_NEXT = {
    p: PIPELINE_PHASES[i + 1] if i + 1 < len(PIPELINE_PHASES) else Phase.APPROVED for i, p in enumerate(PIPELINE_PHASES)
}


@dataclass(frozen=True)
class StageSupport:
    """`share` of a stage's R&D cost, at most `caps[stage]` (millions), at most `cumulative_cap` in all."""

    share: float = 0.0
    caps: Mapping[str, float] = field(default_factory=dict)
    cumulative_cap: float = math.inf
    paid_on: str = "completion"  # or "entry"


@dataclass(frozen=True, slots=True)
class Reward:
    event: str  # a phase value or "approved"
    amount: float


@dataclass(frozen=True)
class Programme:
    name: str
    currency: str
    valid_from: dt.date
    valid_until: dt.date
    stage_support: StageSupport = field(default_factory=StageSupport)
    rewards: tuple[Reward, ...] = ()
    discount_rate: float = 0.0
    #: What an approval brings, when the user gives it: annual net sales (millions) and jobs.
    revenue_per_approval: float | None = None
    jobs_per_approval: float | None = None
    origin: str = ""

    def __post_init__(self) -> None:
        def bad(key: str, message: str, expected: str) -> InputError:
            return InputError(f"key {key}: {message}", file=self.origin, expected=expected)

        if not self.currency.strip():
            raise bad("currency", "missing", "a currency code such as CNY (amounts are in millions)")
        if self.valid_until < self.valid_from:
            raise bad("valid_until", f"{self.valid_until} is before valid_from {self.valid_from}", "a later date")
        support = self.stage_support
        if not 0 <= support.share <= 1:
            raise bad("rd_support.share", f"{support.share:g} is out of range", "a share of R&D cost from 0 to 1")
        if support.paid_on not in ("completion", "entry"):
            raise bad("rd_support.paid_on", f"unknown {support.paid_on!r}", "completion or entry")
        for stage, cap in support.caps.items():
            if stage not in {p.value for p in _STAGES}:
                raise bad(
                    f"rd_support.caps.{stage}", "not a stage with R&D support", "preclinical, phase1, phase2 or phase3"
                )
            if cap < 0:
                raise bad(f"rd_support.caps.{stage}", f"{cap:g} is negative", "a cap of 0 or more")
        if support.cumulative_cap < 0:
            raise bad("rd_support.cumulative_cap", "negative", "a cap of 0 or more")
        for i, reward in enumerate(self.rewards):
            if reward.amount < 0:
                raise bad(f"rewards[{i}].amount", f"{reward.amount:g} is negative", "an amount of 0 or more")
        for key, value in (("outcomes.revenue_per_approval", self.revenue_per_approval),
                           ("outcomes.jobs_per_approval", self.jobs_per_approval)):
            if value is not None and (not math.isfinite(value) or value < 0):
                raise bad(key, f"{value:g} is negative" if value < 0 else "not a number", "a number of 0 or more")
        check_discount_rate(self.discount_rate, self.origin)

    def stage_amounts(self, economics: Economics) -> dict[Phase, float]:
        """What one candidate can receive per stage: min(share * stage cost, cap), scaled to the total cap."""
        support = self.stage_support
        amounts = {
            p: min(support.share * economics.phase_cost(p.value), support.caps[p.value])
            for p in _STAGES
            if p.value in support.caps
        }
        total = sum(amounts.values())
        if total > support.cumulative_cap > 0:
            amounts = {p: a * support.cumulative_cap / total for p, a in amounts.items()}
        return amounts


@dataclass(frozen=True, slots=True)
class ProgrammeLine:
    asset_id: str
    name: str
    phase: str
    count: int
    expected_outlay: float  # per copy, inside the window (due to date + expected)
    due_to_date: float
    present_value: float
    expected_approvals: float  # per copy, inside the window
    rnpv: float
    yearly: tuple[float, ...]
    #: Expected number of such candidates: 1 for a known one, the expected arrivals for scenario entrants.
    weight: float = 1.0


@dataclass(frozen=True)
class ProgrammeValue:
    programme: Programme
    as_of: dt.date
    years: tuple[int, ...]
    lines: tuple[ProgrammeLine, ...]
    rnpv_currency: str

    scenario: str = ""

    def total(self, attribute: str) -> float:
        return float(sum(getattr(line, attribute) * line.count * line.weight for line in self.lines))

    def outcomes(self) -> dict[str, float | None]:
        """Revenue and jobs from the approvals expected in the window (when the programme file gives them),
        the cost per job, and the rNPV created per unit of public outlay (a gross ratio, not causal)."""
        approvals, outlay = self.total("expected_approvals"), self.total("expected_outlay")
        revenue = jobs = None
        if self.programme.revenue_per_approval is not None:
            revenue = approvals * self.programme.revenue_per_approval
        if self.programme.jobs_per_approval is not None:
            jobs = approvals * self.programme.jobs_per_approval
        return {
            "annual_revenue_from_approvals": revenue,
            "jobs_from_approvals": jobs,
            "cost_per_job": outlay / jobs if jobs else None,
            "rnpv_per_outlay": self.total("rnpv") / outlay if outlay > 0 else None,
        }

    @property
    def cost_per_expected_approval(self) -> float | None:
        approvals = self.total("expected_approvals")
        return self.total("expected_outlay") / approvals if approvals > 0 else None

    def as_dict(self) -> dict[str, object]:
        yearly = [sum(line.yearly[j] * line.count * line.weight for line in self.lines) for j in range(len(self.years))]
        return {
            "programme": self.programme.name,
            "scenario": self.scenario or "as is",
            "currency": self.programme.currency,
            "as_of": self.as_of.isoformat(),
            "valid_from": self.programme.valid_from.isoformat(),
            "valid_until": self.programme.valid_until.isoformat(),
            "expected_outlay": self.total("expected_outlay"),
            "due_to_date": self.total("due_to_date"),
            "present_value": self.total("present_value"),
            "expected_approvals": self.total("expected_approvals"),
            "cost_per_expected_approval": self.cost_per_expected_approval,
            "outlay_by_year": dict(zip((str(y) for y in self.years), yearly, strict=True)),
            "rnpv_created": self.total("rnpv"),
            "rnpv_currency": self.rnpv_currency,
            **self.outcomes(),
            "candidates": [
                {
                    "id": line.asset_id,
                    "name": line.name,
                    "phase": line.phase,
                    "count": line.count,
                    "expected_outlay": line.expected_outlay,
                    "due_to_date": line.due_to_date,
                    "expected_approvals": line.expected_approvals,
                    "rnpv": line.rnpv,
                    "expected_count": line.weight * line.count,
                }
                for line in self.lines
            ],
        }


def _in_window(timing: EventTiming, programme: Programme, as_of: dt.date) -> tuple[float, float, float]:
    """(P(in the window), of which due already (past), discounted expectation)."""
    start, end = programme.valid_from, programme.valid_until
    if timing.past_date is not None:
        hit = 1.0 if start <= timing.past_date <= end else 0.0
        return hit, hit, hit
    lo = max((start - as_of).days, 0)
    hi = min((end - as_of).days + 1, len(timing.pmf))
    if hi <= lo:
        return 0.0, 0.0, 0.0
    masses = timing.pmf[lo:hi]
    factors = discount_factors(programme.discount_rate, np.arange(lo, hi, dtype=float))
    return timing.probability * float(masses.sum()), 0.0, timing.probability * float(np.dot(masses, factors))


def _line(
    programme: Programme,
    asset: Asset,
    rates: RateSet,
    economics: Economics,
    seen_on: dt.date,
    *,
    entrant: bool = False,
) -> ProgrammeLine:
    """One candidate's expected outlay, approvals and rNPV inside the window, as seen on `seen_on`.

    An `entrant` arrives in its phase on `seen_on`: stages it passed before are not known to fall in the window
    (their events are not dated), so only what its arrival and later events trigger counts."""
    years = tuple(range(programme.valid_from.year, programme.valid_until.year + 1))
    timeline = candidate_timeline(asset, rates, seen_on)
    payments: list[tuple[float, EventTiming]] = []
    for stage, amount in programme.stage_amounts(economics).items():
        if timeline.skipped(stage):  # no R&D was done in a stage the candidate skipped: nothing to support
            continue
        trigger = _NEXT[stage] if programme.stage_support.paid_on == "completion" else stage
        if entrant and trigger.order < asset.phase.order:
            continue
        payments.append((amount, timeline.entries[trigger]))
    payments.extend((r.amount, timeline.entries[Phase(r.event)]) for r in programme.rewards)
    outlay = due = pv = 0.0
    yearly = np.zeros(len(years))
    for amount, timing in payments:
        hit, past, discounted = _in_window(timing, programme, seen_on)
        outlay += amount * hit
        due += amount * past
        pv += amount * discounted
        yearly += amount * np.array(_yearly_in_window(timing, programme, seen_on, years))
    approvals, _, _ = _in_window(timeline.approval, programme, seen_on)
    value = value_candidate(asset, rates, economics, seen_on, timeline)
    return ProgrammeLine(
        asset.id,
        asset.name,
        asset.phase.value,
        asset.count,
        outlay,
        due,
        pv,
        approvals,
        value.rnpv,
        tuple(float(x) for x in yearly),
    )


def entrant_slices(entrants: Entrants, as_of: dt.date, until: dt.date, months: int = 1) -> list[tuple[dt.date, float]]:
    """(arrival date, expected arrivals) for each slice of `months` months of a Poisson arrival stream,
    the arrivals of a slice placed at its midpoint; only arrivals on or before `until` count."""
    start, end = max(entrants.start, as_of), min(entrants.end, until)
    out: list[tuple[dt.date, float]] = []
    cursor = start
    while cursor <= end:
        month = cursor.month - 1 + months
        following = dt.date(cursor.year + month // 12, month % 12 + 1, 1)
        stop = min(following - dt.timedelta(days=1), end)
        days = (stop - cursor).days + 1
        out.append((cursor + dt.timedelta(days=days // 2), entrants.per_year * days / DAYS_PER_YEAR))
        cursor = stop + dt.timedelta(days=1)
    return out


def _entrant_lines(
    programme: Programme,
    entrants: Entrants,
    index: int,
    rates: RateSet,
    economics_for: Callable[[Asset], Economics],
    as_of: dt.date,
) -> list[ProgrammeLine]:
    """Scenario entrants as fractional candidates: each month's expected arrivals, seen from the day they
    arrive (a fresh start in their phase), then discounted back to `as_of`. None is due to date."""
    lines = []
    for arrival, expected in entrant_slices(entrants, as_of, programme.valid_until):
        asset = Asset(
            id=f"entrant:{index}:{entrants.phase.value}:{arrival.isoformat()}",
            name=entrants.label or f"new {entrants.phase.value} entrant",
            history=(PhaseEvent(entrants.phase, arrival),),
            therapeutic_area=entrants.therapeutic_area,
            modality=entrants.modality,
        )
        economics = economics_for(asset)
        line = _line(programme, asset, rates, economics, arrival, entrant=True)
        days = np.array([(arrival - as_of).days], dtype=float)
        to_now = float(discount_factors(programme.discount_rate, days)[0])
        rnpv_to_now = float(discount_factors(economics.discount_rate, days)[0])
        lines.append(
            dataclasses.replace(
                line, due_to_date=0.0, present_value=line.present_value * to_now, rnpv=line.rnpv * rnpv_to_now,
                weight=expected,
            )
        )
    return lines


def evaluate_programme(
    programme: Programme,
    assets: Sequence[Asset],
    rates: RateSet,
    economics_for: Callable[[Asset], Economics],
    as_of: dt.date,
    entrants: Sequence[Entrants] = (),
    scenario: str = "",
) -> ProgrammeValue:
    """Expected outlay per candidate and year inside the window, expected approvals, and the cost per approval.

    `economics_for(asset)` gives the candidate's economics in the programme's currency (stage R&D costs for
    the share rule; its rNPV is reported as the value created). `entrants` (a scenario's new candidates,
    arriving as Poisson streams) count by their expected number: their expectations are linear in it."""
    years = tuple(range(programme.valid_from.year, programme.valid_until.year + 1))
    lines = [_line(programme, asset, rates, economics_for(asset), as_of) for asset in assets]
    for index, stream in enumerate(entrants):
        lines.extend(_entrant_lines(programme, stream, index, rates, economics_for, as_of))
    currency = economics_for(assets[0]).currency if assets else programme.currency
    return ProgrammeValue(programme, as_of, years, tuple(lines), currency, scenario)


def evaluate_under_scenario(
    programme: Programme,
    scenario: Scenario,
    assets: Sequence[Asset],
    rates: RateSet,
    economics_for: Callable[[Asset], Economics],
    as_of: dt.date,
) -> ProgrammeValue:
    """The programme under a scenario's levers (`pipecast.scenarios.apply`: candidates discontinued,
    accelerated or in-licensed, review times, success multipliers, the scenario's rate set, new entrants).
    Correlation settings change the spread of outcomes, not these expectations, so they are not used."""
    portfolio, rate_set, streams, _ = apply(scenario, assets, rates, as_of, programme.valid_until.year)
    return evaluate_programme(
        programme, portfolio.assets, rate_set, economics_for, portfolio.as_of, streams, scenario.name
    )


def _yearly_in_window(timing: EventTiming, programme: Programme, as_of: dt.date, years: Sequence[int]) -> list[float]:
    out = []
    for year in years:
        start = max(dt.date(year, 1, 1), programme.valid_from)
        end = min(dt.date(year, 12, 31), programme.valid_until)
        out.append(timing.probability_between(as_of, start, end) if start <= end else 0.0)
    return out
