"""The README's commands and Python example run as written, so the docs cannot drift from the code."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_readme_shows_the_two_commands_first() -> None:
    first = blocks("sh")[0]
    assert "make run" in first
    assert "make test" in first
    assert README.index("make run") < README.index("## A five-minute tour")


def test_every_cli_line_in_the_readme_runs(tmp_path: Path) -> None:
    lines = [line for block in blocks("sh") for line in block.splitlines() if line.startswith(".venv/bin/pipecast")]
    assert len(lines) >= 5
    for line in lines:
        args = shlex.split(line.replace("build/", f"{tmp_path}/"))[1:]
        out = subprocess.run([sys.executable, "-m", "pipecast.cli", *args], cwd=ROOT, capture_output=True,
                             text=True, timeout=300, check=False)
        assert out.returncode == 0, f"{line}\n{out.stderr}"


def test_python_example_prints_the_right_numbers() -> None:
    """The README's Python example prints E[approvals in 2027] and P(target met every year 2027-2030): the first
    is checked by linearity of expectation over the candidates, the second against an independent sampler
    that draws each candidate's approval year from its own probabilities (5 standard errors)."""
    import numpy as np

    import pipecast

    code = blocks("python")[0]
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    expected, probability = (float(x) for x in out.stdout.split())
    result = pipecast.forecast(assets=ROOT / "examples" / "assets.csv", rates="global", as_of="2025-11-01",
                               years="2025-2031")
    rows = result.candidate_rows()
    assert expected == pytest.approx(sum(r["count"] * r["by_year"]["2027"] for r in rows), abs=1e-9)
    years = ["2027", "2028", "2029", "2030"]
    rng = np.random.default_rng(7)
    paths = 200_000
    counts = np.zeros((paths, len(years) + 1), dtype=np.int64)
    for r in rows:
        p = [r["by_year"][y] for y in years]
        counts += rng.multinomial(r["count"], [*p, max(0.0, 1.0 - sum(p))], size=paths)
    met = np.all((counts[:, :4] >= 1) & (counts[:, :4] <= 3), axis=1).mean()
    se = max(float(np.sqrt(met * (1 - met) / paths)), 1e-4)
    assert abs(probability - met) < 5 * se
    assert 0 < probability < 1  # a real question: neither certain nor impossible


def test_every_command_has_help_text() -> None:
    out = subprocess.run([sys.executable, "-m", "pipecast.cli", "--help"], capture_output=True, text=True,
                         check=False)
    assert out.returncode == 0
    for command in ("forecast", "report", "import", "export", "assets", "pipeline", "scenarios", "ingest", "check",
                    "review", "merge", "split", "undo", "actions", "orgs"):
        assert re.search(rf"\b{command}\b", out.stdout), command
