"""The public surface: what `import pipecast` offers, which settings exist, and that errors stay ours."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pipecast
from pipecast.errors import PipecastError, StoreError
from pipecast.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def test_public_names_are_pinned() -> None:
    assert sorted(pipecast.__all__) == sorted([
        "Asset", "InputError", "Organisation", "Phase", "PhaseEvent", "PipecastError", "Portfolio", "Source",
        "Target", "__version__", "forecast", "parse_phase", "parse_target",
    ])
    assert callable(pipecast.forecast)


def test_every_setting_is_documented_in_the_readme_and_the_help() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "pipecast.cli", "forecast", "--help"], capture_output=True,
                         text=True, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    root_help = subprocess.run([sys.executable, "-m", "pipecast.cli", "--help"], capture_output=True, text=True,
                               env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    for item in SETTINGS:
        assert item.env in readme, f"{item.env} is not documented in README.md"
        assert f"--{item.name}" in out.stdout + root_help.stdout


def test_a_broken_database_file_is_a_store_error_not_a_library_exception(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not a SQLite file at all" * 100)
    from pipecast.store import Store

    with pytest.raises(StoreError):
        Store.open(str(bad))
    out = subprocess.run([sys.executable, "-m", "pipecast.cli", "--db", str(bad), "assets", "list"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and str(bad) in out.stderr


def test_unreachable_postgres_url_is_a_store_error() -> None:
    from pipecast.store import Store

    with pytest.raises(PipecastError):
        Store.open("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
