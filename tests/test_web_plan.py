"""The plan page (/plan) and the hubs side by side (/regions) in-process (TestClient on `create_app`, a real
SQLite store loaded with the bundled Chongqing data): their numbers are the command line's
(`pipecast plan --json`, `pipecast compare-regions --json` run as subprocesses on the same store), the
cumulative chart's bars add up to the page's P(met), both languages, logins, and escaping.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TODAY = "2026-12-01"
PASSWORD = "correct horse battery"
PIPECAST = [sys.executable, "-c", "import sys; from pipecast.cli import main; sys.exit(main())"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from pipecast.api import ApiSettings, create_app

    folder = tmp_path_factory.mktemp("webplan")
    db = str(folder / "pipecast.sqlite")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPECAST_")}
    env |= {"PIPECAST_TODAY": TODAY, "PIPECAST_RATES": "china", "PIPECAST_LANG": "en"}
    _cli(env, "--db", db, "load-bundled", "chongqing")
    _cli(env, "--db", db, "users", "add", "admin", "--role", "admin", stdin=PASSWORD + "\n")
    plan = json.loads(_cli(env, "--db", db, "plan", "--as-of", TODAY, "--json"))
    hubs = json.loads(_cli(env, "compare-regions", "--as-of", TODAY, "--json"))
    monkey = pytest.MonkeyPatch()
    for key, value in env.items():
        if key.startswith("PIPECAST_"):
            monkey.setenv(key, value)
    try:
        with TestClient(create_app(ApiSettings(db=db))) as client:
            yield {"client": client, "plan": plan, "hubs": hubs}
    finally:
        monkey.undo()


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run([*PIPECAST, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _login(client: Any) -> None:
    answer = client.post("/signin", data={"username": "admin", "password": PASSWORD, "next": "/plan"},
                         follow_redirects=False)
    assert answer.status_code == 303


def _attrs(html: str, tag_id_prefix: str) -> dict[str, dict[str, str]]:
    """data-* attributes of every <tr id="PREFIX..."> on the page, by the row's id."""
    out = {}
    for m in re.finditer(r'<tr id="' + tag_id_prefix + r'([^"]+)"([^>]*)>', html):
        out[m.group(1)] = dict(re.findall(r'data-([a-z0-9-]+)="([^"]*)"', m.group(2)))
    return out


def _num(text: str) -> float | None:
    return None if text == "None" else float(text)


def test_pages_need_a_login(site: dict[str, Any]) -> None:
    client = site["client"]
    client.cookies.clear()
    for path in ("/plan", "/regions"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert "/login" in answer.headers["location"]


def test_plan_page_numbers_are_the_commands(site: dict[str, Any]) -> None:
    client = site["client"]
    _login(client)
    html = client.get("/plan", params={"as_of": TODAY, "rates": "china", "lang": "en"}).text
    rows = _attrs(html, "row-")
    wanted = {t["id"]: t for t in site["plan"]["targets"]}
    assert set(rows) == set(wanted)
    assert len(rows) == 5
    for kpi, t in wanted.items():
        got = rows[kpi]
        assert got["verdict"] == t["verdict"], kpi
        assert _num(got["p-met"]) == t["p_met"], kpi
        assert _num(got["expected"]) == t["expected"], kpi
        assert _num(got["actual"]) == (t["actual"]["value"] if t["actual"] else None), kpi
        # the source is a link to the target's published page, and the reason is the command's
        assert f'href="{t["source"]["url"]}"'.replace("&", "&amp;") in html, kpi
        assert t["reason"].replace(">", "&gt;").replace("'", "&#39;") in html, kpi
    assert "/static/plotly.min.js" in html
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="https?://', html)  # nothing loaded from elsewhere


def test_cumulative_chart_adds_up_to_p_met(site: dict[str, Any]) -> None:
    """The chart's bars are the exact pmf of the total: those at or above the target sum to the command's
    P(met), and all of them to 1 (less the tail cut below 1e-4 per bar)."""
    client = site["client"]
    _login(client)
    html = client.get("/plan", params={"as_of": TODAY}).text
    found = re.search(r'<script type="application/json" id="pipecast-figures">(.*?)</script>', html, re.S)
    assert found is not None
    figure = json.loads(found.group(1))["fig-plan-total"]
    bar = figure["data"][0]
    total = next(t for t in site["plan"]["targets"] if t["metric"] == "approvals_total")
    need, on_record = total["details"]["need"], total["details"]["on_record"]
    assert min(bar["x"]) == on_record
    met = sum(y for x, y in zip(bar["x"], bar["y"], strict=True) if x >= need)
    assert met == pytest.approx(total["p_met"], abs=1e-3)
    assert sum(bar["y"]) == pytest.approx(1.0, abs=1e-3)
    mean = sum(x * y for x, y in zip(bar["x"], bar["y"], strict=True))
    assert mean == pytest.approx(total["expected"], abs=0.01)


def test_regions_page_numbers_are_the_commands(site: dict[str, Any]) -> None:
    client = site["client"]
    _login(client)
    html = client.get("/regions", params={"as_of": TODAY, "rates": "china"}).text
    rows = _attrs(html, "hub-")
    wanted = {h["region"]: h for h in site["hubs"]["hubs"]}
    assert list(rows) == list(wanted)  # same hubs, same order
    assert {"chongqing", "hefei", "shenzhen", "hangzhou", "suzhou", "shanghai"} <= set(rows)
    for region, h in wanted.items():
        got = rows[region]
        assert _num(got["expected-total"]) == h["expected_total"], region
        assert got["funnel"] == "/".join(str(v) for v in h["funnel"].values()), region
        assert _num(got["per-100-firms"]) == h["expected_per_100_firms"], region
        assert h["coverage"].replace("'", "&#39;").replace(">", "&gt;") in html, region
        for year in site["hubs"]["years"]:
            cell = re.search(rf'<tr id="hub-{re.escape(region)}".*?data-year="{year}" data-expected="([^"]*)"',
                             html, re.S)
            assert cell is not None
            expected = h["forecast"][str(year)]["expected"] if h["forecast"] else None
            assert _num(cell.group(1)) == expected, (region, year)


def test_both_languages_and_the_nav(site: dict[str, Any]) -> None:
    client = site["client"]
    _login(client)
    zh = client.get("/plan", params={"lang": "zh"}).text
    assert '<html lang="zh-CN">' in zh
    assert "有风险" in zh
    assert "进展正常" in zh
    assert "累计 ≥ 10 个的概率" in zh  # the cumulative reason, in Chinese
    assert 'href="/regions"' in zh
    assert "地区对比" in zh
    zh_regions = client.get("/regions", params={"lang": "zh"}).text
    assert "各地对比" in zh_regions
    assert "数据覆盖" in zh_regions
    en = client.get("/regions", params={"lang": "en"}).text
    assert "Hubs side by side" in en
    assert 'href="/plan"' in en


def test_bad_inputs_are_one_line_errors(site: dict[str, Any]) -> None:
    client = site["client"]
    _login(client)
    answer = client.get("/regions", params={"as_of": TODAY, "years": "2020-2021"})
    assert answer.status_code == 422
    assert "before the as-of date" in answer.text
    answer = client.get("/plan", params={"as_of": "not-a-date<script>"})
    assert answer.status_code == 422
    assert "<script>" not in answer.text
    assert "not-a-date&lt;script&gt;" in answer.text


def test_template_files_exist() -> None:
    from importlib import resources

    folder = Path(str(resources.files("pipecast.web") / "templates"))
    for name in ("plan.html", "regions.html"):
        assert "http" not in re.sub(r"rel=\"noreferrer noopener\"", "", (folder / name).read_text())
