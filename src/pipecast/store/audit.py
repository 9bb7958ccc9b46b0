"""The audit log (migration 0004): one append-only row per write through the API, refused attempts too.

Each row says who (user name, role, organisation; "anonymous" without credentials), when, what (the action
and the resource, and `changes` as JSON), from where (the client address) and the source the writer gave.
Triggers refuse UPDATE, DELETE and REPLACE of these rows, as for the history tables, and each row is linked
into the history hash chain as it is written (migration 0006), so `pipecast verify` finds a row changed or
removed behind the store's back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from pipecast.store.chain import append_links
from pipecast.store.convert import aware
from pipecast.store.models import AuditRow, utcnow

OUTCOMES = ("ok", "refused", "error")
#: Columns `entries` may sort on.
SORTABLE = ("id", "at", "actor", "action", "outcome", "status")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    role: str
    org_id: str
    action: str
    method: str
    path: str
    resource: str
    outcome: str
    status: int
    client: str
    source: str
    changes: dict[str, Any]
    message: str


def _entry(row: AuditRow) -> AuditEntry:
    try:
        changes = json.loads(row.changes or "{}")
    except ValueError:
        changes = {"raw": row.changes}
    return AuditEntry(row.id, aware(row.at), row.actor, row.role, row.org_id, row.action, row.method, row.path,
                      row.resource, row.outcome, row.status, row.client, row.source,
                      changes if isinstance(changes, dict) else {"value": changes}, row.message)


def record(*, session: Session, actor: str, action: str, outcome: str, status: int, role: str = "",
           org_id: str = "", method: str = "", path: str = "", resource: str = "", client: str = "",
           source: str = "", changes: Mapping[str, Any] | None = None, message: str = "",
           at: dt.datetime | None = None) -> int:
    """Append one audit row; returns its id."""
    row = AuditRow(at=at or utcnow(), actor=actor[:200], role=role[:10], org_id=org_id[:200], action=action[:100],
                   method=method[:10], path=path, resource=resource[:500], outcome=outcome, status=status,
                   client=client[:200], source=source,
                   changes=json.dumps(dict(changes or {}), ensure_ascii=False, sort_keys=True, default=str),
                   message=message)
    session.add(row)
    session.flush()
    append_links(session.connection(), "audit_log", [row.id])  # callers hold the store's write lock
    return row.id


def entries(*, session: Session, actor: str | None = None, action: str | None = None, outcome: str | None = None,
            resource: str | None = None, since: dt.datetime | None = None, until: dt.datetime | None = None,
            sort: str = "-id", limit: int = 50, offset: int = 0) -> tuple[list[AuditEntry], int]:
    """A page of audit rows matching the filters, and how many match in all."""
    conditions = []
    if actor is not None:
        conditions.append(AuditRow.actor == actor)
    if action is not None:
        conditions.append(AuditRow.action == action)
    if outcome is not None:
        conditions.append(AuditRow.outcome == outcome)
    if resource is not None:
        conditions.append(AuditRow.resource == resource)
    if since is not None:
        conditions.append(AuditRow.at >= since)
    if until is not None:
        conditions.append(AuditRow.at < until)
    column = getattr(AuditRow, sort.lstrip("-"))
    order = column.desc() if sort.startswith("-") else column.asc()
    total = session.scalar(select(func.count()).select_from(AuditRow).where(*conditions)) or 0
    rows = session.scalars(select(AuditRow).where(*conditions).order_by(order, AuditRow.id).limit(limit)
                           .offset(offset))
    return [_entry(r) for r in rows], int(total)


def failed_logins(*, session: Session, client: str, name: str, since: dt.datetime) -> int:
    """Refused logins since `since` from this client address or for this user name (rate limiting)."""
    query = (select(func.count()).select_from(AuditRow)
             .where(AuditRow.action == "login", AuditRow.outcome == "refused", AuditRow.at >= since,
                    or_(AuditRow.client == client, AuditRow.resource == name)))
    return int(session.scalar(query) or 0)
