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

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pipecast.domain import PIPELINE_PHASES, Asset, Phase
from pipecast.errors import InputError
from pipecast.rates import RateSet
from pipecast.value.economics import Economics, check_discount_rate
from pipecast.value.rnpv import value_candidate
from pipecast.value.timing import EventTiming, candidate_timeline, discount_factors

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


@dataclass(frozen=True)
class ProgrammeValue:
    programme: Programme
    as_of: dt.date
    years: tuple[int, ...]
    lines: tuple[ProgrammeLine, ...]
    rnpv_currency: str

    def total(self, attribute: str) -> float:
        return float(sum(getattr(line, attribute) * line.count for line in self.lines))

    @property
    def cost_per_expected_approval(self) -> float | None:
        approvals = self.total("expected_approvals")
        return self.total("expected_outlay") / approvals if approvals > 0 else None

    def as_dict(self) -> dict[str, object]:
        yearly = [sum(line.yearly[j] * line.count for line in self.lines) for j in range(len(self.years))]
        return {
            "programme": self.programme.name,
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


def evaluate_programme(
    programme: Programme,
    assets: Sequence[Asset],
    rates: RateSet,
    economics_for: Callable[[Asset], Economics],
    as_of: dt.date,
) -> ProgrammeValue:
    """Expected outlay per candidate and year inside the window, expected approvals, and the cost per approval.

    `economics_for(asset)` gives the candidate's economics in the programme's currency (stage R&D costs for
    the share rule; its rNPV is reported as the value created)."""
    years = tuple(range(programme.valid_from.year, programme.valid_until.year + 1))
    lines: list[ProgrammeLine] = []
    for asset in assets:
        economics = economics_for(asset)
        timeline = candidate_timeline(asset, rates, as_of)
        payments: list[tuple[float, EventTiming]] = []
        for stage, amount in programme.stage_amounts(economics).items():
            if timeline.skipped(stage):  # no R&D was done in a stage the candidate skipped: nothing to support
                continue
            trigger = _NEXT[stage] if programme.stage_support.paid_on == "completion" else stage
            payments.append((amount, timeline.entries[trigger]))
        payments.extend((r.amount, timeline.entries[Phase(r.event)]) for r in programme.rewards)
        outlay = due = pv = 0.0
        yearly = np.zeros(len(years))
        for amount, timing in payments:
            hit, past, discounted = _in_window(timing, programme, as_of)
            outlay += amount * hit
            due += amount * past
            pv += amount * discounted
            yearly += amount * np.array(_yearly_in_window(timing, programme, as_of, years))
        approvals, _, _ = _in_window(timeline.approval, programme, as_of)
        value = value_candidate(asset, rates, economics, as_of, timeline)
        lines.append(
            ProgrammeLine(
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
        )
    currency = economics_for(assets[0]).currency if assets else programme.currency
    return ProgrammeValue(programme, as_of, years, tuple(lines), currency)


def _yearly_in_window(timing: EventTiming, programme: Programme, as_of: dt.date, years: Sequence[int]) -> list[float]:
    out = []
    for year in years:
        start = max(dt.date(year, 1, 1), programme.valid_from)
        end = min(dt.date(year, 12, 31), programme.valid_until)
        out.append(timing.probability_between(as_of, start, end) if start <= end else 0.0)
    return out
