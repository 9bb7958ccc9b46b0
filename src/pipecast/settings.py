"""Settings declared once: name, default, help, environment variable. CLI, API and docs read this table."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "db",
        "PIPECAST_DB",
        "",
        "Database: a SQLite file path or a SQLAlchemy URL (postgresql+psycopg://...). "
        "Default: pipecast.sqlite in the user's data directory.",
    ),
    Setting("rates", "PIPECAST_RATES", "china", "Rate set: a bundled name (global, china) or a RATES.csv path."),
)


def setting(name: str) -> Setting:
    for item in SETTINGS:
        if item.name == name:
            return item
    raise KeyError(name)


def from_env(name: str) -> str:
    item = setting(name)
    return os.environ.get(item.env, item.default)


@dataclass
class AppContext:
    """What every CLI command gets in ctx.obj: the chosen database and output mode."""

    db: str = ""
    json_output: bool = False

    def store(self):  # -> pipecast.store.Store, imported lazily so the core stays light
        from pipecast.store import Store

        return Store.open(self.db or None)
