"""The FDA filed-stage backtest: no look-ahead, coherent pmfs, each model part doing what it says."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cli_app import Outcome, invoke
from pipecast.backtest.fda import (
    Filing,
    ModelSettings,
    forecast_fda,
    kaplan_meier_cdf,
    known_at,
)
from pipecast.backtest.runner import backtest_range, forecast_years

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FDA_FILE = SHARED / "fda_cder_nme_1985_2019" / "cder_nme_new_biologic_approvals_1985_2019.csv"
AS_OF = dt.date(2014, 12, 31)


def synthetic_filings(seed: int = 7, first: int = 1995, last: int = 2019) -> list[Filing]:
    """~30 filings a year; priority ~8 months, standard ~12 months, a fifth with a resubmission tail."""
    rng = np.random.default_rng(seed)
    out: list[Filing] = []
    for year in range(first, last + 1):
        for _ in range(rng.poisson(30)):
            receipt = dt.date(year, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
            priority = bool(rng.uniform() < 0.5)
            days = int(rng.normal(240 if priority else 365, 20))
            if rng.uniform() < 0.2:
                days += int(rng.uniform(300, 1200))
            out.append(Filing(receipt, receipt + dt.timedelta(days=max(days, 30)), priority, len(out) + 2))
    return out


def shared_filings() -> list[Filing]:
    if not FDA_FILE.is_file():
        pytest.skip(f"shared data absent: {FDA_FILE}")
    from pipecast.loading.fda import load_fda_filings

    return load_fda_filings(FDA_FILE)


def test_kaplan_meier_by_hand() -> None:
    # durations 1, 2, 2(censored), 3, 4(censored): S = .8 at 1, .8 * 3/4 = .6 at 2, .6 * 1/2 = .3 at 3
    cdf = kaplan_meier_cdf([1, 2, 2, 3, 4], [True, True, False, True, False], n_days=6)
    np.testing.assert_allclose(cdf, [0.0, 0.2, 0.4, 0.7, 0.7, 0.7])
    # weights act as repeated rows
    weighted = kaplan_meier_cdf([1, 3], [True, True], n_days=5, weights=[1.0, 3.0])
    np.testing.assert_allclose(weighted, kaplan_meier_cdf([1, 3, 3, 3], [True] * 4, n_days=5))


def test_known_at_hides_later_approvals_and_receipts() -> None:
    filings = [Filing(dt.date(2014, 3, 1), dt.date(2014, 11, 1), True, 2),
               Filing(dt.date(2014, 6, 1), dt.date(2015, 2, 1), False, 3),
               Filing(dt.date(2015, 1, 5), dt.date(2015, 9, 1), True, 4)]
    view = known_at(filings, AS_OF)
    assert [f.approval for f in view] == [dt.date(2014, 11, 1), None]


def _pmfs(filings: list[Filing], settings: ModelSettings | None = None) -> list[np.ndarray]:
    return [y.pmf for y in forecast_fda(filings, AS_OF, [2015, 2016], settings).years]


def _plant_after(filings: list[Filing], last_year: int) -> list[Filing]:
    """Move every approval after `last_year` by 200 days later (still after the forecast years)."""
    return [replace(f, approval=f.approval + dt.timedelta(days=200))
            if f.approval is not None and f.approval.year > last_year else f for f in filings]


@pytest.mark.parametrize("source", ["synthetic", "shared"])
def test_planted_changes_after_the_forecast_years_change_nothing(source: str) -> None:
    filings = synthetic_filings() if source == "synthetic" else shared_filings()
    planted = _plant_after(filings, 2016)
    assert planted != filings
    for before, after in zip(_pmfs(filings), _pmfs(planted), strict=True):
        assert np.array_equal(before, after)
    # also approvals inside the forecast years (after the as-of date) change nothing in the forecast
    inside = [replace(f, approval=f.approval + dt.timedelta(days=30))
              if f.approval is not None and AS_OF < f.approval < dt.date(2016, 6, 1) else f for f in filings]
    for before, after in zip(_pmfs(filings), _pmfs(inside), strict=True):
        assert np.array_equal(before, after)
    # the check can fail: a change before the as-of date does move the forecast
    early = [replace(f, approval=f.approval + dt.timedelta(days=120))
             if f.approval is not None and dt.date(2013, 1, 1) <= f.approval <= dt.date(2014, 6, 30) else f
             for f in filings]
    assert not np.array_equal(_pmfs(filings)[0], _pmfs(early)[0])


@pytest.mark.parametrize("source", ["synthetic", "shared"])
def test_pmf_sums_to_one_and_expected_is_its_mean(source: str) -> None:
    filings = synthetic_filings() if source == "synthetic" else shared_filings()
    result = forecast_years(filings, AS_OF, [2015, 2016])
    assert result["as_of"] == "2014-12-31"
    for row in result["years"]:
        pmf = np.array(row["pmf"])
        assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
        assert row["expected"] == pytest.approx(float(np.arange(len(pmf)) @ pmf), abs=1e-6)
        assert row["expected"] == pytest.approx(row["expected_from_pipeline"] + row["expected_from_arrivals"],
                                                abs=1e-3)
        assert row["observed"] == sum(1 for f in filings if f.approval is not None and f.approval.year == row["year"])


def test_arrivals_follow_the_window_calculation() -> None:
    """Every filing takes exactly 200 days: a filing arriving on day t of 2015 (1..365) is approved in 2015
    iff t + 200 <= 365, so arrivals yield 165/365 of a year's receipts in 2015 and the other 200/365 in 2016;
    2016 (a leap year) keeps 166/366 of its own."""
    rng = np.random.default_rng(3)
    filings: list[Filing] = []
    for year in range(1995, 2015):
        for _ in range(20 + year - 1995):
            receipt = dt.date(year, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
            filings.append(Filing(receipt, receipt + dt.timedelta(days=200), True, len(filings) + 2))
    settings = ModelSettings(year_factor=False, never_approved=False, arrival_trend=False)
    result = forecast_fda(filings, AS_OF, [2015, 2016], settings)
    mean = np.mean([20 + y - 1995 for y in (2012, 2013, 2014)])
    assert result.arrival_mean == pytest.approx(mean)
    assert result.years[0].expected_arrivals == pytest.approx(mean * 165 / 365, rel=1e-9)
    assert result.years[1].expected_arrivals == pytest.approx(mean * (200 / 365 + 166 / 366), rel=1e-9)
    # filings pending at the as-of date: received after 2014-06-14 and approved (200 days later) in 2015
    pending = sum(1 for f in filings if f.approval is not None and f.approval > AS_OF)
    assert result.years[0].expected_pending == pytest.approx(pending, rel=1e-9)
    off = forecast_fda(filings, AS_OF, [2015], replace(settings, arrivals=False))
    assert off.years[0].expected_arrivals == 0.0
    # receipts grow by exactly one a year (20 in 1995 ... 39 in 2014): the trend projects 40 for 2015, 41 for 2016
    trend = forecast_fda(filings, AS_OF, [2015, 2016], replace(settings, arrival_trend=True))
    assert trend.years[0].expected_arrivals == pytest.approx(40 * 165 / 365, rel=1e-9)
    assert trend.years[1].expected_arrivals == pytest.approx(40 * 200 / 365 + 41 * 166 / 366, rel=1e-9)


def _variance(pmf: np.ndarray) -> float:
    k = np.arange(len(pmf))
    return float(pmf @ k**2 - (pmf @ k) ** 2)


def test_never_approved_filings_keep_the_mean_and_widen_the_count() -> None:
    filings = synthetic_filings()
    fixed = ModelSettings(year_factor=False)
    with_them = forecast_fda(filings, AS_OF, [2015], fixed).years[0]
    listed_only = forecast_fda(filings, AS_OF, [2015], replace(fixed, never_approved=False)).years[0]
    assert with_them.expected == pytest.approx(listed_only.expected, rel=1e-9)
    assert _variance(with_them.pmf) > _variance(listed_only.pmf) + 0.5


def test_year_factor_widens_the_count_exactly_as_its_spread_says() -> None:
    filings = synthetic_filings()
    off = forecast_fda(filings, AS_OF, [2015], ModelSettings(factor_sigma=0.0)).years[0]
    on = forecast_fda(filings, AS_OF, [2015], ModelSettings(factor_sigma=0.3)).years[0]
    # Var(N) = E[Var(N|z)] + Var(E[N|z]) >= Var0 + (exp(0.09) - 1) mean^2 * (1 - small clipping)
    assert _variance(on.pmf) > _variance(off.pmf) + 0.8 * (math.exp(0.09) - 1) * off.expected**2


def test_range_backtest_scores_every_forecaster_on_synthetic_history() -> None:
    filings = synthetic_filings()
    result = backtest_range(filings, [2010, 2011, 2012], horizon=1)
    assert [r["year"] for r in result["rows"]] == [2011, 2012, 2013]
    assert set(result["scores"]) == {"model", "poisson_last_year", "negative_binomial"}
    assert result["scores"]["model"]["years"] == 3
    assert set(result["done_when"]) >= {"coverage_80", "beats_negative_binomial"}


def _run(tmp_path: Path, *args: str) -> Outcome:
    """`pipecast backtest ...` through the real entry point (no store is opened)."""
    return invoke(str(tmp_path / "unused.sqlite"), *args)


def _write_csv(path: Path, filings: list[Filing]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Proprietary  Name", "FDA Receipt Date", "FDA Approval Date", "Review Designation"])
        for i, f in enumerate(filings):
            assert f.approval is not None
            writer.writerow([f"drug{i}", f"{f.receipt.month}/{f.receipt.day}/{f.receipt.year}",
                             f"{f.approval.month}/{f.approval.day}/{f.approval.year}",
                             "Priority" if f.priority else "Standard"])


def test_cli_contract_json(tmp_path: Path) -> None:
    path = tmp_path / "nme.csv"
    _write_csv(path, synthetic_filings())
    result = _run(tmp_path, "backtest", "fda-nme", str(path), "--as-of", "2014-12-31", "--years", "2015-2016",
                  "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["as_of"] == "2014-12-31"
    assert [y["year"] for y in data["years"]] == [2015, 2016]
    assert {"pmf", "expected", "observed"} <= set(data["years"][0])
    assert {"model", "negative_binomial", "poisson_last_year", "bundled_independent"} <= set(data["scores"])


def test_cli_range_prints_the_done_when_figures(tmp_path: Path) -> None:
    path = tmp_path / "nme.csv"
    _write_csv(path, synthetic_filings())
    result = _run(tmp_path, "backtest", "fda-nme", str(path), "--as-of-range", "2010-2012")
    assert result.exit_code == 0, result.stderr
    assert "80% intervals held" in result.stdout
    assert "negative binomial" in result.stdout


@pytest.mark.parametrize(
    ("cell", "args", "expected"),
    [
        ("13/45/2010", ["--as-of", "2014-12-31"], "row 2, column 'FDA Receipt Date'"),
        (None, ["--as-of", "2014-12-31", "--as-of-range", "2010-2012"], "exactly one of --as-of"),
        (None, ["--as-of-range", "2015-2030"], "after the file's last approvals"),
    ],
)
def test_cli_errors_are_one_line(tmp_path: Path, cell: str | None, args: list[str], expected: str) -> None:
    filings = synthetic_filings()
    path = tmp_path / "nme.csv"
    _write_csv(path, filings)
    if cell is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        parts = lines[1].split(",")
        parts[1] = cell
        lines[1] = ",".join(parts)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _run(tmp_path, "backtest", "fda-nme", str(path), *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert expected in result.stderr
    assert result.stderr.count("\n") == 1  # one line


def test_shared_file_meets_the_issue_contract() -> None:
    filings = shared_filings()
    assert len(filings) == 1096  # rows per approval year match FDA's totals (SOURCE.txt)
    result = forecast_years(filings, AS_OF, [2015, 2016])
    assert [y["observed"] for y in result["years"]] == [45, 22]
