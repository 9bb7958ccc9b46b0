"""Mixture durations: survival against the closed form, the exact engine against brute-force sampling,
rate-file columns, and the filed-stage mixture fit recovering a known mixture."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from pipecast.backtest.fda import Filing
from pipecast.backtest.filed_shape import fit_filed, fit_mixture
from pipecast.domain import Phase
from pipecast.engines.timing import Profile, YearWindows, approval_year_probabilities
from pipecast.errors import InputError, RateSetError
from pipecast.loading.rates import load_rate_set
from pipecast.rates import Duration, RateRow
from shared_paths import SHARED_DATA

DAYS_PER_MONTH = 365.25 / 12
Z90 = stats.norm.ppf(0.9)
WEIGHTS, MEDIANS, P90S = [0.35, 0.5, 0.15], [8.0, 12.0, 30.0], [9.5, 14.0, 60.0]


def closed_form_survival(t: np.ndarray) -> np.ndarray:
    out = np.zeros_like(t, dtype=float)
    for w, m, q in zip(WEIGHTS, MEDIANS, P90S, strict=True):
        sigma = math.log(q / m) / Z90
        out += w * stats.lognorm.sf(t, s=sigma, scale=m * DAYS_PER_MONTH)
    return out


def sample_mixture(rng: np.random.Generator, n: int) -> np.ndarray:
    k = rng.choice(3, size=n, p=WEIGHTS)
    mu = np.log(np.array(MEDIANS) * DAYS_PER_MONTH)[k]
    sigma = (np.log(np.array(P90S)) - np.log(np.array(MEDIANS)))[k] / Z90
    return np.asarray(np.exp(mu + sigma * rng.standard_normal(n)))


def test_mixture_survival_is_the_weighted_closed_form() -> None:
    d = Duration.mixture(WEIGHTS, MEDIANS, P90S)
    t = np.array([0.0, 1.0, 100.0, 240.0, 365.0, 500.0, 900.0, 2000.0, 5000.0])
    assert d.survival_days(t) == pytest.approx(np.where(t > 0, closed_form_survival(t), 1.0), rel=1e-9, abs=1e-15)
    # its median and p90 are the mixture's own quantiles
    assert closed_form_survival(np.array([d.median_months * DAYS_PER_MONTH]))[0] == pytest.approx(0.5, abs=1e-9)
    assert closed_form_survival(np.array([d.p90_months * DAYS_PER_MONTH]))[0] == pytest.approx(0.1, abs=1e-9)
    # a one-component mixture is the plain lognormal; scaling scales every component
    assert Duration.mixture([1.0], [10.0], [20.0]) == Duration(10.0, 20.0)
    assert d.scaled(2.0).survival_days(2 * t[1:]) == pytest.approx(d.survival_days(t[1:]), rel=1e-9)


def test_plain_duration_unchanged() -> None:
    d = Duration(12.0, 20.0)
    t = np.array([10.0, 300.0, 700.0])
    sigma = math.log(20.0 / 12.0) / Z90
    assert d.survival_days(t) == pytest.approx(stats.lognorm.sf(t, s=sigma, scale=12 * DAYS_PER_MONTH), rel=1e-12)
    assert d.components == ()


@pytest.mark.parametrize("with_later", [False, True])
def test_exact_engine_matches_sampling_from_the_mixture(with_later: bool) -> None:
    """P(approved in year y | in the phase for e days) against 400,000 sampled durations, for a mixture
    filed row alone and after a plain phase 3."""
    mixture = RateRow(Phase.FILED, 0.8, Duration.mixture(WEIGHTS, MEDIANS, P90S))
    rows = (RateRow(Phase.PHASE3, 0.6, Duration(20.0, 35.0)), mixture) if with_later else (mixture,)
    starts, ends = np.array([0, 365, 730]), np.array([365, 730, 1095])
    elapsed = np.array([0, 200, 500, 900])
    exact = approval_year_probabilities(Profile(rows), elapsed, YearWindows(starts, ends))
    rng = np.random.default_rng(11)
    n = 400_000
    p_all = math.prod(r.p_success for r in rows)
    for i, e in enumerate(elapsed):
        if with_later:
            sigma = math.log(35 / 20) / Z90
            first = np.exp(math.log(20 * DAYS_PER_MONTH) + sigma * rng.standard_normal(4 * n))
            first = first[first > e][:n]
            rest = np.floor(first - e) + np.round(sample_mixture(rng, len(first)))
        else:
            draws = sample_mixture(rng, 8 * n)
            draws = draws[draws > e][:n]
            rest = np.floor(draws - e)
        m = len(rest)
        assert m > 50_000
        for j in range(3):
            share = float(np.mean((rest >= starts[j]) & (rest < ends[j])))
            se = math.sqrt(max(share * (1 - share), 1e-6) / m) * p_all
            assert exact[i, j] == pytest.approx(p_all * share, abs=5 * se + 1e-4), (e, j)
    # the mixture's long tail: a long-pending filing is not "due soon" the way one lognormal says
    single = RateRow(Phase.FILED, 0.8, Duration(mixture.duration.median_months, mixture.duration.p90_months))
    if not with_later:
        one = approval_year_probabilities(Profile((single,)), np.array([900]), YearWindows(starts, ends))
        assert one[0, 0] > exact[3, 0] + 0.1


def test_rate_file_mixture_columns(tmp_path: Path) -> None:
    d = Duration.mixture(WEIGHTS, MEDIANS, P90S)
    header = "phase,p_success,median_months,p90_months,mix_weights,mix_medians,mix_p90s\n"
    plain = "preclinical,0.7,12,24,,,\nphase1,0.5,18,30,,,\nphase2,0.3,28,50,,,\nphase3,0.6,36,60,,,\n"
    good = tmp_path / "good.csv"
    good.write_text(header + plain + f"filed,0.85,{d.median_months:.2f},{d.p90_months:.2f},0.35;0.5;0.15,8;12;30,"
                    "9.5;14;60\n", encoding="utf-8")
    rates = load_rate_set(good)
    assert rates.row(Phase.FILED).duration.survival_days(np.array([400.0, 900.0])) == pytest.approx(
        closed_form_survival(np.array([400.0, 900.0])), rel=1e-9)
    assert rates.row(Phase.PHASE2).duration == Duration(28.0, 50.0)
    bad_rows = {
        "0.35;0.5,8;12;30,9.5;14;60": "mix_medians",
        "0.3;0.5;0.1,8;12;30,9.5;14;60": "mix_weights",
        "0.35;0.5;0.15,8;12;30,": "mix_p90s",
        "0.35;0.5;0.15,8;x;30,9.5;14;60": "mix_medians",
        "0.35;0.5;0.15,8;12;30,9.5;11;60": "mix_p90s",
    }
    for mix, field in bad_rows.items():
        bad = tmp_path / "bad.csv"
        filed = f"filed,0.85,{d.median_months:.2f},{d.p90_months:.2f},{mix}\n"
        bad.write_text(header + plain + filed, encoding="utf-8")
        with pytest.raises(RateSetError) as info:
            load_rate_set(bad)
        assert info.value.field == field, mix
        assert info.value.row == 6
    wrong_median = tmp_path / "median.csv"
    wrong_median.write_text(header + plain + f"filed,0.85,13.95,{d.p90_months:.2f},0.35;0.5;0.15,8;12;30,9.5;14;60\n",
                            encoding="utf-8")
    with pytest.raises(RateSetError, match="mixture's"):
        load_rate_set(wrong_median)


def test_filed_mixture_fit_recovers_a_known_mixture() -> None:
    """Filings from a known priority/standard/tail mixture, received 2000-2014, seen as of 2014-12-31."""
    rng = np.random.default_rng(5)
    n, tau, share = 1500, 0.15, 0.4
    priority = rng.uniform(size=n) < share
    tail = rng.uniform(size=n) < tau
    mu = np.where(tail, math.log(30 * DAYS_PER_MONTH), np.where(priority, math.log(8 * DAYS_PER_MONTH),
                                                                 math.log(12 * DAYS_PER_MONTH)))
    sig = np.where(tail, math.log(60 / 30) / Z90, np.where(priority, math.log(9.5 / 8) / Z90, math.log(14 / 12) / Z90))
    length = np.exp(mu + sig * rng.standard_normal(n))
    receipt = [dt.date(2000, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 15 * 365, n)]
    as_of = dt.date(2014, 12, 31)
    filings = [Filing(r, r + dt.timedelta(days=int(t)), bool(p), i) for i, (r, t, p) in
               enumerate(zip(receipt, length, priority, strict=True))]
    fit = fit_filed(filings, as_of, window_years=15)
    assert fit.pending > 50
    assert fit.tail_weight == pytest.approx(tau, abs=0.04)
    assert fit.priority_share == pytest.approx(share, abs=0.04)
    medians = [c.median_months for _, c in fit.mixture.components]
    assert medians == pytest.approx([8.0, 12.0, 30.0], rel=0.1)
    # the fitted mixture's survival against the true one (closed form), where the data are
    truth_w = [share * (1 - tau), (1 - share) * (1 - tau), tau]
    truth = Duration.mixture(truth_w, [8.0, 12.0, 30.0], [9.5, 14.0, 60.0])
    grid = np.array([200.0, 300.0, 400.0, 600.0, 1000.0, 1500.0])
    assert fit.mixture.survival_days(grid) == pytest.approx(truth.survival_days(grid), abs=0.03)
    # one lognormal cannot hold both: its survival misses the truth somewhere by more
    assert float(np.max(np.abs(fit.single.survival_days(grid) - truth.survival_days(grid)))) > 0.05


def test_mixture_fit_needs_both_designations() -> None:
    days = np.full(30, 300.0)
    with pytest.raises(InputError):
        fit_mixture(days, np.ones(30, dtype=bool), np.ones(30, dtype=bool))


FDA_FILE = SHARED_DATA / "fda_cder_nme_1985_2019" / "cder_nme_new_biologic_approvals_1985_2019.csv"


def test_cli_writes_the_fda_filed_mixture(tmp_path: Path) -> None:
    from cli_app import invoke
    from pipecast.loading.fda import load_fda_filings

    if not FDA_FILE.is_file():
        pytest.skip("shared FDA compilation not present")
    spells = tmp_path / "spells.csv"
    spells.write_text("phase,entered,ended,outcome\nphase2,2015-01-01,2017-01-01,advanced\n", encoding="utf-8")
    out = tmp_path / "RATES.csv"
    result = invoke(str(tmp_path / "unused.sqlite"), "rates", "calibrate", str(spells), "--as-of", "2014-12-31",
                    "--filed-mixture", str(FDA_FILE), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    filed = load_rate_set(out).row(Phase.FILED).duration
    assert len(filed.components) == 3
    # the written mixture is the fit on what was known at the as-of date, and the empirical survival
    # of approved filings received 2005-2014 (Kaplan-Meier-free check: those approved by 2019, all listed)
    filings = [f for f in load_fda_filings(FDA_FILE) if dt.date(2005, 1, 1) <= f.receipt <= dt.date(2012, 12, 31)]
    days = np.array([(f.approval - f.receipt).days for f in filings if f.approval is not None], dtype=float)
    for t in (240.0, 365.0, 730.0):
        assert float(filed.survival_days(np.array([t]))[0]) == pytest.approx(float(np.mean(days > t)), abs=0.08)
    assert "mixture" in load_rate_set(out).row(Phase.FILED).note
