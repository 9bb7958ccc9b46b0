"""`pipecast users add|list|token|tokens|revoke`: who may use the REST API and the dashboard.

    pipecast users add li --role editor --org genrix     password read from standard input (one line)
    pipecast users token li                               prints a new API token on one line, for scripts
    pipecast users tokens li                              lists li's tokens: id, label, created, revoked
    pipecast users revoke li [--token ID]                 revokes every token and browser session of li
                                                          (or only token ID)

Roles: viewer (reads), editor (writes for its own organisation), admin (everything, users included).
Passwords are stored as argon2 hashes and tokens as SHA-256 hashes; neither can be read back.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from pipecast.commands.common import JsonOption, context_db, echo, echo_json
from pipecast.errors import InputError

RoleOption = Annotated[str, typer.Option("--role", help="viewer, editor or admin.")]
OrgOption = Annotated[str, typer.Option("--org", help="The organisation an editor writes for (an id from "
                                                      "`pipecast orgs`).")]
NameArgument = Annotated[str, typer.Argument(help="The user's name.", show_default=False)]
MIN_PASSWORD = 8


def _read_password(allow_empty: bool) -> str:
    """One line from standard input (or a prompt, twice, on a terminal)."""
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            raise InputError("the two passwords differ", field="PASSWORD", expected="the same password twice")
        password = first
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password and allow_empty:
        return ""
    if len(password) < MIN_PASSWORD:
        raise InputError(f"password too short ({len(password)} characters)", field="PASSWORD",
                         expected=f"at least {MIN_PASSWORD} characters on standard input")
    return password


def _store(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from pipecast.store import Store, resolve_url

    return Store.open(resolve_url(context_db(ctx)), create=True)


def add_command(
    ctx: typer.Context,
    name: NameArgument,
    role: RoleOption,
    org: OrgOption = "",
    no_password: Annotated[bool, typer.Option("--no-password", help="A token-only user (no browser login); "
                                                                    "standard input is not read.")] = False,
) -> None:
    """Add a user; the password is read from standard input (one line, at least 8 characters)."""
    from pipecast.api.security import hash_password
    from pipecast.store import users

    users.check_name(name)
    users.check_role(role)
    if role != "editor" and org:
        raise InputError(f"--org is for editors, not a {role}", field="--org", expected="--role editor")
    password_hash = "" if no_password else hash_password(_read_password(allow_empty=False))
    with _store(ctx) as store:
        known = [o.id for o in store.organisations()]
        if org and org not in known:
            shown = ", ".join(known[:8]) + (" ..." if len(known) > 8 else "")
            raise InputError(f"unknown organisation {org!r}", field="--org",
                             expected=f"an id listed by `pipecast orgs` ({shown or 'none loaded yet'})")
    with _store(ctx) as store, users.session_scope(store, write=True) as session:
        user = users.add_user(session=session, name=name, role=role, org_id=org, password_hash=password_hash)
    echo(f"added {user.role} {user.name}" + (f" for {user.org_id}" if user.org_id else ""))


def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every user: name, role, organisation."""
    from pipecast.store import users

    with _store(ctx) as store, users.session_scope(store) as session:
        found = users.list_users(session=session)
    if as_json:
        echo_json([{"name": u.name, "role": u.role, "org_id": u.org_id, "active": u.active,
                    "created_at": u.created_at.isoformat()} for u in found])
        return
    for u in found:
        echo(f"{u.name}\t{u.role}\t{u.org_id or '-'}")


def token_command(
    ctx: typer.Context,
    name: NameArgument,
    label: Annotated[str, typer.Option("--label", help="What the token is for (shown in nothing secret).")] = "",
) -> None:
    """Print a new API token for the user on one line (send it as 'Authorization: Bearer TOKEN')."""
    from pipecast.store import users

    with _store(ctx) as store, users.session_scope(store, write=True) as session:
        user = users.require_user(session=session, name=name)
        token = users.issue_token(session=session, user_id=user.id, label=label)
    typer.echo(token)


def revoke_command(
    ctx: typer.Context,
    name: NameArgument,
    token: Annotated[int | None, typer.Option("--token", min=1, help="Revoke only this token (an id from "
                                                                     "`pipecast users tokens NAME`).")] = None,
) -> None:
    """Revoke every API token and browser session of the user, or with --token one token only."""
    from pipecast.store import users

    with _store(ctx) as store, users.session_scope(store, write=True) as session:
        user = users.require_user(session=session, name=name)
        if token is not None:
            users.revoke_token(session=session, user_id=user.id, token_id=token)
            count = None
        else:
            count = users.revoke_tokens(session=session, user_id=user.id)
    if count is None:
        echo(f"revoked token {token} of {user.name}; its other tokens and sessions stay")
    else:
        echo(f"revoked {count} token(s) of {user.name}, and its browser sessions")


def tokens_command(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """The user's API tokens: id, label, created, revoked (the secrets themselves are never stored)."""
    from pipecast.store import users

    with _store(ctx) as store, users.session_scope(store) as session:
        user = users.require_user(session=session, name=name)
        found = users.list_tokens(session=session, user_id=user.id)
    if as_json:
        echo_json([{"id": t.id, "label": t.label, "created_at": t.created_at.isoformat(),
                    "revoked_at": t.revoked_at.isoformat() if t.revoked_at else None} for t in found])
        return
    for t in found:
        revoked = t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "live"
        echo(f"{t.id}\t{t.label or '-'}\t{t.created_at.isoformat(timespec='seconds')}\t{revoked}")


def register(app: typer.Typer) -> None:
    users_app = typer.Typer(help="Users of the REST API and dashboard: add, list, token, tokens, revoke.",
                            no_args_is_help=True)
    users_app.command("add")(add_command)
    users_app.command("list")(list_command)
    users_app.command("token")(token_command)
    users_app.command("revoke")(revoke_command)
    users_app.command("tokens")(tokens_command)
    app.add_typer(users_app, name="users")
