"""The exact engine: per-candidate approval-year probabilities and the portfolio's count distributions."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from pipecast.domain import Asset, Phase, Portfolio
from pipecast.engines.result import Forecast
from pipecast.engines.timing import Profile, YearWindows, approval_year_probabilities
from pipecast.errors import InputError
from pipecast.rates import RateRow, RateSet

#: Forecast years run from FIRST_YEAR to LAST_YEAR (dates hold years up to 9999; durations reach past them).
FIRST_YEAR, LAST_YEAR = 1900, 9000
#: The last forecast year may lie at most this many years after the as-of date (the daily grid's length).
MAX_HORIZON_YEARS = 100


def check_year_range(years: Sequence[int]) -> None:
    """Refuse years whose dates (and the durations after them) a calendar cannot hold."""
    if len(years) and (min(years) < FIRST_YEAR or max(years) > LAST_YEAR):
        raise InputError(
            f"forecast years {min(years)}-{max(years)} are out of range",
            field="--years",
            expected=f"years between {FIRST_YEAR} and {LAST_YEAR}",
        )


def check_years(as_of: dt.date, years: Sequence[int]) -> None:
    """Refuse forecast years a daily grid cannot hold, or that all end before the as-of date."""
    if not len(years):
        raise InputError("no forecast years", field="--years", expected="at least one year")
    check_year_range(years)
    last = max(years)
    if as_of.year > last:
        raise InputError(
            f"the as-of date {as_of.isoformat()} is after the last forecast year {last}",
            field="--as-of",
            expected=f"a date on or before {last}-12-31, or later --years",
        )
    if last - as_of.year > MAX_HORIZON_YEARS:
        raise InputError(
            f"the last forecast year {last} is {last - as_of.year} years after the as-of date {as_of.isoformat()}",
            field="--years",
            expected=f"years at most {MAX_HORIZON_YEARS} years after the as-of date",
        )


def year_windows(as_of: dt.date, years: Sequence[int]) -> YearWindows:
    check_year_range(years)
    starts = np.array([(dt.date(y, 1, 1) - as_of).days for y in years])
    ends = np.array([(dt.date(y + 1, 1, 1) - as_of).days for y in years])
    return YearWindows(starts, ends)


def candidate_year_matrix(
    assets: Sequence[Asset],
    rates: RateSet,
    as_of: dt.date,
    years: Sequence[int],
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities N x Y, success-to-approval probability per candidate).

    Approvals on or before the as-of date are certain in their year; discontinued and suspended
    candidates contribute nothing.
    """
    n, n_years = len(assets), len(years)
    probs = np.zeros((n, n_years))
    p_approval = np.zeros(n)
    year_index = {y: j for j, y in enumerate(years)}
    windows = year_windows(as_of, years)
    groups: dict[tuple[RateRow, ...], list[int]] = defaultdict(list)
    profile_cache: dict[tuple[Phase, str, str], tuple[RateRow, ...]] = {}
    for i, asset in enumerate(assets):
        phase = asset.phase
        if phase is Phase.APPROVED:
            p_approval[i] = 1.0
            approved = asset.approval_date or asset.phase_start
            if approved.year in year_index:
                probs[i, year_index[approved.year]] = 1.0
            continue
        if not phase.is_active:
            continue
        key = (phase, asset.therapeutic_area, asset.modality)
        rows = profile_cache.get(key)
        if rows is None:
            rows = rates.profile(*key)
            profile_cache[key] = rows
        groups[rows].append(i)
    done = 0
    for rows, members in groups.items():
        index = np.array(members)
        elapsed = np.array([(as_of - assets[i].phase_start).days for i in members])
        profile = Profile(rows)
        probs[index] = approval_year_probabilities(profile, elapsed, windows)
        p_approval[index] = profile.p_approval
        done += len(members)
        if progress:
            progress(len(members))
    return probs, p_approval


def forecast_portfolio(
    portfolio: Portfolio,
    rates: RateSet,
    years: Sequence[int],
    progress: Callable[[int], None] | None = None,
) -> Forecast:
    check_years(portfolio.as_of, years)
    assets = list(portfolio.assets)
    probs, p_approval = candidate_year_matrix(assets, rates, portfolio.as_of, years, progress)
    result = Forecast(
        as_of=portfolio.as_of,
        years=list(years),
        assets=assets,
        probabilities=probs,
        p_approval=p_approval,
        counts=np.array([a.count for a in assets], dtype=np.int64),
        rate_set=rates,
        method="exact",
    )
    if rates.factor_sigma > 0:
        add_factor(result, rates)
    return result


def factor_rate_sets(rates: RateSet) -> list[tuple[float, float, RateSet]]:
    """(weight, multiplier, rate set given the multiplier) at each quadrature node of the set's shared
    review-pace factor (`RateSet.factor_sigma`, Gauss-Hermite, `engines.factors.median_one_nodes`)."""
    from pipecast.engines.factors import median_one_nodes

    multipliers, weights = median_one_nodes(rates.factor_sigma)
    return [(float(w), float(m), rates.adjusted(duration_multiplier={Phase.FILED: float(m)}))
            for m, w in zip(multipliers, weights, strict=True)]


def add_factor(result: Forecast, rates: RateSet) -> None:
    """Condition on the shared factor at each node (candidates independent given it) and keep the nodes;
    `probabilities` becomes the marginal (weighted mean) and `base_probabilities` the independent one."""
    from pipecast.engines.result import FactorNode

    nodes = []
    for weight, multiplier, given in factor_rate_sets(rates):
        probs, _ = candidate_year_matrix(result.assets, given, result.as_of, result.years)
        nodes.append(FactorNode(weight, multiplier, probs))
    base = result.probabilities
    marginal = sum(node.weight * node.probabilities for node in nodes)
    result.base_probabilities = base
    result.probabilities = np.where(base == 1.0, 1.0, np.asarray(marginal))  # approvals on record stay certain
    result.factor_nodes = nodes
    result.factor_sigma = rates.factor_sigma
