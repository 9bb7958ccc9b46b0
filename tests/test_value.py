"""pipecast.value against independent computations: numerical integration (scipy.integrate.quad) of the
lognormal timing model, the exact engine's approval-year probabilities, brute-force sums and sampling."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats

from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.engines.exact import candidate_year_matrix
from pipecast.errors import InputError
from pipecast.rates import DAYS_PER_MONTH, Duration, RateRow, RateSet
from pipecast.value.deals import Deal, Milestone, value_deal
from pipecast.value.economics import PARAMETERS, Economics
from pipecast.value.montecarlo import simulate_portfolio
from pipecast.value.programme import Programme, Reward, StageSupport, evaluate_programme
from pipecast.value.rnpv import value_candidate
from pipecast.value.sales import PeakSales, RoyaltyTier, expected_royalty, first_year_above, royalty_on
from pipecast.value.timing import candidate_timeline

AS_OF = dt.date(2026, 1, 1)
RATE = 0.10
#: The model cuts the current phase to whole days (floor): the discount differs from the continuous one by at
#: most (1 + r) ** (1 / 365.25) - 1 = 2.6e-4 at r = 0.10; a wrong sigma, unit or conditioning is far off.
FLOOR_TOLERANCE = 5e-4

FILED = Duration(12.0, 20.0)
PHASES = {
    Phase.PRECLINICAL: (0.7, Duration(10.0, 18.0)),
    Phase.PHASE1: (0.6, Duration(20.0, 36.0)),
    Phase.PHASE2: (0.35, Duration(30.0, 50.0)),
    Phase.PHASE3: (0.55, Duration(32.0, 55.0)),
    Phase.FILED: (0.85, FILED),
}


def rate_set() -> RateSet:
    return RateSet("test", tuple(RateRow(p, q, d) for p, (q, d) in PHASES.items()))


def asset(phase: Phase, start: dt.date, *earlier: PhaseEvent, asset_id: str = "x") -> Asset:
    return Asset(asset_id, asset_id, (*earlier, PhaseEvent(phase, start)))


def economics(**overrides: float) -> Economics:
    values = dict.fromkeys(PARAMETERS, 0.0)
    values.update(
        discount_rate=RATE,
        peak_sales_median=100.0,
        peak_sales_p90=100.0,
        years_to_peak=6.0,
        loe_years=8.0,
        loe_erosion=0.5,
        post_loe_years=0.0,
        usd_cny=7.2,
    )
    values.update(overrides)
    return Economics(values, "USD")


def lognormal_pdf(duration: Duration) -> Callable[[float], float]:
    mu, sigma = duration.mu, duration.sigma
    return lambda x: math.exp(-((math.log(x) - mu) ** 2) / (2 * sigma**2)) / (x * sigma * math.sqrt(2 * math.pi))


def discount(days: float) -> float:
    return float((1 + RATE) ** (-days / 365.25))


def quad_expectation(f: Callable[[float], float], duration: Duration, elapsed: float = 0.0) -> float:
    """E[f(D - elapsed) | D > elapsed] by numerical integration of the lognormal density."""
    pdf = lognormal_pdf(duration)
    survival = 1 - stats.lognorm.cdf(elapsed, duration.sigma, scale=math.exp(duration.mu)) if elapsed else 1.0
    lo = max(elapsed, 1e-9)
    value, _ = integrate.quad(lambda x: f(x - elapsed) * pdf(x), lo, np.inf, limit=200)
    return float(value / survival)


def test_approval_milestone_on_a_single_phase_candidate_is_p_times_expected_discount() -> None:
    candidate = asset(Phase.FILED, AS_OF)
    deal = Deal("x", "USD", AS_OF, upfront=0.0, milestones=(Milestone("approved", 100.0),), discount_rate=RATE)
    result = value_deal(deal, candidate, rate_set(), economics(), AS_OF)
    (payment,) = result.payments
    expected = 100.0 * 0.85 * quad_expectation(discount, FILED)
    assert payment.probability == pytest.approx(0.85)
    assert payment.present_value == pytest.approx(expected, rel=FLOOR_TOLERANCE)
    mean_days = math.exp(FILED.mu + FILED.sigma**2 / 2)
    assert payment.expected_date is not None
    assert abs((payment.expected_date - AS_OF).days - mean_days) <= 1.5  # floor(D) averages half a day less


def test_rest_of_phase_is_conditioned_on_the_time_already_spent() -> None:
    elapsed = 300
    candidate = asset(Phase.PHASE3, AS_OF - dt.timedelta(days=elapsed))
    deal = Deal("x", "USD", AS_OF, milestones=(Milestone("filed", 50.0),), discount_rate=RATE)
    (payment,) = value_deal(deal, candidate, rate_set(), economics(), AS_OF).payments
    phase3 = PHASES[Phase.PHASE3][1]
    expected = 50.0 * 0.55 * quad_expectation(discount, phase3, elapsed)
    assert payment.present_value == pytest.approx(expected, rel=FLOOR_TOLERANCE)
    unconditioned = 50.0 * 0.55 * quad_expectation(discount, phase3)
    assert abs(payment.present_value - unconditioned) > 10 * FLOOR_TOLERANCE * expected


def test_approval_timing_agrees_with_the_exact_engine_year_by_year() -> None:
    rates = rate_set()
    candidates = [
        asset(Phase.PHASE1, dt.date(2025, 3, 1)),
        asset(Phase.PHASE2, dt.date(2023, 7, 15), asset_id="y"),
        asset(Phase.FILED, dt.date(2025, 12, 1), asset_id="z"),
    ]
    years = list(range(2026, 2046))
    engine, p_approval = candidate_year_matrix(candidates, rates, AS_OF, years)
    for i, candidate in enumerate(candidates):
        timeline = candidate_timeline(candidate, rates, AS_OF)
        assert timeline.p_approval == pytest.approx(p_approval[i], abs=1e-12)
        np.testing.assert_allclose(timeline.approval.yearly(AS_OF, years), engine[i], atol=1e-9)


def test_sales_profile_by_hand() -> None:
    # Launch curve 11/31/58/76/89/100 %, exclusivity for 7.5 years, half the sales lost after it, one tail year.
    profile = economics(loe_years=7.5, loe_erosion=0.5, post_loe_years=1.0).sales_profile()
    assert profile == pytest.approx([0.11, 0.31, 0.58, 0.76, 0.89, 1.0, 1.0, 0.75, 0.5])
    # Peak in 3 years: the curve is stretched, year 1 is its year-2 point.
    assert economics(years_to_peak=3.0).sales_profile()[:3] == pytest.approx([0.31, 0.76, 1.0])


def test_rnpv_of_a_single_phase_candidate_closed_form() -> None:
    econ = economics(cost_filed=10.0, cogs=0.2, selling_expense=0.3, tax_rate=0.25)
    value = value_candidate(asset(Phase.FILED, AS_OF), rate_set(), econ, AS_OF)
    shares = [0.11, 0.31, 0.58, 0.76, 0.89, 1.0, 1.0, 1.0]
    annuity = sum(s * (1 + RATE) ** -(n + 0.5) for n, s in enumerate(shares))
    margin = (1 - 0.2 - 0.3) * (1 - 0.25)
    commercial = 0.85 * quad_expectation(discount, FILED) * margin * 100.0 * annuity
    delta = math.log1p(RATE) / 365.25
    development = 10.0 * quad_expectation(lambda d: -math.expm1(-delta * d) / (delta * d), FILED)
    assert value.commercial_pv == pytest.approx(commercial, rel=FLOOR_TOLERANCE)
    assert value.development_pv == pytest.approx(development, rel=FLOOR_TOLERANCE)
    assert value.rnpv == pytest.approx(commercial - development, rel=2 * FLOOR_TOLERANCE)


def test_monte_carlo_mean_lies_within_its_standard_error_of_the_analytic_rnpv() -> None:
    econ = economics(
        cost_phase2=30.0,
        cost_phase3=60.0,
        peak_sales_median=300.0,
        peak_sales_p90=900.0,
        cogs=0.15,
        selling_expense=0.3,
        tax_rate=0.25,
    )
    candidate = asset(Phase.PHASE2, dt.date(2025, 5, 1))
    rates = rate_set()
    analytic = value_candidate(candidate, rates, econ, AS_OF).rnpv
    total, _per = simulate_portfolio([candidate], rates, lambda _: econ, AS_OF, paths=40_000, seed=7)
    assert abs(total.mean - analytic) < 4 * total.standard_error
    assert total.standard_error < 0.1 * abs(analytic)  # the check has teeth
    assert total.p10 < total.p50 < total.p90
    again, _ = simulate_portfolio([candidate], rates, lambda _: econ, AS_OF, paths=40_000, seed=7)
    assert again.mean == total.mean  # same seed, same numbers


def test_expected_royalty_matches_numerical_integration_over_a_lognormal_peak() -> None:
    tiers = (RoyaltyTier(0, 0.05), RoyaltyTier(250, 0.10), RoyaltyTier(750, 0.15))
    peak = PeakSales(400.0, 0.9)
    density = stats.lognorm(0.9, scale=400.0 * 0.6)
    pieces = [(0, 250), (250, 750), (750, np.inf)]
    brute = sum(integrate.quad(lambda s: royalty_on(s, tiers) * density.pdf(s), a, b, limit=400)[0] for a, b in pieces)
    assert expected_royalty(peak, 0.6, tiers) == pytest.approx(brute, rel=1e-6)
    assert royalty_on(1000, tiers) == pytest.approx(0.05 * 250 + 0.10 * 500 + 0.15 * 250)


def test_first_year_above_matches_sampling() -> None:
    peak = PeakSales(300.0, 0.8)
    profile = [0.11, 0.31, 0.58, 0.76, 0.89, 1.0, 1.0, 0.4]
    draws = 300.0 * np.exp(0.8 * np.random.default_rng(3).standard_normal(400_000))
    sales = draws[:, None] * np.array(profile)[None, :]
    above = sales > 500
    first = np.where(above.any(axis=1), above.argmax(axis=1), -1)
    sampled = [float((first == n).mean()) for n in range(len(profile))]
    np.testing.assert_allclose(first_year_above(peak, profile, 500), sampled, atol=3e-3)


def test_phases_already_entered_are_paid_at_face_value() -> None:
    history = (PhaseEvent(Phase.PHASE1, dt.date(2022, 1, 1)), PhaseEvent(Phase.PHASE2, dt.date(2023, 6, 1)))
    candidate = asset(Phase.FILED, dt.date(2025, 9, 1), *history)  # phase 3 skipped: it counts as passed
    deal = Deal(
        "x",
        "USD",
        dt.date(2023, 1, 1),
        upfront=20.0,
        milestones=(Milestone("phase2", 30.0), Milestone("phase3", 40.0), Milestone("approved", 100.0)),
        discount_rate=RATE,
    )
    result = value_deal(deal, candidate, rate_set(), economics(), AS_OF)
    upfront, phase2, phase3, approval = result.payments
    assert [p.paid for p in result.payments] == [True, True, True, False]
    assert (upfront.present_value, phase2.present_value, phase3.present_value) == (20.0, 30.0, 40.0)
    assert phase2.expected_date == dt.date(2023, 6, 1)
    assert phase3.expected_date == dt.date(2025, 9, 1)
    elapsed = (AS_OF - dt.date(2025, 9, 1)).days
    assert approval.present_value == pytest.approx(
        100 * 0.85 * quad_expectation(discount, FILED, elapsed), rel=FLOOR_TOLERANCE
    )
    assert result.deal.headline == 190.0
    assert result.licensor + result.licensee == pytest.approx(result.asset_rnpv)


def test_a_future_upfront_is_discounted() -> None:
    deal = Deal("x", "USD", dt.date(2027, 1, 1), upfront=100.0, discount_rate=RATE)
    (upfront,) = value_deal(deal, asset(Phase.FILED, AS_OF), rate_set(), economics(), AS_OF).payments
    assert not upfront.paid
    assert upfront.present_value == pytest.approx(100 * discount(365), rel=1e-12)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"royalties": (RoyaltyTier(500, 0.1), RoyaltyTier(0, 0.05))}, "royalties[1].above"),
        ({"royalties": (RoyaltyTier(0, 0.05), RoyaltyTier(0, 0.1))}, "royalties[1].above"),
        ({"upfront": -1.0}, "upfront"),
        ({"milestones": (Milestone("approved", -5.0),)}, "milestones[0].amount"),
        ({"currency": " "}, "currency"),
        ({"discount_rate": 1.0}, "discount_rate"),
        ({"discount_rate": -0.5}, "discount_rate"),
    ],
)
def test_bad_deals_name_the_key(changes: dict[str, Any], key: str) -> None:
    fields = {"candidate": "x", "currency": "USD", "date": AS_OF, "origin": "DEAL.yaml", **changes}
    with pytest.raises(InputError) as caught:
        Deal(**fields)
    assert str(caught.value).startswith(f"DEAL.yaml: key {key}:")
    assert "\n" not in str(caught.value)


def test_programme_outlay_and_cost_per_approval_by_hand() -> None:
    """A phase 3 candidate: stage support min(20% x 40, 10) = 8 paid on completing phase 3 (reaching filing,
    P = 0.55), reward 10 on approval (P = 0.55 x 0.85), both inside the window with the lognormal CDFs."""
    candidate = asset(Phase.PHASE3, AS_OF)
    programme = Programme(
        "test",
        "CNY",
        AS_OF,
        dt.date(2031, 12, 31),
        StageSupport(0.2, {"phase3": 10.0, "phase2": 3.0}, 17.0),
        (Reward("approved", 10.0),),
    )
    result = evaluate_programme(programme, [candidate], rate_set(), lambda _: economics(cost_phase3=40.0), AS_OF)
    window = (dt.date(2031, 12, 31) - AS_OF).days + 1
    phase3 = PHASES[Phase.PHASE3][1]
    p_filing_in_window = stats.lognorm.cdf(window, phase3.sigma, scale=math.exp(phase3.mu))
    # Approval day = phase 3 + filing: P(sum < window) by integrating one CDF against the other density.
    pdf3 = lognormal_pdf(phase3)
    p_sum, _ = integrate.quad(
        lambda x: pdf3(x) * stats.lognorm.cdf(window - x + 0.5, FILED.sigma, scale=math.exp(FILED.mu)),
        1e-9,
        window,
        limit=200,
    )
    outlay = 8.0 * 0.55 * p_filing_in_window + 10.0 * 0.55 * 0.85 * p_sum
    out: dict[str, Any] = result.as_dict()
    assert out["expected_outlay"] == pytest.approx(outlay, rel=2e-3)
    assert out["expected_approvals"] == pytest.approx(0.55 * 0.85 * p_sum, rel=2e-3)
    assert out["cost_per_expected_approval"] == pytest.approx(outlay / (0.55 * 0.85 * p_sum), rel=3e-3)
    assert sum(out["outlay_by_year"].values()) == pytest.approx(out["expected_outlay"], rel=1e-9)


def test_programme_stage_amounts_respect_share_caps_and_the_total_cap() -> None:
    programme = Programme(
        "t", "CNY", AS_OF, AS_OF, StageSupport(0.2, {"phase1": 2.0, "phase2": 3.0, "phase3": 10.0}, 12.0)
    )
    amounts = programme.stage_amounts(economics(cost_phase1=5.0, cost_phase2=100.0, cost_phase3=100.0))
    assert amounts[Phase.PHASE1] == pytest.approx(1.0 * 12 / 14)  # 20% of 5 = 1, then 1 + 3 + 10 = 14 scaled to 12
    assert sum(amounts.values()) == pytest.approx(12.0)


def test_bundled_durations_in_days_match_the_engine_unit() -> None:
    # DAYS_PER_MONTH is the engine's: a 12-month median is 365.25 days.
    assert math.exp(FILED.mu) == pytest.approx(12 * DAYS_PER_MONTH)


def test_programme_paid_on_entry_or_completion() -> None:
    """Support for phase 3 paid on entering it comes sooner and more surely than on completing it."""
    candidate = asset(Phase.PHASE2, AS_OF)
    outlays = {}
    for paid_on in ("entry", "completion"):
        programme = Programme(
            "t", "CNY", AS_OF, dt.date(2040, 1, 1), StageSupport(0.2, {"phase3": 10.0}, paid_on=paid_on)
        )
        result = evaluate_programme(programme, [candidate], rate_set(), lambda _: economics(cost_phase3=100.0), AS_OF)
        outlays[paid_on] = result.total("expected_outlay")
    phase3_start = 0.35 * stats.lognorm.cdf(
        (dt.date(2040, 1, 1) - AS_OF).days + 1,
        PHASES[Phase.PHASE2][1].sigma,
        scale=math.exp(PHASES[Phase.PHASE2][1].mu),
    )
    assert outlays["entry"] == pytest.approx(10.0 * phase3_start, rel=1e-3)
    assert outlays["completion"] < 0.6 * outlays["entry"]


def test_programme_pays_no_stage_support_for_a_skipped_phase() -> None:
    """Filed on phase 2 data inside the window: phase 2 support is due (completed), phase 3 support is not."""
    history = (PhaseEvent(Phase.PHASE2, dt.date(2025, 6, 1)),)
    candidate = asset(Phase.FILED, dt.date(2026, 3, 1), *history)
    programme = Programme(
        "t", "CNY", dt.date(2026, 1, 1), dt.date(2026, 12, 31), StageSupport(0.2, {"phase2": 3.0, "phase3": 10.0})
    )
    econ = economics(cost_phase2=100.0, cost_phase3=100.0)
    result = evaluate_programme(programme, [candidate], rate_set(), lambda _: econ, dt.date(2026, 6, 1))
    assert result.total("due_to_date") == 3.0


def test_break_even_peak_sales_makes_rnpv_zero_and_tornado_moves_by_hand() -> None:
    from pipecast.value.sensitivity import break_even_peak_sales, tornado

    econ = economics(
        cost_phase2=30.0,
        cost_phase3=60.0,
        peak_sales_median=300.0,
        peak_sales_p90=900.0,
        cogs=0.15,
        selling_expense=0.3,
        tax_rate=0.25,
    )
    candidate = asset(Phase.PHASE2, dt.date(2025, 5, 1))
    rates = rate_set()
    even = break_even_peak_sales(candidate, rates, econ, AS_OF)
    assert even is not None
    at_even = econ.with_overrides({"peak_sales_median": even, "peak_sales_p90": even * 3}, "test")
    assert value_candidate(candidate, rates, at_even, AS_OF).rnpv == pytest.approx(0.0, abs=1e-9)
    base = value_candidate(candidate, rates, econ, AS_OF)
    swings = {s.input: s for s in tornado(candidate, rates, econ, AS_OF)}
    assert swings["peak sales"].low == pytest.approx(0.8 * base.commercial_pv - base.development_pv)
    assert swings["development costs"].high == pytest.approx(base.commercial_pv - 1.2 * base.development_pv)
    widths = [s.width for s in tornado(candidate, rates, econ, AS_OF)]
    assert widths == sorted(widths, reverse=True)
