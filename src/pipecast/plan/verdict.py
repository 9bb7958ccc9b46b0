"""Each target's status: actual, trend, forecast, P(met) and a verdict with its reason (pure).

Verdicts:
* **met**: the actual already meets the bound (a cumulative or level target), or every year did (per year);
* **on track**: pipecast forecasts P(target met) >= ON_TRACK (approvals), or the entered figures' straight-line
  trend reaches the bound by the deadline;
* **at risk**: P(target met) < ON_TRACK, a past year missed its band, or the trend falls short;
* **missed**: the deadline has passed without the bound being met;
* **cannot judge**: no comparable figure, or a single figure and so no trend;
* **tracked**: a KPI without a numeric target (shown with its actual and trend only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipecast.domain import Asset, Portfolio
from pipecast.engines.exact import forecast_portfolio
from pipecast.plan.actuals import approvals_in_year, approvals_total, in_clinic, year_ends
from pipecast.plan.cumulative import cumulative_outlook
from pipecast.plan.kpi import KpiFigure, KpiTarget
from pipecast.rates import RateSet
from pipecast.targets import Target

#: A forecast target is "on track" when P(target met) is at least this.
ON_TRACK = 0.5


@dataclass(frozen=True)
class Point:
    date: dt.date
    value: float
    source: str  # "registry" or the figure's source title
    label: str = ""


@dataclass(frozen=True)
class KpiStatus:
    target: KpiTarget
    verdict: str
    reason: str
    actual: Point | None
    series: tuple[Point, ...] = ()
    trend: str = ""
    forecast: str = ""
    expected: float | None = None
    p_met: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "id": t.id, "plan": t.plan, "region": t.region, "label": t.label, "metric": t.metric,
            "target": t.bound_text(), "unit": t.unit, "years": [t.first_year, t.last_year],
            "deadline": t.deadline.isoformat(),
            "source": {"url": t.citation.url, "title": t.citation.title,
                       "date": t.citation.date.isoformat() if t.citation.date else None, "quote": t.citation.quote},
            "actual": _point(self.actual), "series": [_point(p) for p in self.series], "trend": self.trend,
            "forecast": self.forecast, "expected": self.expected, "p_met": self.p_met,
            "verdict": self.verdict, "reason": self.reason, "details": self.details, "note": t.note,
        }


def _point(p: Point | None) -> dict[str, Any] | None:
    if p is None:
        return None
    return {"date": p.date.isoformat(), "value": p.value, "source": p.source, "label": p.label}


def evaluate(
    targets: Sequence[KpiTarget],
    figures: Sequence[KpiFigure],
    assets: Sequence[Asset] | None,
    rates: RateSet,
    as_of: dt.date,
    since_year: int | None = None,
) -> list[KpiStatus]:
    """The status of every target as known on `as_of` (`assets` None: registry counts unavailable)."""
    out = []
    for target in targets:
        mine = sorted((f for f in figures if f.kpi_id == target.id and f.date <= as_of), key=lambda f: f.date)
        first = since_year if since_year is not None else min(as_of.year, target.first_year) - 2
        if target.metric == "approvals_per_year" and assets is not None:
            out.append(_per_year(target, assets, rates, as_of, first))
        elif target.metric == "approvals_total" and assets is not None:
            out.append(_total(target, assets, rates, as_of, first))
        elif target.metric == "in_clinic" and assets is not None:
            out.append(_clinic(target, assets, mine, as_of, since_year or target.first_year))
        else:
            out.append(_entered(target, mine))
    return out


def _per_year(target: KpiTarget, assets: Sequence[Asset], rates: RateSet, as_of: dt.date, first: int) -> KpiStatus:
    low, high = target.least_count(), (None if target.comparator != "between" or target.high is None
                                       else int(target.high))
    history = [Point(dt.date(y, 12, 31) if y < as_of.year else as_of, approvals_in_year(assets, y, as_of),
                     "registry", str(y) if y < as_of.year else f"{y} to {as_of}")
               for y in range(first, as_of.year + 1)]
    trend = ", ".join(f"{p.label}: {p.value:g}" for p in history)
    past = [y for y in target.years if y < as_of.year]
    missed = [y for y in past if not Target(y, y, low, high).met_by(approvals_in_year(assets, y, as_of))]
    future = [y for y in target.years if y >= as_of.year]
    actual = history[-1] if history else None
    if not future:
        reason = (f"missed the band {target.bound_text()} in {', '.join(map(str, missed))}" if missed
                  else f"every year {target.first_year}-{target.last_year} was within {target.bound_text()}")
        return KpiStatus(target, "missed" if missed else "met", reason, actual, tuple(history), trend,
                         p_met=0.0 if missed else 1.0)
    result = forecast_portfolio(Portfolio.of(assets, as_of), rates, future)
    goal = Target(future[0], future[-1], low, high)
    check = result.check(goal)
    p_future = check.all_years_in_band
    p_met = 0.0 if missed else p_future
    parts = []
    for year in future:
        o = result.outlook(year)
        parts.append(f"{year}: expected {o.expected:.2f} ({o.observed} on record), "
                     f"P(in band) {check.per_year_in_band[year]:.2f}")
    forecast = "; ".join(parts)
    band = f"{target.bound_text()} in every year {future[0]}-{future[-1]}"
    if missed:
        verdict, reason = "at risk", f"already missed the band in {', '.join(map(str, missed))}"
    elif p_met >= ON_TRACK:
        verdict, reason = "on track", f"P({band}) = {p_met:.2f} >= {ON_TRACK}"
    else:
        weakest = min(future, key=lambda y: check.per_year_in_band[y])
        verdict = "at risk"
        reason = (f"P({band}) = {p_met:.2f} < {ON_TRACK}; weakest year {weakest}: "
                  f"P(in band) {check.per_year_in_band[weakest]:.2f}, expected {result.outlook(weakest).expected:.2f}")
    details = {"per_year_in_band": {str(k): v for k, v in check.per_year_in_band.items()},
               "expected_by_year": {str(y): result.outlook(y).expected for y in future},
               "observed_by_year": {str(y): result.outlook(y).observed for y in future},
               "missed_years": missed}
    expected = sum(result.outlook(y).expected for y in future)
    return KpiStatus(target, verdict, reason, actual, tuple(history), trend, forecast, expected, p_met, details)


def _total(target: KpiTarget, assets: Sequence[Asset], rates: RateSet, as_of: dt.date, first: int) -> KpiStatus:
    need = target.least_count()
    series = tuple(Point(d, approvals_total(assets, d, target.counted_from), "registry", d.isoformat())
                   for d in year_ends(first, as_of))
    trend = ", ".join(f"{p.label}: {p.value:g}" for p in series)
    outlook, record = cumulative_outlook(assets, rates, as_of, target.deadline, need, target.counted_from)
    actual = series[-1]
    names = ", ".join(f"{a.name} ({(a.approval_date or a.phase_start).isoformat()})" for a in record)
    details = {"on_record": outlook.on_record, "approved": names, "need": need,
               "expected_more": outlook.expected_more, "p_met": outlook.p_met,
               "total_q05": outlook.quantile(0.05), "total_q50": outlook.quantile(0.5),
               "total_q95": outlook.quantile(0.95)}
    forecast = (f"{outlook.on_record} on record + {outlook.expected_more:.2f} expected by {target.deadline} "
                f"= {outlook.expected_total:.2f} (90% range {outlook.quantile(0.05)}-{outlook.quantile(0.95)})")
    if outlook.on_record >= need:
        return KpiStatus(target, "met", f"{outlook.on_record} approved on record >= {need}", actual, series, trend,
                         forecast, outlook.expected_total, 1.0, details)
    if as_of > target.deadline:
        return KpiStatus(target, "missed", f"{outlook.on_record} approved by the deadline < {need}", actual, series,
                         trend, forecast, outlook.expected_total, 0.0, details)
    p = outlook.p_met
    text = (f"P(total >= {need} by {target.deadline}) = {p:.2f}: {outlook.on_record} on record, "
            f"{need - outlook.on_record} more needed, {outlook.expected_more:.2f} expected")
    verdict = "on track" if p >= ON_TRACK else "at risk"
    return KpiStatus(target, verdict, text, actual, series, trend, forecast, outlook.expected_total, p, details)


def _clinic(target: KpiTarget, assets: Sequence[Asset], figures: Sequence[KpiFigure], as_of: dt.date,
            first: int) -> KpiStatus:
    series = [Point(d, in_clinic(assets, d), "registry", d.isoformat()) for d in year_ends(first, as_of)]
    published = [Point(f.date, f.value, f.citation.title, f"{f.shown} published") for f in figures]
    trend = ", ".join(f"{p.label}: {p.value:g}" for p in series)
    if published:
        trend += "; published: " + ", ".join(f"{p.date}: {p.label}" for p in published)
    actual = series[-1]
    if target.comparator == "track":
        reason = f"{actual.value:g} in clinic on {actual.date} (registry: named candidates and cohorts)"
        return KpiStatus(target, "tracked", reason, actual, tuple(series + published), trend)
    met = target.met_by(actual.value)
    verdict = "met" if met else ("at risk" if as_of > target.deadline else "cannot judge")
    reason = (f"{actual.value:g} in clinic on {actual.date}: "
              + ("meets " if met else "does not yet meet ") + target.bound_text()
              + ("" if met else "; pipecast does not forecast entries into the clinic"))
    return KpiStatus(target, verdict, reason, actual, tuple(series + published), trend)


def _entered(target: KpiTarget, figures: Sequence[KpiFigure]) -> KpiStatus:
    points = tuple(Point(f.date, f.value, f.citation.title, f.shown) for f in figures)
    trend = ", ".join(f"{p.date}: {p.label}" for p in points)
    if not points:
        return KpiStatus(target, "cannot judge", "no comparable figure published (see the note)", None, points)
    last = points[-1]
    if target.comparator == "track":
        return KpiStatus(target, "tracked", f"{last.label} on {last.date}", last, points, trend)
    if target.met_by(last.value):
        return KpiStatus(target, "met", f"{last.label} on {last.date} meets {target.bound_text()}", last, points,
                         trend)
    if len(points) < 2:
        return KpiStatus(target, "cannot judge",
                         f"one figure ({last.label} on {last.date}), no trend; needs {target.bound_text()}",
                         last, points, trend)
    first = points[0]
    years = (last.date - first.date).days / 365.25
    pace = (last.value - first.value) / years if years > 0 else 0.0
    reach = last.value + pace * (target.deadline - last.date).days / 365.25
    forecast = f"straight line {first.date} -> {last.date}: {pace:+.1f} a year, {reach:.0f} by {target.deadline}"
    ok = target.met_by(reach)
    reason = (f"at {pace:+.1f} a year the figure reaches {reach:.0f} by {target.deadline}: "
              + ("meets " if ok else "short of ") + target.bound_text())
    return KpiStatus(target, "on track" if ok else "at risk", reason, last, points, trend, forecast, reach)
