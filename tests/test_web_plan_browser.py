"""The plan page and the region comparison in Debian's Chromium (Playwright's sync API, /usr/bin/chromium),
against `pipecast serve` on a free loopback port with the bundled Chongqing store: log in, open /plan and
/regions in English and Chinese, check what is drawn against `pipecast plan --json` and
`pipecast compare-regions --json` on the same store, and save screenshots (PIPECAST_WEB_SHOTS names a folder).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipecast.report.format import format_probability

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TODAY = "2026-12-01"
PASSWORD = "correct horse battery"
START_WAIT = 60
PIPECAST = [sys.executable, "-c", "import sys; from pipecast.cli import main; sys.exit(main())"]


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run([*PIPECAST, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("webplan")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPECAST_")}
    env |= {"PIPECAST_DB": str(folder / "pipecast.sqlite"), "PIPECAST_TODAY": TODAY, "PIPECAST_RATES": "china",
            "PIPECAST_LANG": "en"}
    _cli(env, "load-bundled", "chongqing")
    _cli(env, "users", "add", "admin", "--role", "admin", stdin=PASSWORD + "\n")
    plan = json.loads(_cli(env, "plan", "--as-of", TODAY, "--json"))
    hubs = json.loads(_cli(env, "compare-regions", "--as-of", TODAY, "--json"))
    port = _free_port()
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([*PIPECAST, "serve", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_WAIT
        while True:
            try:
                with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("the server did not start:\n" + (folder / "server.log").read_text()[-3000:])
            time.sleep(0.2)
        shots = Path(os.environ.get("PIPECAST_WEB_SHOTS") or folder / "shots")
        shots.mkdir(parents=True, exist_ok=True)
        yield {"base": base, "shots": shots, "plan": plan, "hubs": hubs}
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def tab(site: dict[str, Any]) -> Iterator[Any]:
    """One logged-in tab; requests to anywhere but the server and dialogs are recorded and must stay empty."""
    try:
        import playwright.sync_api as sync_api
    except ImportError:
        pytest.skip("playwright (python) is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page: Any = context.new_page()
        site["foreign"], site["dialogs"] = [], []
        page.on("dialog", lambda d: (site["dialogs"].append(d.message), d.dismiss()))
        page.on("request", lambda r: None if r.url.startswith((site["base"], "data:", "blob:"))
                else site["foreign"].append(r.url))
        page.goto(site["base"] + "/plan")
        assert "/login" in page.url
        page.fill("#username", "admin")
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_url("**/plan")
        try:
            yield page
        finally:
            context.close()
            browser.close()


def _shot(page: Any, site: dict[str, Any], name: str) -> None:
    page.screenshot(path=str(site["shots"] / f"{name}.png"), full_page=True)


def _drawn(page: Any) -> None:
    page.wait_for_selector("html[data-charts=drawn]", timeout=20_000)


def test_plan_page_in_english(tab: Any, site: dict[str, Any]) -> None:
    tab.goto(site["base"] + f"/plan?as_of={TODAY}&lang=en")
    _drawn(tab)
    targets = site["plan"]["targets"]
    for t in targets:
        row = tab.locator(f"#row-{t['id']}")
        assert row.get_attribute("data-verdict") == t["verdict"]
        shown = "–" if t["p_met"] is None else format_probability(t["p_met"])
        assert row.locator("td.num").inner_text().strip() == shown
    # the cumulative chart is drawn: one bar per reachable total, from the on-record count up
    total = next(t for t in targets if t["metric"] == "approvals_total")
    bars = tab.locator("#fig-plan-total .point").count()
    assert bars >= total["details"]["need"] - total["details"]["on_record"] + 1
    assert tab.locator("#plan-table tbody tr").count() == len(targets)
    assert tab.locator("nav a.active").inner_text() == "Plan"
    _shot(tab, site, "plan-en")


def test_plan_page_in_chinese(tab: Any, site: dict[str, Any]) -> None:
    tab.click("#lang-zh")
    _drawn(tab)
    assert tab.locator("html").get_attribute("lang") == "zh-CN"
    total = next(t for t in site["plan"]["targets"] if t["metric"] == "approvals_total")
    zh_verdicts = {"at risk": "有风险", "on track": "进展正常", "met": "已达成", "missed": "未达成"}
    for t in site["plan"]["targets"]:
        if t["verdict"] in zh_verdicts:
            assert tab.locator(f"#row-{t['id']} .badge").inner_text() == zh_verdicts[t["verdict"]]
    assert "累计" in tab.locator(f"#kpi-{total['id']} .reason").inner_text()
    _shot(tab, site, "plan-zh")


def test_regions_page_in_both_languages(tab: Any, site: dict[str, Any]) -> None:
    tab.click("nav a[href='/regions']")  # the language cookie keeps Chinese
    _drawn(tab)
    assert "各地对比" in tab.inner_text("h1")
    hubs = site["hubs"]["hubs"]
    assert tab.locator("#hub-table tbody tr").count() == len(hubs)
    for h in hubs:
        cell = tab.locator(f"#hub-{h['region']} td.num").nth(len(site["hubs"]["years"]))
        shown = "–" if h["expected_total"] is None else f"{h['expected_total']:.2f}"
        assert cell.inner_text().strip() == shown, h["region"]
    drawn = tab.locator("#fig-plan-hubs .trace.bars").count()
    assert drawn == sum(1 for h in hubs if h["forecast"] is not None)
    _shot(tab, site, "regions-zh")
    tab.click("#lang-en")
    _drawn(tab)
    assert "Hubs side by side" in tab.inner_text("h1")
    assert tab.locator("#coverage dd").count() == len(hubs)
    _shot(tab, site, "regions-en")
    assert site["foreign"] == []
    assert site["dialogs"] == []
