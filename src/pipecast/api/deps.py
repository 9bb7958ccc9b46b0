"""FastAPI dependencies: the app's state, the store, who is asking, and the CSRF check.

For the dashboard (`pipecast.web`) these names are stable:

* `CurrentUserOrNone` (`current_user_or_none`): the `Principal` the request acts as (from a Bearer token or
  the `/login` session cookie), or None for an anonymous visitor. An unknown or revoked Bearer token is a
  401; an unsafe request (POST, PUT, PATCH, DELETE) made with the session cookie must carry the session's
  CSRF token (header `X-CSRF-Token` or form field `csrf_token`), else 403.
* `csrf_token(request)`: the CSRF token to put in a page's forms (`<input type="hidden" name="csrf_token"
  value="...">`), or "" when the visitor has no session.
* `ReaderDep`, `WriterDep`, `AdminDep`: the Principal, after checking the role (401 without credentials
  unless the app runs with `public_read` for reads; 403 for a role that may not).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from pipecast.api.errors import ApiError
from pipecast.api.security import ANONYMOUS, Principal
from pipecast.api.settings import CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, ApiSettings
from pipecast.store import Store
from pipecast.store import users as user_store

if TYPE_CHECKING:
    from pipecast.api.datacache import ViewCache
    from pipecast.api.jobs import ForecastCache, JobRunner

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The dependencies that do no I/O are `async def`: FastAPI runs them on the event loop rather than sending
# each to the thread pool (a thread hop per dependency costs more than the work).


@dataclass
class AppState:
    """What one app holds while it runs: its settings, the open store, background jobs, the forecast cache."""

    settings: ApiSettings
    store: Store
    jobs: JobRunner
    cache: ForecastCache
    views: ViewCache
    #: The database as given to `pipecast.facade.forecast_with` (None: the settings table's default).
    db: str | None = None
    extra: dict[str, object] = field(default_factory=dict)


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.pipecast
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_store(state: StateDep) -> Store:
    return state.store


StoreDep = Annotated[Store, Depends(get_store)]


def client_address(request: Request) -> str:
    """The client's address: the socket peer, or the first X-Forwarded-For hop when the app trusts a proxy."""
    state: AppState | None = getattr(request.app.state, "pipecast", None)
    if state is not None and state.settings.trust_forwarded:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded.strip():
            return forwarded.split(",")[0].strip()[:200]
    return request.client.host if request.client else ""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(401, "unauthorized", "Authorization header must be 'Bearer TOKEN'", "Authorization",
                       headers={"WWW-Authenticate": "Bearer"})
    return value.strip()


def resolve_principal(request: Request, state: StateDep) -> Principal:
    """Who the request acts as (sync: runs in the thread pool). Kept on `request.state.principal`."""
    token = _bearer(request)
    principal = ANONYMOUS
    if token is not None:
        with user_store.session_scope(state.store) as session:
            user = user_store.user_for_token(session=session, token=token)
        if user is None:
            request.state.principal = ANONYMOUS
            raise ApiError(401, "unauthorized", "unknown or revoked token", "Authorization",
                           headers={"WWW-Authenticate": "Bearer"})
        principal = Principal(user.name, user.role, user.org_id, "token", "", user.id)
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            with user_store.session_scope(state.store) as session:
                info = user_store.user_for_session(session=session, raw=cookie)
            if info is not None:
                u = info.user
                principal = Principal(u.name, u.role, u.org_id, "session", info.csrf_token, u.id)
    request.state.principal = principal
    return principal


async def current_user_or_none(
    request: Request, principal: Annotated[Principal, Depends(resolve_principal)]
) -> Principal | None:
    """The Principal the request acts as, or None when anonymous; checks CSRF on unsafe session requests."""
    if principal.via == "session" and request.method in UNSAFE_METHODS:
        await verify_csrf(request, principal)
    return None if principal.is_anonymous else principal


CurrentUserOrNone = Annotated[Principal | None, Depends(current_user_or_none)]


def csrf_token(request: Request) -> str:
    """The CSRF token of the visitor's browser session, for hidden form fields; "" without a session.

    Call it after `CurrentUserOrNone` has run for the request (it reads `request.state.principal`).
    """
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal.csrf_token if principal is not None else ""


async def verify_csrf(request: Request, principal: Principal) -> None:
    """403 unless the request carries the session's CSRF token (header, else form field)."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD, "")
            sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent, principal.csrf_token):
        raise ApiError(403, "csrf_failed", "missing or wrong CSRF token for this session", CSRF_FIELD)


def _unauthorized() -> ApiError:
    return ApiError(401, "unauthorized", "log in or send 'Authorization: Bearer TOKEN'", "Authorization",
                    headers={"WWW-Authenticate": "Bearer"})


async def require_reader(principal: CurrentUserOrNone, state: StateDep) -> Principal:
    """Anyone logged in; anonymous visitors too when the app runs with `public_read`."""
    if principal is None:
        if state.settings.public_read:
            return ANONYMOUS
        raise _unauthorized()
    return principal


async def require_writer(principal: CurrentUserOrNone) -> Principal:
    """An editor or an admin (an editor's organisation is checked by each endpoint)."""
    if principal is None:
        raise _unauthorized()
    if principal.role not in ("editor", "admin"):
        raise ApiError(403, "forbidden", f"a {principal.role} may read but not write")
    return principal


async def require_admin(principal: CurrentUserOrNone) -> Principal:
    if principal is None:
        raise _unauthorized()
    if not principal.is_admin:
        raise ApiError(403, "forbidden", "only an admin may do this")
    return principal


ReaderDep = Annotated[Principal, Depends(require_reader)]
WriterDep = Annotated[Principal, Depends(require_writer)]
AdminDep = Annotated[Principal, Depends(require_admin)]
