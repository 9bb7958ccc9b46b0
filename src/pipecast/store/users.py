"""Users, API tokens and browser sessions (tables from migration 0004), as keyword-only CRUD functions.

Only the SHA-256 of a token or session id is stored, so a copy of the database grants nothing; the raw value
is returned once, when it is made. Tokens and sessions are revoked by setting `revoked_at`, never deleted.
Passwords arrive already hashed (argon2, `pipecast.api.security`): the store never sees one in clear.

    with session_scope(store, write=True) as session:
        user = add_user(session=session, name="li", role="editor", org_id="genrix", password_hash=h)
        token = issue_token(session=session, user_id=user.id, label="script")
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pipecast.errors import InputError, PipecastError, StoreError
from pipecast.store.convert import aware
from pipecast.store.models import ApiTokenRow, UserRow, UserSessionRow, utcnow
from pipecast.store.urls import WRITE_OPTION, one_line, write_lock

if TYPE_CHECKING:
    from pipecast.store.store import Store

ROLES = ("viewer", "editor", "admin")
#: Raw API tokens start with this, so that a leaked one is easy to recognise and search for.
TOKEN_PREFIX = "pct_"
MAX_NAME_LENGTH = 200


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: str
    org_id: str
    active: bool
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown of an API token: its id, label and dates (never the secret, which is not stored)."""

    id: int
    label: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None

    @property
    def live(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A live browser session: its user, its CSRF token and its row id."""

    user: User
    csrf_token: str
    session_id: int


def secret_hash(raw: str) -> str:
    """The SHA-256 (hex) under which a token or session id is stored."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


@contextlib.contextmanager
def session_scope(store: Store, *, write: bool = False) -> Iterator[Session]:
    """A session on the store's engine; with `write`, one transaction holding the store's write lock,
    committed when the block ends without error. Database errors become StoreError."""
    try:
        with Session(store.engine, expire_on_commit=False) as session:
            if write:
                write_lock(session.connection(execution_options={WRITE_OPTION: True}))
            try:
                yield session
                if write:
                    session.commit()
            except BaseException:
                session.rollback()
                raise
    except PipecastError:
        raise
    except SQLAlchemyError as exc:
        raise StoreError(f"database {store.display_url}: {one_line(exc)}") from None


def _user(row: UserRow) -> User:
    return User(row.id, row.name, row.role, row.org_id, bool(row.active), aware(row.created_at))


def check_name(name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME_LENGTH or any(not ch.isprintable() for ch in clean):
        raise InputError(f"bad user name {name!r}", field="NAME",
                         expected=f"1-{MAX_NAME_LENGTH} printable characters")
    return clean


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}", field="--role", expected=" or ".join(ROLES))
    return role


def add_user(*, session: Session, name: str, role: str, org_id: str = "", password_hash: str = "") -> User:
    """A new user; InputError for a name taken, an unknown role, or an editor without an organisation."""
    clean = check_name(name)
    check_role(role)
    if role == "editor" and not org_id.strip():
        raise InputError("an editor writes for one organisation", field="--org",
                         expected="the organisation id (see `pipecast orgs`)")
    if session.scalar(select(UserRow.id).where(UserRow.name == clean)) is not None:
        raise InputError(f"user {clean!r} exists already", field="NAME", expected="a new name")
    row = UserRow(name=clean, role=role, org_id=org_id.strip(), password_hash=password_hash, active=True)
    session.add(row)
    session.flush()
    return _user(row)


def get_user(*, session: Session, name: str) -> User | None:
    row = session.scalar(select(UserRow).where(UserRow.name == name.strip()))
    return None if row is None else _user(row)


def require_user(*, session: Session, name: str) -> User:
    found = get_user(session=session, name=name)
    if found is None:
        raise InputError(f"no user {name!r}", field="NAME", expected="a name listed by `pipecast users list`")
    return found


def list_users(*, session: Session) -> list[User]:
    return [_user(r) for r in session.scalars(select(UserRow).order_by(UserRow.name))]


def password_hash_of(*, session: Session, user_id: int) -> str:
    return session.scalar(select(UserRow.password_hash).where(UserRow.id == user_id)) or ""


def set_password_hash(*, session: Session, user_id: int, password_hash: str) -> None:
    session.execute(update(UserRow).where(UserRow.id == user_id).values(password_hash=password_hash))


def set_active(*, session: Session, user_id: int, active: bool) -> None:
    session.execute(update(UserRow).where(UserRow.id == user_id).values(active=active))


def issue_token(*, session: Session, user_id: int, label: str = "") -> str:
    """A new API token for the user; the raw value is returned here only (its hash is stored)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiTokenRow(user_id=user_id, token_hash=secret_hash(raw), label=label[:200]))
    session.flush()
    return raw


def revoke_tokens(*, session: Session, user_id: int, now: dt.datetime | None = None) -> int:
    """Revoke every live token and session of the user; returns the number of tokens revoked."""
    when = now or utcnow()
    done = session.execute(update(ApiTokenRow).where(ApiTokenRow.user_id == user_id,
                                                     ApiTokenRow.revoked_at.is_(None)).values(revoked_at=when))
    session.execute(update(UserSessionRow).where(UserSessionRow.user_id == user_id,
                                                 UserSessionRow.revoked_at.is_(None)).values(revoked_at=when))
    return int(getattr(done, "rowcount", 0) or 0)


def list_tokens(*, session: Session, user_id: int) -> list[TokenInfo]:
    """The user's tokens, oldest first, revoked ones included."""
    rows = session.scalars(select(ApiTokenRow).where(ApiTokenRow.user_id == user_id).order_by(ApiTokenRow.id))
    return [TokenInfo(r.id, r.label, aware(r.created_at), None if r.revoked_at is None else aware(r.revoked_at))
            for r in rows]


def revoke_token(*, session: Session, user_id: int, token_id: int, now: dt.datetime | None = None) -> TokenInfo:
    """Revoke one token of the user (its other tokens and sessions stay); InputError when the user has no token
    with that id. Revoking a revoked token changes nothing (its first revocation time stays)."""
    row = session.scalar(select(ApiTokenRow).where(ApiTokenRow.id == token_id, ApiTokenRow.user_id == user_id))
    if row is None:
        raise InputError(f"no token {token_id} for this user", field="--token",
                         expected="a token id listed by `pipecast users tokens NAME`")
    if row.revoked_at is None:
        session.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(revoked_at=now or utcnow()))
        session.refresh(row)
    revoked = None if row.revoked_at is None else aware(row.revoked_at)
    return TokenInfo(row.id, row.label, aware(row.created_at), revoked)


def user_for_token(*, session: Session, token: str) -> User | None:
    """The active user a live token belongs to; None for an unknown, revoked or foreign token."""
    query = (select(UserRow).join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
             .where(ApiTokenRow.token_hash == secret_hash(token), ApiTokenRow.revoked_at.is_(None),
                    UserRow.active.is_(True)))
    row = session.scalar(query)
    return None if row is None else _user(row)


def create_session(*, session: Session, user_id: int, lifetime: dt.timedelta,
                   now: dt.datetime | None = None) -> tuple[str, str]:
    """A new browser session: (raw session id for the cookie, CSRF token)."""
    when = now or utcnow()
    raw, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(UserSessionRow(user_id=user_id, session_hash=secret_hash(raw), csrf_token=csrf, created_at=when,
                               expires_at=when + lifetime))
    session.flush()
    return raw, csrf


def user_for_session(*, session: Session, raw: str, now: dt.datetime | None = None) -> SessionInfo | None:
    """The live session behind a cookie value; None when unknown, expired, revoked or the user is inactive."""
    when = now or utcnow()
    found = session.execute(
        select(UserRow, UserSessionRow).join(UserSessionRow, UserSessionRow.user_id == UserRow.id)
        .where(UserSessionRow.session_hash == secret_hash(raw), UserSessionRow.revoked_at.is_(None),
               UserRow.active.is_(True))
    ).first()
    if found is None:
        return None
    user_row, session_row = found
    if aware(session_row.expires_at) <= when:
        return None
    return SessionInfo(_user(user_row), session_row.csrf_token, session_row.id)


def end_session(*, session: Session, raw: str, now: dt.datetime | None = None) -> None:
    session.execute(update(UserSessionRow).where(UserSessionRow.session_hash == secret_hash(raw))
                    .values(revoked_at=now or utcnow()))
