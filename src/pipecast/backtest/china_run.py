"""Run the China backtest: one as-of date, several rate sets, the naive baselines, scores (pure, JSON-ready).

Baselines (fitted on the approval counts of the years complete at the as-of date):
- `poisson_last_year`: Poisson with the last known year's count, for every forecast year;
- `negative_binomial`: mean of the last 3 known years, variance of the last 10 (Poisson when fewer
  than two years are known, or under-dispersed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pipecast.backtest.baselines import negative_binomial_history, poisson_last_year
from pipecast.backtest.china import ChinaForecast, ChinaSettings, Registration, counts_known_at, forecast_china
from pipecast.backtest.scores import central_interval, expected_value, summarise
from pipecast.rates import RateSet

BASELINES = ("poisson_last_year", "negative_binomial")


def trim(pmf: np.ndarray, tail: float = 1e-12) -> list[float]:
    """The pmf as a list, cut where the remaining tail is below `tail`."""
    survival = 1.0 - np.cumsum(pmf)
    beyond = np.nonzero(survival < tail)[0]
    end = int(beyond[0]) + 1 if len(beyond) else len(pmf)
    return [float(x) for x in pmf[:end]]


def baseline_pmfs(counts: Mapping[int, int], as_of: dt.date, years: Sequence[int]) -> dict[str, list[np.ndarray]]:
    """The naive forecasts, the same pmf for every forecast year; {} when no year's count is known at D."""
    known = counts_known_at(counts, as_of)
    if not known:
        return {}
    nxt = max(known) + 1
    return {
        "poisson_last_year": [poisson_last_year(known, nxt)] * len(years),
        "negative_binomial": [negative_binomial_history(known, nxt)] * len(years),
    }


def year_summary(pmf: np.ndarray | Sequence[float]) -> dict[str, Any]:
    values = list(pmf)
    out: dict[str, Any] = {"expected": expected_value(values)}
    for level in (0.5, 0.8, 0.95):
        out[f"interval_{round(level * 100)}"] = list(central_interval(values, level))
    return out


def run_china(
    registrations: Sequence[Registration],
    counts: Mapping[int, int],
    as_of: dt.date,
    years: Sequence[int],
    rate_sets: Mapping[str, RateSet],
    settings: ChinaSettings | None = None,
    *,
    registry_end: dt.date | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Forecasts of every rate set and baseline for `years`, scored on the years with a known count."""
    settings = settings or ChinaSettings()
    forecasts: dict[str, ChinaForecast] = {
        name: forecast_china(registrations, as_of, years, rates, settings, registry_end=registry_end)
        for name, rates in rate_sets.items()
    }
    pmfs: dict[str, list[np.ndarray]] = {name: [y.pmf for y in f.years] for name, f in forecasts.items()}
    pmfs.update(baseline_pmfs(counts, as_of, years))
    rows: list[dict[str, Any]] = []
    for j, year in enumerate(years):
        row: dict[str, Any] = {"year": year, "observed": counts.get(year)}
        for name, forecast in forecasts.items():
            item = forecast.years[j]
            row[name] = {**year_summary(item.pmf), "pmf": trim(item.pmf),
                         "expected_from_pipeline": item.expected_pipeline,
                         "expected_from_arrivals": item.expected_arrivals}
        for name in BASELINES:
            if name in pmfs:
                row[name] = {**year_summary(pmfs[name][j]), "pmf": trim(pmfs[name][j])}
        rows.append(row)
    scored = [j for j, year in enumerate(years) if year in counts]
    observed = [counts[years[j]] for j in scored]
    scores = {name: summarise([list(values[j]) for j in scored], observed, seed=seed) for name, values in pmfs.items()}
    first = next(iter(forecasts.values()))
    return {
        "as_of": as_of.isoformat(),
        "registry_known_until": first.known_until.isoformat(),
        "years": rows,
        "scores": scores,
        "forecasters": list(pmfs),
        "pipeline": _pipeline_facts(first),
        "settings": {"novel_only": settings.novel_only, "arrivals": settings.arrivals,
                     "arrival_trend": settings.arrival_trend, "arrival_years": settings.arrival_years},
        "warnings": _warnings(first, counts, as_of),
    }


def _pipeline_facts(forecast: ChinaForecast) -> dict[str, Any]:
    by_phase: dict[str, int] = {}
    for drug in forecast.pipeline:
        by_phase[drug.phase.value] = by_phase.get(drug.phase.value, 0) + 1
    rate = forecast.arrivals
    return {
        "drugs": len(forecast.pipeline),
        "by_phase": by_phase,
        "arrival_window": list(rate.window),
        "arrivals_per_year_at_centre": {p.value: v for p, v in rate.mean.items()},
        "arrival_trend_per_year": {p.value: v for p, v in rate.slope.items()},
    }


def _warnings(forecast: ChinaForecast, counts: Mapping[int, int], as_of: dt.date) -> list[str]:
    out = []
    if forecast.known_until < as_of:
        out.append(f"the registrations end on {forecast.known_until}; drugs registered from then to {as_of} are "
                   "treated as arrivals")
    if not counts_known_at(counts, as_of):
        out.append(f"no approval count is known for a year complete by {as_of}: no naive baselines")
    elif len(counts_known_at(counts, as_of)) < 2:
        out.append("one year's count is known at the as-of date: the negative binomial falls back to Poisson")
    return out
