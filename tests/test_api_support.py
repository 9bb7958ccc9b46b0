"""Shared fixtures for the API tests: the bundled Chongqing store (loaded once), an app on a copy of it, and
users of every role with their tokens. Imported by test_api*.py, test_rights*.py and test_users*.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from cli_app import invoke
from pipecast.api import ApiSettings, create_app
from pipecast.api.security import hash_password
from pipecast.store import Store
from pipecast.store import users as user_store

#: Users the fixtures make: name -> (role, organisation).
ROLES: dict[str, tuple[str, str]] = {
    "viewer": ("viewer", ""),
    "owner": ("editor", "org:genrix"),
    "other": ("editor", "org:bovax"),
    "admin": ("admin", ""),
}
PASSWORD = "correct horse battery"
#: A Genrix candidate (sponsor "Chongqing Genrix Biopharmaceutical (智翔金泰)"), known by its Chinese alias.
GENRIX = "genrix-gr1501"


def build_bundled(folder: Path) -> Path:
    path = folder / "bundled.sqlite"
    outcome = invoke(str(path), "load-bundled", "chongqing")
    assert outcome.exit_code == 0, outcome.stderr
    return path


def copy_store(bundled: Path, folder: Path) -> Path:
    copy = folder / "pipecast.sqlite"
    shutil.copy(bundled, copy)
    return copy


def add_users(db: str, *, with_passwords: tuple[str, ...] = ()) -> dict[str, str]:
    """The ROLES users in the store at `db`; returns name -> API token."""
    tokens: dict[str, str] = {}
    with Store.open(db) as store, user_store.session_scope(store, write=True) as session:
        for name, (role, org) in ROLES.items():
            hashed = hash_password(PASSWORD) if name in with_passwords else ""
            user = user_store.add_user(session=session, name=name, role=role, org_id=org, password_hash=hashed)
            tokens[name] = user_store.issue_token(session=session, user_id=user.id)
    return tokens


@dataclass
class Api:
    client: TestClient
    tokens: dict[str, str]
    db: str

    def auth(self, who: str | None) -> dict[str, str]:
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}


def make_api(db: str, settings: ApiSettings | None = None, *, with_passwords: tuple[str, ...] = ()) -> Iterator[Api]:
    tokens = add_users(db, with_passwords=with_passwords)
    app = create_app(settings or ApiSettings(db=db))
    with TestClient(app) as client:
        yield Api(client, tokens, db)
