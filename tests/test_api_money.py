"""Deals and funding events through the API: the lists are checked against the bundled CSV files read here
with the csv module (an independent reading), writes append with their audit row and join the hash chain."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from pipecast.store import Store
from test_api_support import Api, build_bundled, copy_store, make_api

V1 = "/api/v1"
DATA = Path(__file__).resolve().parents[1] / "src" / "pipecast" / "data" / "chongqing"


def csv_rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def bundled_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundled(tmp_path_factory.mktemp("bundled"))


@pytest.fixture
def api(bundled_file: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    yield from make_api(str(copy_store(bundled_file, tmp_path)))


def everything(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, fetched two at a time (pagination)."""
    items: list[dict[str, Any]] = []
    while True:
        page = api.client.get(f"{V1}/{path}", params={**params, "limit": 2, "offset": len(items)},
                              headers=api.auth("viewer"))
        assert page.status_code == 200, page.text
        data = page.json()
        items += data["items"]
        if len(items) >= data["total"]:
            assert len(items) == data["total"]
            return items


def test_deals_list_sorts_filters_and_pages_like_the_csv(api: Api) -> None:
    rows = csv_rows("deals.csv")
    by_headline = everything(api, "deals", sort="-headline")
    with_value = sorted((r for r in rows if r["headline"]), key=lambda r: -float(r["headline"]))
    without = sorted(r["key"] for r in rows if not r["headline"])
    assert [d["key"] for d in by_headline] == [r["key"] for r in with_value] + without
    assert [d["headline"] for d in by_headline[:len(with_value)]] == [float(r["headline"]) for r in with_value]
    oldest = everything(api, "deals", sort="date")
    assert [d["date"] for d in oldest] == sorted(r["date_text"] for r in rows)
    lilly = everything(api, "deals", party="eli lilly")
    assert [d["key"] for d in lilly] == [r["key"] for r in rows if "Lilly" in r["licensee"] + r["licensor"]]
    before = everything(api, "deals", as_of="2024-12-31")
    assert {d["key"] for d in before} == {r["key"] for r in rows if r["date_text"] <= "2024-12-31"}
    genrix = everything(api, "deals", q="智翔金泰")
    assert {d["key"] for d in genrix} == {r["key"] for r in rows if "智翔金泰" in r["licensor"]}


def test_one_deal_by_key_and_unknown_keys(api: Api) -> None:
    row = csv_rows("deals.csv")[0]
    deal = api.client.get(f"{V1}/deals/{row['key']}", headers=api.auth("viewer")).json()
    assert (deal["licensor"], deal["licensee"], deal["upfront"], deal["source_url"]) == (
        row["licensor"], row["licensee"], float(row["upfront"]), row["source_url"])
    for path in ("deals/no-such-deal", "funding/no-such-funding"):
        missing = api.client.get(f"{V1}/{path}", headers=api.auth("viewer"))
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
    assert api.client.get(f"{V1}/deals").status_code == 401


def test_funding_by_kind_matches_the_csv(api: Api) -> None:
    rows = csv_rows("funding.csv")
    for kind in ("equity", "subsidy", "reward", "loan"):
        found = everything(api, "funding", kind=kind, sort="key")
        assert [f["key"] for f in found] == sorted(r["key"] for r in rows if r["kind"] == kind)
    by_amount = everything(api, "funding", sort="-amount")
    amounts = [f["amount"] for f in by_amount if f["amount"] is not None]
    assert amounts == sorted((float(r["amount"]) for r in rows if r["amount"]), reverse=True)
    assert all(f["amount"] is None for f in by_amount[len(amounts):])
    bad = api.client.get(f"{V1}/funding", params={"kind": "gift"}, headers=api.auth("viewer"))
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "kind"


def deal_body(key: str, **changes: Any) -> dict[str, Any]:
    return {"key": key, "licensor": "Chongqing Genrix Biopharmaceutical", "licensee": "Example Pharma",
            "currency": "USD", "date_text": "2025-10", "upfront": 15, "headline": 300,
            "source_title": "press release", "source_url": "https://example.com/deal", **changes}


def test_a_deal_is_appended_once_audited_and_chained(api: Api) -> None:
    owner = api.auth("owner")
    created = api.client.post(f"{V1}/deals", json=deal_body("genrix-example-2025-10"), headers=owner)
    assert created.status_code == 201, created.text
    assert created.json()["deal"]["date"] == "2025-10-31"  # a month means its last day
    again = api.client.post(f"{V1}/deals", json=deal_body("genrix-example-2025-10"), headers=owner)
    assert (again.status_code, again.json()["added"]) == (200, False)
    changed = api.client.post(f"{V1}/deals", json=deal_body("genrix-example-2025-10", upfront=20), headers=owner)
    assert changed.status_code == 422
    assert changed.json()["error"]["field"] == "key"
    stored = api.client.get(f"{V1}/deals/genrix-example-2025-10", headers=owner).json()
    assert stored["upfront"] == 15
    log = api.client.get(f"{V1}/audit", params={"action": "deals.post"}, headers=api.auth("admin")).json()
    assert [(e["status"], e["outcome"]) for e in log["items"]] == [(422, "refused"), (200, "ok"), (201, "ok")]
    assert log["items"][-1]["changes"]["deal"]["headline"] == 300
    assert log["items"][-1]["source"] == "press release https://example.com/deal"
    with Store.open(api.db) as store:
        report = store.verify()
    assert report.ok, report.broken
    assert report.rows["deals"] == len(csv_rows("deals.csv")) + 1
    assert report.rows["audit_log"] == 3


def test_funding_writes_check_the_recipient_and_the_input(api: Api) -> None:
    body = {"key": "genrix-loan-2025", "kind": "loan", "recipient": "智翔金泰", "funder": "a bank",
            "currency": "CNY", "amount": 50, "rate": 0.035, "term_months": 36, "date_text": "2025-03-01",
            "source_title": "annual report", "source_url": "https://example.com/ar"}
    assert api.client.post(f"{V1}/funding", json=body, headers=api.auth("other")).status_code == 403
    assert api.client.post(f"{V1}/funding", json={**body, "rate": 3.5}, headers=api.auth("owner")).status_code == 422
    unknown = api.client.post(f"{V1}/funding", json={**body, "colour": "red"}, headers=api.auth("owner"))
    assert unknown.json()["error"]["code"] == "unknown_field"
    bad_date = api.client.post(f"{V1}/funding", json={**body, "date_text": "20x5"}, headers=api.auth("owner"))
    assert (bad_date.status_code, bad_date.json()["error"]["field"]) == (422, "date_text")
    created = api.client.post(f"{V1}/funding", json=body, headers=api.auth("owner"))
    assert created.status_code == 201, created.text
    loans = everything(api, "funding", kind="loan")
    assert [(f["key"], f["rate"], f["term_months"]) for f in loans] == [("genrix-loan-2025", 0.035, 36)]


def test_audit_rows_do_not_change_the_data_version_but_a_deal_does(api: Api) -> None:
    """Audit rows are chained too, yet a login or a refusal must leave cached forecasts and views valid."""
    from pipecast.api.datacache import data_version

    with Store.open(api.db) as store:
        before = data_version(store)
        refused = api.client.post(f"{V1}/deals", json=deal_body("genrix-version-1"), headers=api.auth("other"))
        assert refused.status_code == 403
        assert data_version(store) == before
        assert store.verify().rows["audit_log"] == 1
        created = api.client.post(f"{V1}/deals", json=deal_body("genrix-version-1"), headers=api.auth("owner"))
        assert created.status_code == 201
        assert data_version(store) != before
