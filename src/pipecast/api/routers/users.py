"""Users and their API tokens (admin only): list, add, issue a token (shown once), list tokens (ids, never the
secrets), revoke one token or every token."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from pipecast.api.auditing import record_in
from pipecast.api.deps import AdminDep, StateDep
from pipecast.api.errors import ApiError, not_found
from pipecast.api.schemas import (
    RevokedPublic,
    TokenCreate,
    TokenInfoPage,
    TokenInfoPublic,
    TokenPublic,
    UserCreate,
    UserPage,
    UserPublic,
)
from pipecast.api.security import hash_password
from pipecast.store import users
from pipecast.store.users import TokenInfo, User, session_scope

router = APIRouter(prefix="/users", tags=["users"])


def _public(user: User) -> UserPublic:
    return UserPublic(name=user.name, role=user.role, org_id=user.org_id, active=user.active,
                      created_at=user.created_at)


@router.get("", response_model=UserPage, summary="Users (admin)")
def list_users(
    state: StateDep, who: AdminDep,
    role: Literal["viewer", "editor", "admin"] | None = None,
    org_id: Annotated[str | None, Query(max_length=200)] = None,
    sort: Literal["name", "-name", "created_at", "-created_at"] = "name",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> UserPage:
    with session_scope(state.store) as session:
        found = users.list_users(session=session)
    found = [u for u in found if (role is None or u.role == role) and (org_id is None or u.org_id == org_id)]
    field = sort.lstrip("-")
    found.sort(key=lambda u: (getattr(u, field), u.name), reverse=sort.startswith("-"))
    page = found[offset: offset + limit]
    return UserPage(items=[_public(u) for u in page], total=len(found), limit=limit, offset=offset)


@router.post("", response_model=UserPublic, status_code=201, summary="Add a user (admin)")
def create_user(request: Request, state: StateDep, who: AdminDep, new: UserCreate) -> UserPublic:
    if new.role == "editor" and not new.org_id:
        raise ApiError(422, "invalid", "an editor writes for one organisation: give org_id", "org_id")
    if new.role != "editor" and new.org_id:
        raise ApiError(422, "invalid", f"org_id is for editors, not a {new.role}", "org_id")
    if new.org_id and new.org_id not in {o.id for o in state.views.organisations()}:
        raise ApiError(422, "invalid", f"unknown organisation {new.org_id!r}", "org_id")
    password_hash = hash_password(new.password) if new.password else ""
    with session_scope(state.store, write=True) as session:
        user = users.add_user(session=session, name=new.name, role=new.role, org_id=new.org_id,
                              password_hash=password_hash)
        record_in(session, request, who, action="users.post", resource=user.name, status=201,
                  changes={"name": user.name, "role": user.role, "org_id": user.org_id,
                           "password": "set" if password_hash else "none"})
    request.state.audited = True
    return _public(user)


@router.post("/{name}/tokens", response_model=TokenPublic, status_code=201, summary="Issue an API token (admin)")
def create_token(request: Request, state: StateDep, who: AdminDep, name: str, spec: TokenCreate) -> TokenPublic:
    with session_scope(state.store, write=True) as session:
        user = users.get_user(session=session, name=name)
        if user is None:
            raise not_found("user", name, "name")
        token = users.issue_token(session=session, user_id=user.id, label=spec.label)
        token_id = users.list_tokens(session=session, user_id=user.id)[-1].id
        record_in(session, request, who, action="users.tokens.post", resource=user.name, status=201,
                  changes={"label": spec.label, "token_id": token_id})
    request.state.audited = True
    return TokenPublic(token=token, user=user.name, id=token_id)


def _token_public(info: TokenInfo) -> TokenInfoPublic:
    return TokenInfoPublic(id=info.id, label=info.label, created_at=info.created_at, revoked_at=info.revoked_at,
                           live=info.live)


@router.get("/{name}/tokens", response_model=TokenInfoPage, summary="A user's tokens: ids and labels (admin)")
def list_tokens(state: StateDep, who: AdminDep, name: str) -> TokenInfoPage:
    with session_scope(state.store) as session:
        user = users.get_user(session=session, name=name)
        if user is None:
            raise not_found("user", name, "name")
        found = users.list_tokens(session=session, user_id=user.id)
    return TokenInfoPage(user=user.name, items=[_token_public(t) for t in found], total=len(found))


@router.delete("/{name}/tokens/{token_id}", response_model=TokenInfoPublic,
               summary="Revoke one token; the user's other tokens and sessions stay (admin)")
def revoke_token(request: Request, state: StateDep, who: AdminDep, name: str,
                 token_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> TokenInfoPublic:
    with session_scope(state.store, write=True) as session:
        user = users.get_user(session=session, name=name)
        if user is None:
            raise not_found("user", name, "name")
        if all(t.id != token_id for t in users.list_tokens(session=session, user_id=user.id)):
            raise not_found("token", str(token_id), "token_id")
        info = users.revoke_token(session=session, user_id=user.id, token_id=token_id)
        record_in(session, request, who, action="users.tokens.delete", resource=user.name, status=200,
                  changes={"token_id": token_id, "tokens_revoked": 1})
    request.state.audited = True
    return _token_public(info)


@router.delete("/{name}/tokens", response_model=RevokedPublic, summary="Revoke every token and session (admin)")
def revoke_tokens(request: Request, state: StateDep, who: AdminDep, name: str) -> RevokedPublic:
    with session_scope(state.store, write=True) as session:
        user = users.get_user(session=session, name=name)
        if user is None:
            raise not_found("user", name, "name")
        count = users.revoke_tokens(session=session, user_id=user.id)
        record_in(session, request, who, action="users.tokens.delete", resource=user.name, status=200,
                  changes={"tokens_revoked": count})
    request.state.audited = True
    return RevokedPublic(user=user.name, tokens_revoked=count)
