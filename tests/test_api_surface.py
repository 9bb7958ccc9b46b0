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


def _help(*command: str) -> str:
    out = subprocess.run([sys.executable, "-m", "pipecast.cli", *[c for c in command if c], "--help"],
                         capture_output=True, text=True, env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"}, check=False)
    assert out.returncode == 0, out.stderr
    return " ".join(out.stdout.split())


def test_every_setting_is_documented_and_each_option_shows_its_default_and_variable() -> None:
    """docs/settings.md is the settings table (regenerated from it), and the README or docs name every
    variable; each option's --help shows the table's default and variable."""
    from pipecast.settings import markdown

    docs = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert docs == markdown(), "docs/settings.md is out of date: python -m pipecast.settings > docs/settings.md"
    for item in SETTINGS:
        assert f"`{item.env}`" in docs
        for command in item.commands:
            text = _help(*command.split())
            assert item.option in text, f"{item.option} missing from pipecast {command} --help"
            assert item.env in text, f"{item.env} missing from pipecast {command} --help"
            if item.default:
                assert f"default: {item.default}" in text


def test_the_readme_points_to_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [item.env for item in SETTINGS if item.env not in readme]
    assert "docs/settings.md" in readme or not missing, f"README.md names neither docs/settings.md nor {missing}"


def test_the_settings_table_is_the_only_place_defaults_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing a setting's variable changes what the API does: the default is read from the table."""
    from pipecast import facade
    from pipecast.settings import int_value

    monkeypatch.setenv("PIPECAST_YEARS_AHEAD", "2")
    import datetime as dt

    assert facade.resolve_years(None, dt.date(2026, 3, 1)) == [2026, 2027, 2028]
    monkeypatch.setenv("PIPECAST_PATHS", "0")
    with pytest.raises(PipecastError, match="PIPECAST_PATHS"):
        int_value("paths")
    monkeypatch.setenv("PIPECAST_TODAY", "2024-02-29")
    from pipecast.clock import today

    assert today() == dt.date(2024, 2, 29)
    assert facade.resolve_as_of(None) == dt.date(2024, 2, 29)


def test_a_broken_database_file_is_a_store_error_not_a_library_exception(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not a SQLite file at all" * 100)
    from pipecast.store import Store

    with pytest.raises(StoreError):
        Store.open(str(bad))
    out = subprocess.run([sys.executable, "-m", "pipecast.cli", "--db", str(bad), "assets", "list"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert str(bad) in out.stderr


def test_unreachable_postgres_url_is_a_store_error() -> None:
    from pipecast.store import Store

    with pytest.raises(PipecastError):
        Store.open("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


HEAVY = ("scipy", "plotly", "alembic", "mako", "dask", "jax", "openpyxl", "sqlalchemy", "numpy", "yaml", "pydantic")


def test_importing_the_cli_imports_no_heavy_library() -> None:
    """Start-up stays light: the CLI module, and `pipecast --version`, load none of the heavy libraries."""
    probe = (
        "import sys\n"
        "import pipecast.cli\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
        "sys.argv = ['pipecast', '--version']\n"
        "try:\n"
        "    pipecast.cli.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["[]", "pipecast 0.1.0", "[]"]


def test_a_forecast_loads_no_report_import_or_migration_library(tmp_path: Path) -> None:
    """`pipecast forecast` on a file mounts only its own command: no plotly, openpyxl, alembic, mako, dask, jax."""
    assets = tmp_path / "a.csv"
    assets.write_text("id,name,sponsor,modality,therapeutic_area,phase,phase_start,count\n"
                      "a1,Alpha,Acme,mAb,Oncology,NDA,2025-03-01,1\n", encoding="utf-8")
    probe = (
        "import sys, io, contextlib\n"
        "from pipecast.cli import run\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = run(['forecast', '--assets', {str(assets)!r}, '--as-of', '2025-11-01', '--json'])\n"
        "print(code, sorted(m for m in ('plotly', 'openpyxl', 'alembic', 'mako', 'dask', 'jax') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0 []"
