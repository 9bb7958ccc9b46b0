"""The dashboard in Debian's Chromium (Playwright's sync API, /usr/bin/chromium; never a downloaded browser),
against `pipecast serve` on a free loopback port, with a temporary SQLite store loaded by
`pipecast load-bundled chongqing` and an admin made by `pipecast users add`.

The numbers on the pages are checked against the command line's JSON on the same store (`pipecast forecast
--json`, `pipecast scenarios compare --json`): a second path through the program, not the page's own code.
Each page is saved as a screenshot under the test's temporary folder (PIPECAST_WEB_SHOTS names another).
"""

from __future__ import annotations

import datetime as dt
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
ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "examples" / "scenarios" / "chongqing"
TODAY = "2026-12-01"  # after every bundled event (a load refuses dates after today)
PASSWORD = "correct horse battery"
TARGET = "2027-2030:1-3"
#: Seconds to wait for the server to answer its health check (it migrates the store first).
START_WAIT = 60


def _sync_api() -> Any:
    """playwright's sync API with Debian's Chromium; a skip locally, a failure under CI=true (conftest)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    try:
        import playwright.sync_api as sync_api
    except ImportError:
        pytest.skip("playwright (python) is not installed")
    return sync_api


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: The command line as a subprocess (the package has no __main__; its entry point is pipecast.cli:main).
PIPECAST = [sys.executable, "-c", "import sys; from pipecast.cli import main; sys.exit(main())"]


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run([*PIPECAST, *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A running server on a loaded store: its base URL, the environment, and the screenshot folder."""
    folder = tmp_path_factory.mktemp("web")
    db = str(folder / "pipecast.sqlite")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPECAST_")}
    env |= {"PIPECAST_DB": db, "PIPECAST_TODAY": TODAY, "PIPECAST_RATES": "china", "PIPECAST_LANG": "en"}
    _cli(env, "load-bundled", "chongqing")
    _cli(env, "users", "add", "admin", "--role", "admin", stdin=PASSWORD + "\n")
    port = _free_port()
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([*PIPECAST, "serve", "--port", str(port)], env=env,
                              stdout=log, stderr=subprocess.STDOUT)
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
        yield {"base": base, "env": env, "shots": shots, "folder": folder}
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser(site: dict[str, Any]) -> Iterator[Any]:
    sync_api = _sync_api()
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def tab(browser: Any, site: dict[str, Any]) -> Iterator[Any]:
    """One logged-in tab shared by the tests in order (they read like one visit). Dialogs (an alert from
    injected script) and requests to anywhere but the server are recorded, and must stay empty."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    page = context.new_page()
    site["dialogs"], site["foreign"] = [], []
    page.on("dialog", lambda d: (site["dialogs"].append(d.message), d.dismiss()))
    page.on("request", lambda r: None if r.url.startswith((site["base"], "data:", "blob:"))
            else site["foreign"].append(r.url))
    try:
        yield page
    finally:
        context.close()


def _shot(page: Any, site: dict[str, Any], name: str) -> None:
    page.screenshot(path=str(site["shots"] / f"{name}.png"), full_page=True)


def _charts_drawn(page: Any) -> None:
    page.wait_for_selector("html[data-charts=drawn]", timeout=20_000)


def test_login_then_overview(tab: Any, site: dict[str, Any]) -> None:
    tab.goto(site["base"] + "/")
    assert "/login" in tab.url  # not logged in: sent to the login page
    _shot(tab, site, "login-en")
    tab.fill("#username", "admin")
    tab.fill("#password", "wrong password")
    tab.click("#login")
    assert "Wrong user name or password" in tab.inner_text("#login-message")
    tab.fill("#username", "admin")
    tab.fill("#password", PASSWORD)
    tab.click("#login")
    tab.wait_for_url(site["base"] + "/")
    _charts_drawn(tab)
    assert "admin" in tab.inner_text("header")
    expected = json.loads(_cli(site["env"], "forecast", "--json", "--target", TARGET, "--as-of", TODAY,
                               "--years", "2026-2032"))
    site["data_as_of"] = dt.date.fromisoformat(expected["data_as_of"])
    assert tab.inner_text("#gauge .big") == format_probability(expected["target"]["all_years_in_band"])
    # One dial per target year, each drawn as an SVG by plotly.js served from this server.
    assert tab.locator("#fig-gauge .indicatorlayer .trace").count() == 4
    assert tab.locator("#fig-phase svg").count() > 0
    assert tab.locator("#fig-area svg").count() > 0
    day = site["data_as_of"]
    assert f"{day.day} {day:%b} {day.year}" in tab.inner_text("#data-age")  # as English readers write dates
    _shot(tab, site, "overview-en")


def test_search_by_chinese_name_and_open_candidate(tab: Any, site: dict[str, Any]) -> None:
    tab.goto(site["base"] + "/candidates")
    tab.fill("#q", "赛立奇")
    tab.click("#search")
    rows = tab.locator("#candidate-table tbody tr")
    assert rows.count() == 1
    assert "GR1501" in rows.first.inner_text()
    _shot(tab, site, "search-zh-name")
    tab.click("#candidate-table a.cand")
    tab.wait_for_url("**/candidates/genrix-gr1501")
    links = tab.locator("#timeline-table a.source")
    assert tab.locator("#timeline-table tbody tr").count() >= 2
    assert links.count() >= 1
    assert all(links.nth(k).get_attribute("href").startswith("https://") for k in range(links.count()))
    _shot(tab, site, "candidate-gr1501")
    tab.goto(site["base"] + "/candidates/genrix-gr1802")  # filed: it has an approval-year distribution
    _charts_drawn(tab)
    assert tab.locator("#fig-approval .bar, #fig-approval .point").count() > 0
    _shot(tab, site, "candidate-gr1802")


def test_filters_phase_and_sponsor(tab: Any, site: dict[str, Any]) -> None:
    tab.goto(site["base"] + "/candidates")
    tab.select_option("#phase", "filed")
    tab.click("#search")
    phases = tab.locator("#candidate-table tbody tr td:nth-child(4)").all_inner_texts()
    assert phases
    assert set(phases) == {"filed (NDA/BLA)"}


def test_run_forecast(tab: Any, site: dict[str, Any]) -> None:
    tab.goto(site["base"] + "/forecast")
    tab.fill("#as_of", "2025-06-30")
    tab.fill("#years", "2025-2031")
    tab.fill("#target", "2027-2030:1+")
    tab.click("#run")
    _charts_drawn(tab)
    expected = json.loads(_cli(site["env"], "forecast", "--json", "--target", "2027-2030:1+", "--as-of",
                               "2025-06-30", "--years", "2025-2031"))
    assert tab.inner_text("#p-target") == format_probability(expected["target"]["all_years_in_band"])
    assert tab.locator("#fig-fan svg").count() > 0
    assert tab.locator("#fig-pmf svg").count() > 0
    assert tab.locator("#contributors tbody tr").count() == len(expected["target"]["contributors"])
    _shot(tab, site, "forecast-en")
    tab.fill("#target", "2027-2030:x")
    tab.click("#run")
    assert "cannot read target" in tab.inner_text("#form-error")


def test_compare_two_scenarios(tab: Any, site: dict[str, Any]) -> None:
    tab.goto(site["base"] + "/scenarios")
    tab.select_option("#base", label="cq-base")
    tab.select_option("#other", label="cq-fast-review")
    tab.fill("input[name=paths]", "4000")
    tab.click("#compare")
    _charts_drawn(tab)
    rows = tab.locator("#comparison-table tbody tr")
    assert rows.count() == 2
    expected = json.loads(_cli(site["env"], "scenarios", "compare", str(SCENARIOS / "base.yaml"),
                               str(SCENARIOS / "fast-review.yaml"), "--target", TARGET, "--as-of", TODAY,
                               "--paths", "4000", "--json"))
    for k, scenario in enumerate(expected["scenarios"]):
        cells = rows.nth(k).locator("td").all_inner_texts()
        assert cells[0] == scenario["name"]
        assert cells[1].startswith(f"{scenario['figures']['all_years_in_band']:.1%}")
    change = expected["scenarios"][1]["difference_vs_base"]["all_years_in_band"]
    assert rows.nth(1).locator("td").nth(2).inner_text().startswith(f"{change:+.1%}".replace("-", "−"))
    _shot(tab, site, "scenarios-en")


def test_import_names_the_bad_row_then_commits(tab: Any, site: dict[str, Any]) -> None:
    header = "id,name,sponsor,modality,therapeutic_area,phase,phase_start\n"
    bad = site["folder"] / "bad.csv"
    bad.write_text(header + "web-a,Alpha,Chongqing Genrix Biopharmaceutical,mab,Oncology,phase1,2024-01-05\n"
                   "web-b,Beta,Chongqing Genrix Biopharmaceutical,mab,Oncology,phase 9,2024-01-05\n",
                   encoding="utf-8")
    tab.goto(site["base"] + "/import")
    tab.set_input_files("#file", str(bad))
    tab.click("#dry-run")
    cells = tab.locator("#row-errors tbody td").all_inner_texts()
    assert cells[1] == "3"  # the header is line 1: Beta is line 3
    assert cells[2] == "phase"
    assert "phase 9" in cells[3]
    _shot(tab, site, "import-error")
    good = site["folder"] / "good.csv"
    good.write_text(header + "web-x,<script>alert(1)</script>,Chongqing Genrix Biopharmaceutical,mab,Oncology,"
                    "phase1,2024-01-05\n", encoding="utf-8")
    tab.set_input_files("#file", str(good))
    tab.click("#dry-run")
    assert "Dry run" in tab.inner_text("#summary-text")
    _shot(tab, site, "import-dry-run")
    tab.click("#commit")
    assert tab.inner_text("#summary-text").startswith("Imported")
    _shot(tab, site, "import-committed")
    tab.goto(site["base"] + "/candidates?q=web-x")
    assert tab.inner_text("#candidate-table a.cand") == "<script>alert(1)</script>"  # shown as text
    tab.click("#candidate-table a.cand")
    assert tab.inner_text("h1") == "<script>alert(1)</script>"
    _shot(tab, site, "candidate-script-name")
    assert site["dialogs"] == []  # the script never ran
    tab.goto(site["base"] + "/audit")
    first = tab.locator("#audit-table tbody tr").first.inner_text()
    assert "imports.post" in first
    assert "admin" in first
    _shot(tab, site, "audit-en")


def test_switch_language(tab: Any, site: dict[str, Any]) -> None:
    tab.goto(site["base"] + "/")
    tab.click("#lang-zh")
    _charts_drawn(tab)
    assert tab.get_attribute("html", "lang") == "zh-CN"
    assert tab.inner_text("nav a.active") == "概览"
    day = site["data_as_of"]
    assert f"{day.year}年{day.month}月{day.day}日" in tab.inner_text("#data-age")
    _shot(tab, site, "overview-zh")
    tab.goto(site["base"] + "/candidates?q=GR1501")  # the cookie keeps the language
    assert tab.inner_text("#result-count") == "共 1 个候选药物"
    tab.goto(site["base"] + "/forecast?run=1")
    _charts_drawn(tab)
    assert "预测基准日" in tab.inner_text("#assumptions")
    _shot(tab, site, "forecast-zh")
    for path, name in (("/candidates/genrix-gr1802", "candidate-zh"), ("/scenarios", "scenarios-zh"),
                       ("/import", "import-zh"), ("/audit", "audit-zh")):
        tab.goto(site["base"] + path)
        _shot(tab, site, name)
    tab.click("#lang-en")
    assert tab.get_attribute("html", "lang") == "en"
    assert site["foreign"] == []  # nothing was fetched from anywhere but this server
