"""Every Monte Carlo and scenario feature against an independent computation, chosen so that the test
fails when the feature is switched off (each test also checks that the "off" answer is far outside its
tolerance, so it cannot pass by accident). Fixed seeds, no retries; tolerances are 5 Monte Carlo
standard errors computed from the number of paths.

Mutations checked by hand (see the session report): copula off, review shock off, sponsor stops per
candidate or off, entrants off, each lever ignored, leave-one-out not removing, cohort blocks wrong.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import tracemalloc
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
from scipy import stats

from pipecast.domain import PIPELINE_PHASES, Asset, Phase, PhaseEvent, Portfolio
from pipecast.engines import forecast_portfolio, poisson_binomial
from pipecast.engines.exact import candidate_year_matrix
from pipecast.engines.montecarlo import Correlation, Entrants, entrant_year_means, simulate
from pipecast.errors import EngineError, InputError
from pipecast.rates import DAYS_PER_MONTH, Duration, RateRow, RateSet
from pipecast.scenarios import apply, parse_scenario, run_scenario
from pipecast.targets import parse_target

AS_OF = dt.date(2025, 11, 1)
TABLE: dict[Phase, tuple[float, float, float]] = {
    Phase.PRECLINICAL: (0.69, 12, 24),
    Phase.PHASE1: (0.52, 22, 45),
    Phase.PHASE2: (0.30, 36, 70),
    Phase.PHASE3: (0.58, 34, 60),
    Phase.FILED: (0.90, 13, 22),
}


def rates(table: Mapping[Phase, tuple[float, float, float]] = TABLE, name: str = "test") -> RateSet:
    return RateSet(name, tuple(RateRow(p, s, Duration(m, q)) for p, (s, m, q) in table.items()))


RATES = rates()


def instant(p_filed: float = 1.0) -> RateSet:
    """Every phase over in a moment; a filing is approved with probability p_filed."""
    return RateSet(
        "instant",
        tuple(RateRow(p, p_filed if p is Phase.FILED else 1.0, Duration(0.001, 0.002)) for p in PIPELINE_PHASES),
    )


def cand(
    asset_id: str,
    phase: Phase,
    start: dt.date,
    sponsor: str = "",
    *,
    count: int = 1,
    area: str = "",
    modality: str = "",
) -> Asset:
    return Asset(
        asset_id, asset_id, (PhaseEvent(phase, start),), sponsor=sponsor or asset_id, count=count,
        therapeutic_area=area, modality=modality,
    )


def se(p: np.ndarray | float, n: int) -> np.ndarray:
    q = np.asarray(p, dtype=float)
    return np.asarray(np.sqrt((q * (1 - q) + 1.0 / n) / n))


def frequencies(counts: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(np.bincount(counts.astype(np.int64), minlength=size)[:size] / len(counts))


def expected_counts(portfolio: Portfolio, rate_set: RateSet, years: list[int]) -> np.ndarray:
    result = forecast_portfolio(portfolio, rate_set, years)
    return np.asarray(result.probabilities.T @ result.counts)


# --- Gaussian copula ---------------------------------------------------------------------------


def _rectangle(low: float, high: float, rho: float) -> float:
    """P(low <= X < high, low <= Y < high) for a standard bivariate normal with correlation rho."""
    mvn = stats.multivariate_normal(mean=[0.0, 0.0], cov=[[1.0, rho], [rho, 1.0]])
    lo, hi = max(low, -12.0), min(high, 12.0)
    return float(mvn.cdf([hi, hi]) - mvn.cdf([lo, hi]) - mvn.cdf([hi, lo]) + mvn.cdf([lo, lo]))


def test_copula_pair_in_one_sponsor_matches_the_bivariate_normal() -> None:
    rho, n = 0.6, 40_000
    start = dt.date(2025, 6, 1)
    portfolio = Portfolio.of([cand("a", Phase.FILED, start, "S"), cand("b", Phase.FILED, start, "S")], AS_OF)
    years = [2025, 2026, 2027]
    mc = simulate(portfolio, RATES, years, paths=n, seed=21, correlation=Correlation(rho={"sponsor": rho}))
    assert mc.path_counts is not None
    p = forecast_portfolio(portfolio, RATES, years).probabilities[0]
    edges = np.concatenate(([-np.inf], stats.norm.ppf(np.cumsum(p))))
    discriminating = False
    for j in range(len(years)):
        both = _rectangle(edges[j], edges[j + 1], rho)
        observed = float((mc.path_counts[:, j] == 2).mean())
        assert abs(observed - both) <= 5 * se(both, n), (years[j], observed, both)
        discriminating |= abs(p[j] ** 2 - both) > 10 * se(both, n)
    assert discriminating  # independence would be caught


# --- review-pace shock -------------------------------------------------------------------------


def test_review_shock_matches_its_gauss_hermite_mixture() -> None:
    sigma, n = 0.7, 40_000
    assets = [cand(f"f{i}", Phase.FILED, AS_OF - dt.timedelta(days=35 * i)) for i in range(8)]
    portfolio = Portfolio.of(assets, AS_OF)
    years = [2025, 2026, 2027]
    corr = Correlation(review_sigma=sigma, review_levels=256)
    mc = simulate(portfolio, RATES, years, paths=n, seed=5, correlation=corr)
    assert mc.path_counts is not None
    nodes, weights = np.polynomial.hermite.hermgauss(40)
    mixture = np.zeros((len(years), len(assets) + 1))
    for x, w in zip(nodes, weights, strict=True):
        scaled = RATES.adjusted(duration_multiplier={Phase.FILED: math.exp(sigma * math.sqrt(2.0) * x)})
        result = forecast_portfolio(portfolio, scaled, years)
        mixture += w / math.sqrt(math.pi) * poisson_binomial(result.probabilities, result.counts)
    plain = poisson_binomial(forecast_portfolio(portfolio, RATES, years).probabilities)
    for j in range(len(years)):
        observed = frequencies(mc.path_counts[:, j], mixture.shape[1])
        bound = 5 * se(mixture[j], n) + 2e-3  # + the 256-level discretisation of the lognormal
        assert np.all(np.abs(observed - mixture[j]) <= bound), (years[j], observed, mixture[j])
    assert np.max(np.abs(plain - mixture)) > 0.05  # the shock off would be caught


# --- sponsor stops -----------------------------------------------------------------------------


def test_sponsor_stops_take_all_of_a_sponsors_candidates_together() -> None:
    q, n = 0.3, 20_000
    filed = AS_OF - dt.timedelta(days=1)
    assets = [cand(f"c{i}", Phase.FILED, filed, f"S{i % 3}") for i in range(12)]
    mc = simulate(Portfolio.of(assets, AS_OF), instant(), [2025], paths=n, seed=8,
                  correlation=Correlation(sponsor_stop=q))
    assert mc.path_counts is not None
    observed = frequencies(mc.path_counts[:, 0], 13)
    # 3 sponsors of 4 certain approvals each; a stopped sponsor contributes 0: 4 * Binomial(3, 1 - q)
    want = np.zeros(13)
    want[[0, 4, 8, 12]] = stats.binom.pmf(np.arange(4), 3, 1 - q)
    assert np.all(np.abs(observed - want) <= 5 * se(want, n)), observed
    per_candidate = stats.binom.pmf(np.arange(13), 12, 1 - q)
    assert np.max(np.abs(per_candidate - want)) > 0.1


def test_sponsor_stop_count_is_a_per_sponsor_mixture() -> None:
    q, n = 0.25, 40_000
    assets = [cand(f"c{i}", Phase.FILED, AS_OF - dt.timedelta(days=40 * i), f"S{i % 3}") for i in range(9)]
    assets.append(Asset("ok", "ok", (PhaseEvent(Phase.APPROVED, dt.date(2025, 3, 1)),), sponsor="S0"))
    portfolio = Portfolio.of(assets, AS_OF)
    years = [2025, 2026]
    mc = simulate(portfolio, RATES, years, paths=n, seed=3, correlation=Correlation(sponsor_stop=q))
    assert mc.path_counts is not None
    p = forecast_portfolio(portfolio, RATES, years).probabilities
    for j in range(len(years)):
        total = np.ones(1)
        for s in ("S0", "S1", "S2"):
            rows = [i for i, a in enumerate(portfolio.assets) if a.sponsor == s and a.phase is Phase.FILED]
            block = (1 - q) * poisson_binomial(p[rows, j])
            block[0] += q
            total = np.convolve(total, block)
        certain = int(p[:, j][[a.phase is Phase.APPROVED for a in portfolio.assets]].sum())
        want = np.concatenate((np.zeros(certain), total))  # the approval on record stands
        observed = frequencies(mc.path_counts[:, j], len(want))
        assert np.all(np.abs(observed - want) <= 5 * se(want, n)), (years[j], observed, want)


# --- entrants ----------------------------------------------------------------------------------


def _window_means(phase: Phase, per_year: float, start: dt.date, end: dt.date, years: list[int]) -> np.ndarray:
    """Independent: each entry day d, a candidate entering `phase` on d and seen from d, weighted per day."""
    total = np.zeros(len(years))
    day = start
    while day <= end:
        probs, _ = candidate_year_matrix([cand("e", phase, day)], RATES, day, years)
        total += probs[0] * per_year / 365.25
        day += dt.timedelta(days=1)
    return total


@pytest.mark.parametrize("phase", [Phase.FILED, Phase.PHASE3])
def test_entrant_means_match_the_exact_window_computation(phase: Phase) -> None:
    years = [2026, 2027, 2028, 2029]
    start, end = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
    mu = entrant_year_means([Entrants(phase, 6.0, start, end)], RATES, AS_OF, years)
    want = _window_means(phase, 6.0, start, end, years)
    assert np.allclose(mu, want, rtol=3e-3, atol=1e-4), (mu, want)
    assert want.sum() > 0.5


def test_entrants_add_poisson_approvals_in_the_simulation() -> None:
    years, n = [2026, 2027, 2028], 20_000
    entrants = [Entrants(Phase.FILED, 6.0, dt.date(2026, 1, 1), dt.date(2026, 12, 31))]
    stopped = Asset("x", "x", (PhaseEvent(Phase.DISCONTINUED, dt.date(2024, 1, 1)),))
    mc = simulate(Portfolio.of([stopped], AS_OF), RATES, years, paths=n, seed=4, entrants=entrants)
    assert mc.path_counts is not None
    want = _window_means(Phase.FILED, 6.0, entrants[0].start, entrants[0].end, years)
    for j in range(len(years)):
        counts = mc.path_counts[:, j].astype(float)
        assert abs(counts.mean() - want[j]) <= 5 * math.sqrt(want[j] / n) + 1e-3, (years[j], counts.mean(), want[j])
        # Poisson: P(0) = exp(-mu)
        assert abs((counts == 0).mean() - math.exp(-want[j])) <= 5 * se(math.exp(-want[j]), n)
    assert want.max() > 1.0


# --- scenario levers ---------------------------------------------------------------------------


def _lever_portfolio() -> list[Asset]:
    return [
        cand("onc", Phase.FILED, dt.date(2025, 5, 1), area="Oncology"),
        cand("neu", Phase.PHASE3, dt.date(2023, 9, 1), area="Neurology", modality="antibody"),
        cand("cell", Phase.PHASE3, dt.date(2024, 2, 1), area="Oncology", modality="cell therapy"),
        cand("p2", Phase.PHASE2, dt.date(2024, 6, 1), count=3),
    ]


def _scaled_table(phase: Phase, median: float, ratio: float | None = None) -> RateSet:
    table = dict(TABLE)
    s, m, q = table[phase]
    table[phase] = (s, median, median * (q / m if ratio is None else ratio))
    return rates(table)


YEARS = [2025, 2026, 2027, 2028, 2029]
LEVER_CASES: dict[str, tuple[dict[str, Any], Callable[[], RateSet]]] = {
    "review multiplier": ({"review_time": {"filed": {"multiplier": 0.5}}}, lambda: _scaled_table(Phase.FILED, 6.5)),
    "review working days": ({"review_time": {"filed": {"working_days": 125}}}, lambda: _scaled_table(Phase.FILED, 6.0)),
    "review months": ({"review_time": {"phase3": {"months": 20}}}, lambda: _scaled_table(Phase.PHASE3, 20.0)),
    "success all": (
        {"success_multiplier": {"all": 0.5}},
        lambda: rates({p: (s * 0.5, m, q) for p, (s, m, q) in TABLE.items()}),
    ),
}


@pytest.mark.parametrize("case", sorted(LEVER_CASES))
def test_rate_levers_match_hand_built_rate_sets(case: str) -> None:
    levers, built = LEVER_CASES[case]
    assets = _lever_portfolio()
    portfolio, rate_set, _, _ = apply(parse_scenario({"levers": levers}), assets, RATES, AS_OF, YEARS[-1])
    got = expected_counts(portfolio, rate_set, YEARS)
    want = expected_counts(Portfolio.of(assets, AS_OF), built(), YEARS)
    base = expected_counts(Portfolio.of(assets, AS_OF), RATES, YEARS)
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert np.max(np.abs(want - base)) > 0.03


@pytest.mark.parametrize("kind", ["therapeutic_area", "modality"])
def test_success_multiplier_by_group_touches_only_that_group(kind: str) -> None:
    assets = _lever_portfolio()
    name, factor = ("Oncology", 1.5) if kind == "therapeutic_area" else ("antibody", 0.4)
    scenario = parse_scenario({"levers": {"success_multiplier": {kind: {name: factor}}}})
    portfolio, rate_set, _, _ = apply(scenario, assets, RATES, AS_OF, YEARS[-1])
    got = expected_counts(portfolio, rate_set, YEARS)
    boosted = rates({p: (min(1.0, s * factor), m, q) for p, (s, m, q) in TABLE.items()})
    inside = [a for a in assets if getattr(a, kind) == name]
    outside = [a for a in assets if getattr(a, kind) != name]
    want = expected_counts(Portfolio.of(inside, AS_OF), boosted, YEARS)
    want += expected_counts(Portfolio.of(outside, AS_OF), RATES, YEARS)
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert np.max(np.abs(want - expected_counts(Portfolio.of(assets, AS_OF), RATES, YEARS))) > 0.02


def test_candidate_levers_match_hand_built_portfolios() -> None:
    assets = _lever_portfolio()
    licensed = {"id": "lic", "phase": "filed", "date": "2025-08-01", "count": 2}
    scenario = parse_scenario({"levers": {
        "in_licensed": [licensed], "discontinue": ["onc"], "accelerate": {"neu": 18},
    }})
    portfolio, rate_set, _, _ = apply(scenario, assets, RATES, AS_OF, YEARS[-1])
    got = expected_counts(portfolio, rate_set, YEARS)
    moved = dt.date(2023, 9, 1) - dt.timedelta(days=round(18 * DAYS_PER_MONTH))
    by_hand = [a for a in assets if a.id not in ("onc", "neu")]
    by_hand += [dataclasses.replace(assets[1], history=(PhaseEvent(Phase.PHASE3, moved),))]
    by_hand += [cand("lic", Phase.FILED, dt.date(2025, 8, 1), count=2)]
    want = expected_counts(Portfolio.of(by_hand, AS_OF), RATES, YEARS)
    np.testing.assert_allclose(got, want, atol=1e-12)
    each = {
        "discontinue": expected_counts(Portfolio.of(assets[:1], AS_OF), RATES, YEARS),
        "in_licensed": expected_counts(Portfolio.of(by_hand[-1:], AS_OF), RATES, YEARS),
        "accelerate": expected_counts(Portfolio.of(by_hand[-2:-1], AS_OF), RATES, YEARS)
        - expected_counts(Portfolio.of(assets[1:2], AS_OF), RATES, YEARS),
    }
    assert all(np.max(np.abs(v)) > 0.015 for v in each.values()), each


def test_scenario_run_matches_the_exact_engine_on_hand_built_inputs() -> None:
    """The Monte Carlo path that `scenarios compare` uses, with review, entrants and candidate levers."""
    assets = _lever_portfolio()
    n = 20_000
    scenario = parse_scenario({"levers": {
        "review_time": {"filed": {"multiplier": 0.5}},
        "new_entrants": [{"phase": "filed", "per_year": 4, "from": "2026-01-01", "until": "2026-12-31"}],
        "discontinue": ["onc"],
    }})
    target = parse_target("2026-2028:1+")
    mc = run_scenario(scenario, assets, target, rates=RATES, as_of=AS_OF, paths=n, seed=6)
    fast = _scaled_table(Phase.FILED, 6.5)
    years = mc.years
    want = expected_counts(Portfolio.of(assets[1:], AS_OF), fast, years)
    day, entry = dt.date(2026, 1, 1), np.zeros(len(years))
    while day <= dt.date(2026, 12, 31):
        probs, _ = candidate_year_matrix([cand("e", Phase.FILED, day)], fast, day, years)
        entry += probs[0] * 4 / 365.25
        day += dt.timedelta(days=1)
    want += entry
    assert mc.path_counts is not None
    for j in range(len(years)):
        counts = mc.path_counts[:, j].astype(float)
        assert abs(counts.mean() - want[j]) <= 5 * counts.std() / math.sqrt(n) + 1e-3, (years[j], counts.mean())


# --- leave-one-out contributors ----------------------------------------------------------------


def _loo_portfolio() -> Portfolio:
    assets = [
        cand("a", Phase.FILED, dt.date(2025, 4, 1)),
        cand("b", Phase.FILED, dt.date(2025, 9, 1)),
        cand("c", Phase.PHASE3, dt.date(2023, 1, 1)),
        cand("d", Phase.PHASE3, dt.date(2024, 5, 1), count=3),
        cand("e", Phase.PHASE2, dt.date(2023, 6, 1)),
    ]
    return Portfolio.of(assets, AS_OF)


def _without(portfolio: Portfolio, asset_id: str) -> Portfolio:
    kept = []
    for a in portfolio.assets:
        if a.id != asset_id:
            kept.append(a)
        elif a.count > 1:
            kept.append(dataclasses.replace(a, count=a.count - 1))
    return Portfolio.of(kept, portfolio.as_of)


def test_exact_leave_one_out_matches_recomputation() -> None:
    portfolio, target, years = _loo_portfolio(), parse_target("2026-2027:1+"), [2025, 2026, 2027, 2028]
    check = forecast_portfolio(portfolio, RATES, years).check(target)
    assert {c.asset_id for c in check.contributors} == {"a", "b", "c", "d", "e"}
    for c in check.contributors:
        again = forecast_portfolio(_without(portfolio, c.asset_id), RATES, years).check(target)
        assert c.delta_probability == pytest.approx(check.all_years_at_least_low - again.all_years_at_least_low,
                                                    abs=1e-12)
    assert max(c.delta_probability for c in check.contributors) > 0.02


def test_monte_carlo_leave_one_out_matches_recomputation() -> None:
    portfolio, target, years = _loo_portfolio(), parse_target("2026-2027:1+"), [2025, 2026, 2027, 2028]
    n = 40_000
    mc = simulate(portfolio, RATES, years, paths=n, seed=12, target=target)
    floor = forecast_portfolio(portfolio, RATES, years).check(target).all_years_at_least_low
    found = 0
    for c in mc.check(target).contributors:
        again = forecast_portfolio(_without(portfolio, c.asset_id), RATES, years).check(target)
        delta = floor - again.all_years_at_least_low
        assert abs(c.delta_probability - delta) <= 5 * se(delta, n), (c.asset_id, c.delta_probability, delta)
        found += int(delta > 10 * se(delta, n))
    assert found >= 2


# --- cohorts -----------------------------------------------------------------------------------


def test_a_huge_cohort_is_one_binomial_factor() -> None:
    n = 10**8
    years = [2026, 2027, 2028]
    portfolio = Portfolio.of([cand("big", Phase.PHASE2, dt.date(2024, 1, 1), count=n)], AS_OF)
    tracemalloc.start()
    try:
        result = forecast_portfolio(portfolio, RATES, years)
        outlooks = result.outlooks
        check = result.check(parse_target("2027-2028:1+"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200e6
    p = result.probabilities[0]
    for j, o in enumerate(outlooks):
        assert o.expected == pytest.approx(n * p[j], rel=1e-12)
        k = np.arange(o.offset, o.offset + len(o.pmf))
        np.testing.assert_allclose(o.pmf, stats.binom.pmf(k, n, p[j]), atol=1e-12)
        assert sum(o.pmf) == pytest.approx(1.0, abs=1e-9)
        assert o.quantile(0.5) == pytest.approx(n * p[j], abs=3)
    assert check.all_years_at_least_low == pytest.approx(1.0, abs=1e-12)


def test_a_large_cohort_in_the_joint_target_matches_the_multinomial() -> None:
    n, years = 100, [2027, 2028]
    portfolio = Portfolio.of([cand("big", Phase.PHASE3, dt.date(2025, 9, 1), count=n)], AS_OF)
    result = forecast_portfolio(portfolio, RATES, years)
    p1, p2 = result.probabilities[0]
    want = 0.0
    for k1 in range(1, 16):
        for k2 in range(1, 16):
            want += math.comb(n, k1) * math.comb(n - k1, k2) * p1**k1 * p2**k2 * (1 - p1 - p2) ** (n - k1 - k2)
    check = result.check(parse_target("2027-2028:1-15"))
    assert check.all_years_in_band == pytest.approx(want, abs=1e-10)
    assert 0.2 < want < 0.95
    floor = 1 - (1 - p1) ** n - (1 - p2) ** n + (1 - p1 - p2) ** n
    assert check.all_years_at_least_low == pytest.approx(floor, abs=1e-10)


def test_a_cohort_of_five_is_five_copies_exactly() -> None:
    years, target = [2025, 2026, 2027, 2028], parse_target("2026-2027:1-2")
    start = dt.date(2024, 3, 1)
    cohort = forecast_portfolio(Portfolio.of([cand("c", Phase.PHASE3, start, "S", count=5)], AS_OF), RATES, years)
    copies = forecast_portfolio(
        Portfolio.of([cand(f"c{i}", Phase.PHASE3, start, "S") for i in range(5)], AS_OF), RATES, years
    )
    for a, b in zip(cohort.outlooks, copies.outlooks, strict=True):
        assert a.offset == b.offset == 0
        np.testing.assert_allclose(a.pmf, b.pmf, rtol=0, atol=1e-15)
    ca, cb = cohort.check(target), copies.check(target)
    assert ca.all_years_in_band == pytest.approx(cb.all_years_in_band, abs=1e-15)
    assert ca.all_years_at_least_low == pytest.approx(cb.all_years_at_least_low, abs=1e-15)


def test_monte_carlo_cohorts_are_binomial_and_bounded() -> None:
    years, paths = [2026, 2027, 2028], 4000
    huge = Portfolio.of([cand("big", Phase.PHASE2, dt.date(2024, 1, 1), count=10**8)], AS_OF)
    tracemalloc.start()
    try:
        mc = simulate(huge, RATES, years, paths=paths, seed=2)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200e6
    p = forecast_portfolio(huge, RATES, years).probabilities[0]
    for j, o in enumerate(mc.outlooks):
        sd = math.sqrt(10**8 * p[j] * (1 - p[j]))
        assert abs(o.expected - 10**8 * p[j]) <= 5 * sd / math.sqrt(paths)


@pytest.mark.parametrize("corr", [Correlation(), Correlation(rho={"all": 0.5}, review_sigma=0.3)])
def test_monte_carlo_cohort_matches_its_copies(corr: Correlation) -> None:
    years, n, size = [2026, 2027, 2028], 20_000, 40
    start = dt.date(2024, 3, 1)
    cohort = Portfolio.of([cand("c", Phase.PHASE3, start, "S", count=size)], AS_OF)
    copies = Portfolio.of([cand(f"c{i}", Phase.PHASE3, start, "S") for i in range(size)], AS_OF)
    a = simulate(cohort, RATES, years, paths=n, seed=31, correlation=corr)
    b = simulate(copies, RATES, years, paths=n, seed=32, correlation=corr)
    assert a.path_counts is not None
    assert b.path_counts is not None
    for j in range(len(years)):
        fa, fb = frequencies(a.path_counts[:, j], size + 1), frequencies(b.path_counts[:, j], size + 1)
        assert np.all(np.abs(fa - fb) <= 5 * np.sqrt(se(fa, n) ** 2 + se(fb, n) ** 2)), years[j]
    if not corr.rho:
        p = forecast_portfolio(cohort, RATES, years).probabilities[0]
        for j in range(len(years)):
            want = stats.binom.pmf(np.arange(size + 1), size, p[j])
            assert np.all(np.abs(frequencies(a.path_counts[:, j], size + 1) - want) <= 5 * se(want, n))


# --- as-of and year bounds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "years", "field"),
    [
        (dt.date(9999, 12, 31), [2025, 2026], "--as-of"),
        (dt.date(9999, 12, 31), list(range(9999, 10006)), "--years"),
        (AS_OF, [9998, 9999], "--years"),
        (AS_OF, [2030, 2031], None),
        (dt.date(2027, 1, 1), [2025, 2026], "--as-of"),
    ],
)
def test_years_and_as_of_out_of_range_are_one_line_errors(as_of: dt.date, years: list[int], field: str | None) -> None:
    portfolio = Portfolio.of([cand("a", Phase.FILED, dt.date(2024, 1, 1))], as_of)
    if field is None:
        assert forecast_portfolio(portfolio, RATES, years).outlooks[0].year == 2030
        return
    runs: list[Callable[[], object]] = [
        lambda: forecast_portfolio(portfolio, RATES, years),
        lambda: simulate(portfolio, RATES, years, paths=64, seed=0),
    ]
    for run in runs:
        with pytest.raises(InputError) as info:
            run()
        assert info.value.field == field
        assert "\n" not in str(info.value)


def test_a_target_is_never_judged_on_a_subset_of_its_years() -> None:
    portfolio = Portfolio.of([cand("a", Phase.FILED, dt.date(2025, 6, 1))], AS_OF)
    target = parse_target("2026-2030:1+")
    for result in (
        forecast_portfolio(portfolio, RATES, [2025, 2026, 2027]),
        simulate(portfolio, RATES, [2025, 2026, 2027], paths=64, seed=0, keep_paths=True),
    ):
        with pytest.raises(EngineError, match=r"2028, 2029, 2030"):
            result.check(target)
    full = forecast_portfolio(portfolio, RATES, list(range(2025, 2031))).check(target)
    assert full.missing_years == []
    assert full.all_years_at_least_low < 1e-3  # one candidate cannot be approved in five years
