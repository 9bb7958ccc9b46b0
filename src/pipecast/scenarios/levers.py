"""Scenarios: what changes relative to the pipeline and rate set as they are (pure; the YAML file is
read by `pipecast.loading.scenarios`, which also loads the rate set a scenario names).

    name: fast-review
    description: NMPA priority review for every filing
    as_of: 2025-11-01            # optional: another date to see the pipeline from
    rates: china                 # optional: bundled name or a RATES.csv path (relative to this file)
    target: 2027-2030:1-3        # optional: the target this scenario is judged against
    levers:
      review_time:               # per phase: multiplier, working_days (250 a year) or months (median)
        filed: {working_days: 130}
      success_multiplier:        # multiplies each remaining phase's success probability (capped at 1)
        all: 1.0
        therapeutic_area: {Oncology: 1.1}
        modality: {cell therapy: 0.9}
      new_entrants:              # funding programme: Poisson arrivals, uniform over the window
        - {phase: phase2, per_year: 4, from: 2026-01-01, until: 2028-12-31,
           therapeutic_area: Oncology, modality: small molecule}
      in_licensed:               # named candidates that join the pipeline
        - {id: lic-1, name: Licensed mAb, phase: phase3, date: 2025-06-01, sponsor: X}
      discontinue: [ex-3]        # named candidates that stop
      accelerate: {ex-2: 6}      # named candidates whose current phase started N months earlier
    correlation:
      rho: {sponsor: 0.2, therapeutic_area: 0.1}
      review_sigma: 0.2
      sponsor_stop: 0.02

Every key is checked: an unknown lever, a value out of range or an unknown candidate id is one
InputError naming the file, the key and the expected form.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from pipecast.domain import PIPELINE_PHASES, Asset, Phase, PhaseEvent, Portfolio, parse_phase
from pipecast.engines.montecarlo import GROUP_KINDS, Correlation, Entrants
from pipecast.errors import InputError, PipecastError, UnknownPhaseError
from pipecast.rates import DAYS_PER_MONTH, Duration, RateRow, RateSet
from pipecast.targets import TARGET_FORM, Target, parse_target

#: Working days a year, to turn NMPA review clocks (working days) into months.
WORKING_DAYS_PER_YEAR = 250
TOP_KEYS = ("name", "description", "as_of", "rates", "target", "levers", "correlation")
LEVERS = ("review_time", "success_multiplier", "new_entrants", "in_licensed", "discontinue", "accelerate")
PHASE_FORM = "one of " + ", ".join(p.value for p in PIPELINE_PHASES)


@dataclass(frozen=True)
class ReviewTime:
    phase: Phase
    multiplier: float | None = None
    months: float | None = None  # new median; the 90th percentile keeps each row's ratio to the median


@dataclass(frozen=True)
class EntrantSpec:
    phase: Phase
    per_year: float
    start: dt.date | None = None  # default: the as-of date
    end: dt.date | None = None  # default: end of the last forecast year
    therapeutic_area: str = ""
    modality: str = ""

    def resolve(self, as_of: dt.date, last_year: int) -> Entrants:
        return Entrants(
            self.phase,
            self.per_year,
            max(self.start or as_of, as_of),
            self.end or dt.date(last_year, 12, 31),
            self.therapeutic_area,
            self.modality,
        )


@dataclass(frozen=True)
class Scenario:
    name: str
    file: str = ""
    description: str = ""
    as_of: dt.date | None = None
    rates: str | None = None  # the rate set the file names (bundled name or path), as written
    rate_set: RateSet | None = None  # that rate set, loaded by the shell (pipecast.loading.scenarios)
    target: Target | None = None
    review: tuple[ReviewTime, ...] = ()
    success_all: float = 1.0
    success_area: dict[str, float] = field(default_factory=dict)
    success_modality: dict[str, float] = field(default_factory=dict)
    entrants: tuple[EntrantSpec, ...] = ()
    in_licensed: tuple[Asset, ...] = ()
    discontinue: tuple[str, ...] = ()
    accelerate: dict[str, float] = field(default_factory=dict)
    correlation: Correlation | None = None

    def with_entrant_rate(self, phase: Phase, per_year: float) -> Scenario:
        """The same scenario with the programme at `phase` running at `per_year` (added if absent)."""
        specs = list(self.entrants)
        for k, spec in enumerate(specs):
            if spec.phase is phase:
                specs[k] = dataclasses.replace(spec, per_year=per_year)
                break
        else:
            specs.append(EntrantSpec(phase, per_year))
        return dataclasses.replace(self, entrants=tuple(specs))

    def with_success_all(self, factor: float) -> Scenario:
        return dataclasses.replace(self, success_all=factor)


class _Reader:
    """Checks values and raises InputError naming the file and the key path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, message: str, expected: str) -> InputError:
        return InputError(message, file=self.file, field=key, expected=expected)

    def mapping(self, value: Any, key: str) -> dict[Any, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"{key} is {type(value).__name__}", "a mapping of names to values")
        return value

    def keys(self, data: dict[Any, Any], allowed: Sequence[str], key: str) -> None:
        for name in data:
            if name not in allowed:
                where = f"{key}.{name}" if key else str(name)
                raise self.fail(where, f"unknown key {name!r}", "one of " + ", ".join(allowed))

    def number(self, value: Any, key: str, low: float, high: float, expected: str, *, open_low: bool = False) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"{value!r} is not a number", expected)
        number = float(value)
        if not math.isfinite(number) or number < low or number > high or (open_low and number <= low):
            raise self.fail(key, f"{value!r} is out of range", expected)
        return number

    def multiplier(self, value: Any, key: str) -> float:
        return self.number(value, key, 0.0, 1e6, "a multiplier greater than 0", open_low=True)

    def date(self, value: Any, key: str) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            raise self.fail(key, f"cannot read date {value!r}", "an ISO date such as 2026-01-01") from None

    def phase(self, value: Any, key: str, *, active: bool = True) -> Phase:
        try:
            phase = parse_phase(str(value))
        except UnknownPhaseError:
            raise self.fail(key, f"unknown phase {value!r}", PHASE_FORM) from None
        if active and not phase.is_active:
            raise self.fail(key, f"phase {phase.value} is not a development stage", PHASE_FORM)
        return phase

    def text(self, value: Any, key: str) -> str:
        if value is None:
            return ""
        if not isinstance(value, str | int | float):
            raise self.fail(key, f"{value!r} is not text", "a string")
        return str(value)


def parse_scenario(raw: Any, *, file: str = "<scenario>") -> Scenario:
    """A validated Scenario from plain data (a YAML document's mapping)."""
    reader = _Reader(file)
    data = reader.mapping(raw, "(top level)")
    reader.keys(data, TOP_KEYS, "")
    name = reader.text(data.get("name"), "name") or PurePath(file).stem
    as_of = reader.date(data["as_of"], "as_of") if data.get("as_of") is not None else None
    rates = None
    if data.get("rates") is not None:
        rates = reader.text(data["rates"], "rates")
    target = None
    if data.get("target") is not None:
        try:
            target = parse_target(str(data["target"]), source=file)
        except PipecastError:
            raise reader.fail("target", f"cannot read target {data['target']!r}", TARGET_FORM) from None
    levers = reader.mapping(data.get("levers"), "levers")
    reader.keys(levers, LEVERS, "levers")
    review = _review(reader, levers.get("review_time"))
    success = reader.mapping(levers.get("success_multiplier"), "levers.success_multiplier")
    reader.keys(success, ("all", "therapeutic_area", "modality"), "levers.success_multiplier")
    success_all = 1.0
    if "all" in success:
        success_all = reader.multiplier(success["all"], "levers.success_multiplier.all")
    factors: dict[str, dict[str, float]] = {}
    for kind in ("therapeutic_area", "modality"):
        key = f"levers.success_multiplier.{kind}"
        factors[kind] = {
            str(k): reader.multiplier(v, f"{key}.{k}") for k, v in reader.mapping(success.get(kind), key).items()
        }
    by_area, by_modality = factors["therapeutic_area"], factors["modality"]
    entrants = _entrants(reader, levers.get("new_entrants"))
    licensed = _in_licensed(reader, levers.get("in_licensed"))
    discontinue = levers.get("discontinue") or []
    if not isinstance(discontinue, list) or not all(isinstance(x, str | int) for x in discontinue):
        raise reader.fail("levers.discontinue", f"{discontinue!r}", "a list of candidate ids")
    accelerate = {
        str(k): reader.number(v, f"levers.accelerate.{k}", 0.0, 600.0, "months between 0 and 600", open_low=True)
        for k, v in reader.mapping(levers.get("accelerate"), "levers.accelerate").items()
    }
    correlation = _correlation(reader, data.get("correlation"))
    return Scenario(
        name=name,
        file=file,
        description=reader.text(data.get("description"), "description"),
        as_of=as_of,
        rates=rates,
        target=target,
        review=review,
        success_all=success_all,
        success_area=by_area,
        success_modality=by_modality,
        entrants=entrants,
        in_licensed=licensed,
        discontinue=tuple(str(x) for x in discontinue),
        accelerate=accelerate,
        correlation=correlation,
    )


def _review(reader: _Reader, value: Any) -> tuple[ReviewTime, ...]:
    out = []
    for phase_name, spec in reader.mapping(value, "levers.review_time").items():
        key = f"levers.review_time.{phase_name}"
        phase = reader.phase(phase_name, key)
        form = "{multiplier: X} with X > 0, {working_days: N} or {months: M} with N, M > 0"
        if isinstance(spec, int | float) and not isinstance(spec, bool):
            spec = {"multiplier": spec}
        spec = reader.mapping(spec, key)
        reader.keys(spec, ("multiplier", "working_days", "months"), key)
        if len(spec) != 1:
            raise reader.fail(key, "give exactly one of multiplier, working_days, months", form)
        (kind, amount), = spec.items()
        number = reader.number(amount, f"{key}.{kind}", 0.0, 1e5, form, open_low=True)
        if kind == "multiplier":
            out.append(ReviewTime(phase, multiplier=number))
        elif kind == "working_days":
            out.append(ReviewTime(phase, months=number / WORKING_DAYS_PER_YEAR * 12))
        else:
            out.append(ReviewTime(phase, months=number))
    return tuple(out)


def _entrants(reader: _Reader, value: Any) -> tuple[EntrantSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise reader.fail("levers.new_entrants", f"{value!r}", "a list of {phase, per_year[, from, until]}")
    out = []
    for k, item in enumerate(value):
        key = f"levers.new_entrants[{k}]"
        item = reader.mapping(item, key)
        reader.keys(item, ("phase", "per_year", "from", "until", "therapeutic_area", "modality"), key)
        if "phase" not in item or "per_year" not in item:
            raise reader.fail(key, "needs phase and per_year", "{phase: phase2, per_year: 4}")
        start = reader.date(item["from"], f"{key}.from") if item.get("from") is not None else None
        end = reader.date(item["until"], f"{key}.until") if item.get("until") is not None else None
        if start and end and end < start:
            raise reader.fail(f"{key}.until", "entry window ends before it starts", "a date after 'from'")
        out.append(
            EntrantSpec(
                reader.phase(item["phase"], f"{key}.phase"),
                reader.number(item["per_year"], f"{key}.per_year", 0.0, 1e6, "a non-negative rate a year"),
                start,
                end,
                reader.text(item.get("therapeutic_area"), f"{key}.therapeutic_area"),
                reader.text(item.get("modality"), f"{key}.modality"),
            )
        )
    return tuple(out)


def _in_licensed(reader: _Reader, value: Any) -> tuple[Asset, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise reader.fail("levers.in_licensed", f"{value!r}", "a list of {id, name, phase, date}")
    fields = ("id", "name", "phase", "date", "sponsor", "therapeutic_area", "modality", "target", "count")
    out = []
    for k, item in enumerate(value):
        key = f"levers.in_licensed[{k}]"
        item = reader.mapping(item, key)
        reader.keys(item, fields, key)
        for need in ("id", "phase", "date"):
            if need not in item:
                raise reader.fail(f"{key}.{need}", f"missing {need}", "{id: lic-1, phase: phase3, date: 2025-06-01}")
        phase = reader.phase(item["phase"], f"{key}.phase", active=False)
        count = int(reader.number(item.get("count", 1), f"{key}.count", 1, 1e6, "a positive integer"))
        out.append(
            Asset(
                id=reader.text(item["id"], f"{key}.id"),
                name=reader.text(item.get("name"), f"{key}.name") or reader.text(item["id"], f"{key}.id"),
                history=(PhaseEvent(phase, reader.date(item["date"], f"{key}.date")),),
                sponsor=reader.text(item.get("sponsor"), f"{key}.sponsor"),
                therapeutic_area=reader.text(item.get("therapeutic_area"), f"{key}.therapeutic_area"),
                modality=reader.text(item.get("modality"), f"{key}.modality"),
                target=reader.text(item.get("target"), f"{key}.target"),
                count=count,
                note="in-licensed (scenario)",
            )
        )
    return tuple(out)


def _correlation(reader: _Reader, value: Any) -> Correlation | None:
    if value is None:
        return None
    data = reader.mapping(value, "correlation")
    reader.keys(data, ("rho", "review_sigma", "review_levels", "sponsor_stop"), "correlation")
    rho = {}
    for kind, amount in reader.mapping(data.get("rho"), "correlation.rho").items():
        if kind not in GROUP_KINDS:
            raise reader.fail(f"correlation.rho.{kind}", f"unknown group {kind!r}", "one of " + ", ".join(GROUP_KINDS))
        rho[str(kind)] = reader.number(amount, f"correlation.rho.{kind}", 0.0, 1.0, "a correlation between 0 and 1")
    if sum(rho.values()) > 1:
        raise reader.fail("correlation.rho", "correlations add up to more than 1", "rho values summing to at most 1")
    return Correlation(
        rho=rho,
        review_sigma=reader.number(data.get("review_sigma", 0.0), "correlation.review_sigma", 0.0, 5.0, "a number 0-5"),
        review_levels=int(
            reader.number(data.get("review_levels", 16), "correlation.review_levels", 1, 1024, "an integer 1-1024")
        ),
        sponsor_stop=reader.number(
            data.get("sponsor_stop", 0.0), "correlation.sponsor_stop", 0.0, 1.0, "a probability between 0 and 1"
        ),
    )


def scenario_rates(scenario: Scenario, default: RateSet) -> RateSet:
    """The rate set the scenario runs on: its own (loaded by the shell) or the default."""
    if scenario.rate_set is not None:
        return scenario.rate_set
    if scenario.rates is not None:
        raise InputError(
            f"scenario names rate set {scenario.rates!r} but it was not loaded",
            file=scenario.file,
            field="rates",
            expected="a scenario read with pipecast.loading.scenarios.load_scenario",
        )
    return default


def apply_assets(scenario: Scenario, assets: Sequence[Asset], as_of: dt.date) -> list[Asset]:
    """The candidate list with the scenario's candidate levers; positions of existing ones are kept."""
    by_id = {a.id: k for k, a in enumerate(assets)}
    out = list(assets)
    for key, ids in (("levers.discontinue", scenario.discontinue), ("levers.accelerate", tuple(scenario.accelerate))):
        for asset_id in ids:
            if asset_id not in by_id:
                raise InputError(
                    f"unknown candidate id {asset_id!r}",
                    file=scenario.file,
                    field=key,
                    expected="ids of candidates in the portfolio",
                )
    for asset_id in scenario.discontinue:
        k = by_id[asset_id]
        out[k] = dataclasses.replace(out[k], history=(*out[k].history, PhaseEvent(Phase.DISCONTINUED, as_of)))
    for asset_id, months in scenario.accelerate.items():
        k = by_id[asset_id]
        asset = out[k]
        current = asset.current
        earlier = current.date - dt.timedelta(days=round(months * DAYS_PER_MONTH))
        moved = dataclasses.replace(current, date=earlier, recorded=min(current.known_on, as_of))
        out[k] = dataclasses.replace(asset, history=(*asset.history[:-1], moved))
    for asset in scenario.in_licensed:
        if asset.id in by_id:
            raise InputError(
                f"in-licensed id {asset.id!r} is already in the portfolio",
                file=scenario.file,
                field="levers.in_licensed",
                expected="a new, unique id",
            )
        out.append(asset)
    return out


def apply_rates(scenario: Scenario, rates: RateSet, combos: Sequence[tuple[str, str]]) -> RateSet:
    """Review times by phase, then success multipliers per candidate (area, modality) combination."""
    rows = list(rates.rows)
    for review in scenario.review:
        for k, row in enumerate(rows):
            if row.phase is not review.phase:
                continue
            if review.multiplier is not None:
                duration = row.duration.scaled(review.multiplier)
            else:
                assert review.months is not None
                ratio = row.duration.p90_months / row.duration.median_months
                duration = Duration(review.months, review.months * ratio)
            rows[k] = dataclasses.replace(row, duration=duration)
    if scenario.success_all != 1.0:
        rows = [dataclasses.replace(r, p_success=min(1.0, r.p_success * scenario.success_all)) for r in rows]
    name = rates.name if not scenario.review else f"{rates.name}+{scenario.name}"
    adjusted = RateSet(name, tuple(rows), rates.origin)
    if not scenario.success_area and not scenario.success_modality:
        return adjusted
    area_factor = {_fold(k): v for k, v in scenario.success_area.items()}
    modality_factor = {_fold(k): v for k, v in scenario.success_modality.items()}
    extra: dict[tuple[Phase, str, str], RateRow] = {}
    for area, modality in set(combos):
        factor = area_factor.get(_fold(area), 1.0) * modality_factor.get(_fold(modality), 1.0)
        if factor == 1.0:
            continue
        for phase in PIPELINE_PHASES:
            row = adjusted.row(phase, area, modality)
            extra[(phase, _fold(area), _fold(modality))] = RateRow(
                phase,
                min(1.0, row.p_success * factor),
                row.duration,
                area,
                modality,
                row.source,
                f"{row.note} [scenario {scenario.name}: success x{factor:g}]".strip(),
            )
    kept = [r for r in adjusted.rows if (r.phase, _fold(r.therapeutic_area), _fold(r.modality)) not in extra]
    return RateSet(f"{rates.name}+{scenario.name}", (*kept, *extra.values()), rates.origin)


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def apply(
    scenario: Scenario,
    assets: Sequence[Asset],
    rates: RateSet,
    as_of: dt.date,
    last_year: int,
) -> tuple[Portfolio, RateSet, list[Entrants], Correlation | None]:
    """Everything `simulate` needs for this scenario."""
    when = scenario.as_of or as_of
    changed = apply_assets(scenario, assets, when)
    portfolio = Portfolio.of(changed, when, label=scenario.name)
    combos = [(a.therapeutic_area, a.modality) for a in portfolio.assets]
    combos += [(e.therapeutic_area, e.modality) for e in scenario.entrants]
    rate_set = apply_rates(scenario, scenario_rates(scenario, rates), combos)
    entrants = [spec.resolve(when, last_year) for spec in scenario.entrants]
    return portfolio, rate_set, entrants, scenario.correlation
