"""The README's commands and Python example run as written, so the docs cannot drift from the code."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_readme_shows_the_two_commands_first() -> None:
    first = blocks("sh")[0]
    assert "make run" in first and "make test" in first
    assert README.index("make run") < README.index("## A five-minute tour")


def test_every_cli_line_in_the_readme_runs(tmp_path: Path) -> None:
    lines = [line for block in blocks("sh") for line in block.splitlines() if line.startswith(".venv/bin/pipecast")]
    assert len(lines) >= 5
    for line in lines:
        args = shlex.split(line.replace("build/", f"{tmp_path}/"))[1:]
        out = subprocess.run([sys.executable, "-m", "pipecast.cli", *args], cwd=ROOT, capture_output=True,
                             text=True, timeout=300)
        assert out.returncode == 0, f"{line}\n{out.stderr}"


def test_python_example_runs() -> None:
    code = blocks("python")[0]
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    expected, probability = (float(x) for x in out.stdout.split())
    assert expected >= 0 and 0 <= probability <= 1


def test_every_command_has_help_text() -> None:
    out = subprocess.run([sys.executable, "-m", "pipecast.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for command in ("forecast", "report", "import", "export", "assets", "pipeline", "scenarios", "ingest", "check",
                    "review", "merge", "split", "undo", "actions", "orgs"):
        assert re.search(rf"\b{command}\b", out.stdout), command
