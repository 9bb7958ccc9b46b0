"""`pipecast users add|list|token|revoke` and `pipecast db upgrade`: the first admin from the command line,
tokens that work against the API and stop working when revoked, secrets stored only as hashes."""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from pipecast.api import ApiSettings, create_app
from pipecast.cli import run
from pipecast.store import Store


def cli(db: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(["--db", db, *args])
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "users.sqlite")


def test_first_admin_token_and_revoke(db: str) -> None:
    code, out, err = cli(db, "users", "add", "root", "--role", "admin", stdin="s3cret-password\n")
    assert code == 0, err
    code, token, err = cli(db, "users", "token", "root")
    assert code == 0, err
    token = token.strip()
    assert token.startswith("pct_")
    assert "\n" not in token
    with Store.open(db) as store, store.engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(text("SELECT token_hash FROM api_tokens"))]
        password = conn.execute(text("SELECT password_hash FROM users")).scalar()
    assert token not in hashes
    assert len(hashes) == 1
    assert str(password).startswith("$argon2id$")
    assert "s3cret-password" not in str(password)
    with TestClient(create_app(ApiSettings(db=db))) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert (me["name"], me["role"], me["via"]) == ("root", "admin", "token")
        login = client.post("/login", json={"username": "root", "password": "s3cret-password"})
        assert login.status_code == 200
        client.cookies.clear()
        code, out, err = cli(db, "users", "revoke", "root")
        assert code == 0
        assert "revoked 1 token" in out
        revoked = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert revoked.status_code == 401
        assert revoked.json()["error"]["code"] == "unauthorized"


def test_user_mistakes_are_one_line_and_exit_2(db: str) -> None:
    assert cli(db, "users", "add", "a", "--role", "boss", stdin="long enough pw\n")[0] == 2
    code, _, err = cli(db, "users", "add", "a", "--role", "viewer", stdin="short\n")
    assert code == 2
    assert "password too short" in err
    assert err.count("\n") == 1
    code, _, err = cli(db, "users", "add", "e", "--role", "editor", "--org", "org:nowhere", stdin="long enough pw\n")
    assert code == 2
    assert "unknown organisation 'org:nowhere'" in err
    code, _, err = cli(db, "users", "add", "e", "--role", "editor", stdin="long enough pw\n")
    assert code == 2
    assert "--org" in err
    assert cli(db, "users", "add", "v", "--role", "viewer", stdin="long enough pw\n")[0] == 0
    code, _, err = cli(db, "users", "add", "v", "--role", "viewer", stdin="long enough pw\n")
    assert code == 2
    assert "exists already" in err
    code, _, err = cli(db, "users", "token", "nobody")
    assert code == 2
    assert "no user 'nobody'" in err
    code, out, _ = cli(db, "users", "list")
    assert out.split() == ["v", "viewer", "-"]


def test_db_upgrade_creates_the_schema(db: str) -> None:
    code, _out, err = cli(db, "db", "upgrade")
    assert code == 0, err
    with Store.open(db) as store:
        from pipecast.store.schema import known_revisions

        assert store.schema_version() == known_revisions()[1]
        assert "audit_log" in store.engine.dialect.get_table_names(store.engine.connect())


def test_an_editor_of_a_known_organisation_writes_for_it(db: str) -> None:
    assert cli(db, "load-bundled", "chongqing")[0] == 0
    code, out, err = cli(db, "users", "add", "li", "--role", "editor", "--org", "org:genrix", "--no-password")
    assert code == 0, err
    assert out.strip() == "added editor li for org:genrix"
    token = cli(db, "users", "token", "li")[1].strip()
    with TestClient(create_app(ApiSettings(db=db))) as client:
        body = {"phase": "nda", "date": "2025-01-02", "source_title": "announcement"}
        auth = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/candidates/genrix-gr1501/events", json=body, headers=auth).status_code == 201
        assert client.post("/api/v1/candidates/bovax-hpv9/events", json=body, headers=auth).status_code == 403
        assert client.post("/login", json={"username": "li", "password": "anything at all"}).status_code == 401


def test_one_token_is_revoked_and_the_others_stay(db: str) -> None:
    """CLI: list tokens by id (never the secret) and revoke one; API: the same for an admin."""
    assert cli(db, "users", "add", "root", "--role", "admin", "--no-password")[0] == 0
    assert cli(db, "users", "add", "bot", "--role", "viewer", "--no-password")[0] == 0
    secrets = [cli(db, "users", "token", "bot", "--label", f"job{n}")[1].strip() for n in range(3)]
    admin = cli(db, "users", "token", "root")[1].strip()
    code, out, err = cli(db, "users", "tokens", "bot", "--json")
    assert code == 0, err
    listed = json.loads(out)
    assert [t["label"] for t in listed] == ["job0", "job1", "job2"]
    assert all(t["revoked_at"] is None for t in listed)
    assert not any(s in out for s in secrets)
    first, second, third = (t["id"] for t in listed)
    code, out, err = cli(db, "users", "revoke", "bot", "--token", str(first))
    assert code == 0, err
    assert f"revoked token {first}" in out
    assert cli(db, "users", "revoke", "bot", "--token", "9999")[0] == 2
    assert cli(db, "users", "revoke", "root", "--token", str(second))[0] == 2  # not root's token

    def me(client: TestClient, token: str) -> int:
        return int(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code)

    with TestClient(create_app(ApiSettings(db=db))) as client:
        assert [me(client, s) for s in secrets] == [401, 200, 200]
        auth = {"Authorization": f"Bearer {admin}"}
        page = client.get("/api/v1/users/bot/tokens", headers=auth)
        assert page.status_code == 200
        assert [(t["id"], t["live"]) for t in page.json()["items"]] == [(first, False), (second, True),
                                                                         (third, True)]
        assert not any(s in page.text for s in secrets)
        assert client.delete(f"/api/v1/users/bot/tokens/{third}", headers=auth).json()["live"] is False
        assert [me(client, s) for s in secrets] == [401, 200, 401]
        missing = client.delete("/api/v1/users/bot/tokens/9999", headers=auth)
        assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")
        viewer = client.delete(f"/api/v1/users/bot/tokens/{second}", headers={"Authorization": f"Bearer {secrets[1]}"})
        assert viewer.status_code == 403
        assert me(client, secrets[1]) == 200
        log = client.get("/api/v1/audit", params={"action": "users.tokens.delete"}, headers=auth).json()
        assert [(e["outcome"], e["status"]) for e in log["items"]] == [("refused", 403), ("refused", 404),
                                                                        ("ok", 200)]
        assert log["items"][-1]["changes"]["token_id"] == third
