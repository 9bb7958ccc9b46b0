"""The rights matrix: (viewer, editor of the owner, editor of another organisation, admin, anonymous) x every
write endpoint. Expected statuses are written out by hand from the rules (viewer reads; an editor writes for
its own organisation; an admin manages users); every refusal must also be in the audit log."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from pipecast.store import Store
from pipecast.store import users as user_store
from test_api_support import GENRIX, Api, build_bundled, copy_store, make_api

V1 = "/api/v1"
WHO = ("viewer", "owner", "other", "admin", None)


def _assets_file(row_id: str) -> bytes:
    out = io.StringIO()
    row = {"id": row_id, "name": row_id.upper(), "sponsor": "Chongqing Genrix Biopharmaceutical",
           "modality": "antibody", "therapeutic_area": "immunology", "phase": "phase1", "phase_start": "2025-03-01",
           "source_title": "CDE"}
    writer = csv.DictWriter(out, fieldnames=list(row))
    writer.writeheader()
    writer.writerow(row)
    return out.getvalue().encode()


def status(response: httpx.Response) -> int:
    return int(response.status_code)


def _event(api: Api, who: str | None, n: int) -> int:
    body = {"phase": "nda", "date": f"2025-01-{n + 1:02d}", "source_title": f"announcement {n}"}
    return status(api.client.post(f"{V1}/candidates/{GENRIX}/events", json=body, headers=api.auth(who)))


def _fact(api: Api, who: str | None, n: int) -> int:
    body = {"entity": "Chongqing Genrix Biopharmaceutical", "field": "funding", "value": str(100 + n),
            "unit": "CNY m", "as_of": "2025-02-01", "source_title": f"press release {n}"}
    return status(api.client.post(f"{V1}/facts", json=body, headers=api.auth(who)))


def _import(api: Api, who: str | None, n: int) -> int:
    files = {"file": (f"batch{n}.csv", _assets_file(f"genrix-matrix-{n}"), "text/csv")}
    return status(api.client.post(f"{V1}/imports", files=files, data={"dry_run": "false"},
                                  headers=api.auth(who)))


def _deal(api: Api, who: str | None, n: int) -> int:
    body = {"key": f"matrix-deal-{n}", "licensor": "Chongqing Genrix Biopharmaceutical", "licensee": "Matrix Pharma",
            "currency": "USD", "date_text": "2025-05", "upfront": n, "source_title": f"deal {n}",
            "source_url": "https://example.com/deal"}
    return status(api.client.post(f"{V1}/deals", json=body, headers=api.auth(who)))


def _funding(api: Api, who: str | None, n: int) -> int:
    body = {"key": f"matrix-funding-{n}", "kind": "grant", "recipient": "智翔金泰", "currency": "CNY",
            "amount": n, "date_text": "2025", "source_title": f"grant {n}", "source_url": "https://example.com/g"}
    return status(api.client.post(f"{V1}/funding", json=body, headers=api.auth(who)))


def _revoke_one(api: Api, who: str | None, n: int) -> int:
    """Revoke one spare token of the viewer (made here, outside the API: not audited); the others stay."""
    with Store.open(api.db) as store, user_store.session_scope(store, write=True) as session:
        user = user_store.require_user(session=session, name="viewer")
        user_store.issue_token(session=session, user_id=user.id, label=f"spare {n}")
        token_id = user_store.list_tokens(session=session, user_id=user.id)[-1].id
    return status(api.client.delete(f"{V1}/users/viewer/tokens/{token_id}", headers=api.auth(who)))


def _organisation(api: Api, who: str | None, n: int) -> int:
    body = {"id": f"org:matrix-{n}", "name": f"Matrix Pharma {n}"}
    return status(api.client.post(f"{V1}/organisations", json=body, headers=api.auth(who)))


def _user(api: Api, who: str | None, n: int) -> int:
    body = {"name": f"new-user-{n}", "role": "viewer"}
    return status(api.client.post(f"{V1}/users", json=body, headers=api.auth(who)))


def _token(api: Api, who: str | None, n: int) -> int:
    return status(api.client.post(f"{V1}/users/viewer/tokens", json={"label": f"t{n}"}, headers=api.auth(who)))


def _revoke(api: Api, who: str | None, n: int) -> int:
    return status(api.client.delete(f"{V1}/users/other/tokens", headers=api.auth(who)))


ENDPOINTS: dict[str, Callable[[Api, str | None, int], int]] = {
    "POST /candidates/{id}/events": _event,
    "POST /facts": _fact,
    "POST /deals": _deal,
    "POST /funding": _funding,
    "POST /imports": _import,
    "POST /organisations": _organisation,
    "POST /users": _user,
    "POST /users/{name}/tokens": _token,
    "DELETE /users/{name}/tokens/{token_id}": _revoke_one,
    "DELETE /users/{name}/tokens": _revoke,
}
#: The expected status per endpoint for (viewer, owner's editor, other org's editor, admin, anonymous).
EXPECTED: dict[str, tuple[int, int, int, int, int]] = {
    "POST /candidates/{id}/events": (403, 201, 403, 201, 401),
    "POST /facts": (403, 201, 403, 201, 401),
    "POST /deals": (403, 201, 403, 201, 401),
    "POST /funding": (403, 201, 403, 201, 401),
    "POST /imports": (403, 200, 403, 200, 401),
    "POST /organisations": (403, 403, 403, 201, 401),
    "POST /users": (403, 403, 403, 201, 401),
    "POST /users/{name}/tokens": (403, 403, 403, 201, 401),
    "DELETE /users/{name}/tokens/{token_id}": (403, 403, 403, 200, 401),
    "DELETE /users/{name}/tokens": (403, 403, 403, 200, 401),
}


@pytest.fixture(scope="module")
def bundled_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundled(tmp_path_factory.mktemp("bundled"))


@pytest.fixture
def db_file(bundled_file: Path, tmp_path: Path) -> Path:
    return copy_store(bundled_file, tmp_path)


@pytest.fixture
def api(db_file: Path):  # type: ignore[no-untyped-def]
    yield from make_api(str(db_file))


def test_rights_matrix(api: Api) -> None:
    assert set(ENDPOINTS) == set(EXPECTED)
    got: dict[str, tuple[int, ...]] = {}
    n = 0
    # The admin goes last: it revokes "other"'s token, which would turn other's later 403s into 401s.
    order = ("viewer", "owner", "other", None, "admin")
    for name, call in ENDPOINTS.items():
        row: dict[str | None, int] = {}
        for who in order:
            n += 1
            row[who] = call(api, who, n)
        got[name] = tuple(row[w] for w in WHO)
    assert got == EXPECTED
    refused = sum(1 for statuses in EXPECTED.values() for s in statuses if s >= 400)
    log = api.client.get(f"{V1}/audit", params={"outcome": "refused", "limit": 500},
                         headers=api.auth("admin")).json()
    assert log["total"] == refused
    assert {(e["actor"], e["status"]) for e in log["items"]} == {
        ("viewer", 403), ("owner", 403), ("other", 403), ("anonymous", 401)}
    ok = api.client.get(f"{V1}/audit", params={"outcome": "ok", "limit": 500}, headers=api.auth("admin")).json()
    assert ok["total"] == sum(1 for statuses in EXPECTED.values() for s in statuses if s < 300)


def _counts(db: str) -> tuple[dict[str, int], dict[str, int]]:
    """(rows per table but the hash chain, chain links per table): refusals add audit rows and their links only."""
    with Store.open(db) as store:
        counts = store.table_counts()
        report = store.verify()
    assert report.ok, report.broken
    counts.pop("history_chain")
    return counts, report.rows


def test_refused_writes_write_nothing(api: Api) -> None:
    before, links_before = _counts(api.db)
    tries = 0
    for name, call in ENDPOINTS.items():
        for who in ("viewer", "other", None):
            tries += 1
            assert call(api, who, 28) in (401, 403), name
    after, links_after = _counts(api.db)
    assert after == before
    assert links_after == {**links_before, "audit_log": links_before["audit_log"] + tries}


def test_an_editor_cannot_write_for_a_candidate_of_another_company_by_alias(api: Api) -> None:
    body = {"phase": "nda", "date": "2025-01-02", "source_title": "x"}
    # GR1501 is Genrix's: reaching it by its Chinese alias changes nothing.
    response = api.client.post(f"{V1}/candidates/赛立奇单抗/events", json=body, headers=api.auth("other"))
    assert response.status_code == 403
