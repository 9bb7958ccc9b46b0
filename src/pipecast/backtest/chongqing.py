"""The Chongqing backtest (pure): forecast from the bundled history as it stood on a date, compare with since.

As-of semantics: a candidate's history is cut to the events dated on or before D and recorded
(known) on or before D (`Asset.as_of`); a candidate with no such event did not exist for the
forecaster. Candidates approved on or before D are not forecast. "What happened since" is each
candidate's first approval dated after D in the full history, of every candidate in the data set
(`observed`; those known at D apart as `observed_from_pipeline`: the rest is what arrivals would
have to forecast); a year counts as observed only when the data set's own as-of date is past its
end (otherwise it is shown, as `observed_so_far`, but not scored).

Forecasters: pipecast's exact engine with each rate set given (independent candidates, no
arrivals: a forecast of the known pipeline only), and the naive baselines on the yearly counts of
first approvals known at D. Per candidate: P(approved by the end of the last observed year) against
whether it was, scored by Brier and AUC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pipecast.backtest.baselines import negative_binomial_history, poisson_last_year
from pipecast.backtest.china_run import trim, year_summary
from pipecast.backtest.scores import auc, brier_score, summarise
from pipecast.domain import Asset, Phase
from pipecast.engines.arrivals import arrival_year_means, fit_arrivals
from pipecast.engines.exact import candidate_year_matrix
from pipecast.engines.poibin import poisson_binomial, poisson_pmf
from pipecast.rates import RateSet


def first_approval(asset: Asset) -> dt.date | None:
    """The date of the candidate's first approval event, if any."""
    dates = [e.date for e in asset.history if e.phase is Phase.APPROVED]
    return min(dates) if dates else None


def known_pipeline(assets: Sequence[Asset], as_of: dt.date) -> list[Asset]:
    """Candidates as known at the as-of date, leaving out those approved on or before it."""
    out = []
    for asset in assets:
        seen = asset.as_of(as_of)
        if seen is not None and seen.phase is not Phase.APPROVED:
            out.append(seen)
    return out


def approvals_per_year(assets: Sequence[Asset], *, known_by: dt.date | None = None) -> dict[int, int]:
    """First approvals per year (counting cohort copies); with `known_by`, only approvals known on that date."""
    counts: dict[int, int] = {}
    for asset in assets:
        view = asset.as_of(known_by) if known_by else asset
        when = first_approval(view) if view is not None else None
        if when is not None:
            counts[when.year] = counts.get(when.year, 0) + asset.count
    return counts


def approvals_after(assets: Sequence[Asset], as_of: dt.date) -> dict[int, int]:
    """First approvals dated after the as-of date, per year (counting cohort copies)."""
    counts: dict[int, int] = {}
    for asset in assets:
        when = first_approval(asset)
        if when is not None and when > as_of:
            counts[when.year] = counts.get(when.year, 0) + asset.count
    return counts


def run_chongqing(
    assets: Sequence[Asset],
    as_of: dt.date,
    years: Sequence[int],
    rate_sets: Mapping[str, RateSet],
    *,
    data_as_of: dt.date,
    seed: int = 0,
    arrivals: bool = False,
) -> dict[str, Any]:
    """Forecast `years` from the pipeline known at `as_of`; observed = first approvals after `as_of` (JSON-ready).

    With `arrivals`, each rate set is also scored with arrivals (`engines.arrivals`, fitted on the first
    phase entries known at `as_of`) as the forecaster `NAME+arrivals`, beside the pipeline-only one."""
    pipeline = known_pipeline(assets, as_of)
    full = {a.id: a for a in assets}
    counts = np.array([a.count for a in pipeline], dtype=np.int64)
    observed_all = approvals_after(assets, as_of)
    known_ids = {a.id for a in pipeline}
    observed_pipeline = approvals_after([a for a in assets if a.id in known_ids], as_of)
    scored_years = [y for y in years if dt.date(y, 12, 31) <= data_as_of]
    pmfs: dict[str, list[np.ndarray]] = {}
    per_candidate: dict[str, list[float]] = {}
    for name, rates in rate_sets.items():
        probabilities, _ = candidate_year_matrix(pipeline, rates, as_of, years)
        pmfs[name] = [poisson_binomial(probabilities[:, j], counts) for j in range(len(years))]
        if rates.factor_sigma > 0:  # a shared review-pace factor: the exact mixture over its nodes
            probabilities, pmfs[name] = _factor_mixture(pipeline, rates, as_of, years, counts)
        scored_index = [years.index(y) for y in scored_years]
        per_candidate[name] = [float(probabilities[i, scored_index].sum()) for i in range(len(pipeline))]
    fit = fit_arrivals(assets, as_of) if arrivals else None
    if fit is not None:
        for name, rates in rate_sets.items():
            means = arrival_year_means(fit, rates, as_of, years)
            pmfs[f"{name}+arrivals"] = [np.convolve(pmf, poisson_pmf(float(m))) if m > 0 else pmf
                                        for pmf, m in zip(pmfs[name], means, strict=True)]
    known_counts = {y: c for y, c in approvals_per_year(assets, known_by=as_of).items() if y < as_of.year}
    history_years = range(min(known_counts, default=as_of.year - 1), as_of.year)
    known_counts = {y: known_counts.get(y, 0) for y in history_years}
    pmfs["poisson_last_year"] = [poisson_last_year(known_counts, as_of.year)] * len(years)
    pmfs["negative_binomial"] = [negative_binomial_history(known_counts, as_of.year)] * len(years)
    rows = []
    for j, year in enumerate(years):
        row: dict[str, Any] = {"year": year, "observed": observed_all.get(year, 0) if year in scored_years else None,
                               "observed_so_far": observed_all.get(year, 0),
                               "observed_from_pipeline": observed_pipeline.get(year, 0)}
        for name, values in pmfs.items():
            row[name] = {**year_summary(values[j]), "pmf": trim(values[j])}
        rows.append(row)
    observed = [observed_all.get(y, 0) for y in scored_years]
    index = [years.index(y) for y in scored_years]
    scores = {name: summarise([list(v[j]) for j in index], observed, seed=seed) for name, v in pmfs.items()}
    named = [i for i, a in enumerate(pipeline) if not a.is_cohort]
    outcome = [_approved_in(full[pipeline[i].id], as_of, scored_years) for i in named]
    candidates = []
    for i in named:
        asset = pipeline[i]
        approved = first_approval(full[asset.id])
        candidates.append({
            "id": asset.id, "name": asset.name, "phase_at_as_of": asset.phase.value,
            "approved": approved.isoformat() if approved and approved > as_of else None,
            **{f"p_{name}": per_candidate[name][i] for name in rate_sets},
        })
    return {
        "as_of": as_of.isoformat(),
        "data_as_of": data_as_of.isoformat(),
        "years": rows,
        "scored_years": scored_years,
        "scores": scores,
        "forecasters": list(pmfs),
        "pipeline": {"candidates": int(counts.sum()), "rows": len(pipeline),
                     "by_phase": _by_phase(pipeline), "cohorts": [a.id for a in pipeline if a.is_cohort]},
        "known_counts": {str(y): c for y, c in known_counts.items()},
        "arrivals": fit.to_json() if fit is not None else None,
        "per_candidate": {
            "what": f"named candidates: P(first approved in {_span(scored_years)}) against whether they were",
            "candidates": candidates,
            "approved": int(sum(outcome)),
            **{name: _candidate_scores([per_candidate[name][i] for i in named] if scored_years else [], outcome)
               for name in rate_sets},
        },
    }


def _factor_mixture(pipeline: Sequence[Asset], rates: RateSet, as_of: dt.date, years: Sequence[int],
                    counts: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """(marginal year probabilities, count pmfs per year) mixed over the rate set's factor nodes."""
    from pipecast.engines.exact import factor_rate_sets

    marginal = np.zeros((len(pipeline), len(years)))
    pmfs = [np.zeros(int(counts.sum()) + 1) for _ in years]
    for weight, _, given in factor_rate_sets(rates):
        probabilities, _ = candidate_year_matrix(pipeline, given, as_of, years)
        marginal += weight * probabilities
        for j in range(len(years)):
            pmf = poisson_binomial(probabilities[:, j], counts)
            pmfs[j][: len(pmf)] += weight * pmf
    return marginal, pmfs


def _span(years: Sequence[int]) -> str:
    if not years:
        return "no complete year"
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def _approved_in(asset: Asset, as_of: dt.date, years: Sequence[int]) -> bool:
    when = first_approval(asset)
    return when is not None and when > as_of and when.year in years


def _candidate_scores(probabilities: Sequence[float], outcome: Sequence[bool]) -> dict[str, float | None]:
    if not probabilities:
        return {"brier": None, "auc": None, "expected": 0.0}
    value = auc(probabilities, outcome)
    return {"brier": brier_score(probabilities, outcome), "auc": None if np.isnan(value) else value,
            "expected": float(np.sum(probabilities))}


def _by_phase(assets: Sequence[Asset]) -> dict[str, int]:
    out: dict[str, int] = {}
    for asset in assets:
        out[asset.phase.value] = out.get(asset.phase.value, 0) + asset.count
    return out
