"""What a forecast reads from a SQLite store (candidates as known on a date, and facts), with the standard
library's sqlite3 rather than SQLAlchemy, so that `pipecast forecast` starts fast.

Read-only and in one read transaction; the same queries and the same assembly (`assembly.assemble_assets`,
`identity.Identity`, `convert.dedupe`) as `Store.assets(as_of)` and `Store.facts(as_of=...)`, so the
results are the same (tests compare the two on stores with merges, splits and undos). Anything this reader
does not handle gives None and the caller opens the `Store`: a URL other than a plain SQLite file, a file
that does not exist, a schema that is not at the head revision (the Store migrates it), any SQLite error
(the Store reports it).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipecast.domain import Asset
from pipecast.store.assembly import ASSET_ATTRIBUTES, assemble_assets
from pipecast.store.convert import row_source
from pipecast.store.identity import Identity
from pipecast.store.records import Fact
from pipecast.store.revisions import VERSION_QUERY, known_revisions
from pipecast.store.urls import BUSY_TIMEOUT_MS, default_db_path

SQLITE_PREFIX = "sqlite:///"
EVENT_COLUMNS = ("id", "asset_id", "phase", "date", "indication", "source_title", "source_url", "source_date",
                 "recorded")
FACT_COLUMNS = ("entity", "field", "value", "as_of", "unit", "source_title", "source_url", "source_date", "note",
                "as_of_text")


@dataclass(frozen=True, slots=True)
class EventRow:
    """A `phase_events` row with the attributes `convert.dedupe` and `convert.to_event` read."""

    id: int
    asset_id: str
    phase: str
    date: dt.date
    indication: str
    source_title: str
    source_url: str
    source_date: dt.date | None
    recorded: dt.date | None


@dataclass(frozen=True, slots=True)
class AssetRow:
    """An `assets` row: its id and the `Asset` attributes (ASSET_ATTRIBUTES)."""

    id: str
    values: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.values["name"])

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def sqlite_path(db: str | None) -> Path | None:
    """The SQLite file `db` names (a path, a plain `sqlite:///` URL, or None: the default file); None for
    anything else (other databases, in-memory, URL options)."""
    if db is None or not db.strip():
        return default_db_path()
    text = db.strip()
    if "://" not in text:
        return Path(text).expanduser()
    if not text.startswith(SQLITE_PREFIX):
        return None
    database = text[len(SQLITE_PREFIX):]
    if not database or "?" in database or database.startswith((":memory:", "file:")):
        return None
    return Path(database)


def read_inputs(db: str | None, as_of: dt.date) -> tuple[list[Asset], list[Fact]] | None:
    """(`Store.assets(as_of)`, `Store.facts(as_of=as_of)`) of a SQLite store at the head revision, else None."""
    path = sqlite_path(db)
    if path is None or not path.is_file():
        return None
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None)
    except sqlite3.Error:
        return None
    try:
        conn.execute("BEGIN")  # one snapshot for every query below
        version = conn.execute(VERSION_QUERY).fetchone()
        if version is None or version[0] != known_revisions()[1]:
            return None
        return _assets(conn, as_of), _facts(conn, as_of)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _date(value: Any) -> dt.date | None:
    return None if value is None else dt.date.fromisoformat(str(value))


def _assets(conn: sqlite3.Connection, as_of: dt.date) -> list[Asset]:
    ident = Identity.of(
        conn.execute("SELECT id, undoes_id FROM resolution_actions WHERE undoes_id IS NOT NULL"),
        conn.execute("SELECT from_id, into_id, action_id FROM asset_redirects ORDER BY id"),
        conn.execute("SELECT event_id, to_asset_id, action_id FROM event_reassignments ORDER BY id"),
    )
    events: dict[str, list[EventRow]] = defaultdict(list)
    query = f"SELECT {', '.join(EVENT_COLUMNS)} FROM phase_events WHERE date <= ? ORDER BY id"
    for ev_id, asset_id, phase, date, indication, title, url, source_date, recorded in conn.execute(
            query, (as_of.isoformat(),)):
        row = EventRow(ev_id, asset_id, phase, dt.date.fromisoformat(date), indication, title, url,
                       _date(source_date), _date(recorded))
        events[ident.owner(row.id, row.asset_id)].append(row)
    aliases: dict[str, list[str]] = defaultdict(list)
    for asset_id, alias in conn.execute("SELECT asset_id, alias FROM aliases ORDER BY id"):
        aliases[asset_id].append(alias)
    rows: dict[str, AssetRow] = {}
    for asset_id, *values in conn.execute(f"SELECT id, {', '.join(ASSET_ATTRIBUTES)} FROM assets ORDER BY id"):
        rows[asset_id] = AssetRow(asset_id, dict(zip(ASSET_ATTRIBUTES, values, strict=True)))
    return assemble_assets(rows, aliases, events, ident, None, as_of)


def _facts(conn: sqlite3.Connection, as_of: dt.date) -> list[Fact]:
    query = (f"SELECT {', '.join(FACT_COLUMNS)} FROM facts WHERE as_of <= ? "
             "ORDER BY entity, field, as_of IS NULL, as_of, id")
    return [
        Fact(entity, field, value, _date(when), unit, row_source(title, url, _date(source_date)), note, as_of_text)
        for entity, field, value, when, unit, title, url, source_date, note, as_of_text
        in conn.execute(query, (as_of.isoformat(),))
    ]
