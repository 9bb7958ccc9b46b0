"""The exact engine against independent computations: closed forms, enumeration and brute-force sampling."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from collections.abc import Mapping

import numpy as np
import pytest
from scipy import stats

from pipecast.domain import Asset, Phase, PhaseEvent, Portfolio
from pipecast.engines import forecast_portfolio, poisson_binomial
from pipecast.engines.joint import (
    joint_count_distribution,
    probability_all_years_in_band,
    probability_at_least_one_each_year,
)
from pipecast.engines.poibin import _direct
from pipecast.rates import Duration, RateRow, RateSet
from pipecast.targets import parse_target

AS_OF = dt.date(2025, 11, 1)
YEARS = list(range(2025, 2033))
TABLE = {
    Phase.PRECLINICAL: (0.69, 12, 24),
    Phase.PHASE1: (0.52, 22, 45),
    Phase.PHASE2: (0.30, 36, 70),
    Phase.PHASE3: (0.58, 34, 60),
    Phase.FILED: (0.90, 13, 22),
}


def rate_set(table: Mapping[Phase, tuple[float, float, float]] = TABLE) -> RateSet:
    return RateSet("test", tuple(RateRow(p, s, Duration(m, q)) for p, (s, m, q) in table.items()))


def asset(asset_id: str, phase: Phase, start: dt.date, count: int = 1, area: str = "") -> Asset:
    return Asset(asset_id, asset_id, (PhaseEvent(phase, start),), therapeutic_area=area, count=count)


def brute_force_year_probs(phase: Phase, start: dt.date, draws: int, seed: int) -> np.ndarray:
    """Sample durations directly (inverse CDF for the conditioned current phase) and count by calendar year."""
    rng = np.random.default_rng(seed)
    order = [Phase.PRECLINICAL, Phase.PHASE1, Phase.PHASE2, Phase.PHASE3, Phase.FILED]
    phases = order[order.index(phase):]
    month = 365.25 / 12
    elapsed = (AS_OF - start).days
    total = np.zeros(draws)
    q = 1.0
    for k, ph in enumerate(phases):
        p, median, p90 = TABLE[ph]
        q *= p
        mu, sigma = math.log(median * month), math.log(p90 / median) / stats.norm.ppf(0.9)
        dist = stats.lognorm(s=sigma, scale=math.exp(mu))
        if k == 0:
            low = dist.cdf(elapsed)
            u = rng.uniform(low, 1.0, draws)
            total += dist.ppf(u) - elapsed
        else:
            total += dist.rvs(size=draws, random_state=rng)
    approval_ord = AS_OF.toordinal() + total
    year_starts = np.array([dt.date(y, 1, 1).toordinal() for y in [*YEARS, YEARS[-1] + 1]])
    hist = np.histogram(approval_ord, bins=year_starts)[0] / draws
    return q * hist


@pytest.mark.parametrize(
    ("phase", "start"),
    [
        (Phase.FILED, dt.date(2025, 6, 1)),
        (Phase.PHASE3, dt.date(2023, 2, 10)),
        (Phase.PHASE2, dt.date(2024, 9, 1)),
        (Phase.PHASE1, dt.date(2025, 10, 31)),
        (Phase.FILED, dt.date(2022, 1, 1)),  # long overdue: conditioning matters
    ],
)
def test_year_probabilities_match_brute_force_sampling(phase: Phase, start: dt.date) -> None:
    result = forecast_portfolio(Portfolio.of([asset("x", phase, start)], AS_OF), rate_set(), YEARS)
    expected = brute_force_year_probs(phase, start, draws=1_000_000, seed=7)
    # Sampling error: at most 0.5 / sqrt(1e6) * 1 = 5e-4 standard error per year; 0.002 is 4+ sigma.
    np.testing.assert_allclose(result.probabilities[0], expected, atol=0.002)


def test_filed_candidate_matches_closed_form() -> None:
    """With no later phase, P(year) = p * (S(e + a) - S(e + b)) / S(e) exactly (up to day rounding)."""
    start = dt.date(2025, 3, 1)
    result = forecast_portfolio(Portfolio.of([asset("x", Phase.FILED, start)], AS_OF), rate_set(), YEARS)
    p, median, p90 = TABLE[Phase.FILED]
    month = 365.25 / 12
    dist = stats.lognorm(s=math.log(p90 / median) / stats.norm.ppf(0.9), scale=median * month)
    e = (AS_OF - start).days
    for j, year in enumerate(YEARS):
        a = max((dt.date(year, 1, 1) - AS_OF).days, 0)
        b = (dt.date(year + 1, 1, 1) - AS_OF).days
        closed = p * (dist.sf(e + a) - dist.sf(e + b)) / dist.sf(e) if b > 0 else 0.0
        assert result.probabilities[0, j] == pytest.approx(closed, abs=2e-4)


def test_total_probability_is_success_probability_when_horizon_is_long() -> None:
    years = list(range(2025, 2080))
    result = forecast_portfolio(
        Portfolio.of([asset("x", Phase.PHASE1, dt.date(2025, 1, 1))], AS_OF), rate_set(), years
    )
    q = TABLE[Phase.PHASE1][0] * TABLE[Phase.PHASE2][0] * TABLE[Phase.PHASE3][0] * TABLE[Phase.FILED][0]
    assert result.probabilities.sum() == pytest.approx(q, rel=1e-6)
    assert result.p_approval[0] == pytest.approx(q)


def test_observed_approvals_are_certain_and_discontinued_count_nothing() -> None:
    assets = [
        asset("done", Phase.APPROVED, dt.date(2025, 8, 20)),
        asset("old", Phase.APPROVED, dt.date(2024, 8, 20)),
        asset("stopped", Phase.DISCONTINUED, dt.date(2025, 1, 1)),
    ]
    result = forecast_portfolio(Portfolio.of(assets, AS_OF), rate_set(), YEARS)
    assert result.outlook(2025).pmf == [0.0, 1.0]
    assert result.outlook(2025).observed == 1
    assert result.outlook(2026).pmf == [1.0]
    assert result.probabilities[2].sum() == 0.0


def test_later_events_change_nothing_as_of_an_earlier_date() -> None:
    history = (PhaseEvent(Phase.PHASE3, dt.date(2023, 1, 1)), PhaseEvent(Phase.FILED, dt.date(2026, 2, 1)))
    planted = Asset("x", "x", history)
    plain = asset("x", Phase.PHASE3, dt.date(2023, 1, 1))
    a = forecast_portfolio(Portfolio.of([planted], AS_OF), rate_set(), YEARS)
    b = forecast_portfolio(Portfolio.of([plain], AS_OF), rate_set(), YEARS)
    np.testing.assert_array_equal(a.probabilities, b.probabilities)


def test_specific_rate_rows_override_general_ones() -> None:
    rows = [*rate_set().rows, RateRow(Phase.FILED, 0.5, Duration(13, 22), therapeutic_area="Oncology")]
    rates = RateSet("t", tuple(rows))
    onc = asset("o", Phase.FILED, dt.date(2025, 6, 1), area="oncology")
    other = asset("x", Phase.FILED, dt.date(2025, 6, 1), area="Immunology")
    result = forecast_portfolio(Portfolio.of([onc, other], AS_OF), rates, YEARS)
    assert result.p_approval[0] == pytest.approx(0.5)
    assert result.p_approval[1] == pytest.approx(0.9)
    np.testing.assert_allclose(result.probabilities[0] / 0.5, result.probabilities[1] / 0.9, atol=1e-12)


def enumerate_counts(p: np.ndarray) -> np.ndarray:
    n = len(p)
    pmf = np.zeros(n + 1)
    for outcome in itertools.product((0, 1), repeat=n):
        o = np.array(outcome)
        pmf[o.sum()] += np.prod(np.where(o == 1, p, 1 - p))
    return pmf


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_poisson_binomial_equals_enumeration(seed: int) -> None:
    p = np.random.default_rng(seed).uniform(0, 1, 12)
    np.testing.assert_allclose(poisson_binomial(p), enumerate_counts(p), atol=1e-14)


def test_poisson_binomial_fft_tree_matches_direct_programme_and_binomial() -> None:
    rng = np.random.default_rng(5)
    p = rng.uniform(0, 0.2, (3000, 3))
    tree = poisson_binomial(p)
    direct = _direct(p)
    np.testing.assert_allclose(tree, direct, atol=1e-12)
    same = np.full(500, 0.013)
    np.testing.assert_allclose(poisson_binomial(same), stats.binom.pmf(np.arange(501), 500, 0.013), atol=1e-13)


def test_cohorts_enter_as_binomials() -> None:
    p = np.array([0.3, 0.05])
    counts = np.array([4, 2])
    expected = np.convolve(stats.binom.pmf(np.arange(5), 4, 0.3), stats.binom.pmf(np.arange(3), 2, 0.05))
    np.testing.assert_allclose(poisson_binomial(p, counts), expected, atol=1e-15)


def brute_force_joint(probs: np.ndarray, low: int, high: int | None) -> float:
    """Enumerate every candidate's outcome (approved in year j, or not in the range)."""
    n, years = probs.shape
    total = 0.0
    for outcome in itertools.product(range(years + 1), repeat=n):
        weight = 1.0
        tally = np.zeros(years, dtype=int)
        for i, o in enumerate(outcome):
            if o == years:
                weight *= 1 - probs[i].sum()
            else:
                weight *= probs[i, o]
                tally[o] += 1
        if np.all(tally >= low) and (high is None or np.all(tally <= high)):
            total += weight
    return total


@pytest.mark.parametrize(("low", "high"), [(1, 3), (1, None), (0, 1), (2, 2)])
def test_joint_band_probability_equals_enumeration(low: int, high: int | None) -> None:
    rng = np.random.default_rng(11)
    raw = rng.uniform(0, 1, (7, 4))
    probs = raw / raw.sum(axis=1, keepdims=True) * rng.uniform(0.2, 0.9, (7, 1))
    probs = probs[:, :3]
    got = probability_all_years_in_band(probs, np.ones(7, dtype=int), low, high)
    assert got == pytest.approx(brute_force_joint(probs, low, high), abs=1e-12)


def test_joint_at_least_one_agrees_with_inclusion_exclusion_with_cohorts() -> None:
    probs = np.array([[0.1, 0.2, 0.3], [0.05, 0.05, 0.05], [0.3, 0.1, 0.0]])
    counts = np.array([2, 10, 1])
    dp = probability_all_years_in_band(probs, counts, 1, None)
    assert dp == pytest.approx(probability_at_least_one_each_year(probs, counts), abs=1e-13)
    dist = joint_count_distribution(probs, counts, cap=4)
    assert dist.sum() == pytest.approx(1.0, abs=1e-13)


def test_target_check_per_year_equals_pmf_sums() -> None:
    assets = [
        asset("a", Phase.FILED, dt.date(2025, 5, 1)),
        asset("b", Phase.PHASE3, dt.date(2023, 3, 1), count=3),
        asset("c", Phase.PHASE2, dt.date(2024, 3, 1), count=5),
    ]
    result = forecast_portfolio(Portfolio.of(assets, AS_OF), rate_set(), YEARS)
    target = parse_target("2027-2029:1-3")
    check = result.check(target)
    for year in target.years:
        pmf = poisson_binomial(result.probabilities[:, YEARS.index(year)], result.counts)
        assert check.per_year_in_band[year] == pytest.approx(pmf[1:4].sum(), abs=1e-12)
    cols = [YEARS.index(y) for y in target.years]
    expanded = np.repeat(result.probabilities[:, cols], result.counts, axis=0)
    assert check.all_years_at_least_low == pytest.approx(
        probability_at_least_one_each_year(expanded, np.ones(len(expanded), dtype=int)), abs=1e-12
    )
    # Each contributor's delta is P(floor) minus P(floor) recomputed without one of its candidates.
    for c in check.contributors:
        fewer = [
            dataclasses.replace(a, count=a.count - 1) if a.id == c.asset_id else a
            for a in assets
            if a.id != c.asset_id or a.count > 1
        ]
        again = forecast_portfolio(Portfolio.of(fewer, AS_OF), rate_set(), YEARS).check(target)
        assert c.delta_probability == pytest.approx(check.all_years_at_least_low - again.all_years_at_least_low,
                                                    abs=1e-12)
    assert check.all_years_in_band <= min(check.per_year_in_band.values()) + 1e-12
