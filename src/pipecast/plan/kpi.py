"""A plan's measurable targets (KPIs), their entered figures, and the checks on units (pure: no files).

A KPI target says what is measured (`metric`), in which unit, which bound must hold and by when:

* ``approvals_per_year``: innovative-drug approvals in each calendar year of a range (the joint engine);
* ``approvals_total``: the total number of approved innovative drugs on a date (a cumulative target);
* ``in_clinic``: candidates in clinical trials (phase 1 to filed) on a date;
* ``enterprises``, ``industry_scale``, ``companies_over_revenue``: figures pipecast cannot count or forecast;
  their actuals are entered with a source.

pipecast counts the first three from the registry (the store or an assets file); the others come from
entered figures only. A target without a unit, or with a unit that is not its metric's, is refused; so is
a figure in another unit than its target's, or one without a source.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipecast.errors import InputError

#: Each metric and the unit its targets and figures must be given in (compared case- and space-folded).
METRIC_UNITS: dict[str, str] = {
    "approvals_per_year": "innovative drugs approved per year",
    "approvals_total": "innovative drugs approved in total",
    "in_clinic": "candidates in clinical trials",
    "enterprises": "enterprises",
    "industry_scale": "RMB 100m (industry scale)",
    "companies_over_revenue": "companies",
}
#: Metrics pipecast counts from the registry (the store or an assets file) as of any date.
REGISTRY_METRICS = frozenset({"approvals_per_year", "approvals_total", "in_clinic"})
#: Metrics pipecast forecasts (approvals); the others are judged on their entered figures' trend.
FORECAST_METRICS = frozenset({"approvals_per_year", "approvals_total"})
#: How a target's bound reads: at least `low`, more than `low`, or between `low` and `high`; `track`: no bound.
COMPARATORS = (">=", ">", "between", "track")


def unit_key(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a target or a figure is published: address, title, publication date and a verbatim quote."""

    url: str
    title: str
    date: dt.date | None = None
    quote: str = ""


@dataclass(frozen=True, slots=True)
class KpiTarget:
    """One measurable target of a plan."""

    id: str
    plan: str
    region: str
    label: str
    metric: str
    comparator: str
    low: float | None
    high: float | None
    unit: str
    first_year: int
    last_year: int
    citation: Citation
    counted_from: dt.date | None = None  # approvals_total: count approvals on or after this date (None: all)
    note: str = ""

    @property
    def deadline(self) -> dt.date:
        return dt.date(self.last_year, 12, 31)

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    def met_by(self, value: float) -> bool:
        """Whether a value meets the bound (a `track` KPI has none: never 'met')."""
        if self.comparator == ">=":
            return self.low is not None and value >= self.low
        if self.comparator == ">":
            return self.low is not None and value > self.low
        if self.comparator == "between":
            return self.low is not None and self.high is not None and self.low <= value <= self.high
        return False

    def bound_text(self) -> str:
        if self.comparator == "track":
            return "no numeric target (tracked)"
        if self.comparator == "between":
            return f"{_num(self.low)}-{_num(self.high)}"
        return f"{self.comparator}{_num(self.low)}"

    def least_count(self) -> int:
        """The smallest whole count that meets the bound (for count targets)."""
        if self.low is None:
            return 0
        if self.comparator == ">":
            return int(self.low) + 1
        return int(-(-self.low // 1))


@dataclass(frozen=True, slots=True)
class KpiFigure:
    """An entered actual figure for a KPI: its date, value and unit, with the source that publishes it."""

    kpi_id: str
    date: dt.date
    value: float
    unit: str
    citation: Citation
    qualifier: str = ""  # "", ">", "~", "+" as printed ("120+" is 120 with qualifier "+")
    note: str = ""

    @property
    def shown(self) -> str:
        """The value as printed: 120+, >100, ~40 or 42."""
        number = f"{self.value:g}"
        return number + "+" if self.qualifier == "+" else f"{self.qualifier}{number}"


def _num(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:g}"


def check_target(target: KpiTarget, *, file: str = "", row: int | None = None) -> None:
    """Refuse an unknown metric or comparator, a missing unit, a unit that is not the metric's, a bad bound."""
    if target.metric not in METRIC_UNITS:
        raise InputError(f"unknown metric {target.metric!r}", file=file, row=row, field="metric",
                         expected="one of " + ", ".join(METRIC_UNITS))
    if not target.unit.strip():
        raise InputError("the target has no unit", file=file, row=row, field="unit",
                         expected=f"the unit of {target.metric}: {METRIC_UNITS[target.metric]!r}")
    if unit_key(target.unit) != unit_key(METRIC_UNITS[target.metric]):
        raise InputError(f"unit {target.unit!r} does not match metric {target.metric}", file=file, row=row,
                         field="unit", expected=repr(METRIC_UNITS[target.metric]))
    if target.comparator not in COMPARATORS:
        raise InputError(f"unknown comparator {target.comparator!r}", file=file, row=row, field="comparator",
                         expected="one of " + ", ".join(COMPARATORS))
    if target.comparator != "track" and target.low is None:
        raise InputError("the target has no bound", file=file, row=row, field="low", expected="a number")
    if target.comparator == "between" and (target.high is None or target.low is None or target.high < target.low):
        raise InputError("a 'between' target needs high >= low", file=file, row=row, field="high",
                         expected="a number at least as large as low")
    if target.last_year < target.first_year:
        raise InputError("years run backwards", file=file, row=row, field="last_year",
                         expected="a year on or after first_year")
    if target.metric == "approvals_per_year" and target.comparator not in ("between", ">=", ">"):
        raise InputError("a per-year approvals target needs a count bound", file=file, row=row,
                         field="comparator", expected="between, >= or >")


def check_figure(figure: KpiFigure, target: KpiTarget | None, *, file: str = "", row: int | None = None) -> None:
    """Refuse a figure for an unknown KPI, without a source, or in another unit than its target's."""
    if target is None:
        raise InputError(f"unknown KPI {figure.kpi_id!r}", file=file, row=row, field="kpi_id",
                         expected="an id from plan_targets.csv")
    if not figure.citation.url.strip() or not figure.citation.title.strip():
        missing = "source_url" if not figure.citation.url.strip() else "source_title"
        raise InputError("the figure has no source", file=file, row=row, field=missing,
                         expected="the address and title of the page that publishes the figure")
    if not figure.unit.strip():
        raise InputError("the figure has no unit", file=file, row=row, field="unit", expected=repr(target.unit))
    if unit_key(figure.unit) != unit_key(target.unit):
        raise InputError(f"unit {figure.unit!r} does not match the target's unit {target.unit!r}", file=file,
                         row=row, field="unit", expected=repr(target.unit))
