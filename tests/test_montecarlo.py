"""Monte Carlo engine: agreement with the exact engine, reproducibility across chunking and engines,
and the effect of each kind of correlation. Fixed seeds throughout; tolerances are computed from the
number of paths (5 standard errors), so the tests are deterministic and not flaky."""

from __future__ import annotations

import datetime as dt
import math
import sys
import time

import numpy as np
import pytest

from pipecast.domain import Asset, Phase, PhaseEvent, Portfolio
from pipecast.engines.exact import forecast_portfolio
from pipecast.engines.montecarlo import Correlation, MonteCarloForecast, simulate
from pipecast.errors import EngineError, InputError, MissingExtraError
from pipecast.loading.rates import bundled_rate_set
from pipecast.synthetic import synthetic_portfolio
from pipecast.targets import parse_target

AS_OF = dt.date(2025, 11, 1)
YEARS = list(range(2025, 2032))
RATES = bundled_rate_set("china")


@pytest.fixture(scope="module")
def portfolio() -> Portfolio:
    return synthetic_portfolio(150, seed=3, as_of=AS_OF, sponsors=12)


def _bound(p: float, n: int) -> float:
    return 5 * math.sqrt((p * (1 - p) + 1.0 / n) / n)


def test_agrees_with_exact_engine(portfolio: Portfolio) -> None:
    n = 20_000
    target = parse_target("2027-2030:2+")
    exact = forecast_portfolio(portfolio, RATES, YEARS)
    mc = simulate(portfolio, RATES, YEARS, paths=n, seed=11, target=target)
    assert isinstance(mc, MonteCarloForecast)
    assert mc.method == "montecarlo"
    assert mc.mc_error is not None
    for e, m, err in zip(exact.outlooks, mc.outlooks, mc.mc_error["years"], strict=True):
        assert e.observed == m.observed
        size = max(len(e.pmf), len(m.pmf))
        pe = np.pad(e.pmf, (0, size - len(e.pmf)))
        pm = np.pad(m.pmf, (0, size - len(m.pmf)))
        for a, b in zip(pe, pm, strict=True):
            assert abs(a - b) <= _bound(a, n), (e.year, a, b)
        assert abs(e.expected - m.expected) <= 5 * err["expected"] + 1e-9
        assert len(err["pmf"]) == len(m.pmf)
    ce, cm = exact.check(target), mc.check(target)
    assert abs(ce.all_years_at_least_low - cm.all_years_at_least_low) <= _bound(ce.all_years_at_least_low, n)
    assert abs(ce.all_years_in_band - cm.all_years_in_band) <= _bound(ce.all_years_in_band, n)
    for year, p in ce.per_year_in_band.items():
        assert abs(p - cm.per_year_in_band[year]) <= _bound(p, n)
    # per-candidate year probabilities
    se = np.sqrt((exact.probabilities * (1 - exact.probabilities) + 1 / n) / n)
    assert np.all(np.abs(exact.probabilities - mc.probabilities) <= 5 * se)
    # leave-one-out contributions agree for the top carriers
    exact_delta = {c.asset_id: c.delta_probability for c in ce.contributors}
    for c in cm.contributors[:5]:
        if c.asset_id in exact_delta:
            assert abs(c.delta_probability - exact_delta[c.asset_id]) <= _bound(abs(exact_delta[c.asset_id]), n)
    data = mc.to_json(target)
    assert "mc_error" in data["target"]
    assert "mc_error" in data["years"][0]


def test_same_seed_same_numbers_whatever_the_chunking(portfolio: Portfolio) -> None:
    target = parse_target("2027-2030:1-3")
    runs = [
        simulate(portfolio, RATES, YEARS, paths=1000, seed=5, chunk_paths=c, target=target, keep_paths=True)
        for c in (1, 200, 5000)
    ]
    for other in runs[1:]:
        assert all(a == b for a, b in zip(runs[0].histograms, other.histograms, strict=True))
        assert np.array_equal(runs[0].probabilities, other.probabilities)
        assert runs[0].path_counts is not None
        assert other.path_counts is not None
        assert np.array_equal(runs[0].path_counts, other.path_counts)
        assert runs[0].check(target) == other.check(target)
    different = simulate(portfolio, RATES, YEARS, paths=1000, seed=6, target=target)
    assert not np.array_equal(runs[0].probabilities, different.probabilities)


def test_path_prefix_is_stable(portfolio: Portfolio) -> None:
    """Paths 0..n-1 are the same whether n or more paths are drawn (counter-based blocks)."""
    short = simulate(portfolio, RATES, YEARS, paths=100, seed=2, keep_paths=True)
    long = simulate(portfolio, RATES, YEARS, paths=300, seed=2, keep_paths=True)
    assert short.path_counts is not None
    assert long.path_counts is not None
    assert np.array_equal(short.path_counts, long.path_counts[:100])


def test_dask_engine_identical(portfolio: Portfolio) -> None:
    distributed = pytest.importorskip("distributed")
    corr = Correlation(rho={"sponsor": 0.3}, review_sigma=0.2, sponsor_stop=0.05)
    target = parse_target("2027-2030:1+")
    reference = simulate(portfolio, RATES, YEARS, paths=640, seed=9, correlation=corr, target=target)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        other = simulate(
            portfolio, RATES, YEARS, paths=640, seed=9, correlation=corr, target=target,
            engine="dask", scheduler=client, chunk_paths=128,
        )
    assert other.engine == "dask"
    assert all(a == b for a, b in zip(reference.histograms, other.histograms, strict=True))
    assert np.array_equal(reference.probabilities, other.probabilities)
    assert reference.check(target) == other.check(target)


def test_jax_engine_identical(portfolio: Portfolio) -> None:
    pytest.importorskip("jax", reason="jax is not installed (pip install 'pipecast[jax]')")
    target = parse_target("2027-2030:1+")
    for corr in (Correlation(), Correlation(review_sigma=0.3, sponsor_stop=0.1)):
        a = simulate(portfolio, RATES, YEARS, paths=500, seed=4, correlation=corr, target=target)
        b = simulate(portfolio, RATES, YEARS, paths=500, seed=4, correlation=corr, target=target, engine="jax")
        assert all(x == y for x, y in zip(a.histograms, b.histograms, strict=True))
        assert np.array_equal(a.probabilities, b.probabilities)
    # cohorts are drawn as multinomials before the kernel runs, so they are identical too
    cohort = Portfolio.of([*portfolio.assets[:20], Asset(
        "cohort", "cohort", (PhaseEvent(Phase.PHASE3, dt.date(2024, 5, 1)),), sponsor="S1", count=5000
    )], AS_OF)
    a = simulate(cohort, RATES, YEARS, paths=500, seed=4, correlation=Correlation(sponsor_stop=0.1), target=target)
    b = simulate(cohort, RATES, YEARS, paths=500, seed=4, correlation=Correlation(sponsor_stop=0.1), target=target,
                 engine="jax")
    assert all(x == y for x, y in zip(a.histograms, b.histograms, strict=True))
    assert a.check(target) == b.check(target)
    # with the copula, float32 normal quantiles may differ in the last bit: agreement to MC precision
    corr = Correlation(rho={"therapeutic_area": 0.4})
    a = simulate(portfolio, RATES, YEARS, paths=500, seed=4, correlation=corr)
    b = simulate(portfolio, RATES, YEARS, paths=500, seed=4, correlation=corr, engine="jax")
    assert np.abs(a.probabilities - b.probabilities).max() <= 0.01


def test_missing_extras_and_bad_scheduler(portfolio: Portfolio, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(MissingExtraError, match="jax"):
        simulate(portfolio, RATES, YEARS, paths=64, seed=0, engine="jax")
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(MissingExtraError, match="dask"):
        simulate(portfolio, RATES, YEARS, paths=64, seed=0, engine="dask")
    monkeypatch.undo()
    pytest.importorskip("distributed")
    start = time.monotonic()
    with pytest.raises(EngineError, match=r"127\.0\.0\.1:9"):
        simulate(portfolio, RATES, YEARS, paths=64, seed=0, engine="dask", scheduler="tcp://127.0.0.1:9")
    assert time.monotonic() - start < 15
    with pytest.raises(InputError):
        simulate(portfolio, RATES, YEARS, paths=64, seed=0, engine="cuda")
    with pytest.raises(InputError):
        Correlation(rho={"country": 0.2})
    with pytest.raises(InputError):
        Correlation(rho={"sponsor": 0.7, "all": 0.5})


def test_copula_widens_variance_keeps_mean(portfolio: Portfolio) -> None:
    n = 8000
    indep = simulate(portfolio, RATES, YEARS, paths=n, seed=1, keep_paths=True)
    corr = simulate(
        portfolio, RATES, YEARS, paths=n, seed=1, keep_paths=True, correlation=Correlation(rho={"all": 0.5})
    )
    assert indep.path_counts is not None
    assert corr.path_counts is not None
    for j in range(len(YEARS)):
        a, b = indep.path_counts[:, j].astype(float), corr.path_counts[:, j].astype(float)
        if a.var() == 0:
            continue
        se = math.sqrt(a.var() / n + b.var() / n)
        assert abs(a.mean() - b.mean()) <= 5 * se
        if a.mean() > 0.5:
            assert b.var() > 1.2 * a.var()


def _filed(i: int, sponsor: str) -> Asset:
    return Asset(f"c{i}", f"C{i}", (PhaseEvent(Phase.FILED, dt.date(2025, 10, 1)),), sponsor=sponsor)


def test_sponsor_stop_lowers_mean_by_q() -> None:
    assets = [_filed(i, f"S{i % 3}") for i in range(12)]
    assets.append(Asset("a", "A", (PhaseEvent(Phase.APPROVED, dt.date(2026, 1, 1)),), sponsor="S0"))
    as_of = dt.date(2026, 6, 1)
    portfolio = Portfolio.of(assets, as_of)
    years = [2026, 2027]
    q, n = 0.3, 20_000
    exact = forecast_portfolio(portfolio, RATES, years)
    mc = simulate(portfolio, RATES, years, paths=n, seed=7, correlation=Correlation(sponsor_stop=q), keep_paths=True)
    assert mc.path_counts is not None
    for j, year in enumerate(years):
        observed = exact.outlook(year).observed  # the approval on record is not undone
        want = observed + (1 - q) * (exact.outlook(year).expected - observed)
        counts = mc.path_counts[:, j].astype(float)
        assert abs(counts.mean() - want) <= 5 * counts.std() / math.sqrt(n)
    # all of a sponsor's candidates stop together: P(no approval from S1 at all) >= q
    assert mc.path_counts[:, 0].min() >= 1


def test_review_shock_keeps_structure(portfolio: Portfolio) -> None:
    mc = simulate(portfolio, RATES, YEARS, paths=2000, seed=3, correlation=Correlation(review_sigma=0.4))
    exact = forecast_portfolio(portfolio, RATES, YEARS)
    total_mc = sum(o.expected for o in mc.outlooks)
    total_exact = sum(o.expected for o in exact.outlooks)
    assert abs(total_mc - total_exact) / total_exact < 0.15


def test_engine_default_is_declared_once() -> None:
    """The settings table's engine is the reference engine the core falls back to; paths and seed have no
    default in the core (the shell passes the settings table's)."""
    import inspect as inspect_

    from pipecast.engines.montecarlo import REFERENCE_ENGINE
    from pipecast.settings import setting

    assert setting("engine").default == REFERENCE_ENGINE
    for name in ("paths", "seed"):
        assert inspect_.signature(simulate).parameters[name].default is inspect_.Parameter.empty
