"""Arrivals in the default forecast of a store, and the validation line every forecast carries.

Arrivals are checked against an independent simulation of the same model (Poisson arrivals uniform in
time, lognormal durations, Bernoulli success), the joint target with arrivals against sampling, and the
validation table against a recomputation from the backtest code (so the table cannot drift).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

from pipecast.cli import run
from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.engines.arrivals import ArrivalFit, arrival_year_means, fit_arrivals
from pipecast.engines.joint import probability_all_years_in_band
from pipecast.loading.rates import bundled_rate_set
from pipecast.loading.validation import NOT_VALIDATED, validation_for, validation_rows
from shared_paths import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]
FDA_FILE = SHARED_DATA / "fda_cder_nme_1985_2019" / "cder_nme_new_biologic_approvals_1985_2019.csv"


def _asset(ident: str, phase: Phase, when: dt.date, count: int = 1) -> Asset:
    return Asset(id=ident, name=ident, sponsor="s", count=count, history=(PhaseEvent(phase, when),))


def test_fit_counts_first_entries_known_at_the_as_of_date_by_hand() -> None:
    assets = [_asset("a", Phase.PHASE1, dt.date(2020, 3, 1)), _asset("b", Phase.PHASE1, dt.date(2022, 5, 1), 3),
              _asset("c", Phase.PHASE3, dt.date(2023, 1, 9)), _asset("d", Phase.PHASE1, dt.date(2018, 1, 1)),
              _asset("late", Phase.PHASE2, dt.date(2024, 2, 1))]  # after the as-of date: unknown
    fit = fit_arrivals(assets, dt.date(2024, 1, 1), window=5)
    assert (fit.first_year, fit.last_year) == (2019, 2023)
    assert fit.rates["phase1"] == pytest.approx(4 / 5)  # a (1) + b (3 copies); d is before the window
    assert fit.rates["phase3"] == pytest.approx(1 / 5)
    assert fit.rates["phase2"] == 0.0


def test_arrival_means_match_a_simulation_of_the_same_model() -> None:
    rates = bundled_rate_set("global")
    as_of, years = dt.date(2025, 7, 1), [2025, 2026, 2027, 2028]
    fit = ArrivalFit({"phase3": 6.0, "filed": 4.0}, 2020, 2024, {})
    means = arrival_year_means(fit, rates, as_of, years)
    rng = np.random.default_rng(11)
    horizon = (dt.date(2029, 1, 1) - as_of).days
    paths = 40_000
    totals = np.zeros(len(years))
    bounds = [(dt.date(y, 1, 1) - as_of).days for y in years] + [horizon]
    for phase, rate in fit.rates.items():
        rows = rates.profile(Phase(phase))
        n = rng.poisson(rate * horizon / 365.25 * paths)
        arrive = rng.uniform(0, horizon, n)
        total = arrive.copy()
        ok = np.ones(n, dtype=bool)
        for row in rows:
            d = row.duration
            total += np.exp(rng.normal(d.mu, d.sigma, n))
            ok &= rng.random(n) < row.p_success
        counts = np.histogram(total[ok], bins=bounds)[0] if len(total) else np.zeros(len(years))
        totals += counts
    simulated = totals / paths
    se = np.sqrt(np.maximum(simulated, 1e-9) / paths)
    assert np.all(np.abs(means - simulated) < 5 * se + 0.01 * simulated + 1e-4), (means, simulated)
    assert means[-1] > means[0] > 0


def test_joint_target_with_arrivals_matches_sampling() -> None:
    probs = np.array([[0.3, 0.2], [0.1, 0.5], [0.25, 0.25]])
    counts = np.array([1, 2, 1])
    extra = np.array([0.7, 1.3])
    exact = probability_all_years_in_band(probs, counts, 1, 2, extra)
    rng = np.random.default_rng(3)
    paths = 200_000
    tally = rng.poisson(extra, size=(paths, 2))
    for row, n in zip(probs, counts, strict=True):
        tally += rng.multinomial(int(n), [*row, 1 - row.sum()], size=paths)[:, :2]
    met = float(np.all((tally >= 1) & (tally <= 2), axis=1).mean())
    assert abs(exact - met) < 5 * math.sqrt(met * (1 - met) / paths)
    assert exact != pytest.approx(probability_all_years_in_band(probs, counts, 1, 2), abs=0.01)


def invoke(*args: str) -> tuple[int, str]:
    """Run the real command line in-process: (exit status, stdout + stderr with whitespace collapsed)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(list(args))
    return code, out.getvalue() + "\n" + err.getvalue()


def _cli(*args: str, env_db: Path | None = None) -> dict[str, object]:
    prefix = ["--db", str(env_db)] if env_db else []
    code, output = invoke(*prefix, *args)
    assert code == 0, output
    data: dict[str, object] = json.loads(output)
    return data


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("arrivals") / "cq.sqlite"
    code, output = invoke("--db", str(db), "load-bundled", "chongqing")
    assert code == 0, output
    return db


def test_store_forecast_has_arrivals_by_default_and_no_arrivals_turns_them_off(store: Path) -> None:
    common = ["forecast", "--as-of", "2026-07-01", "--years", "2026-2030", "--rates", "china_calibrated", "--json"]
    on = _cli(*common, env_db=store)
    off = _cli(*common, "--no-arrivals", env_db=store)
    assert on["arrivals"] is not None
    assert off["arrivals"] is None
    on_years, off_years = on["years"], off["years"]
    assert isinstance(on_years, list)
    assert isinstance(off_years, list)
    for a, b in zip(on_years, off_years, strict=True):
        assert a["expected_pipeline"] == pytest.approx(b["expected"], abs=1e-12)
        assert a["expected"] == pytest.approx(a["expected_pipeline"] + a["expected_arrivals"], abs=1e-12)
        assert b["expected_arrivals"] == 0.0
        assert sum(k * p for k, p in enumerate(a["pmf"])) + a["pmf_offset"] == pytest.approx(a["expected"], abs=1e-6)
    assert on_years[-1]["expected_arrivals"] > 0.1


def test_assets_file_has_no_arrivals_unless_asked() -> None:
    common = ["forecast", "--assets", str(ROOT / "examples" / "assets.csv"), "--rates", "global", "--as-of",
              "2025-11-01", "--years", "2025-2031", "--json"]
    plain = _cli(*common)
    assert plain["arrivals"] is None
    asked = _cli(*common, "--arrivals")
    assert asked["arrivals"] is not None


def test_arrivals_with_monte_carlo_is_an_error() -> None:
    code, output = invoke("forecast", "--assets", str(ROOT / "examples" / "assets.csv"), "--method", "montecarlo",
                          "--arrivals", "--as-of", "2025-11-01", "--years", "2025-2027")
    assert code == 2
    assert "--arrivals needs --method exact" in output


def test_validation_applies_only_to_an_unchanged_bundled_set(tmp_path: Path) -> None:
    found = validation_for(bundled_rate_set("global"))
    assert found is not None
    assert {b["backtest"] for b in found["backtests"]} == {"fda-nme", "china", "chongqing"}
    user = tmp_path / "global.csv"
    text = (ROOT / "src" / "pipecast" / "rates" / "data" / "global.csv").read_text(encoding="utf-8")
    user.write_text(text.replace("0.853", "0.854"), encoding="utf-8")
    from pipecast.loading.rates import load_rate_set

    assert validation_for(load_rate_set(user, "global")) is None
    data = _cli("forecast", "--assets", str(ROOT / "examples" / "assets.csv"), "--rates", str(user), "--as-of",
                "2025-11-01", "--json")
    assert data["validation"] is None
    _, output = invoke("forecast", "--assets", str(ROOT / "examples" / "assets.csv"), "--rates", str(user),
                       "--as-of", "2025-11-01")
    assert NOT_VALIDATED in " ".join(output.split())
    _, output = invoke("forecast", "--assets", str(ROOT / "examples" / "assets.csv"), "--rates", "global",
                       "--as-of", "2025-11-01")
    assert "80% intervals held 1 of 10 years" in " ".join(output.split())


def _row(rate_set: str, backtest: str) -> dict[str, str]:
    return next(r for r in validation_rows() if r["rate_set"] == rate_set and r["backtest"] == backtest)


def test_chongqing_rows_are_what_the_backtest_computes() -> None:
    from pipecast.backtest.chongqing import run_chongqing
    from pipecast.loading.history import bundled_dataset_folder, load_history

    assets, data_as_of = load_history(bundled_dataset_folder("chongqing"), today=dt.date(2026, 12, 1))
    names = ("global", "china", "china_calibrated")
    result = run_chongqing(assets, dt.date(2024, 1, 1), [2024, 2025, 2026],
                           {n: bundled_rate_set(n) for n in names}, data_as_of=data_as_of)
    for name in names:
        row, scores = _row(name, "chongqing"), result["scores"][name]
        assert float(row["mean_log_score"]) == pytest.approx(scores["mean_log_score"], abs=5e-4)
        assert int(row["held_80"]) == scores["coverage"]["80%"]["hits"]
        assert int(row["scored"]) == scores["coverage"]["80%"]["years"]
        assert float(row["baseline_log_score"]) == pytest.approx(
            result["scores"]["poisson_last_year"]["mean_log_score"], abs=5e-4)


@pytest.mark.shared_data
def test_fda_row_is_what_the_backtest_computes() -> None:
    if not FDA_FILE.exists():
        pytest.skip(f"shared data not found: {FDA_FILE}")
    from pipecast.backtest.runner import backtest_range
    from pipecast.loading.fda import load_fda_filings

    filings = load_fda_filings(FDA_FILE)
    result = backtest_range(filings, list(range(2009, 2019)), 1, None, bundled_rate_set("global").row(Phase.FILED))
    row, scores = _row("global", "fda-nme"), result["scores"]
    assert float(row["mean_log_score"]) == pytest.approx(scores["bundled_independent"]["mean_log_score"], abs=5e-4)
    assert int(row["held_80"]) == scores["bundled_independent"]["coverage"]["80%"]["hits"]
    assert int(row["scored"]) == scores["bundled_independent"]["coverage"]["80%"]["years"]
    assert float(row["baseline_log_score"]) == pytest.approx(scores["negative_binomial"]["mean_log_score"], abs=5e-4)


CHINA_REGISTRY = SHARED_DATA / "china_ctr_registry_2013_2018" / "chinadrugtrials_ctr_2013_2018.csv"
CHINA_COUNTS = SHARED_DATA / "china_pos" / "china_pos_facts.csv"


@pytest.mark.shared_data
def test_china_rows_are_what_the_backtest_computes() -> None:
    if not (CHINA_REGISTRY.exists() and CHINA_COUNTS.exists()):
        pytest.skip(f"shared data not found: {CHINA_REGISTRY}")
    from pipecast.backtest.china import ChinaSettings
    from pipecast.backtest.china_run import run_china
    from pipecast.loading.china import load_approval_counts, load_registrations

    registrations, end = load_registrations(CHINA_REGISTRY, today=dt.date(2026, 12, 1))
    names = ("global", "china", "china_calibrated")
    result = run_china(registrations, load_approval_counts(CHINA_COUNTS), dt.date(2018, 12, 31),
                       list(range(2019, 2026)), {n: bundled_rate_set(n) for n in names}, ChinaSettings(),
                       registry_end=end, seed=0)
    for name in names:
        row, scores = _row(name, "china"), result["scores"][name]
        assert float(row["mean_log_score"]) == pytest.approx(scores["mean_log_score"], abs=5e-4)
        assert int(row["held_80"]) == scores["coverage"]["80%"]["hits"]
        assert int(row["scored"]) == scores["coverage"]["80%"]["years"]
        assert float(row["baseline_log_score"]) == pytest.approx(
            result["scores"]["poisson_last_year"]["mean_log_score"], abs=5e-4)


def test_report_says_how_the_rate_set_scored_and_shows_arrivals_apart(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    code, output = invoke("--db", str(store), "report", "--as-of", "2026-07-01", "--years", "2026-2030",
                          "--target", "2027-2030:1-3", "--rates", "global", "--out", str(out))
    assert code == 0, output
    page = out.read_text(encoding="utf-8")
    assert "80% intervals held 1 of 10 years" in page
    assert "from candidates not yet known" in page
    off = tmp_path / "off.html"
    code, output = invoke("--db", str(store), "report", "--as-of", "2026-07-01", "--years", "2026-2030",
                          "--target", "2027-2030:1-3", "--rates", "global", "--no-arrivals", "--out", str(off))
    assert code == 0, output
    assert "from candidates not yet known" not in off.read_text(encoding="utf-8")
    user = tmp_path / "mine.csv"
    user.write_text((ROOT / "src" / "pipecast" / "rates" / "data" / "global.csv").read_text(encoding="utf-8"),
                    encoding="utf-8")
    mine = tmp_path / "mine.html"
    code, output = invoke("--db", str(store), "report", "--as-of", "2026-07-01", "--years", "2026-2030",
                          "--target", "2027-2030:1-3", "--rates", str(user), "--out", str(mine))
    assert code == 0, output
    assert NOT_VALIDATED in mine.read_text(encoding="utf-8")
