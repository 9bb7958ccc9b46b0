"""Run the FDA backtest: forecast from each as-of date, compare with what happened, score against baselines.

Pure: takes the filings (all of them, as in the file) and returns plain dicts ready for JSON.
Baselines in the same run, each fitted on counts known at the as-of date:
- `poisson_last_year`: Poisson with the last known year's count;
- `negative_binomial`: mean of the last 3 known years, variance of the last 10 (Poisson if under-dispersed);
- `bundled_independent` (when a rate row is given): pipecast's bundled filed-stage rate (one lognormal,
  one success probability) applied to the listed pending filings, independent, no arrivals: the
  model as shipped before this backtest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from pipecast.backtest.baselines import negative_binomial_history, poisson_last_year
from pipecast.backtest.fda import (
    Filing,
    ModelSettings,
    approvals_per_year,
    forecast_fda,
    known_at,
    timing_probabilities,
)
from pipecast.backtest.scores import auc, brier_score, summarise
from pipecast.engines.exact import year_windows
from pipecast.engines.poibin import poisson_binomial
from pipecast.engines.timing import Profile, approval_year_probabilities
from pipecast.errors import InputError
from pipecast.rates import RateRow

MODEL = "model"
BASELINES = ("poisson_last_year", "negative_binomial", "bundled_independent")


def _trim(pmf: np.ndarray, tail: float = 1e-12) -> list[float]:
    """The pmf as a list, cut where the remaining tail is below `tail` (at least to its mode)."""
    survival = 1.0 - np.cumsum(pmf)
    beyond = np.nonzero(survival < tail)[0]
    end = int(beyond[0]) + 1 if len(beyond) else len(pmf)
    return [float(x) for x in pmf[:end]]


def bundled_independent_pmfs(
    filings: Sequence[Filing], as_of: dt.date, years: Sequence[int], row: RateRow
) -> list[np.ndarray]:
    """Count pmfs per year with one filed-stage rate row, listed pending filings independent, no arrivals."""
    view = known_at(filings, as_of)
    pending = [f for f in view if f.approval is None]
    elapsed = np.array([(as_of - f.receipt).days for f in pending], dtype=np.int64)
    probabilities = approval_year_probabilities(Profile((row,)), elapsed, year_windows(as_of, years))
    already = approvals_per_year(view)
    out = []
    for j, year in enumerate(years):
        pmf = poisson_binomial(probabilities[:, j]) if len(pending) else np.ones(1)
        out.append(np.concatenate((np.zeros(already.get(year, 0)), pmf)))
    return out


def forecast_years(
    filings: Sequence[Filing],
    as_of: dt.date,
    years: Sequence[int],
    settings: ModelSettings | None = None,
    bundled_row: RateRow | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The contract of `pipecast backtest fda-nme FILE --as-of D --years A-B --json`."""
    result = forecast_fda(filings, as_of, years, settings)
    observed_counts = approvals_per_year(filings)
    last_year = last_complete_year(filings)
    known_counts = approvals_per_year(known_at(filings, as_of))
    rows: list[dict[str, Any]] = []
    forecasts: dict[str, list[np.ndarray]] = {MODEL: [y.pmf for y in result.years]}
    first = min(years)
    forecasts["poisson_last_year"] = [poisson_last_year(known_counts, min(first, as_of.year + 1))] * len(years)
    forecasts["negative_binomial"] = [negative_binomial_history(known_counts, min(first, as_of.year + 1))] * len(
        years
    )
    if bundled_row is not None:
        forecasts["bundled_independent"] = bundled_independent_pmfs(filings, as_of, years, bundled_row)
    for item in result.years:
        rows.append({
            "year": item.year,
            "pmf": _trim(item.pmf),
            "expected": round(item.expected, 6),
            "expected_from_pipeline": round(item.expected_pending, 6),
            "expected_from_arrivals": round(item.expected_arrivals, 6),
            "observed": observed_counts.get(item.year, 0) if item.year <= last_year else None,
        })
    scored = [j for j, r in enumerate(rows) if r["observed"] is not None]
    observed = [int(rows[j]["observed"]) for j in scored]
    scores = {name: _scores([pmfs[j] for j in scored], observed, seed) for name, pmfs in forecasts.items()}
    return {
        "as_of": as_of.isoformat(),
        "years": rows,
        "scores": scores,
        "model": _model_facts(result, settings or ModelSettings()),
        "warnings": truncation_warnings(filings, as_of),
    }


def truncation_warnings(filings: Sequence[Filing], as_of: dt.date) -> list[str]:
    """The file lists only filings approved by its last date: near that date the pending pipeline is missing."""
    last = max((f.approval for f in filings if f.approval is not None), default=None)
    if last is None or (last - as_of).days >= 3 * 365:
        return []
    return [f"the file lists only filings approved by {last}; filings pending on {as_of} that were approved "
            f"later are missing from it, so the forecast from the pipeline runs low"]


def last_complete_year(filings: Sequence[Filing]) -> int:
    """The last year whose approvals the file covers (the year of its latest approval)."""
    return max((f.approval.year for f in filings if f.approval is not None), default=0)


def _scores(pmfs: Sequence[np.ndarray], observed: Sequence[int], seed: int) -> dict[str, Any]:
    return summarise([list(p) for p in pmfs], list(observed), seed=seed)


def _model_facts(result: Any, settings: ModelSettings) -> dict[str, Any]:
    return {
        "year_factor_log_sd": result.factor_sigma,
        "year_factor_level": result.factor_level,
        "arrivals_per_year_mean": result.arrival_mean,
        "arrivals_per_year_variance": result.arrival_variance,
        "listed_pending_filings": result.pending,
        "p_eventually_approved": settings.p_eventually_approved if settings.never_approved else 1.0,
        "durations": "Kaplan-Meier by review designation" if settings.by_designation else "Kaplan-Meier pooled",
        "arrivals": settings.arrivals,
        "year_factor": settings.year_factor,
    }


def backtest_range(
    filings: Sequence[Filing],
    as_of_years: Sequence[int],
    horizon: int = 1,
    settings: ModelSettings | None = None,
    bundled_row: RateRow | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """For each as-of Dec 31 of `as_of_years`, forecast the year `horizon` years later; score every forecaster."""
    if horizon < 1:
        raise InputError(f"horizon {horizon} is too short", field="--horizon", expected="at least one year")
    observed_counts = approvals_per_year(filings)
    per_year: list[dict[str, Any]] = []
    pmfs: dict[str, list[np.ndarray]] = {}
    timing_p: list[float] = []
    timing_y: list[bool] = []
    for year in as_of_years:
        as_of = dt.date(year, 12, 31)
        target = year + horizon
        result = forecast_fda(filings, as_of, list(range(year + 1, target + 1)), settings)
        known_counts = approvals_per_year(known_at(filings, as_of))
        this = {
            MODEL: result.years[-1].pmf,
            "poisson_last_year": poisson_last_year(known_counts, year + 1),
            "negative_binomial": negative_binomial_history(known_counts, year + 1),
        }
        if bundled_row is not None:
            this["bundled_independent"] = bundled_independent_pmfs(filings, as_of, [target], bundled_row)[0]
        for name, pmf in this.items():
            pmfs.setdefault(name, []).append(pmf)
        p, y = timing_probabilities(filings, as_of, 365 * horizon, settings)
        timing_p += p
        timing_y += y
        row: dict[str, Any] = {
            "as_of": as_of.isoformat(), "year": target, "observed": observed_counts.get(target, 0),
            "factor_log_sd": result.factor_sigma,
            "factor_level": result.factor_level,
        }
        for name, pmf in this.items():
            row[name] = _year_summary(pmf)
        per_year.append(row)
    observed = [r["observed"] for r in per_year]
    scores = {name: _scores(values, observed, seed) for name, values in pmfs.items()}
    nb = scores["negative_binomial"]["mean_log_score"]
    return {
        "as_of_years": list(as_of_years),
        "horizon": horizon,
        "rows": per_year,
        "scores": scores,
        "warnings": truncation_warnings(filings, dt.date(max(as_of_years), 12, 31)),
        "per_filing_timing": {
            "filings": len(timing_p),
            "brier": brier_score(timing_p, timing_y) if timing_p else None,
            "auc": auc(timing_p, timing_y) if timing_p else None,
            "what": f"listed pending filings: P(approved within {horizon} year(s) | eventually approved)",
        },
        "done_when": {
            "coverage_80": scores[MODEL]["coverage"]["80%"]["share"],
            "coverage_80_in_70_90": 0.7 <= scores[MODEL]["coverage"]["80%"]["share"] <= 0.9,
            "mean_log_score_model": scores[MODEL]["mean_log_score"],
            "mean_log_score_negative_binomial": nb,
            "beats_negative_binomial": scores[MODEL]["mean_log_score"] > nb,
        },
    }


def _year_summary(pmf: np.ndarray) -> dict[str, Any]:
    from pipecast.backtest.scores import central_interval, expected_value

    values = list(pmf)
    out: dict[str, Any] = {"expected": expected_value(values)}
    for level in (0.5, 0.8, 0.95):
        out[f"interval_{round(level * 100)}"] = list(central_interval(values, level))
    return out
