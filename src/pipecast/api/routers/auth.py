"""Browser sessions: POST /login (form or JSON) sets an HttpOnly session cookie and returns the CSRF token
that unsafe requests with the cookie must send back; POST /logout ends it; GET /api/v1/me says who you are.

Refused logins are audited and rate-limited per client address and per user name (429 past the limit).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError

from pipecast.api.auditing import record_write
from pipecast.api.deps import CurrentUserOrNone, StateDep, client_address
from pipecast.api.errors import ApiError
from pipecast.api.schemas import LoginCreate, MePublic
from pipecast.api.security import ANONYMOUS, Principal, dummy_hash, verify_password
from pipecast.api.settings import SESSION_COOKIE
from pipecast.store import audit, users
from pipecast.store.models import utcnow
from pipecast.store.users import session_scope

router = APIRouter(tags=["auth"])
api_router = APIRouter(tags=["auth"])
_DUMMY: list[str] = []


async def _credentials(request: Request) -> tuple[LoginCreate, str]:
    """The login fields from a form or a JSON body, and where to go next (forms only)."""
    content_type = request.headers.get("content-type", "")
    data: dict[str, Any]
    if content_type.startswith("application/json"):
        try:
            raw = await request.json()
        except ValueError:
            raise ApiError(422, "malformed_json", "malformed JSON") from None
        data = raw if isinstance(raw, dict) else {}
        following = ""
    else:
        form = await request.form()
        data = {k: v for k, v in form.items() if k in ("username", "password") and isinstance(v, str)}
        nxt = form.get("next", "")
        following = nxt if isinstance(nxt, str) else ""
    try:
        return LoginCreate.model_validate(data), following
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or None
        raise ApiError(422, "invalid", f"{field}: {first['msg']}", field) from None


def check_login(request: Request, state: StateDep, creds: LoginCreate) -> tuple[str, str, users.User]:
    settings = state.settings
    client = client_address(request)
    since = utcnow() - dt.timedelta(seconds=settings.login_window_seconds)
    with session_scope(state.store) as session:
        failures = audit.failed_logins(session=session, client=client, name=creds.username, since=since)
        user = users.get_user(session=session, name=creds.username)
        stored = users.password_hash_of(session=session, user_id=user.id) if user is not None else ""
    if failures >= settings.login_attempts:
        raise ApiError(429, "too_many_requests", "too many refused logins; try again later", None,
                       headers={"Retry-After": str(settings.login_window_seconds)})
    if not _DUMMY:
        _DUMMY.append(dummy_hash())
    ok = verify_password(stored or _DUMMY[0], creds.password) and user is not None and user.active and bool(stored)
    if not ok or user is None:
        record_write(request, state, ANONYMOUS, action="login", resource=creds.username, status=401,
                     outcome="refused", message="wrong user name or password")
        raise ApiError(401, "unauthorized", "wrong user name or password", "password")
    with session_scope(state.store, write=True) as session:
        raw, csrf = users.create_session(session=session, user_id=user.id,
                                         lifetime=dt.timedelta(hours=settings.session_hours))
    who = Principal(user.name, user.role, user.org_id, "session", csrf, user.id)
    record_write(request, state, who, action="login", resource=user.name, status=200)
    return raw, csrf, user


@router.post("/login", summary="Log in: a session cookie and its CSRF token")
async def login(request: Request, state: StateDep) -> Response:
    import anyio

    creds, following = await _credentials(request)
    is_form = not request.headers.get("content-type", "").startswith("application/json")
    target = following if following.startswith("/") and not following.startswith(("//", "/\\")) else "/"
    try:
        raw, csrf, user = await anyio.to_thread.run_sync(check_login, request, state, creds)
    except ApiError as exc:
        if is_form and exc.status == 401:  # a browser goes back to the login page, told it failed
            return RedirectResponse(f"/login?failed=1&next={quote(target)}", status_code=303)
        raise
    response: Response
    if is_form:
        response = RedirectResponse(target, status_code=303)
    else:
        response = JSONResponse({"name": user.name, "role": user.role, "org_id": user.org_id, "via": "session",
                                 "csrf_token": csrf})
    set_session_cookie(response, state, raw)
    return response


def set_session_cookie(response: Response, state: StateDep, raw: str) -> None:
    """The browser session's cookie: HttpOnly, SameSite=Lax, Secure behind a proxy, for the session's life."""
    response.set_cookie(SESSION_COOKIE, raw, max_age=state.settings.session_hours * 3600, httponly=True,
                        samesite="lax", secure=state.settings.secure_cookies, path="/")


def end_browser_session(request: Request, state: StateDep, who: Principal | None) -> None:
    """End the session the request's cookie names (if any) and record the logout in the audit log."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with session_scope(state.store, write=True) as session:
            users.end_session(session=session, raw=cookie)
    if who is not None:
        record_write(request, state, who, action="logout", resource=who.name, status=200)
    request.state.audited = True


@router.post("/logout", summary="End the browser session")
def logout(request: Request, state: StateDep, who: CurrentUserOrNone) -> Response:
    end_browser_session(request, state, who)
    response: Response = JSONResponse({"logged_out": True})
    if not request.headers.get("content-type", "").startswith("application/json") and request.headers.get(
            "content-type"):
        response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@api_router.get("/me", response_model=MePublic, summary="Who this request acts as")
def me(who: CurrentUserOrNone) -> MePublic:
    if who is None:
        return MePublic(name=ANONYMOUS.name, role="", org_id="", via="anonymous")
    return MePublic(name=who.name, role=who.role, org_id=who.org_id, via=who.via, csrf_token=who.csrf_token)
