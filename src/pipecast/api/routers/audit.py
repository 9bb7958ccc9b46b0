"""The audit log, read-only: there is no endpoint that changes or removes an entry."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from pipecast.api.deps import ReaderDep, StateDep
from pipecast.api.errors import ApiError
from pipecast.api.schemas import AuditPage, AuditPublic
from pipecast.store import audit
from pipecast.store.users import session_scope

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage, summary="Who changed what, when, from where (refusals too)")
def list_audit(
    state: StateDep, who: ReaderDep,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
    outcome: Literal["ok", "refused", "error"] | None = None,
    resource: Annotated[str | None, Query(max_length=500)] = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    sort: Literal["id", "-id", "at", "-at", "actor", "-actor", "action", "-action", "status", "-status"] = "-id",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    if who.is_anonymous:
        raise ApiError(401, "unauthorized", "the audit log is for logged-in users", "Authorization")
    with session_scope(state.store) as session:
        rows, total = audit.entries(session=session, actor=actor, action=action, outcome=outcome, resource=resource,
                                    since=_utc(since), until=_utc(until), sort=sort, limit=limit, offset=offset)
    items = [AuditPublic(**{f: getattr(r, f) for f in AuditPublic.model_fields}) for r in rows]
    return AuditPage(items=items, total=total, limit=limit, offset=offset)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
