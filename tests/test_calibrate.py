"""`pipecast rates calibrate`: recovers known rates from simulated spells (fixed seeds) within its intervals."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from cli_app import invoke
from pipecast.backtest.calibration import (
    Transition,
    beta_binomial_posterior,
    calibrate,
    censored_lognormal,
)
from pipecast.domain import Phase
from pipecast.loading.rates import bundled_rate_set, load_rate_set

AS_OF = dt.date(2022, 12, 31)
DAYS_PER_MONTH = 365.25 / 12
Z90 = 1.2815515655446004


def simulate(phase: Phase, n: int, p: float, median_months: float, p90_months: float, seed: int) -> list[Transition]:
    """Spells entered uniformly 2008-2022; duration lognormal whatever the outcome; outcome Bernoulli(p)."""
    rng = np.random.default_rng(seed)
    mu = math.log(median_months * DAYS_PER_MONTH)
    sigma = (math.log(p90_months) - math.log(median_months)) / Z90
    out = []
    for _ in range(n):
        entered = dt.date(2008, 1, 1) + dt.timedelta(days=int(rng.integers(0, 15 * 365)))
        ended = entered + dt.timedelta(days=int(math.exp(mu + sigma * rng.standard_normal())))
        advanced = bool(rng.uniform() < p)
        out.append(Transition(phase, entered, ended, advanced) if ended <= AS_OF else Transition(phase, entered))
    return out


def test_beta_binomial_posterior_closed_form() -> None:
    mean, (lo, hi) = beta_binomial_posterior(7, 3, 0.5, 10.0)  # Beta(12, 8)
    assert mean == pytest.approx(12 / 20)
    assert lo < mean < hi
    # no data: the prior itself
    assert beta_binomial_posterior(0, 0, 0.3, 10.0)[0] == pytest.approx(0.3)


def test_calibration_recovers_known_rates_within_its_intervals() -> None:
    """Over 40 simulated data sets (seeds 100-139) the 95% intervals hold the truth about 95% of the time."""
    p_hits = median_hits = 0
    medians = []
    for seed in range(100, 140):
        spells = simulate(Phase.PHASE2, 600, 0.35, 30.0, 55.0, seed)
        assert any(t.ended is None for t in spells)  # censoring is present
        phase2 = calibrate(spells, bundled_rate_set("global"), AS_OF, prior_strength=10.0)[2]
        assert phase2.phase is Phase.PHASE2
        assert phase2.median_interval_months is not None
        p_hits += phase2.p_interval[0] <= 0.35 <= phase2.p_interval[1]
        median_hits += phase2.median_interval_months[0] <= 30.0 <= phase2.median_interval_months[1]
        medians.append(phase2.row.duration.median_months)
        assert phase2.row.duration.p90_months == pytest.approx(55.0, rel=0.12)
    # P(fewer than 34 of 40 | 95% coverage) is about 0.003
    assert p_hits >= 34
    assert median_hits >= 34
    assert float(np.mean(medians)) == pytest.approx(30.0, rel=0.02)


def test_phases_without_data_keep_the_prior_row() -> None:
    rows = {r.phase: r for r in calibrate(simulate(Phase.PHASE2, 50, 0.35, 30.0, 55.0, 1),
                                          bundled_rate_set("global"), AS_OF)}
    prior = bundled_rate_set("global").row(Phase.PHASE1)
    assert rows[Phase.PHASE1].row.p_success == pytest.approx(prior.p_success)
    assert rows[Phase.PHASE1].row.duration == prior.duration
    assert not rows[Phase.PHASE1].from_data


def test_censoring_matters() -> None:
    """Dropping the open spells biases the median short; the censored fit does not."""
    spells = simulate(Phase.PHASE3, 800, 0.6, 36.0, 70.0, seed=9)
    ended = [t for t in spells if t.ended is not None]
    naive_mu, _, _ = censored_lognormal([(t.ended - t.entered).days for t in ended if t.ended], [True] * len(ended))
    days = [((t.ended or AS_OF) - t.entered).days for t in spells]
    _, _, (lo, hi) = censored_lognormal(days, [t.ended is not None for t in spells])
    truth = math.log(36.0 * DAYS_PER_MONTH)
    assert lo <= truth <= hi
    assert naive_mu < lo  # the naive median falls below the censored fit's whole interval
    assert math.exp(naive_mu) < 0.95 * math.exp(truth)


def test_prior_strength_pulls_toward_the_prior() -> None:
    spells = simulate(Phase.PHASE2, 40, 0.6, 30.0, 55.0, seed=4)
    weak = calibrate(spells, bundled_rate_set("global"), AS_OF, prior_strength=1.0)[2]
    strong = calibrate(spells, bundled_rate_set("global"), AS_OF, prior_strength=1000.0)[2]
    assert strong.row.p_success == pytest.approx(0.289, abs=0.02)
    assert weak.row.p_success > strong.row.p_success + 0.1


def _write(path: Path, spells: list[Transition]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "phase", "entered", "ended", "outcome"])
        for i, t in enumerate(spells):
            outcome = "" if t.advanced is None else ("advanced" if t.advanced else "failed")
            writer.writerow([f"c{i}", t.phase.value, t.entered.isoformat(), t.ended.isoformat() if t.ended else "",
                             outcome])


def test_cli_writes_a_rate_file_that_loads(tmp_path: Path) -> None:
    source = tmp_path / "spells.csv"
    _write(source, simulate(Phase.FILED, 300, 0.85, 11.0, 20.0, seed=5))
    out = tmp_path / "RATES.csv"
    result = invoke(str(tmp_path / "unused.sqlite"), "rates", "calibrate", str(source), "--as-of", "2022-12-31",
                    "--out", str(out))
    assert result.exit_code == 0, result.stderr
    rates = load_rate_set(out)
    filed = rates.row(Phase.FILED)
    assert filed.duration.median_months == pytest.approx(11.0, rel=0.1)
    assert "prior global" in filed.note
    assert "spells.csv" in filed.source


def test_cli_bad_row_is_one_line(tmp_path: Path) -> None:
    source = tmp_path / "spells.csv"
    source.write_text("phase,entered,ended,outcome\nphase2,2020-01-01,,advanced\n", encoding="utf-8")
    result = invoke(str(tmp_path / "unused.sqlite"), "rates", "calibrate", str(source), "--as-of", "2022-12-31",
                    "--out", str(tmp_path / "r.csv"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "row 2" in result.stderr
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "r.csv").exists()
