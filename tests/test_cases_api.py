"""`/api/v1/cases` and `/api/v1/alerts`: the rights matrix, written out by hand from the rules (an admin does
everything; a department's editor opens and moves its department's cases; a company sees its own cases and
does not move them; others see none), and every write audited."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipecast.domain import Organisation, OrgKind
from pipecast.store import Store
from pipecast.store import users as user_store
from test_api_support import Api, build_bundled, copy_store, make_api

V1 = "/api/v1"


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = build_bundled(tmp_path_factory.mktemp("cases-api"))
    with Store.open(path) as store:
        store.import_data(organisations=[Organisation("cq-nmpa", "Chongqing MPA", OrgKind.DEPARTMENT),
                                         Organisation("cq-finance", "Chongqing Finance Bureau", OrgKind.DEPARTMENT)])
    return path


@pytest.fixture
def api(bundled: Path, tmp_path: Path) -> Iterator[Api]:
    db = copy_store(bundled, tmp_path)
    with Store.open(db) as store, user_store.session_scope(store, write=True) as session:
        made = {}
        for name, org in (("nmpa", "cq-nmpa"), ("finance", "cq-finance")):
            user = user_store.add_user(session=session, name=name, role="editor", org_id=org)
            made[name] = user_store.issue_token(session=session, user_id=user.id)
    for a in make_api(str(db)):
        a.tokens |= made
        yield a


def _open(api: Api, who: str | None, **extra: object) -> int:
    body = {"title": "Review slot for GR1501's new indication", "type": "review_approval", "candidate": "GR1501",
            "departments": ["cq-nmpa"], "target_date": "2026-03-01", "opened_on": "2025-12-01", **extra}
    return int(api.client.post(f"{V1}/cases", json=body, headers=api.auth(who)).status_code)


def test_rights_matrix(api: Api) -> None:
    # open: only the responsible department's editor, and the admin
    assert {w: _open(api, w) for w in ("viewer", "owner", "other", "finance", "nmpa", "admin", None)} == {
        "viewer": 403, "owner": 403, "other": 403, "finance": 403, "nmpa": 201, "admin": 201, None: 401}
    listed = api.client.get(f"{V1}/cases", headers=api.auth("admin")).json()
    first = listed["items"][0]["id"]
    # see: admin, the department, the company (owner = Genrix, GR1501's sponsor); not Bovax, not a plain viewer
    seen = {w: api.client.get(f"{V1}/cases", headers=api.auth(w)).json()["total"]
            for w in ("viewer", "owner", "other", "finance", "nmpa", "admin")}
    assert seen == {"viewer": 0, "owner": 2, "other": 0, "finance": 0, "nmpa": 2, "admin": 2}
    assert api.client.get(f"{V1}/cases/{first}", headers=api.auth("other")).status_code == 404
    one = api.client.get(f"{V1}/cases/{first}", headers=api.auth("owner")).json()
    assert one["subject_id"] == "genrix-gr1501"
    assert [e["action"] for e in one["events"]] == ["open"]
    # move: the department's editor and the admin; the company reads but does not move
    move = {"status": "in_progress", "on": "2025-12-02"}
    codes = {w: api.client.post(f"{V1}/cases/{first}/moves", json=move, headers=api.auth(w)).status_code
             for w in ("owner", "finance", "viewer")}
    assert codes == {"owner": 403, "finance": 403, "viewer": 403}
    assert api.client.post(f"{V1}/cases/{first}/moves", json=move, headers=api.auth("nmpa")).status_code == 200
    skip = api.client.post(f"{V1}/cases/{first}/moves", json={"status": "open"}, headers=api.auth("nmpa"))
    assert skip.status_code == 422
    assert "skips the workflow" in skip.json()["error"]["message"]
    with sqlite3.connect(api.db) as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_log WHERE action LIKE 'cases.%' "
                                              "AND outcome = 'ok' ORDER BY id")]
        events = conn.execute("SELECT count(*) FROM case_events").fetchone()[0]
    assert actions == ["cases.post", "cases.post", "cases.move"]
    assert events == 3


def test_bad_input_writes_nothing(api: Api) -> None:
    unknown = api.client.post(f"{V1}/cases", headers=api.auth("admin"), json={
        "title": "x", "type": "other", "candidate": "no-such-drug", "departments": ["cq-nmpa"]})
    assert unknown.status_code == 422
    assert "no-such-drug" in unknown.json()["error"]["message"]
    dept = api.client.post(f"{V1}/cases", headers=api.auth("admin"), json={
        "title": "x", "type": "other", "company": "org:genrix", "departments": ["nope"]})
    assert dept.status_code == 422
    assert "unknown department" in dept.json()["error"]["message"]
    with sqlite3.connect(api.db) as conn:
        assert conn.execute("SELECT count(*) FROM support_cases").fetchone()[0] == 0


def test_alerts_endpoint_gives_own_digests(api: Api) -> None:
    from pipecast.store import alerts
    from pipecast.store.alerts import DigestRow

    with Store.open(api.db) as store:
        def work(session):  # type: ignore[no-untyped-def]
            session.add(DigestRow(user_name="viewer", language="en", subject="s1", body="b1", change_ids="[]"))
            session.add(DigestRow(user_name="owner", language="zh", subject="s2", body="b2", change_ids="[]"))

        store._write(work)
        assert len(alerts.digests(store)) == 2
    mine = api.client.get(f"{V1}/alerts", headers=api.auth("viewer")).json()
    assert [d["subject"] for d in mine["items"]] == ["s1"]
    assert api.client.get(f"{V1}/alerts").status_code == 401


def test_an_edit_through_the_api_reaches_the_watcher(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPECAST_TODAY", "2026-12-01")
    added = api.client.post(f"{V1}/alerts/watches", json={"kind": "candidate", "target": "genrix-gr1802"},
                            headers=api.auth("viewer"))
    assert added.status_code == 201
    assert added.json()["items"] == [{"kind": "candidate", "target": "genrix-gr1802"}]
    assert api.client.post(f"{V1}/alerts/scan", headers=api.auth("viewer")).status_code == 403
    scan = {"targets": "false"}
    assert api.client.post(f"{V1}/alerts/scan", params=scan, headers=api.auth("admin")).json() == {
        "changes": 0, "digests": 0}  # the baseline
    event = {"phase": "approved", "date": "2026-11-30", "source_title": "NMPA approval (test)"}
    posted = api.client.post(f"{V1}/candidates/genrix-gr1802/events", json=event, headers=api.auth("owner"))
    assert posted.status_code in (200, 201), posted.text
    mine = api.client.get(f"{V1}/alerts", headers=api.auth("viewer")).json()["items"]  # the post ran the scan
    assert len(mine) == 1
    assert api.client.post(f"{V1}/alerts/scan", params=scan, headers=api.auth("admin")).json() == {
        "changes": 0, "digests": 0}  # nothing left for a manual scan
    mine = api.client.get(f"{V1}/alerts", headers=api.auth("viewer")).json()["items"]
    assert len(mine) == 1
    assert "filed -> approved" in mine[0]["body"]
    assert api.client.get(f"{V1}/alerts", headers=api.auth("owner")).json()["total"] == 0  # watches nothing
