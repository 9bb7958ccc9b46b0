"""No wrong answer without a warning (issue 8), at the command level, through the real entry point.

Targets are computed over all their years (checked against brute-force enumeration of every outcome);
Monte Carlo options take effect or are errors; --db means the same before or after the command; forecasts
say how old their data is and which candidates are stale; data never reaches the terminal as markup or
control sequences; ids are never broken in tables.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pipecast

RATES = """phase,p_success,median_months,p90_months
preclinical,0.69,12,24
phase1,0.52,24,48
phase2,0.289,36,66
phase3,0.578,30,54
filed,0.906,13,24
"""
HEADER = "id,name,sponsor,modality,therapeutic_area,phase,phase_start,count\n"
#: Six candidates, each counted once, so that brute force over every outcome is small (5^6 for four years).
ASSETS = HEADER + """a1,Alpha,Acme,mAb,Oncology,NDA,2025-03-01,1
a2,Beta,Acme,small molecule,Oncology,Phase III,2023-06-15,1
a3,Gamma,Beta Bio,bispecific,Immunology,Ph 3,2024-01-10,1
a4,Delta,Beta Bio,mAb,Immunology,phase3,2024-09-20,1
a5,Epsilon,Gamma Pharma,mAb,Oncology,phase2,2023-02-01,1
a6,Zeta,Gamma Pharma,ADC,Oncology,filed,2025-02-14,1
"""
STALE_ROW = "s1,Old Timer,Delta Bio,mAb,Oncology,phase3,2021-06-01,1\n"
AS_OF = "2025-11-01"
TARGET = "2027-2030:1-3"


def script() -> list[str]:
    found = Path(sys.executable).with_name("pipecast")
    return [str(found)] if found.exists() else [sys.executable, "-m", "pipecast.cli"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: its own data directory (never the user's store), today pinned, 80 columns."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PIPECAST_DATA_DIR": str(tmp_path / "data-dir"),
            "PIPECAST_TODAY": "2025-11-01", "COLUMNS": "80", "PYTHONDONTWRITEBYTECODE": "1"}


def pipecast_run(env: dict[str, str], *args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    run_env = dict(env, **({"COLUMNS": str(columns)} if columns else {}))
    return subprocess.run([*script(), *args], capture_output=True, text=True, env=run_env, timeout=300, check=False)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {"rates": tmp_path / "RATES.csv", "assets": tmp_path / "ASSETS.csv", "stale": tmp_path / "STALE.csv"}
    paths["rates"].write_text(RATES, encoding="utf-8")
    paths["assets"].write_text(ASSETS, encoding="utf-8")
    paths["stale"].write_text(ASSETS + STALE_ROW, encoding="utf-8")
    return paths


def brute_force_all_years(by_year: list[list[float]], low: int, high: int) -> float:
    """P(every year's count in [low, high]) by enumerating each candidate's outcome: approved in year j
    (probability p_j) or in none of them (1 - sum p)."""
    n_years = len(by_year[0])
    choices = []
    for row in by_year:
        choices.append([*row, 1.0 - sum(row)])
    total = 0.0
    for outcome in itertools.product(range(n_years + 1), repeat=len(by_year)):
        counts = np.bincount([o for o in outcome if o < n_years], minlength=n_years)
        if all(low <= c <= high for c in counts):
            total += float(np.prod([choices[i][o] for i, o in enumerate(outcome)]))
    return total


def per_candidate(assets: Path, rates: Path, years: list[int]) -> list[list[float]]:
    result = pipecast.forecast(assets=assets, rates=rates, as_of=AS_OF, years=f"{years[0]}-{years[-1]}")
    return [[row["by_year"][str(y)] for y in years] for row in result.candidate_rows()]


# ---- a. a target is computed over all its years


@pytest.mark.parametrize("years", ["2027-2028", "2031-2035", "2029"])
def test_a_target_is_computed_over_all_its_years(env: dict[str, str], files: dict[str, Path], years: str) -> None:
    truth = brute_force_all_years(per_candidate(files["assets"], files["rates"], [2027, 2028, 2029, 2030]), 1, 3)
    subset = brute_force_all_years(per_candidate(files["assets"], files["rates"], [2027, 2028]), 1, 3)
    assert abs(truth - subset) > 0.05  # computing on a subset of the years would be caught
    out = pipecast_run(env, "forecast", "--assets", str(files["assets"]), "--rates", str(files["rates"]),
                       "--as-of", AS_OF, "--years", years, "--target", TARGET, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    covered = [y["year"] for y in data["years"]]
    assert set(range(2027, 2031)) <= set(covered)
    assert data["target"]["all_years_in_band"] == pytest.approx(truth, abs=1e-9)
    assert data["target"]["years_outside_forecast"] == []
    assert any("extended" in w and TARGET in w for w in data["warnings"])


def test_the_terminal_says_the_years_were_extended(env: dict[str, str], files: dict[str, Path]) -> None:
    truth = brute_force_all_years(per_candidate(files["assets"], files["rates"], [2027, 2028, 2029, 2030]), 1, 3)
    out = pipecast_run(env, "forecast", "--assets", str(files["assets"]), "--rates", str(files["rates"]),
                       "--as-of", AS_OF, "--years", "2027-2028", "--target", TARGET, columns=200)
    assert out.returncode == 0, out.stderr
    assert "Warning: forecast years extended from 2027-2028 to 2027-2030" in out.stdout
    assert f"with probability {truth:.1%}" in out.stdout


def test_the_api_extends_the_years_too(files: dict[str, Path]) -> None:
    truth = brute_force_all_years(per_candidate(files["assets"], files["rates"], [2027, 2028, 2029, 2030]), 1, 3)
    result = pipecast.forecast(assets=files["assets"], rates=files["rates"], as_of=AS_OF, years="2027-2028",
                               target=TARGET)
    assert result.years == [2027, 2028, 2029, 2030]
    assert result.check(pipecast.parse_target(TARGET)).all_years_in_band == pytest.approx(truth, abs=1e-9)


def test_scenarios_cover_the_target_years(env: dict[str, str], files: dict[str, Path], tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("name: base\n", encoding="utf-8")
    truth = brute_force_all_years(per_candidate(files["assets"], files["rates"], [2027, 2028, 2029, 2030]), 1, 3)
    out = pipecast_run(env, "scenarios", "compare", str(base), str(base), "--target", TARGET, "--assets",
                       str(files["assets"]), "--rates", str(files["rates"]), "--as-of", AS_OF, "--paths", "4000",
                       "--json")
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)["scenarios"][0]
    p, se = first["figures"]["all_years_in_band"], first["mc_error"]["all_years_in_band"]
    assert abs(p - truth) < 4 * se + 1e-9


# ---- b. Monte Carlo options take effect (the errors are in test_cli_errors.py)


def test_montecarlo_options_take_effect(env: dict[str, str], files: dict[str, Path]) -> None:
    common = ("forecast", "--assets", str(files["assets"]), "--rates", str(files["rates"]), "--as-of", AS_OF,
              "--years", "2026-2029", "--method", "montecarlo", "--json")
    runs = {}
    for label, extra in {"a": ("--paths", "2000", "--seed", "1"), "b": ("--paths", "2000", "--seed", "2"),
                         "c": ("--paths", "4000", "--seed", "1"),
                         "d": ("--paths", "2000", "--seed", "1", "--sponsor-stop", "0.9")}.items():
        out = pipecast_run(env, *common, *extra)
        assert out.returncode == 0, out.stderr
        runs[label] = json.loads(out.stdout)
    expected = {k: [y["expected"] for y in v["years"]] for k, v in runs.items()}
    assert expected["a"] != expected["b"]  # --seed
    assert expected["a"] != expected["c"]  # --paths
    assert sum(expected["d"]) < 0.5 * sum(expected["a"])  # --sponsor-stop 0.9 stops most candidates


# ---- c. --db after the command


def test_db_after_the_command_means_the_same(env: dict[str, str], files: dict[str, Path], tmp_path: Path) -> None:
    db = str(tmp_path / "store.sqlite")
    loaded = pipecast_run(env, "import", str(files["assets"]), "--db", db)
    assert loaded.returncode == 0, loaded.stderr
    before = pipecast_run(env, "--db", db, "forecast", "--years", "2026-2028", "--json")
    after = pipecast_run(env, "forecast", "--years", "2026-2028", "--json", "--db", db)
    assert before.returncode == after.returncode == 0, before.stderr + after.stderr
    assert json.loads(before.stdout) == json.loads(after.stdout)
    assert json.loads(after.stdout)["candidates"] == 6
    report = pipecast_run(env, "report", "--db", db, "--out", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "r.html").exists()


# ---- e. stale data and stale candidates


def test_data_as_of_and_the_stale_data_warning(env: dict[str, str], files: dict[str, Path]) -> None:
    latest = "2025-03-01"  # a1's NDA: the latest date in ASSETS
    old = pipecast_run(env, "forecast", "--assets", str(files["assets"]), "--rates", str(files["rates"]),
                       "--as-of", "2025-11-01", "--json")
    fresh = pipecast_run(env, "forecast", "--assets", str(files["assets"]), "--rates", str(files["rates"]),
                         "--as-of", "2025-05-30", "--json")  # 90 days after 2025-03-01: not more than 90
    assert old.returncode == fresh.returncode == 0, old.stderr + fresh.stderr
    old_data, fresh_data = json.loads(old.stdout), json.loads(fresh.stdout)
    assert old_data["data_as_of"] == fresh_data["data_as_of"] == latest
    assert fresh_data["warnings"] == []
    assert [w for w in old_data["warnings"] if "stale" in w] == [
        "data may be stale: the latest dated event or fact used is 2025-03-01, 245 days before the as-of date "
        "2025-11-01 (more than 90); events since then are not in this forecast"
    ]
    day_after = pipecast_run(env, "forecast", "--assets", str(files["assets"]), "--rates", str(files["rates"]),
                             "--as-of", "2025-05-31", "--json")
    assert any("91 days" in w for w in json.loads(day_after.stdout)["warnings"])


def test_data_as_of_of_the_bundled_store_is_its_latest_event_or_fact(env: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "cq.sqlite"
    env = dict(env, PIPECAST_TODAY="2026-12-01")  # the bundled data runs to late 2026
    loaded = pipecast_run(env, "--db", str(db), "load-bundled", "chongqing")
    assert loaded.returncode == 0, loaded.stderr
    with sqlite3.connect(db) as conn:
        dates = "SELECT date AS d FROM phase_events UNION ALL SELECT recorded FROM phase_events " \
                "UNION ALL SELECT source_date FROM phase_events UNION ALL SELECT as_of FROM facts"
        for as_of in ("2025-06-30", "2026-12-01"):
            (expected,) = conn.execute(f"SELECT max(d) FROM ({dates}) WHERE d <= ?", (as_of,)).fetchone()
            out = pipecast_run(env, "--db", str(db), "forecast", "--as-of", as_of, "--json")
            assert out.returncode == 0, out.stderr
            data = json.loads(out.stdout)
            assert data["data_as_of"] == expected
            age = (np.datetime64(as_of) - np.datetime64(expected)).astype(int)
            assert any("data may be stale" in w for w in data["warnings"]) == (age > 90)


def test_stale_candidates_are_marked_with_their_share(env: dict[str, str], files: dict[str, Path]) -> None:
    with_stale = pipecast_run(env, "forecast", "--assets", str(files["stale"]), "--rates", str(files["rates"]),
                              "--as-of", AS_OF, "--target", TARGET, "--json")
    without = pipecast_run(env, "forecast", "--assets", str(files["assets"]), "--rates", str(files["rates"]),
                           "--as-of", AS_OF, "--target", TARGET, "--json")
    assert with_stale.returncode == without.returncode == 0, with_stale.stderr
    data, rest = json.loads(with_stale.stdout), json.loads(without.stdout)
    assert data["stale_ids"] == ["s1"]
    assert rest["stale_ids"] == []
    share = data["target"]["all_years_in_band"] - rest["target"]["all_years_in_band"]
    assert share != 0
    assert data["target"]["stale_share"] == pytest.approx(share, abs=1e-12)
    assert any("s1" in w and f"{share * 100:.1f} points" in w for w in data["warnings"])
    table = pipecast_run(env, "forecast", "--assets", str(files["stale"]), "--rates", str(files["rates"]),
                         "--as-of", AS_OF, "--target", TARGET, columns=120)
    assert "s1 †" in table.stdout
    assert "† stale" in table.stdout
    assert "recomputed without them" in " ".join(table.stdout.split())


# ---- f. data is never markup or control sequences; g. ids are never broken


EVIL = HEADER + """x1,[/],Acme [bold],mAb,Oncology,phase3,2024-06-01,1
x2,[link=http://x]click[/link],Acme,mAb,Oncology,filed,2025-01-10,1
x3,\x1b]0;pwned\x07Title,Acme,mAb,Oncology,phase3,2024-02-01,1
x4,\x1b[2JClear,Acme,mAb,Oncology,filed,2025-03-01,1
cohort:biocity-phase3-candidates-2025-07,Cohort of unnamed candidates in phase three,Acme,mAb,Oncology,\
phase3,2024-05-01,3
"""


@pytest.fixture
def evil_store(env: dict[str, str], tmp_path: Path) -> str:
    source = tmp_path / "evil.csv"
    source.write_text(EVIL, encoding="utf-8")
    db = str(tmp_path / "evil.sqlite")
    loaded = pipecast_run(env, "--db", db, "import", str(source))
    assert loaded.returncode == 0, loaded.stderr
    return db


@pytest.mark.parametrize("command", [["assets", "list"], ["pipeline"], ["forecast", "--target", TARGET]])
def test_names_are_shown_as_text_never_as_markup_or_terminal_codes(
    env: dict[str, str], evil_store: str, command: list[str]
) -> None:
    forced = dict(env, FORCE_COLOR="1")  # Rich writes colours as for a terminal: only its own codes may appear
    out = pipecast_run(forced, "--db", evil_store, *command, columns=200)
    assert out.returncode == 0, out.stderr
    for raw in ("\x1b]0;", "\x1b[2J", "\x07", "\x1b]8;"):  # retitle, clear screen, bell, hyperlink
        assert raw not in out.stdout
    plain = pipecast_run(env, "--db", evil_store, *command, columns=200).stdout
    if command[0] != "pipeline" or "x1" in plain:
        assert "[/]" in plain
        assert "[link=http://x]click[/link]" in plain
        assert "\\x1b]0;pwned\\x07Title" in plain
        assert "\\x1b[2JClear" in plain


def test_ids_stay_whole_at_80_columns_and_names_at_120(env: dict[str, str], evil_store: str) -> None:
    long_id = "cohort:biocity-phase3-candidates-2025-07"
    narrow = pipecast_run(env, "--db", evil_store, "forecast", "--target", TARGET, columns=80)
    assert narrow.returncode == 0, narrow.stderr
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    assert any(long_id in line for line in narrow.stdout.splitlines())
    wide = pipecast_run(env, "--db", evil_store, "forecast", "--target", TARGET, columns=120)
    assert any("Cohort of unnamed candidates in phase three" in line for line in wide.stdout.splitlines())
