"""The hash chain over the history, and `verify`, which recomputes it.

Triggers refuse what they can (UPDATE, DELETE, INSERT OR REPLACE, TRUNCATE); the chain makes the rest
evident. Each row the store inserts into a chained table gets a `history_chain` link holding the row's
canonical serialisation and `sha256(previous link's hash, table, serialisation)`. A row changed behind
the store's back (triggers dropped), a row deleted (the last one too: its link stays), a row written
outside pipecast (no link), a link removed or altered: each breaks the chain at a place `verify` names.

Deleting the tail of a table *and* of the chain together cannot be told from history never written;
record `pipecast verify --json`'s head hash elsewhere, and give the application's database role no
UPDATE, DELETE or TRUNCATE (docs/database.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert, inspect, select
from sqlalchemy.orm import Session

from pipecast.store.models import CHAINED_TABLES, Base, HistoryChainRow
from pipecast.store.money import MONEY_CHAINED_COLUMNS
from pipecast.store.records import BrokenLink, VerifyReport

#: The columns serialised per table, frozen: a later column must not change the links already written.
#: An asset's attributes may change in place; its existence (id, creation time) may not.
CHAINED_COLUMNS: Mapping[str, tuple[str, ...]] = {
    "assets": ("id", "created_at"),
    "phase_events": ("id", "asset_id", "phase", "date", "indication", "source_title", "source_url", "source_date",
                     "recorded", "recorded_at", "import_batch_id"),
    "facts": ("id", "entity", "field", "value", "unit", "as_of", "as_of_text", "source_title", "source_url",
              "source_date", "note", "recorded_at", "import_batch_id"),
    "resolution_actions": ("id", "action", "target_id", "details", "reason", "actor", "created_at", "undoes_id"),
    "asset_redirects": ("id", "action_id", "from_id", "into_id"),
    "event_reassignments": ("id", "action_id", "event_id", "from_asset_id", "to_asset_id"),
    **MONEY_CHAINED_COLUMNS,
    "audit_log": ("id", "at", "actor", "role", "org_id", "action", "method", "path", "resource", "outcome", "status",
                  "client", "source", "changes", "message"),
}
#: Tables whose rows are linked as they are written (`pipecast.store.audit.record`), not by `seal`: an audit
#: row is also written outside `Store._write` (logins, refusals), in sessions without the `after_flush` hook.
SELF_LINKED = frozenset({"audit_log"})
NEW_ROWS_KEY = "pipecast_new_rows"


def _value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def canonical(table: str, row: Mapping[Any, Any]) -> str:
    """A row's fields as compact JSON with sorted keys, dates in ISO form, times in UTC."""
    return json.dumps({n: _value(row[n]) for n in CHAINED_COLUMNS[table]}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))


def link_hash(prev_hash: str, table: str, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{table}\n{content}".encode()).hexdigest()


def _rows(conn: Connection, table: str, ids: Sequence[Any] | None = None) -> dict[str, str]:
    """Row id (as text) -> canonical serialisation, for every row or the given ids."""
    t = _table(table)
    query = select(*(t.c[n] for n in CHAINED_COLUMNS[table])).order_by(t.c.id)
    if ids is not None:
        query = query.where(t.c.id.in_(list(ids)))
    return {str(r["id"]): canonical(table, r) for r in conn.execute(query).mappings()}


def _last_hash(conn: Connection, table: str) -> str:
    query = (select(HistoryChainRow.hash).where(HistoryChainRow.table_name == table)
             .order_by(HistoryChainRow.id.desc()).limit(1))
    return conn.execute(query).scalar() or ""


def append_links(conn: Connection, table: str, ids: Iterable[Any]) -> int:
    """Chain the rows `ids` of `table` (in that order) after the table's last link; returns links added."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return 0
    contents: dict[str, str] = {}
    for start in range(0, len(wanted), 500):
        contents |= _rows(conn, table, wanted[start:start + 500])
    prev = _last_hash(conn, table)
    links = []
    for row_id in map(str, wanted):
        content = contents[row_id]
        digest = link_hash(prev, table, content)
        links.append({"table_name": table, "row_id": row_id, "content": content, "prev_hash": prev,
                      "hash": digest})
        prev = digest
    conn.execute(insert(HistoryChainRow), links)
    return len(links)


def collect_new_rows(session: Session, _context: Any) -> None:
    """Session `after_flush` hook: remember the chained rows this transaction inserted, in order."""
    found: list[tuple[str, Any]] = session.info.setdefault(NEW_ROWS_KEY, [])
    for obj in session.new:
        table = getattr(obj, "__tablename__", "")
        if table in CHAINED_TABLES and table not in SELF_LINKED:
            found.append((table, obj.id))


def seal(session: Session) -> None:
    """Chain every row this transaction inserted (call after the last flush, before commit)."""
    new: list[tuple[str, Any]] = session.info.pop(NEW_ROWS_KEY, [])
    conn = session.connection()
    for table in CHAINED_TABLES:
        ids = [row_id for t, row_id in new if t == table]
        if table != "assets":
            ids.sort()
        append_links(conn, table, ids)


def chain_all(conn: Connection, tables: Sequence[str] = CHAINED_TABLES) -> None:
    """Chain every existing row of `tables` not yet chained (the migrations that bring a table into the chain)."""
    present = set(inspect(conn).get_table_names())
    for table in tables:
        if table not in present:  # created by a later migration
            continue
        t = _table(table)
        chained = {r for (r,) in conn.execute(
            select(HistoryChainRow.row_id).where(HistoryChainRow.table_name == table))}
        order = (t.c.created_at, t.c.id) if table == "assets" else (t.c.id,)
        ids = [i for (i,) in conn.execute(select(t.c.id).order_by(*order)) if str(i) not in chained]
        append_links(conn, table, ids)


def _difference(chained: str, stored: str) -> str:
    was, now = json.loads(chained), json.loads(stored)
    fields = [k for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)]
    return "; ".join(f"{k} is {now.get(k)!r}, the chain recorded {was.get(k)!r}" for k in fields)


def _verify_table(conn: Connection, table: str) -> tuple[int, str, BrokenLink | None]:
    """(links checked, the table's head hash, the first broken link or None)."""
    rows = _rows(conn, table)
    c = HistoryChainRow.__table__.c
    links = conn.execute(select(c.row_id, c.content, c.prev_hash, c.hash).where(c.table_name == table)
                         .order_by(c.id))
    prev, count = "", 0
    for link in links:
        count += 1
        if link.prev_hash != prev:
            return count, prev, BrokenLink(table, link.row_id, "the link before it in history_chain was removed "
                                                               "or changed")
        if link_hash(prev, table, link.content) != link.hash:
            return count, prev, BrokenLink(table, link.row_id, "its history_chain link was altered")
        stored = rows.pop(link.row_id, None)
        if stored is None:
            return count, prev, BrokenLink(table, link.row_id, "the row was deleted (its link remains)")
        if stored != link.content:
            problem = "the row was changed: " + _difference(link.content, stored)
            return count, prev, BrokenLink(table, link.row_id, problem)
        prev = link.hash
    if rows:
        first = next(iter(rows))
        return count, prev, BrokenLink(table, first, f"{len(rows)} row(s) from here on are not in the hash chain "
                                                     "(written outside pipecast)")
    return count, prev, None


def verify(conn: Connection, url: str) -> VerifyReport:
    """Recompute every table's chain; the report names the first broken link (tables in `CHAINED_TABLES` order)."""
    counts: dict[str, int] = {}
    heads: list[str] = []
    for table in CHAINED_TABLES:
        count, head, broken = _verify_table(conn, table)
        counts[table] = count
        heads.append(head)
        if broken is not None:
            return VerifyReport(url, counts, "", broken)
    head = hashlib.sha256("\n".join(heads).encode()).hexdigest()
    return VerifyReport(url, counts, head)
