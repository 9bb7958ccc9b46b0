"""The REST API in-process (FastAPI TestClient) on the bundled Chongqing store: search across scripts,
candidates with sourced events, appending events (concurrently too), forecasts equal to the CLI's JSON,
background jobs, imports, the error shape, sessions with CSRF, login rate limiting, the audit log."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from cli_app import invoke
from pipecast.api import ApiSettings, create_app
from pipecast.domain import normalise_name
from pipecast.store import Store
from test_api_support import GENRIX, PASSWORD, Api, build_bundled, copy_store, make_api

V1 = "/api/v1"


def assert_error(response: Any, status: int, code: str | None = None, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code
    if field is not None:
        assert body["error"]["field"] == field
    error: dict[str, Any] = body["error"]
    return error


@pytest.fixture(scope="module")
def bundled_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundled(tmp_path_factory.mktemp("bundled"))


@pytest.fixture
def db_file(bundled_file: Path, tmp_path: Path) -> Path:
    return copy_store(bundled_file, tmp_path)


@pytest.fixture
def api(db_file: Path):  # type: ignore[no-untyped-def]
    yield from make_api(str(db_file), with_passwords=("owner", "admin"))


# ------------------------------------------------------------------------------------------------ reading


def test_search_finds_a_candidate_by_its_chinese_name(api: Api) -> None:
    response = api.client.get(f"{V1}/candidates", params={"q": "赛立奇"}, headers=api.auth("viewer"))
    assert response.status_code == 200
    body = response.json()
    assert [c["id"] for c in body["items"]] == [GENRIX]
    assert body["total"] == 1
    assert {"id", "name", "aliases", "sponsor", "phase", "phase_start"} <= set(body["items"][0])
    # The store's alias data, read independently of the API: 赛立奇 is part of an alias of GR1501 only.
    with Store.open(api.db) as store:
        holders = [a.id for a in store.assets() if any("赛立奇" in n for n in (a.name, *a.aliases))]
    assert holders == [GENRIX]
    latin = api.client.get(f"{V1}/candidates", params={"q": "gr-1501"}, headers=api.auth("viewer")).json()
    assert [c["id"] for c in latin["items"]] == [GENRIX]


def test_list_filters_sorts_and_pages_like_a_brute_force_count(api: Api) -> None:
    with Store.open(api.db) as store:
        assets = store.assets()
    expected_ids = sorted(a.id for a in assets)
    seen: list[str] = []
    for offset in range(0, len(assets) + 5, 5):
        page = api.client.get(f"{V1}/candidates", params={"limit": 5, "offset": offset},
                              headers=api.auth("viewer")).json()
        assert page["total"] == len(assets)
        seen += [c["id"] for c in page["items"]]
    assert seen == expected_ids
    backwards = api.client.get(f"{V1}/candidates", params={"sort": "-id", "limit": 500},
                               headers=api.auth("viewer")).json()
    assert [c["id"] for c in backwards["items"]] == expected_ids[::-1]
    phase = assets[0].phase.value
    by_phase = api.client.get(f"{V1}/candidates", params={"phase": phase, "limit": 500},
                              headers=api.auth("viewer")).json()
    assert by_phase["total"] == sum(1 for a in assets if a.phase.value == phase)
    genrix = api.client.get(f"{V1}/candidates", params={"sponsor": "Genrix", "limit": 500},
                            headers=api.auth("viewer")).json()
    assert genrix["total"] == sum(1 for a in assets if "genrix" in normalise_name(a.sponsor)) > 1
    early = api.client.get(f"{V1}/candidates", params={"as_of": "2015-01-01", "limit": 500},
                           headers=api.auth("viewer")).json()
    assert early["total"] == sum(1 for a in assets if a.as_of(dt.date(2015, 1, 1)))


def test_candidate_has_its_events_with_sources_and_as_of(api: Api) -> None:
    detail = api.client.get(f"{V1}/candidates/{GENRIX}", headers=api.auth("viewer")).json()
    with Store.open(api.db) as store:
        stored = store.asset(GENRIX)
    assert [(e["phase"], e["date"]) for e in detail["events"]] == [
        (e.phase.value, e.date.isoformat()) for e in stored.history]
    assert all(e["source"] and e["source"]["title"] for e in detail["events"])
    assert detail["phase"] == stored.phase.value
    first = stored.history[0].date
    before = api.client.get(f"{V1}/candidates/{GENRIX}", params={"as_of": "2000-01-01"},
                            headers=api.auth("viewer"))
    assert_error(before, 404, "not_found", "as_of")
    on_first = api.client.get(f"{V1}/candidates/{GENRIX}", params={"as_of": first.isoformat()},
                              headers=api.auth("viewer")).json()
    assert len(on_first["events"]) == sum(1 for e in stored.history if e.date <= first and e.known_on <= first)
    by_alias = api.client.get(f"{V1}/candidates/赛立奇单抗", headers=api.auth("viewer")).json()
    assert by_alias["id"] == GENRIX


# ------------------------------------------------------------------------------------------------ writing


def event(date: str, phase: str = "nda", title: str = "Company announcement") -> dict[str, str]:
    return {"phase": phase, "date": date, "source_url": "https://example.org/n/" + date, "source_title": title}


def test_posting_an_event_appends_history_and_is_audited(api: Api) -> None:
    with Store.open(api.db) as store:
        before = len(store.history(GENRIX))
    posted = api.client.post(f"{V1}/candidates/{GENRIX}/events", json=event("2025-06-30", "phase3"),
                             headers=api.auth("owner"))
    assert posted.status_code == 201, posted.text
    assert posted.json()["added"] is True
    again = api.client.post(f"{V1}/candidates/{GENRIX}/events", json=event("2025-06-30", "phase3"),
                            headers=api.auth("owner"))
    assert again.status_code == 200
    assert again.json()["added"] is False
    with Store.open(api.db) as store:
        history = store.history(GENRIX)
        assert store.verify().ok
    assert len(history) == before + 1
    assert any(r.event.date.isoformat() == "2025-06-30" and r.event.source is not None
               and r.event.source.url == "https://example.org/n/2025-06-30" for r in history)
    log = api.client.get(f"{V1}/audit", params={"action": "candidates.events.post"},
                         headers=api.auth("viewer")).json()
    assert log["total"] == 2
    newest = log["items"][0]
    assert newest["actor"] == "owner"
    assert newest["org_id"] == "org:genrix"
    assert newest["client"] == "testclient"
    assert "https://example.org/n/2025-06-30" in newest["source"]
    assert newest["changes"]["event"]["date"] == "2025-06-30"


def test_concurrent_writes_to_one_candidate_lose_no_event(api: Api) -> None:
    dates = [f"2025-0{m}-1{d}" for m in range(1, 4) for d in range(0, 4)]  # 12 distinct dates

    def post(date: str) -> int:
        return int(api.client.post(f"{V1}/candidates/{GENRIX}/events", json=event(date, title="wire " + date),
                                   headers=api.auth("owner")).status_code)

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(post, dates))
    assert statuses == [201] * len(dates)
    with Store.open(api.db) as store:
        recorded = {r.event.date.isoformat() for r in store.history(GENRIX)}
        assert store.verify().ok
    assert set(dates) <= recorded


def test_audit_log_cannot_be_changed(api: Api) -> None:
    api.client.post(f"{V1}/candidates/{GENRIX}/events", json=event("2025-05-05"), headers=api.auth("owner"))
    with Store.open(api.db) as store, store.engine.connect() as conn:
        for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
            with pytest.raises(Exception, match="append-only"):
                conn.execute(text(statement))
        assert int(conn.execute(text("SELECT count(*) FROM audit_log")).scalar() or 0) >= 1
    for method in ("put", "patch", "delete"):
        response = getattr(api.client, method)(f"{V1}/audit", headers=api.auth("admin"))
        assert_error(response, 405, "method_not_allowed")


# ------------------------------------------------------------------------------------------------ forecasts


def test_forecast_is_the_cli_json(api: Api) -> None:
    args = {"as_of": "2025-11-01", "years": "2025-2031", "target": "2027-2030:1-3"}
    response = api.client.post(f"{V1}/forecasts", json=args, headers=api.auth("viewer"))
    assert response.status_code == 200, response.text
    cli = invoke(api.db, "forecast", "--json", "--as-of", "2025-11-01", "--years", "2025-2031", "--target",
                 "2027-2030:1-3")
    assert cli.exit_code == 0, cli.stderr
    assert response.json() == json.loads(cli.stdout)
    assert response.headers["X-Pipecast-Cache"] == "miss"
    cached = api.client.post(f"{V1}/forecasts", json=args, headers=api.auth("viewer"))
    assert cached.headers["X-Pipecast-Cache"] == "hit"
    assert cached.json() == response.json()
    # A write changes the data version: the next forecast is computed afresh.
    api.client.post(f"{V1}/candidates/{GENRIX}/events", json=event("2025-10-01"), headers=api.auth("owner"))
    fresh = api.client.post(f"{V1}/forecasts", json=args, headers=api.auth("viewer"))
    assert fresh.headers["X-Pipecast-Cache"] == "miss"


def test_long_monte_carlo_runs_as_a_job_with_the_cli_result(db_file: Path) -> None:
    settings = ApiSettings(db=str(db_file), sync_paths=100)
    for api in make_api(str(db_file), settings):
        spec = {"as_of": "2025-11-01", "years": "2025-2030", "method": "montecarlo", "paths": 400, "seed": 7}
        started = api.client.post(f"{V1}/forecasts", json=spec, headers=api.auth("viewer"))
        assert started.status_code == 202, started.text
        job = started.json()
        assert started.headers["Location"] == job["url"] == f"{V1}/jobs/{job['id']}"
        assert job["status"] in ("queued", "running", "done")
        # Other requests are answered while it runs (the job has its own threads).
        assert api.client.get(f"{V1}/health").status_code == 200
        for _ in range(600):
            job = api.client.get(job["url"], headers=api.auth("viewer")).json()
            if job["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        assert job["status"] == "done", job
        cli = invoke(api.db, "forecast", "--json", "--as-of", "2025-11-01", "--years", "2025-2030", "--method",
                     "montecarlo", "--paths", "400", "--seed", "7")
        assert job["result"] == json.loads(cli.stdout)
        assert_error(api.client.get(f"{V1}/jobs/nope", headers=api.auth("viewer")), 404, "not_found")


def test_jobs_past_the_limit_are_refused(db_file: Path) -> None:
    for api in make_api(str(db_file), ApiSettings(db=str(db_file), max_pending_jobs=0)):
        spec = {"as_of": "2025-11-01", "background": True}
        assert_error(api.client.post(f"{V1}/forecasts", json=spec, headers=api.auth("viewer")), 429,
                     "too_many_requests")
        assert api.client.post(f"{V1}/forecasts", json={"as_of": "2025-11-01"},
                               headers=api.auth("viewer")).status_code == 200


def test_forecast_options_are_checked(api: Api) -> None:
    viewer = api.auth("viewer")
    assert_error(api.client.post(f"{V1}/forecasts", json={"paths": 10}, headers=viewer), 422, field="paths")
    assert_error(api.client.post(f"{V1}/forecasts", json={"rates": "../etc/passwd"}, headers=viewer), 422,
                 field="rates")
    assert_error(api.client.post(f"{V1}/forecasts", json={"target": "/etc/passwd.txt"}, headers=viewer), 422,
                 field="target")
    assert_error(api.client.post(f"{V1}/forecasts", json={"as_of": "2025-11-01", "target": "2031-2030:1-3"},
                                 headers=viewer), 422)


# ------------------------------------------------------------------------------------------------ errors


def test_every_error_has_the_one_shape(api: Api) -> None:
    owner = api.auth("owner")
    url = f"{V1}/candidates/{GENRIX}/events"
    malformed = api.client.post(url, content=b'{"phase": "nda", ',
                                headers={**owner, "Content-Type": "application/json"})
    assert_error(malformed, 422, "malformed_json")
    assert_error(api.client.post(url, json={**event("2025-01-01"), "date": "soon"}, headers=owner), 422, "invalid",
                 "date")
    assert_error(api.client.post(url, json={**event("2025-01-01"), "phase": 3}, headers=owner), 422, "invalid",
                 "phase")
    assert_error(api.client.post(url, json={**event("2025-01-01"), "colour": "red"}, headers=owner), 422,
                 "unknown_field", "colour")
    assert_error(api.client.post(url, json={**event("2025-01-01"), "phase": "phase 9"}, headers=owner), 422,
                 "invalid", "phase")
    assert_error(api.client.post(url, json={"phase": "nda", "date": "2025-01-01"}, headers=owner), 422, "invalid",
                 "source_url")
    assert_error(api.client.post(url, json=event("2099-01-01"), headers=owner), 422, "invalid", "date")
    huge = {**event("2025-01-01"), "source_title": "x" * 2_000_000}
    assert_error(api.client.post(url, json=huge, headers=owner), 413, "payload_too_large")
    assert_error(api.client.post(f"{V1}/candidates/no-such-drug/events", json=event("2025-01-01"), headers=owner),
                 404, "not_found", "id")
    assert_error(api.client.get(f"{V1}/candidates/no-such-drug", headers=owner), 404, "not_found")
    assert_error(api.client.get(f"{V1}/no-such-endpoint", headers=owner), 404, "not_found")
    assert_error(api.client.post(url, json=event("2025-01-01")), 401, "unauthorized")
    assert_error(api.client.get(f"{V1}/candidates", headers={"Authorization": "Bearer pct_forged"}), 401,
                 "unauthorized")
    assert_error(api.client.get(f"{V1}/candidates", headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    assert_error(api.client.post(url, json=event("2025-01-01"), headers=api.auth("viewer")), 403, "forbidden")
    assert_error(api.client.post(url, json=event("2025-01-01"), headers=api.auth("other")), 403, "forbidden")
    assert_error(api.client.get(f"{V1}/candidates", params={"limit": 0}, headers=owner), 422, "invalid", "limit")
    with Store.open(api.db) as store:
        assert not any(r.event.date.isoformat() in ("2025-01-01", "2099-01-01") for r in store.history(GENRIX))
    refused = api.client.get(f"{V1}/audit", params={"outcome": "refused", "limit": 500},
                             headers=api.auth("admin")).json()
    statuses = sorted(e["status"] for e in refused["items"] if e["path"].endswith("/events"))
    assert statuses == sorted([422] * 7 + [413, 404, 401, 403, 403])
    assert {e["actor"] for e in refused["items"]} >= {"owner", "viewer", "other", "anonymous"}


def test_script_and_sql_in_text_are_stored_as_text(api: Api) -> None:
    nasty = "<script>alert(1)</script>'; DROP TABLE phase_events; --"
    posted = api.client.post(f"{V1}/candidates/{GENRIX}/events", json=event("2025-04-04", title=nasty),
                             headers=api.auth("owner"))
    assert posted.status_code == 201
    detail = api.client.get(f"{V1}/candidates/{GENRIX}", headers=api.auth("viewer")).json()
    assert nasty in [e["source"]["title"] for e in detail["events"] if e["source"]]
    assert api.client.get(f"{V1}/candidates", params={"q": nasty}, headers=api.auth("viewer")).json()["total"] == 0


# ------------------------------------------------------------------------------------------------ imports


def assets_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*GENRIX_ROW])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


GENRIX_ROW = {"id": "genrix-new-1", "name": "GR9999", "sponsor": "Chongqing Genrix Biopharmaceutical",
              "modality": "antibody", "therapeutic_area": "immunology", "phase": "phase1",
              "phase_start": "2025-03-01", "source_title": "CDE"}


def test_import_dry_run_names_the_row_then_commit_writes(api: Api) -> None:
    bad = assets_csv([GENRIX_ROW, {**GENRIX_ROW, "id": "genrix-new-2", "phase_start": "yesterday"}])
    dry = api.client.post(f"{V1}/imports", files={"file": ("../../etc/cron.d/x.csv", bad, "text/csv")},
                          data={"dry_run": "true"}, headers=api.auth("owner"))
    assert dry.status_code == 200, dry.text
    result = dry.json()
    assert result["dry_run"] is True
    assert result["file"] == "x.csv"
    assert len(result["errors"]) == 1
    assert "row 3" in result["errors"][0]["message"]
    assert result["errors"][0]["field"] == "phase_start"
    committed_bad = api.client.post(f"{V1}/imports", files={"file": ("x.csv", bad, "text/csv")},
                                    data={"dry_run": "false"}, headers=api.auth("owner"))
    assert_error(committed_bad, 422, "invalid_row", "phase_start")
    good = assets_csv([GENRIX_ROW])
    preview = api.client.post(f"{V1}/imports", files={"file": ("new.csv", good, "text/csv")},
                              headers=api.auth("owner")).json()
    assert preview["dry_run"] is True
    assert preview["assets_added"] == 1
    with Store.open(api.db) as store:
        assert "genrix-new-1" not in {a.id for a in store.assets()}
    done = api.client.post(f"{V1}/imports", files={"file": ("new.csv", good, "text/csv")}, data={"dry_run": "false"},
                           headers=api.auth("owner"))
    assert done.status_code == 200
    assert done.json()["assets_added"] == 1
    with Store.open(api.db) as store:
        assert store.asset("genrix-new-1").name == "GR9999"
    batches = api.client.get(f"{V1}/imports", params={"kind": "assets"}, headers=api.auth("viewer")).json()
    assert batches["items"][0]["id"] == done.json()["batch_id"]
    assert batches["items"][0]["assets_added"] == 1
    log = api.client.get(f"{V1}/audit", params={"action": "imports.post"}, headers=api.auth("admin")).json()
    assert [(e["outcome"], e["status"]) for e in log["items"]] == [("ok", 200), ("refused", 422)]
    assert "sha256" in log["items"][0]["source"]
    assert log["items"][0]["changes"]["assets_added"] == 1


def test_import_limits_and_types(db_file: Path) -> None:
    for api in make_api(str(db_file), ApiSettings(db=str(db_file), max_upload_bytes=10_000)):
        big = assets_csv([GENRIX_ROW]) + b"x" * 20_000
        assert_error(api.client.post(f"{V1}/imports", files={"file": ("a.csv", big, "text/csv")},
                                     headers=api.auth("owner")), 413, "payload_too_large")
        assert_error(api.client.post(f"{V1}/imports", files={"file": ("a.exe", b"MZ", "application/x")},
                                     headers=api.auth("owner")), 415, "unsupported_media_type", "file")
        other = assets_csv([{**GENRIX_ROW, "sponsor": "Somebody Else Pharma"}])
        assert_error(api.client.post(f"{V1}/imports", files={"file": ("a.csv", other, "text/csv")},
                                     data={"dry_run": "false"}, headers=api.auth("owner")), 403, "forbidden")


# ------------------------------------------------------------------------------------------------ sessions


def test_browser_session_needs_its_csrf_token(api: Api) -> None:
    client = api.client
    login = client.post("/login", json={"username": "owner", "password": PASSWORD})
    assert login.status_code == 200, login.text
    csrf = login.json()["csrf_token"]
    assert "pipecast_session" in client.cookies
    assert "httponly" in login.headers["set-cookie"].lower()
    me = client.get(f"{V1}/me").json()
    assert me["name"] == "owner"
    assert me["via"] == "session"
    url = f"{V1}/candidates/{GENRIX}/events"
    assert_error(client.post(url, json=event("2025-02-02")), 403, "csrf_failed")
    assert_error(client.post(url, json=event("2025-02-02"), headers={"X-CSRF-Token": "forged"}), 403, "csrf_failed")
    ok = client.post(url, json=event("2025-02-02"), headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201
    client.post("/logout", headers={"X-CSRF-Token": csrf})
    assert client.get(f"{V1}/me").json()["via"] == "anonymous"


def test_form_login_redirects_and_wrong_passwords_are_rate_limited(api: Api) -> None:
    client = api.client
    wrong = client.post("/login", data={"username": "admin", "password": "nope", "next": "/candidates"},
                        follow_redirects=False)
    assert wrong.status_code == 303
    assert "failed=1" in wrong.headers["location"]
    for _ in range(4):
        assert_error(client.post("/login", json={"username": "admin", "password": "nope"}), 401, "unauthorized")
    blocked = client.post("/login", json={"username": "admin", "password": PASSWORD})
    assert_error(blocked, 429, "too_many_requests")
    refused = api.client.get(f"{V1}/audit", params={"action": "login", "outcome": "refused"},
                             headers=api.auth("admin")).json()
    assert refused["total"] == 5


def test_form_login_goes_to_next(api: Api) -> None:
    ok = api.client.post("/login", data={"username": "owner", "password": PASSWORD, "next": "//evil.example/"},
                         follow_redirects=False)
    assert ok.status_code == 303
    assert ok.headers["location"] == "/"


def test_public_read_serves_anonymous_readers_only(db_file: Path) -> None:
    for api in make_api(str(db_file), ApiSettings(db=str(db_file), public_read=True)):
        assert api.client.get(f"{V1}/candidates", params={"q": "赛立奇"}).json()["total"] == 1
        assert_error(api.client.post(f"{V1}/candidates/{GENRIX}/events", json=event("2025-01-01")), 401)
        assert_error(api.client.get(f"{V1}/audit"), 401)


def test_openapi_and_health(api: Api) -> None:
    schema = api.client.get(f"{V1}/openapi.json").json()
    for path in ("/api/v1/candidates", "/api/v1/candidates/{candidate_id}", "/api/v1/candidates/{candidate_id}/events",
                 "/api/v1/forecasts", "/api/v1/organisations", "/api/v1/imports", "/api/v1/audit", "/api/v1/health"):
        assert path in schema["paths"], path
    health = api.client.get(f"{V1}/health").json()
    assert health["status"] == "ok"
    assert health["candidates"] == 22


def test_admins_list_users(api: Api) -> None:
    page = api.client.get(f"{V1}/users", params={"role": "editor"}, headers=api.auth("admin")).json()
    assert [(u["name"], u["org_id"]) for u in page["items"]] == [("other", "org:bovax"), ("owner", "org:genrix")]
    assert page["total"] == 2
    assert_error(api.client.get(f"{V1}/users", headers=api.auth("owner")), 403, "forbidden")
    admin = api.auth("admin")
    for body in ({"name": "e1", "role": "editor"}, {"name": "e2", "role": "editor", "org_id": "org:nowhere"},
                 {"name": "v1", "role": "viewer", "org_id": "org:genrix"}):
        assert_error(api.client.post(f"{V1}/users", json=body, headers=admin), 422, "invalid", "org_id")
    made = api.client.post(f"{V1}/users", json={"name": "e3", "role": "editor", "org_id": "org:genrix"},
                           headers=admin)
    assert made.status_code == 201
    assert made.json()["org_id"] == "org:genrix"
    assert_error(api.client.post(f"{V1}/users", json={"name": "e3", "role": "viewer"}, headers=admin), 422)


def test_rate_sets_and_targets(api: Api) -> None:
    from pipecast.loading.rates import bundled_rate_set
    from pipecast.rates import BUNDLED_RATE_SETS

    names = [r["name"] for r in api.client.get(f"{V1}/rate-sets", headers=api.auth("viewer")).json()]
    assert names == sorted(BUNDLED_RATE_SETS)
    assert {"china", "global"} <= set(names)
    china = api.client.get(f"{V1}/rate-sets/china", headers=api.auth("viewer")).json()
    assert [r["p_success"] for r in china["rows"]] == [r.p_success for r in bundled_rate_set("china").rows]
    assert_error(api.client.get(f"{V1}/rate-sets/../../etc", headers=api.auth("viewer")), 404)
    target = api.client.get(f"{V1}/targets", params={"target": "2027-2030:1-3"}, headers=api.auth("viewer")).json()
    assert (target["first_year"], target["last_year"], target["low"], target["high"]) == (2027, 2030, 1, 3)
    assert_error(api.client.get(f"{V1}/targets", params={"target": "2030-2027:1-3"}, headers=api.auth("viewer")),
                 422, "invalid")


def test_organisations_list_their_candidates(api: Api) -> None:
    org = api.client.get(f"{V1}/organisations/org:genrix", headers=api.auth("viewer")).json()
    assert GENRIX in org["candidates"]
    page = api.client.get(f"{V1}/organisations", params={"kind": "company", "limit": 500},
                          headers=api.auth("viewer")).json()
    with Store.open(api.db) as store:
        assert page["total"] == sum(1 for o in store.organisations() if o.kind.value == "company")


@pytest.mark.postgres
def test_api_on_postgresql(postgres_db_url: str) -> None:
    outcome = invoke(postgres_db_url, "load-bundled", "chongqing")
    assert outcome.exit_code == 0, outcome.stderr
    for api in make_api(postgres_db_url):
        assert api.client.get(f"{V1}/candidates", params={"q": "赛立奇"},
                              headers=api.auth("viewer")).json()["total"] == 1
        dates = [f"2025-0{m}-0{d}" for m in range(1, 3) for d in range(1, 5)]
        client, owner = api.client, api.auth("owner")

        def post(date: str, client: TestClient = client, owner: dict[str, str] = owner) -> int:
            return int(client.post(f"{V1}/candidates/{GENRIX}/events", json=event(date), headers=owner).status_code)

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(post, dates))
        assert statuses == [201] * len(dates)
        with Store.open(postgres_db_url) as store:
            assert set(dates) <= {r.event.date.isoformat() for r in store.history(GENRIX)}
            with store.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
                conn.execute(text("DELETE FROM audit_log"))
        assert api.client.get(f"{V1}/audit", headers=api.auth("admin")).json()["total"] == len(dates)


def test_client_reads_need_credentials(api: Api) -> None:
    assert_error(TestClient(api.client.app).get(f"{V1}/candidates"), 401, "unauthorized")


def test_serve_builds_the_app_from_its_options(db_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    served: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        served.update(kwargs, app=app)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    outcome = invoke(str(db_file), "serve", "--public-read", "--port", "8123")
    assert outcome.exit_code == 0, outcome.stderr
    assert (served["host"], served["port"]) == ("127.0.0.1", 8123)
    with TestClient(served["app"]) as client:  # --public-read took effect: an anonymous read is served
        assert client.get(f"{V1}/candidates", params={"q": "赛立奇"}).json()["total"] == 1
    served.clear()
    assert invoke(str(db_file), "serve", "--port", "8124").exit_code == 0
    with TestClient(served["app"]) as client:
        assert_error(client.get(f"{V1}/candidates"), 401, "unauthorized")
    assert invoke(str(db_file), "serve", "--port", "0").exit_code == 2


def test_an_unexpected_error_is_a_500_in_the_shape(db_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Store) -> dict[str, int]:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Store, "table_counts", broken)
    with TestClient(create_app(ApiSettings(db=str(db_file))), raise_server_exceptions=False) as client:
        error = assert_error(client.get(f"{V1}/health"), 500, "internal")
        assert "secret" not in error["message"]


def test_audit_names_the_client_and_the_refusal(db_file: Path) -> None:
    for trusted in (False, True):
        folder = db_file.parent / f"t{int(trusted)}"
        folder.mkdir()
        copy = copy_store(db_file, folder)
        for api in make_api(str(copy), ApiSettings(db=str(copy), trust_forwarded=trusted)):
            api.client.post(f"{V1}/candidates/{GENRIX}/events", json=event("2025-01-01"),
                            headers={**api.auth("viewer"), "X-Forwarded-For": "203.0.113.9, 10.0.0.1"})
            entry = api.client.get(f"{V1}/audit", headers=api.auth("admin")).json()["items"][0]
            assert entry["client"] == ("203.0.113.9" if trusted else "testclient")
            assert (entry["actor"], entry["outcome"], entry["status"]) == ("viewer", "refused", 403)
            assert "may read but not write" in entry["message"]


def test_a_streamed_body_over_the_limit_is_a_413(api: Api) -> None:
    def chunks() -> Any:
        yield b'{"phase": "nda", "date": "2025-01-01", "source_title": "'
        for _ in range(40):
            yield b"y" * 50_000
        yield b'"}'

    response = api.client.post(f"{V1}/candidates/{GENRIX}/events", content=chunks(),
                               headers={**api.auth("owner"), "Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_error(response, 413, "payload_too_large")


def test_a_write_is_never_committed_without_its_audit_row(db_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipecast.store import audit

    for api in make_api(str(db_file)):
        def failing(**kwargs: Any) -> int:
            raise RuntimeError("audit table unavailable")

        monkeypatch.setattr(audit, "record", failing)
        client = TestClient(api.client.app, raise_server_exceptions=False)
        response = client.post(f"{V1}/candidates/{GENRIX}/events", json=event("2025-03-03"), headers=api.auth("owner"))
        assert_error(response, 500, "internal")
        monkeypatch.undo()
        with Store.open(api.db) as store:
            assert "2025-03-03" not in {r.event.date.isoformat() for r in store.history(GENRIX)}


def test_scenario_comparison_is_the_cli_json(api: Api, tmp_path: Path) -> None:
    import yaml

    base = {"name": "cq-base", "rates": "china", "correlation": {"rho": {"sponsor": 0.3}, "review_sigma": 0.2}}
    fast = {**base, "name": "cq-fast", "levers": {"review_time": {"filed": {"working_days": 130}}}}
    files = []
    for scenario in (base, fast):
        path = tmp_path / f"{scenario['name']}.yaml"
        path.write_text(yaml.safe_dump(scenario), encoding="utf-8")
        files.append(str(path))
    spec = {"base": base, "others": [fast], "target": "2027-2030:1-3", "as_of": "2025-11-01", "paths": 600, "seed": 3}
    response = api.client.post(f"{V1}/scenarios/compare", json=spec, headers=api.auth("viewer"))
    assert response.status_code == 200, response.text
    cli = invoke(api.db, "scenarios", "compare", *files, "--target", "2027-2030:1-3", "--as-of", "2025-11-01",
                 "--paths", "600", "--seed", "3", "--json")
    assert cli.exit_code == 0, cli.stderr
    ours, theirs = response.json(), json.loads(cli.stdout)
    assert [s.pop("file") for s in ours["scenarios"]] == ["base", "others.0"]
    assert [s.pop("file") for s in theirs["scenarios"]] == files
    assert ours == theirs  # every figure, error and difference, on the same random numbers
    bad = {**spec, "others": [{**fast, "rates": "/etc/passwd"}]}
    assert_error(api.client.post(f"{V1}/scenarios/compare", json=bad, headers=api.auth("viewer")), 422, "invalid",
                 "others.0.rates")
    wrong = {**spec, "others": [{**fast, "levers": {"warp_drive": 1}}]}
    assert_error(api.client.post(f"{V1}/scenarios/compare", json=wrong, headers=api.auth("viewer")), 422)
