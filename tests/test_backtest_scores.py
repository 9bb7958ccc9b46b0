"""Scoring functions and baselines, each against a case computed by hand or by scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pipecast.backtest import (
    auc,
    bias,
    brier_score,
    central_interval,
    coverage,
    log_score,
    negative_binomial_history,
    negative_binomial_pmf,
    poisson_last_year,
    randomised_pit,
    randomised_pits,
    ranked_probability_score,
    summarise,
    wilson_interval,
)
from pipecast.engines.factors import lognormal_nodes, mixture_count_pmf
from pipecast.engines.poibin import poisson_binomial

PMF = [0.2, 0.5, 0.3]


def test_log_score_is_log_of_the_observed_mass() -> None:
    assert log_score(PMF, 1) == pytest.approx(math.log(0.5))
    assert log_score(PMF, 7) == pytest.approx(math.log(1e-300))  # beyond the pmf: the floor, not -inf


def test_ranked_probability_score_by_hand() -> None:
    # F = 0.2, 0.7, 1.0; observed 1 -> steps 0, 1, 1: 0.2^2 + 0.3^2 = 0.13
    assert ranked_probability_score(PMF, 1) == pytest.approx(0.13)
    # observed 3, beyond the pmf: F = .2, .7, 1, 1 against 0, 0, 0, 1: .04 + .49 + 1 = 1.53
    assert ranked_probability_score(PMF, 3) == pytest.approx(1.53)
    assert ranked_probability_score([0.0, 1.0], 1) == 0.0


def test_randomised_pit_by_hand_and_seeded() -> None:
    assert randomised_pit(PMF, 1, 0.5) == pytest.approx(0.2 + 0.5 * 0.5)
    assert randomised_pit(PMF, 0, 0.0) == 0.0
    assert randomised_pit(PMF, 2, 1.0) == pytest.approx(1.0)
    a = randomised_pits([PMF] * 5, [0, 1, 2, 1, 0], seed=3)
    assert a == randomised_pits([PMF] * 5, [0, 1, 2, 1, 0], seed=3)
    assert a != randomised_pits([PMF] * 5, [0, 1, 2, 1, 0], seed=4)


def test_pit_is_uniform_for_a_calibrated_forecaster() -> None:
    rng = np.random.default_rng(11)
    pmf = stats.poisson.pmf(np.arange(60), 12.0)
    observed = rng.poisson(12.0, size=4000).tolist()
    pits = randomised_pits([list(pmf)] * len(observed), observed, seed=5)
    assert stats.kstest(pits, "uniform").pvalue > 0.01
    # an overconfident forecaster (too narrow) is caught
    narrow = np.zeros(60)
    narrow[12] = 1.0
    assert stats.kstest(randomised_pits([list(narrow)] * len(observed), observed, seed=5), "uniform").pvalue < 1e-6


def test_central_interval_and_coverage() -> None:
    pmf = [0.05, 0.05, 0.8, 0.05, 0.05]  # F = .05, .10, .90, .95, 1
    assert central_interval(pmf, 0.8) == (1, 2)
    assert central_interval(pmf, 0.95) == (0, 4)  # F(3) = 0.95 < 0.975
    assert central_interval(pmf, 0.5) == (2, 2)
    cov = coverage([pmf] * 4, [0, 1, 2, 4], 0.8)
    assert (cov.hits, cov.total) == (2, 4)


def test_wilson_interval_matches_the_published_value() -> None:
    lo, hi = wilson_interval(7, 10)  # 0.3968 - 0.8922 (Wilson 1927 score interval, 95%)
    assert lo == pytest.approx(0.3968, abs=1e-4)
    assert hi == pytest.approx(0.8922, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0


def test_bias_brier_auc_by_hand() -> None:
    assert bias([[0.0, 1.0], [0.5, 0.5]], [3, 0]) == pytest.approx(((3 - 1) + (0 - 0.5)) / 2)
    assert brier_score([0.8, 0.3], [True, False]) == pytest.approx((0.04 + 0.09) / 2)
    # positives 0.35 and 0.8 against negatives 0.1 and 0.4: 3 of 4 pairs ranked right
    assert auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == pytest.approx(0.75)
    assert auc([0.5, 0.5], [True, False]) == pytest.approx(0.5)
    assert math.isnan(auc([0.5, 0.6], [True, True]))


def test_summarise_reports_every_score() -> None:
    out = summarise([PMF, PMF], [1, 2], seed=0)
    assert out["mean_log_score"] == pytest.approx((math.log(0.5) + math.log(0.3)) / 2)
    assert set(out["coverage"]) == {"50%", "80%", "95%"}
    assert len(out["pit"]) == 2
    assert summarise([], []) == {"years": 0}


def test_poisson_baseline_uses_last_years_count() -> None:
    pmf = poisson_last_year({2018: 10, 2019: 3}, 2020)
    assert pmf[2] == pytest.approx(math.exp(-3) * 9 / 2)
    assert pmf.sum() == pytest.approx(1.0)


def test_negative_binomial_baseline_against_scipy() -> None:
    counts = dict(zip(range(2010, 2020), [21, 30, 39, 27, 41, 45, 22, 46, 59, 48], strict=True))
    pmf = negative_binomial_history(counts, 2020)
    mean = np.mean([46, 59, 48])
    var = np.var(list(counts.values()), ddof=1)
    r = mean**2 / (var - mean)
    expected = stats.nbinom.pmf(np.arange(len(pmf)), r, r / (r + mean))
    np.testing.assert_allclose(pmf, expected, rtol=1e-9, atol=1e-15)
    # under-dispersed history falls back to Poisson
    flat = {2017: 10, 2018: 10, 2019: 11}
    np.testing.assert_allclose(negative_binomial_history(flat, 2020)[:30], stats.poisson.pmf(np.arange(30), 31 / 3))
    np.testing.assert_allclose(negative_binomial_pmf(5.0, 4.0, 20), stats.poisson.pmf(np.arange(20), 5.0))


def test_lognormal_nodes_have_the_closed_form_moments() -> None:
    z, w = lognormal_nodes(0.4)
    assert float(w @ z) == pytest.approx(1.0, abs=1e-12)
    assert float(w @ z**2) == pytest.approx(math.exp(0.16), rel=1e-9)
    assert float(w @ z**3) == pytest.approx(math.exp(3 * 0.16), rel=1e-6)


def test_factor_mixture_without_spread_is_the_poisson_binomial() -> None:
    p = [0.1, 0.5, 0.7, 0.2]
    z, w = lognormal_nodes(0.0)
    np.testing.assert_allclose(mixture_count_pmf(p, z, w)[:5], poisson_binomial(np.array(p)), atol=1e-14)


def test_factor_mixture_matches_a_simulation_with_the_same_factor() -> None:
    rng = np.random.default_rng(2024)
    p = rng.uniform(0.02, 0.3, size=40)
    sigma, extra = 0.35, 3.0
    exact = mixture_count_pmf(p, *lognormal_nodes(sigma, 24), extra_mean=extra)
    n = 200_000
    zs = np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
    counts = (rng.uniform(size=(n, len(p))) < np.minimum(np.outer(zs, p), 1.0)).sum(axis=1)
    counts = counts + rng.poisson(zs * extra)
    simulated = np.bincount(counts, minlength=len(exact))[: len(exact)] / n
    se = np.sqrt(exact * (1 - exact) / n)
    assert np.all(np.abs(simulated - exact) < 5 * se + 1e-4)
    # and the factor really widens the count: variance above the independent one
    k = np.arange(len(exact))
    independent = mixture_count_pmf(p, *lognormal_nodes(0.0), extra_mean=extra)
    ki = np.arange(len(independent))
    var = exact @ k**2 - (exact @ k) ** 2
    var0 = independent @ ki**2 - (independent @ ki) ** 2
    assert var > 1.5 * var0
