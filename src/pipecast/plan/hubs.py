"""Hubs side by side from their published counts (pure): cohort pipelines, funnels, exact approval forecasts.

A hub's pipeline is built from the counts it publishes, never from named candidates, so that every hub is
treated alike (Chongqing's named candidates are in `pipecast plan`). Only stock counts build cohorts:
in development, in clinic, phase 3 and filed; flows (trial approvals in a year, approvals) are context.

Phase split rule (one rule for every hub, the same as the bundled Chongqing cohorts'):
* "in clinic" includes filed candidates (the way Chongqing counts): a published filed count is taken out
  first, then a published phase 3 count, and the rest is split between phase 1 and phase 2 as 380 : 340;
  with no phase 3 count the rest is split phase 1 : phase 2 : phase 3 as 380 : 340 : 222 (the China
  drug-trial registry CTR2013-CTR2018, trials ongoing in 2018-08 with a phase in the title), by largest
  remainder so the parts add up to the published count;
* preclinical = in development - in clinic, when both are published;
* a stage count published without an "in clinic" total is used as it stands (the pipeline is then a lower
  bound: its other stages are unknown);
* each cohort's phase start is the count's date minus half the phase's median duration in the rate set;
  a cohort is known from the count's date (no look-ahead).
A cohort is `count` identical, independent candidates: the exact engine takes it as one row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipecast.domain import Asset, Phase, PhaseEvent, Portfolio, Source
from pipecast.engines.exact import forecast_portfolio
from pipecast.engines.result import Forecast
from pipecast.plan.kpi import Citation
from pipecast.plan.regions import Region
from pipecast.rates import DAYS_PER_MONTH, RateSet

STOCK_METRICS = ("in_development", "in_clinic", "phase3", "filed")
CONTEXT_METRICS = ("approvals_year", "approvals_ytd", "approvals_cumulative", "enterprises", "population",
                   "listed_companies", "ind_approvals")
HUB_METRICS = STOCK_METRICS + CONTEXT_METRICS
#: Registry phase mix of ongoing trials (CTR2013-CTR2018): phase 1, phase 2, phase 3.
REGISTRY_MIX: dict[Phase, int] = {Phase.PHASE1: 380, Phase.PHASE2: 340, Phase.PHASE3: 222}
FUNNEL_PHASES = (Phase.PRECLINICAL, Phase.PHASE1, Phase.PHASE2, Phase.PHASE3, Phase.FILED)


@dataclass(frozen=True, slots=True)
class HubFigure:
    region: str
    metric: str
    value: float
    unit: str
    date: dt.date
    citation: Citation
    qualifier: str = ""  # as printed: ">" (over), "+" (and more), "~" (about)
    period: str = ""
    definition: str = ""
    confidence: str = ""
    comparability: str = ""
    use: bool = True  # False: shown for context, not used to build the pipeline

    @property
    def shown(self) -> str:
        text = f"{self.value:g}"
        if self.qualifier == "+":
            return text + "+"
        return f"{self.qualifier}{text}"


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Whole parts of `total` in proportion to `weights` that add up to `total` (largest remainders first)."""
    if total <= 0:
        return [0] * len(weights)
    whole = sum(weights)
    shares = [total * w / whole for w in weights]
    parts = [int(s) for s in shares]
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - parts[i]), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def split_clinic(in_clinic: int, phase3: int | None = None, filed: int | None = None) -> dict[Phase, int]:
    """The phase split rule for an "in clinic" count (see the module's docstring)."""
    rest = max(in_clinic - (filed or 0), 0)
    out = {Phase.FILED: min(filed or 0, in_clinic)}
    if phase3 is not None:
        out[Phase.PHASE3] = min(phase3, rest)
        rest -= out[Phase.PHASE3]
        p1, p2 = largest_remainder(rest, [REGISTRY_MIX[Phase.PHASE1], REGISTRY_MIX[Phase.PHASE2]])
    else:
        p1, p2, p3 = largest_remainder(rest, [REGISTRY_MIX[p] for p in (Phase.PHASE1, Phase.PHASE2, Phase.PHASE3)])
        out[Phase.PHASE3] = p3
    out[Phase.PHASE1], out[Phase.PHASE2] = p1, p2
    return out


@dataclass
class HubPipeline:
    region: Region
    stages: dict[Phase, int]
    cohorts: list[Asset]
    used: list[HubFigure]
    rules: list[str]

    @property
    def total(self) -> int:
        return sum(self.stages.values())


def latest(figures: Sequence[HubFigure], region: str, metric: str, as_of: dt.date,
           *, usable: bool = True) -> HubFigure | None:
    found = [f for f in figures if f.region == region and f.metric == metric and f.date <= as_of
             and (f.use or not usable)]
    return max(found, key=lambda f: f.date) if found else None


def hub_pipeline(region: Region, figures: Sequence[HubFigure], rates: RateSet, as_of: dt.date) -> HubPipeline:
    """The cohort pipeline of one hub from its latest published stock counts on or before `as_of`."""
    got = {m: latest(figures, region.id, m, as_of) for m in STOCK_METRICS}
    clinic, p3, filed, dev = got["in_clinic"], got["phase3"], got["filed"], got["in_development"]
    stages: dict[Phase, int] = {}
    origin: dict[Phase, HubFigure] = {}
    rules: list[str] = []
    if clinic is not None:
        split = split_clinic(int(clinic.value), int(p3.value) if p3 else None, int(filed.value) if filed else None)
        for phase, n in split.items():
            stages[phase] = n
            origin[phase] = {Phase.PHASE3: p3, Phase.FILED: filed}.get(phase) or clinic
        rules.append("in clinic " + clinic.shown + (f" less phase 3 {p3.shown}" if p3 else "")
                     + (f" less filed {filed.shown}" if filed else "")
                     + (" split phase 1 : phase 2 as 380 : 340" if p3 else " split 380 : 340 : 222"))
    else:
        for phase, fig in ((Phase.PHASE3, p3), (Phase.FILED, filed)):
            if fig is not None:
                stages[phase], origin[phase] = int(fig.value), fig
                rules.append(f"{phase.value} {fig.shown} as published (no in-clinic total: a lower bound)")
    if dev is not None and clinic is not None and dev.value >= clinic.value:
        stages[Phase.PRECLINICAL] = int(dev.value - clinic.value)
        origin[Phase.PRECLINICAL] = dev if dev.date >= clinic.date else clinic
        rules.append(f"preclinical = in development {dev.shown} - in clinic {clinic.shown}")
    cohorts = [_cohort(region, phase, n, origin[phase], rates) for phase, n in stages.items() if n > 0]
    used = [f for f in got.values() if f is not None]
    return HubPipeline(region, {p: stages.get(p, 0) for p in FUNNEL_PHASES}, cohorts, used, rules)


def _cohort(region: Region, phase: Phase, count: int, figure: HubFigure, rates: RateSet) -> Asset:
    half = round(rates.row(phase).duration.median_months * DAYS_PER_MONTH / 2)
    start = figure.date - dt.timedelta(days=half)
    source = Source(figure.citation.title, figure.citation.url, figure.citation.date)
    event = PhaseEvent(phase, start, source, recorded=figure.date)
    return Asset(f"cohort:hub:{region.id}:{phase.value}", f"{region.name} {phase.value} (published count)",
                 (event,), count=count, jurisdiction="CN",
                 note=f"{figure.metric} {figure.shown} on {figure.date}; phase start = count date - {half} days")


@dataclass
class HubComparison:
    region: Region
    pipeline: HubPipeline
    forecast: Forecast | None
    years: list[int]
    published: list[HubFigure]
    firms: HubFigure | None
    population: HubFigure | None
    coverage: str
    extra: dict[str, Any] = field(default_factory=dict)

    def expected(self, year: int) -> float | None:
        return None if self.forecast is None else self.forecast.outlook(year).expected

    def p_at_least_one(self, year: int) -> float | None:
        return None if self.forecast is None else self.forecast.outlook(year).p_between(1, None)

    @property
    def expected_total(self) -> float | None:
        if self.forecast is None:
            return None
        return float(sum(self.forecast.outlook(y).expected for y in self.years))

    def per_100_firms(self, value: float | None) -> float | None:
        if value is None or self.firms is None or self.firms.value <= 0:
            return None
        return 100.0 * value / self.firms.value

    def per_million_people(self, value: float | None) -> float | None:
        if value is None or self.population is None or self.population.value <= 0:
            return None
        return value / (self.population.value / 1e6)

    def as_dict(self) -> dict[str, Any]:
        clinic = sum(self.pipeline.stages[p] for p in FUNNEL_PHASES if p is not Phase.PRECLINICAL)
        return {
            "region": self.region.id, "name": self.region.name, "kind": self.region.kind,
            "parent": self.region.parent,
            "funnel": {p.value: self.pipeline.stages[p] for p in FUNNEL_PHASES},
            "in_clinic": clinic, "rules": self.pipeline.rules,
            "counts_used": [_figure(f) for f in self.pipeline.used],
            "forecast": None if self.forecast is None else {
                str(y): {"expected": self.expected(y), "p_at_least_1": self.p_at_least_one(y),
                         "q05": self.forecast.outlook(y).quantile(0.05),
                         "q95": self.forecast.outlook(y).quantile(0.95)} for y in self.years},
            "expected_total": self.expected_total,
            "published_approvals": [_figure(f) for f in self.published],
            "firms": _figure(self.firms) if self.firms else None,
            "in_clinic_per_100_firms": self.per_100_firms(clinic if clinic else None),
            "expected_per_100_firms": self.per_100_firms(self.expected_total),
            "population": _figure(self.population) if self.population else None,
            "expected_per_million_people": self.per_million_people(self.expected_total),
            "coverage": self.coverage,
        }


def _figure(f: HubFigure) -> dict[str, Any]:
    return {"metric": f.metric, "value": f.value, "shown": f.shown, "unit": f.unit, "date": f.date.isoformat(),
            "period": f.period, "definition": f.definition, "confidence": f.confidence,
            "comparability": f.comparability, "source_url": f.citation.url, "source_title": f.citation.title,
            "published": f.citation.date.isoformat() if f.citation.date else None, "quote": f.citation.quote}


def coverage_note(region: Region, pipeline: HubPipeline, figures: Sequence[HubFigure], as_of: dt.date) -> str:
    """Which stages are published (with dates), which are missing, and what limits comparison."""
    have = {f.metric: f for f in pipeline.used}
    parts = [f"{m.replace('_', ' ')} {f.shown} ({f.date})" for m, f in have.items()]
    missing = [m.replace("_", " ") for m in STOCK_METRICS if m not in have]
    text = ("stages published: " + "; ".join(parts)) if parts else "no stage count published: no forecast"
    if parts and missing:
        text += "; not published: " + ", ".join(missing)
    notes = [f.comparability for f in pipeline.used if f.comparability]
    if notes:
        text += ". " + " ".join(dict.fromkeys(notes))
    if region.note:
        text += ". " + region.note
    return text


def compare_hubs(
    regions: Sequence[Region], figures: Sequence[HubFigure], rates: RateSet, as_of: dt.date, years: Sequence[int]
) -> list[HubComparison]:
    """Each region's funnel and exact approval forecast for `years` from the same rate set."""
    out = []
    for region in regions:
        pipeline = hub_pipeline(region, figures, rates, as_of)
        portfolio = Portfolio.of(pipeline.cohorts, as_of)
        forecast = forecast_portfolio(portfolio, rates, list(years)) if len(portfolio) else None
        published = sorted((f for f in figures if f.region == region.id and f.date <= as_of
                            and f.metric in ("approvals_year", "approvals_ytd", "approvals_cumulative")),
                           key=lambda f: f.date)
        firms = latest(figures, region.id, "enterprises", as_of, usable=False)
        population = latest(figures, region.id, "population", as_of, usable=False)
        out.append(HubComparison(region, pipeline, forecast, list(years), published, firms, population,
                                 coverage_note(region, pipeline, figures, as_of)))
    return out
