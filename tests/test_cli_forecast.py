"""The `pipecast forecast` contract, run as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

RATES = """phase,p_success,median_months,p90_months
preclinical,0.69,12,24
phase1,0.52,24,48
phase2,0.289,36,66
phase3,0.578,36,60
filed,0.906,13,24
"""
ASSETS = """id,name,sponsor,modality,therapeutic_area,phase,phase_start,count
a1,Alpha,Acme,mAb,Oncology,NDA,2025-03-01,1
a2,Beta,Acme,small molecule,Oncology,Phase III,2023-06-15,1
a3,Gamma,Beta Bio,bispecific,Immunology,Ph 2,2024-01-10,
a4,Delta,Beta Bio,mAb,Immunology,approved,2025-08-20,1
cohort:p1,Unnamed phase 1,,,,I期,2024-06-30,5
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipecast.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rates = tmp_path / "RATES.csv"
    rates.write_text(RATES, encoding="utf-8")
    assets = tmp_path / "ASSETS.csv"
    assets.write_text(ASSETS, encoding="utf-8")
    return assets, rates


def test_json_contract(files: tuple[Path, Path]) -> None:
    assets, rates = files
    out = run("forecast", "--assets", str(assets), "--rates", str(rates), "--as-of", "2025-11-01",
              "--years", "2025-2031", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["as_of"] == "2025-11-01"
    assert [y["year"] for y in data["years"]] == list(range(2025, 2032))
    for year in data["years"]:
        pmf = np.array(year["pmf"])
        assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
        assert (pmf * np.arange(len(pmf))).sum() == pytest.approx(year["expected"], abs=1e-6)
    # 2025 holds the approval on record (2025-08-20): at least one approval is certain.
    assert data["years"][0]["pmf"][0] == 0.0
    assert data["candidates"] == 9  # 4 named + a cohort of 5


def test_json_pmf_is_the_poisson_binomial_of_the_candidates(files: tuple[Path, Path]) -> None:
    """The per-year pmf in the JSON is exactly the convolution of the per-candidate probabilities it reports."""
    assets, rates = files
    out = run("forecast", "--assets", str(assets), "--rates", str(rates), "--as-of", "2025-11-01",
              "--years", "2026-2028", "--json")
    data = json.loads(out.stdout)
    import pipecast

    result = pipecast.forecast(assets=assets, rates=rates, as_of="2025-11-01", years="2026-2028")
    for year in data["years"]:
        independent = np.array([1.0])
        for i, row in enumerate(result.candidate_rows()):
            p = row["by_year"][str(year["year"])]
            for _ in range(int(result.counts[i])):
                independent = np.convolve(independent, [1 - p, p])
        np.testing.assert_allclose(year["pmf"], independent[: len(year["pmf"])], atol=1e-12)


def test_target_in_json(files: tuple[Path, Path]) -> None:
    assets, rates = files
    out = run("forecast", "--assets", str(assets), "--rates", str(rates), "--as-of", "2025-11-01",
              "--years", "2025-2031", "--target", "2026-2027:1-3", "--json")
    data = json.loads(out.stdout)
    target = data["target"]
    for year in data["years"]:
        if str(year["year"]) in target["per_year_in_band"]:
            assert target["per_year_in_band"][str(year["year"])] == pytest.approx(sum(year["pmf"][1:4]), abs=1e-12)
    assert target["all_years_in_band"] <= min(target["per_year_in_band"].values()) + 1e-12


def test_tables_without_json(files: tuple[Path, Path]) -> None:
    assets, rates = files
    out = run("forecast", "--assets", str(assets), "--rates", str(rates), "--as-of", "2025-11-01",
              "--years", "2025-2031", "--target", "2027-2030:1-3")
    assert out.returncode == 0, out.stderr
    assert "2027" in out.stdout
    assert "Target 2027-2030:1-3" in out.stdout


BAD_ASSETS = [
    ("a1,Alpha,Acme,mAb,Oncology,Phase 7,2025-03-01,1", "phase", "unknown phase"),
    ("a1,Alpha,Acme,mAb,Oncology,NDA,2030-03-01,1", "phase_start", "in the future"),
    ("a1,Alpha,Acme,mAb,Oncology,NDA,1901-03-01,1", "phase_start", "before 1950"),
    ("a1,Alpha,Acme,mAb,Oncology,NDA,2025-03-01,-2", "count", "not a positive whole number"),
    ("a1,Alpha,Acme,mAb,Oncology,NDA,2025-03-01,1.5", "count", "not a positive whole number"),
    ("a1,Alpha,Acme,mAb,Oncology,NDA,03/01/2025,1", "phase_start", "not a date"),
    ('a1,"Alpha,Acme,mAb,Oncology,NDA,2025-03-01,1', None, "malformed CSV"),
]


@pytest.mark.parametrize(("row", "column", "message"), BAD_ASSETS)
def test_bad_asset_rows_give_one_line_with_file_row_column(
    tmp_path: Path, files: tuple[Path, Path], row: str, column: str | None, message: str
) -> None:
    _, rates = files
    bad = tmp_path / "bad.csv"
    bad.write_text(ASSETS.splitlines()[0] + "\na0,Fine,Acme,mAb,Oncology,NDA,2025-03-01,1\n" + row + "\n")
    out = run("forecast", "--assets", str(bad), "--rates", str(rates), "--as-of", "2025-11-01", "--json")
    assert out.returncode == 2
    assert out.stdout == ""
    line = out.stderr.strip()
    assert "\n" not in line
    assert "Traceback" not in line
    assert str(bad) in line
    assert "row 3" in line
    assert message in line
    if column:
        assert f"column '{column}'" in line


def test_missing_column(tmp_path: Path, files: tuple[Path, Path]) -> None:
    _, rates = files
    bad = tmp_path / "bad.csv"
    bad.write_text("id,name,phase\na,b,NDA\n")
    out = run("forecast", "--assets", str(bad), "--rates", str(rates))
    assert out.returncode == 2
    assert "missing column(s) sponsor, modality, therapeutic_area, phase_start" in out.stderr


BAD_RATES = [
    ("phase1,1.2,24,48", "p_success", "out of range"),
    ("phase1,0.5,48,24", "p90_months", "below median_months"),
    ("phase9,0.5,24,48", "phase", "unknown phase"),
]


@pytest.mark.parametrize(("row", "column", "message"), BAD_RATES)
def test_bad_rate_rows(tmp_path: Path, files: tuple[Path, Path], row: str, column: str, message: str) -> None:
    assets, _ = files
    rates = tmp_path / "r.csv"
    lines = RATES.splitlines()
    rates.write_text("\n".join([lines[0], row, *lines[1:2], *lines[3:]]) + "\n")
    out = run("forecast", "--assets", str(assets), "--rates", str(rates), "--as-of", "2025-11-01")
    assert out.returncode == 2
    assert f"row 2, column '{column}'" in out.stderr
    assert message in out.stderr


def test_rate_set_missing_a_phase_names_it(tmp_path: Path, files: tuple[Path, Path]) -> None:
    assets, _ = files
    rates = tmp_path / "r.csv"
    rates.write_text("\n".join(line for line in RATES.splitlines() if not line.startswith("phase3")) + "\n")
    out = run("forecast", "--assets", str(assets), "--rates", str(rates), "--as-of", "2025-11-01")
    assert out.returncode == 2
    assert "no general row for phase phase3" in out.stderr


def test_bad_target_and_years(files: tuple[Path, Path]) -> None:
    assets, rates = files
    out = run("forecast", "--assets", str(assets), "--rates", str(rates), "--target", "2027-2030:three")
    assert out.returncode == 2
    assert "2027-2030:1-3" in out.stderr
    out = run("forecast", "--assets", str(assets), "--rates", str(rates), "--years", "2031-2025")
    assert out.returncode == 2
    assert "--years" in out.stderr


def test_python_api_example_from_the_docstring() -> None:
    """The README/facade example: one call from Python on the bundled example file."""
    import pipecast

    root = Path(__file__).resolve().parents[1]
    result = pipecast.forecast(assets=root / "examples" / "assets.csv", rates="global", as_of="2025-11-01",
                               years="2025-2031")
    assert result.years[0] == 2025
    assert result.outlook(2025).observed == 1  # ex-4 approved 2025-08-20


def test_montecarlo_method_keeps_the_json_shape_and_agrees_with_exact(files: tuple[Path, Path]) -> None:
    assets, rates = files
    common = ("forecast", "--assets", str(assets), "--rates", str(rates), "--as-of", "2025-11-01",
              "--years", "2026-2028", "--json")
    exact = json.loads(run(*common).stdout)
    out = run(*common, "--method", "montecarlo", "--paths", "20000", "--seed", "3")
    assert out.returncode == 0, out.stderr
    mc = json.loads(out.stdout)
    assert mc["method"] == "montecarlo"
    for e, m in zip(exact["years"], mc["years"], strict=True):
        se = m["mc_error"]["expected"]
        assert se > 0
        assert abs(e["expected"] - m["expected"]) < 5 * se + 1e-9
    out = run(*common, "--method", "guess")
    assert out.returncode == 2
    assert "exact or montecarlo" in out.stderr


def test_an_empty_store_is_an_error_not_a_zero_forecast(tmp_path: Path) -> None:
    out = run("--db", str(tmp_path / "empty.sqlite"), "forecast", "--years", "2026-2028")
    assert out.returncode == 2
    assert "no candidates known" in out.stderr
    assert "load-bundled" in out.stderr
