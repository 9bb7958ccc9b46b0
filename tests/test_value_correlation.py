"""The rNPV Monte Carlo with the forecast's correlation factors (`pipecast.engines.montecarlo.Correlation`):
rho = 0 is the independent simulation, rho > 0 keeps each candidate's marginal (the mean stays at the analytic
rNPV) and widens the spread as the bivariate-normal closed form for the count of successes says."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats

from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.engines.montecarlo import Correlation
from pipecast.rates import Duration, RateRow, RateSet
from pipecast.value.economics import PARAMETERS, Economics
from pipecast.value.montecarlo import simulate_portfolio
from pipecast.value.rnpv import value_candidate

AS_OF = dt.date(2026, 1, 1)
P_FILED = 0.6
N = 10
PATHS = 40_000


def economics() -> Economics:
    values = dict.fromkeys(PARAMETERS, 0.0)
    values.update(discount_rate=0.10, peak_sales_median=100.0, peak_sales_p90=100.0, years_to_peak=6.0,
                  loe_years=8.0, loe_erosion=0.5, post_loe_years=0.0, usd_cny=7.2)
    return Economics(values, "USD")


def portfolio(sponsors: list[str]) -> list[Asset]:
    return [dataclasses.replace(Asset(f"c{i}", f"c{i}", (PhaseEvent(Phase.FILED, AS_OF),)), sponsor=s)
            for i, s in enumerate(sponsors)]


#: Only the filed stage matters (the candidates are filed); the other rows complete the rate set.
RATES = RateSet("one-stage", tuple(RateRow(p, P_FILED if p is Phase.FILED else 0.5, Duration(12.0, 12.0))
                                   for p in (Phase.PRECLINICAL, Phase.PHASE1, Phase.PHASE2, Phase.PHASE3,
                                             Phase.FILED)))


def run(assets: list[Asset], correlation: Correlation | None, seed: int = 11) -> np.ndarray:
    total, _ = simulate_portfolio(assets, RATES, lambda _: economics(), AS_OF, paths=PATHS, seed=seed,
                                  correlation=correlation)
    return np.array([total.mean, total.standard_error, total.p10, total.p90])


def test_rho_zero_is_the_independent_simulation() -> None:
    assets = portfolio(["Acme"] * N)
    assert (run(assets, None) == run(assets, Correlation(rho={"sponsor": 0.0}))).all()


def test_sponsor_copula_keeps_the_mean_and_widens_the_spread_as_the_closed_form_says() -> None:
    assert RATES.rows[-1].duration.sigma == 0  # deterministic timing: the total is V x (number approved)
    assets = portfolio(["Acme"] * N)
    value_each = value_candidate(assets[0], RATES, economics(), AS_OF).rnpv / P_FILED  # value if approved
    analytic = N * value_each * P_FILED
    independent = run(assets, None)
    rho = 0.5
    correlated = run(assets, Correlation(rho={"sponsor": rho}))
    for mean, se, *_ in (independent, correlated):
        assert abs(mean - analytic) < 4 * se
    # Var(count) = N p q + N (N - 1) (Phi2(z, z; rho) - p^2), z = Phi^-1(p): the copula's closed form.
    z = stats.norm.ppf(P_FILED)
    both = stats.multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([z, z])
    sd_closed = value_each * math.sqrt(N * P_FILED * (1 - P_FILED) + N * (N - 1) * (both - P_FILED**2))
    sd_independent = value_each * math.sqrt(N * P_FILED * (1 - P_FILED))
    sd_mc = correlated[1] * math.sqrt(PATHS)
    assert sd_mc == pytest.approx(sd_closed, rel=0.03)
    assert sd_closed > 1.5 * sd_independent  # the check has teeth: the two differ far beyond 3 %
    assert independent[1] * math.sqrt(PATHS) == pytest.approx(sd_independent, rel=0.03)
    assert correlated[3] - correlated[2] > independent[3] - independent[2]


def test_different_sponsors_stay_independent_under_a_sponsor_rho() -> None:
    assets = portfolio([f"S{i}" for i in range(N)])
    value_each = value_candidate(assets[0], RATES, economics(), AS_OF).rnpv / P_FILED
    correlated = run(assets, Correlation(rho={"sponsor": 0.8}))
    assert correlated[1] * math.sqrt(PATHS) == pytest.approx(
        value_each * math.sqrt(N * P_FILED * (1 - P_FILED)), rel=0.03)
    shared = run(assets, Correlation(rho={"all": 0.8}))  # one factor for all: wide again
    assert shared[3] - shared[2] > correlated[3] - correlated[2]


def test_review_shock_spreads_the_approval_date_only() -> None:
    assets = portfolio(["Acme"] * N)
    plain = run(assets, None)
    shocked = run(assets, Correlation(review_sigma=1.0))
    levels = Correlation(review_sigma=1.0).levels()
    # The value on approval is discounted over 12 months times the level: averaged over the equiprobable levels.
    days = 12.0 * 365.25 / 12.0
    factor = float(np.mean(1.1 ** (-(days * levels - days) / 365.25)))
    assert shocked[0] == pytest.approx(plain[0] * factor, rel=0.005)  # MC error ~0.2 %
    assert abs(factor - 1) > 0.03
