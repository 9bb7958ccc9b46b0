"""Users and their API tokens (admin only): list, add, issue a token (shown once), revoke every token."""

from __future__ import annotations

from fastapi import APIRouter, Request

from pipecast.api.auditing import record_write
from pipecast.api.deps import AdminDep, StateDep
from pipecast.api.errors import not_found
from pipecast.api.schemas import RevokedPublic, TokenCreate, TokenPublic, UserCreate, UserPublic
from pipecast.api.security import hash_password
from pipecast.store import users
from pipecast.store.users import User, session_scope

router = APIRouter(prefix="/users", tags=["users"])


def _public(user: User) -> UserPublic:
    return UserPublic(name=user.name, role=user.role, org_id=user.org_id, active=user.active,
                      created_at=user.created_at)


@router.get("", response_model=list[UserPublic], summary="Every user (admin)")
def list_users(state: StateDep, who: AdminDep) -> list[UserPublic]:
    with session_scope(state.store) as session:
        return [_public(u) for u in users.list_users(session=session)]


@router.post("", response_model=UserPublic, status_code=201, summary="Add a user (admin)")
def create_user(request: Request, state: StateDep, who: AdminDep, new: UserCreate) -> UserPublic:
    password_hash = hash_password(new.password) if new.password else ""
    with session_scope(state.store, write=True) as session:
        user = users.add_user(session=session, name=new.name, role=new.role, org_id=new.org_id,
                              password_hash=password_hash)
    record_write(request, state, who, action="users.post", resource=user.name, status=201,
                 changes={"name": user.name, "role": user.role, "org_id": user.org_id,
                          "password": "set" if password_hash else "none"})
    return _public(user)


@router.post("/{name}/tokens", response_model=TokenPublic, status_code=201, summary="Issue an API token (admin)")
def create_token(request: Request, state: StateDep, who: AdminDep, name: str, spec: TokenCreate) -> TokenPublic:
    with session_scope(state.store, write=True) as session:
        user = users.get_user(session=session, name=name)
        if user is None:
            raise not_found("user", name, "name")
        token = users.issue_token(session=session, user_id=user.id, label=spec.label)
    record_write(request, state, who, action="users.tokens.post", resource=user.name, status=201,
                 changes={"label": spec.label})
    return TokenPublic(token=token, user=user.name)


@router.delete("/{name}/tokens", response_model=RevokedPublic, summary="Revoke every token and session (admin)")
def revoke_tokens(request: Request, state: StateDep, who: AdminDep, name: str) -> RevokedPublic:
    with session_scope(state.store, write=True) as session:
        user = users.get_user(session=session, name=name)
        if user is None:
            raise not_found("user", name, "name")
        count = users.revoke_tokens(session=session, user_id=user.id)
    record_write(request, state, who, action="users.tokens.delete", resource=user.name, status=200,
                 changes={"tokens_revoked": count})
    return RevokedPublic(user=user.name, tokens_revoked=count)
