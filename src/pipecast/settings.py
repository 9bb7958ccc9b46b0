"""Settings declared once: name, default, type, help, environment variable, and the option that sets it.

The CLI options, the Python API (`pipecast.forecast`) and the docs read their defaults from this table;
nothing else in the code spells a default out. A value comes from, in order: the option or argument the
user gives, the environment variable, the default here.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipecast.errors import InputError

if TYPE_CHECKING:
    from pipecast.store import Store

#: File name of the default SQLite store inside the data directory.
DB_FILE_NAME = "pipecast.sqlite"


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    env: str
    default: str
    help: str
    #: "str", "int" (a whole number >= minimum) or "date" (ISO); how the environment variable is read.
    kind: str = "str"
    #: The command-line option that sets it ("" when only the environment variable does).
    option: str = ""
    minimum: int | None = None
    #: The commands whose --help shows the option ("" is the `pipecast` group itself).
    commands: tuple[str, ...] = ()

    def describe_default(self) -> str:
        """The default as the help texts show it."""
        return self.default if self.default else "none"


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "db", "PIPECAST_DB", "",
        "Database: a SQLite file path or a SQLAlchemy URL (postgresql+psycopg://...). "
        f"Default: {DB_FILE_NAME} in the data directory (PIPECAST_DATA_DIR).",
        option="--db", commands=("",),
    ),
    Setting(
        "data_dir", "PIPECAST_DATA_DIR", "",
        f"Folder of the default database {DB_FILE_NAME}. Default: the user's data directory "
        "(platformdirs, e.g. ~/.local/share/pipecast).",
    ),
    Setting("rates", "PIPECAST_RATES", "china",
            "Rate set: a bundled name (global, china, china_calibrated) or a RATES.csv path.", option="--rates",
            commands=("forecast", "report", "scenarios compare", "scenarios solve")),
    Setting("method", "PIPECAST_METHOD", "exact",
            "exact (independent candidates) or montecarlo (correlation, review shocks, sponsor stops).",
            option="--method", commands=("forecast",)),
    Setting("paths", "PIPECAST_PATHS", "10000", "Monte Carlo paths (forecast and scenarios compare).",
            kind="int", option="--paths", minimum=1, commands=("forecast", "scenarios compare")),
    Setting("solve_paths", "PIPECAST_SOLVE_PATHS", "4000",
            "Monte Carlo paths per bisection step of `scenarios solve`.", kind="int", option="--paths",
            minimum=1, commands=("scenarios solve",)),
    Setting("seed", "PIPECAST_SEED", "0", "Monte Carlo seed: the same seed gives the same numbers.",
            kind="int", option="--seed", minimum=0,
            commands=("forecast", "scenarios compare", "scenarios solve")),
    Setting("engine", "PIPECAST_ENGINE", "numpy", "Monte Carlo engine: numpy, dask or jax.", option="--engine",
            commands=("forecast", "scenarios compare", "scenarios solve")),
    Setting("years_ahead", "PIPECAST_YEARS_AHEAD", "6",
            "Without --years, forecast the as-of year and this many years after it.", kind="int", minimum=0),
    Setting("language", "PIPECAST_LANG", "en", "Language of the HTML report: en or zh.", option="--lang",
            commands=("report",)),
    Setting("report_target", "PIPECAST_REPORT_TARGET", "2027-2030:1-3",
            "The plan's target the report checks when --target is not given.", option="--target",
            commands=("report",)),
    Setting("stale_days", "PIPECAST_STALE_DAYS", "90",
            "Warn when the as-of date is more than this many days past the latest dated event or fact used.",
            kind="int", minimum=0),
    Setting("smtp_host", "PIPECAST_SMTP_HOST", "",
            "SMTP server for alert e-mails (`pipecast alerts send`). Empty: digests stay queued in the app."),
    Setting("smtp_port", "PIPECAST_SMTP_PORT", "25", "Port of the SMTP server.", kind="int", minimum=1),
    Setting("smtp_from", "PIPECAST_SMTP_FROM", "pipecast@localhost", "Sender address of alert e-mails."),
    Setting("smtp_timeout", "PIPECAST_SMTP_TIMEOUT", "10",
            "Seconds to wait for the SMTP server before the delivery stays queued for a retry.", kind="int",
            minimum=1),
    Setting("today", "PIPECAST_TODAY", "",
            "Pin today's date (YYYY-MM-DD), for tests and reruns. Default: the system date.", kind="date"),
)


def setting(name: str) -> Setting:
    for item in SETTINGS:
        if item.name == name:
            return item
    raise KeyError(name)


def from_env(name: str) -> str:
    """The setting's text: its environment variable if set and not empty, else its default."""
    item = setting(name)
    text = os.environ.get(item.env, "").strip()
    return text or item.default


def int_value(name: str, given: int | None = None) -> int:
    """`given` when an option gave it, else the integer setting from its environment variable or default;
    a bad variable is an InputError."""
    if given is not None:
        return given
    item = setting(name)
    text = from_env(name)
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or (item.minimum is not None and value < item.minimum):
        least = f" >= {item.minimum}" if item.minimum is not None else ""
        raise InputError(f"{text!r} is not a valid value", field=item.env, expected=f"a whole number{least}")
    return value


def date_value(name: str) -> dt.date | None:
    text = from_env(name)
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date", field=setting(name).env,
                         expected="an ISO date such as 2026-12-01") from None


def resolve_db(db: str | None) -> str | None:
    """The database to open: the given one, else PIPECAST_DB, else PIPECAST_DATA_DIR/pipecast.sqlite, else
    None (the store's own default in the user's data directory)."""
    if db:
        return db
    from_variable = from_env("db")
    if from_variable:
        return from_variable
    folder = from_env("data_dir")
    if folder:
        return str(Path(folder).expanduser() / DB_FILE_NAME)
    return None


def markdown() -> str:
    """The settings table as Markdown: docs/settings.md is this text (a test keeps them equal)."""
    lines = [
        "# Settings",
        "",
        "Every default pipecast uses, declared once in `src/pipecast/settings.py`. A value comes from the option",
        "(where there is one), else the environment variable, else the default. Regenerate this page with",
        "`python -m pipecast.settings > docs/settings.md`.",
        "",
        "| setting | option | environment variable | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for item in SETTINGS:
        where = ", ".join(f"`{('pipecast ' + c).strip()}`" for c in item.commands)
        option = f"`{item.option}` ({where})" if item.option else "-"
        default = f"`{item.default}`" if item.default else "none"
        lines.append(f"| {item.name} | {option} | `{item.env}` | {default} | {item.help.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


@dataclass
class AppContext:
    """What every CLI command gets in ctx.obj: the chosen database ("" = from the settings table)."""

    db: str = ""

    def store(self) -> Store:
        from pipecast.store import Store  # imported lazily so that `pipecast --version` stays light

        return Store.open(resolve_db(self.db))


if __name__ == "__main__":  # python -m pipecast.settings > docs/settings.md
    print(markdown(), end="")
