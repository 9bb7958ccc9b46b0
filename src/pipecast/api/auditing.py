"""Recording writes in the audit log, and a middleware that records every refused or failed write.

* `audit_hook(...)`, passed as `Store.import_data(also=...)`, and `record_in(session, ...)` write the audit row
  in the write's own transaction: a write is never committed without it (candidate events, facts,
  organisations, imports, users and tokens).
* `record_write(...)` writes one row in its own transaction (logins, logouts, and the dashboard).
* `AuditRefusals` records every unsafe request answered 4xx/5xx (401, 403, 404, 413, 422, 429, ...) that no
  endpoint recorded, so attempts leave a trace too."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anyio
from fastapi import Request
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipecast.api.deps import UNSAFE_METHODS, AppState, client_address
from pipecast.api.security import ANONYMOUS, Principal
from pipecast.store import WriteResult, audit
from pipecast.store.users import session_scope


def record_write(request: Request, state: AppState, who: Principal, *, action: str, resource: str = "",
                 status: int = 200, outcome: str = "ok", changes: Mapping[str, Any] | None = None,
                 source: str = "", message: str = "") -> int:
    """Append one audit row for this request in its own transaction (sync: call it from a thread)."""
    with session_scope(state.store, write=True) as session:
        entry = record_in(session, request, who, action=action, resource=resource, status=status, outcome=outcome,
                        changes=changes, source=source, message=message)
    request.state.audited = True
    return entry


#: What an audited store write says about itself once done: (status, changes, message).
Describe = Callable[[WriteResult], tuple[int, Mapping[str, Any], str]]


def audit_hook(request: Request, who: Principal, *, action: str, resource: str, describe: Describe,
               source: str = "") -> Callable[[Session, WriteResult], None]:
    """For `Store.import_data(also=...)`: the audit row is written in the write's own transaction, so a write
    is never committed without it. Mark the request audited (`request.state.audited = True`) after it returns."""

    def hook(session: Session, summary: WriteResult) -> None:
        status, changes, message = describe(summary)
        record_in(session, request, who, action=action, resource=resource, status=status, outcome="ok",
                changes=changes, source=source, message=message)

    return hook


def record_in(session: Session, request: Request, who: Principal, *, action: str, resource: str, status: int,
              outcome: str = "ok", changes: Mapping[str, Any] | None = None, source: str = "",
              message: str = "") -> int:
    """Append one audit row in the caller's transaction (mark the request audited once it commits)."""
    return audit.record(session=session, actor=who.name, role=who.role, org_id=who.org_id, action=action,
                        method=request.method, path=request.url.path, resource=resource, outcome=outcome,
                        status=status, client=client_address(request), source=source, changes=changes,
                        message=message)


def action_name(method: str, path: str) -> str:
    """`POST /api/v1/candidates/X/events` -> `candidates.events.post` (ids left out)."""
    parts = [p for p in path.removeprefix("/api/v1").split("/") if p]
    words = [p for i, p in enumerate(parts) if i % 2 == 0] or ["root"]
    return ".".join([*words[:3], method.lower()])[:100]


class AuditRefusals:
    """ASGI middleware: after an unsafe request answered 4xx/5xx that its endpoint did not audit, record it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            if status >= 400:
                await self.record_in(scope, status)

    async def record_in(self, scope: Scope, status: int) -> None:
        request = Request(scope)
        state_data = scope.get("state") or {}
        if state_data.get("audited"):
            return
        app_state: AppState | None = getattr(request.app.state, "pipecast", None)
        if app_state is None:
            return
        who: Principal = state_data.get("principal") or ANONYMOUS
        outcome = "refused" if status < 500 else "error"

        def write() -> None:
            with session_scope(app_state.store, write=True) as session:
                audit.record(session=session, actor=who.name, role=who.role, org_id=who.org_id,
                             action=action_name(request.method, request.url.path), method=request.method,
                             path=request.url.path, resource=_resource(request.url.path), outcome=outcome,
                             status=status, client=client_address(request),
                             message=str(state_data.get("error_message", "")))

        try:
            await anyio.to_thread.run_sync(write)
        except Exception:  # the refusal stands even if its audit row cannot be written
            from pipecast.api.errors import LOG

            LOG.exception("could not record a refused request in the audit log")


def _resource(path: str) -> str:
    parts = [p for p in path.removeprefix("/api/v1").split("/") if p]
    return parts[1] if len(parts) > 1 else ""
