"""A department's case list and a candidate's life after approval, in Debian's Chromium (Playwright's sync API,
/usr/bin/chromium) against `pipecast serve`. The page's numbers are checked against `pipecast cases list|stats
--json` on the same store (a second path through the program). Screenshots go under the test's temporary
folder (PIPECAST_WEB_SHOTS names another)."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_web_browser import CHROMIUM, CHROMIUM_ARGS, PIPECAST, _free_port, _sync_api

pytestmark = pytest.mark.browser
TODAY = "2026-12-01"
PASSWORD = "correct horse battery"


def _cli(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run([*PIPECAST, *args], input=stdin, capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _seed(env: dict[str, str]) -> None:
    _cli(env, "load-bundled", "chongqing")
    _cli(env, "cases", "add-department", "cq-nmpa", "Chongqing Medical Products Administration", "--name-zh",
         "重庆市药品监督管理局")
    _cli(env, "cases", "add-department", "cq-finance", "Chongqing Finance Bureau", "--name-zh", "重庆市财政局")
    _cli(env, "users", "add", "nmpa", "--role", "editor", "--org", "cq-nmpa", stdin=PASSWORD + "\n")
    cases = [
        ("--candidate", "GR1802", "review_approval", ("cq-nmpa",), "Priority review of the AD filing",
         "2026-03-31", "2025-10-01"),
        ("--candidate", "GR1803", "review_approval", ("cq-nmpa",), "Conditional approval: rolling review",
         "2026-11-01", "2026-01-20"),
        ("--company", "org:genrix", "financing", ("cq-finance", "cq-nmpa"), "RMB 3 billion bank loan",
         "2025-12-31", "2025-06-01"),
        ("--candidate", "GR2001", "trial_alignment", ("cq-nmpa",), "Align trial sites with Beijing",
         "2027-03-31", "2026-10-01"),
    ]
    for option, subject, kind, depts, title, target, opened in cases:
        args = ["cases", "add", option, subject, "--type", kind, "--title", title, "--target-date", target,
                "--on", opened]
        for d in depts:
            args += ["--department", d]
        _cli(env, *args)
    for case_id, status, on, extra in [
        ("1", "in_progress", "2025-10-05", ()), ("1", "resolved", "2026-02-10", ("--outcome", "review slot", "--days",
                                                                                 "40")),
        ("3", "in_progress", "2025-06-02", ()), ("3", "resolved", "2025-11-01", ("--outcome", "loan arranged",
                                                                                 "--money", "3000")),
        ("2", "in_progress", "2026-02-01", ()), ("2", "blocked", "2026-05-01", ()),
    ]:
        _cli(env, "cases", "move", case_id, status, "--on", on, *extra)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("cases-web")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPECAST_")}
    env |= {"PIPECAST_DB": str(folder / "pipecast.sqlite"), "PIPECAST_TODAY": TODAY, "PIPECAST_LANG": "en"}
    _seed(env)
    port = _free_port()
    log = (folder / "server.log").open("w")
    server = subprocess.Popen([*PIPECAST, "serve", "--port", str(port)], env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None:
                pytest.fail("the server did not start:\n" + (folder / "server.log").read_text()[-3000:])
            time.sleep(0.2)
        shots = Path(os.environ.get("PIPECAST_WEB_SHOTS") or folder / "shots")
        shots.mkdir(parents=True, exist_ok=True)
        yield {"base": base, "env": env, "shots": shots}
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def tab(site: dict[str, Any]) -> Iterator[Any]:
    sync_api = _sync_api()
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = context.new_page()
        page.goto(site["base"] + "/login")
        page.fill("#username", "nmpa")
        page.fill("#password", PASSWORD)
        page.click("#login")
        page.wait_for_url(site["base"] + "/")
        try:
            yield page
        finally:
            context.close()
            chromium.close()


def test_department_case_list(tab: Any, site: dict[str, Any]) -> None:
    tab.goto(site["base"] + "/cases?department=cq-nmpa&lang=en")
    listed = json.loads(_cli(site["env"], "cases", "list", "--department", "cq-nmpa", "--on", TODAY, "--json"))
    ids = [r.get_attribute("id") for r in tab.query_selector_all("#cases-table tbody tr")]
    assert ids == [f"case-{c['id']}" for c in listed]
    assert ids[0] == "case-2"  # blocked and overdue since 2026-11-01: first
    assert "overdue by 30 days" in tab.inner_text("#case-2")
    stats = json.loads(_cli(site["env"], "cases", "stats", "--on", TODAY, "--json"))["departments"]
    nmpa = next(s for s in stats if s["department"] == "cq-nmpa")
    row = tab.inner_text("#stats-table tbody tr")
    expected = f"{nmpa['closed_in_time']}/{nmpa['judged']} ({round(100 * nmpa['share_in_time'])}%)"
    assert expected in row
    assert f"\t{nmpa['median_days_to_close']:g}" in row
    tab.screenshot(path=str(site["shots"] / "cases-en.png"), full_page=True)
    tab.goto(site["base"] + "/cases?department=cq-nmpa&lang=zh")
    assert "服务事项" in tab.inner_text("h1")
    assert "逾期 30 天" in tab.inner_text("#case-2")
    assert "重庆市药品监督管理局" in tab.inner_text("#department")
    tab.screenshot(path=str(site["shots"] / "cases-zh.png"), full_page=True)


def test_candidate_page_shows_life_after_approval(tab: Any, site: dict[str, Any]) -> None:
    tab.goto(site["base"] + "/candidates/genrix-gr1501?lang=en")
    text = tab.inner_text("#post-approval")
    assert "NRDL listing" in text
    assert "2025 NRDL published 2025-12-07; effective 2026-01-01" in text
    tab.screenshot(path=str(site["shots"] / "candidate-after-approval-en.png"), full_page=True)
    tab.goto(site["base"] + "/candidates/precision-pcar19b?lang=zh")
    assert "尚无医保目录" in tab.inner_text("#post-approval")


def test_case_pages_have_both_languages() -> None:
    import re

    from pipecast.web.cases import CASE_STRINGS
    from pipecast.web.i18n import strings

    assert set(CASE_STRINGS["en"]) == set(CASE_STRINGS["zh"])
    folder = Path(__file__).resolve().parents[1] / "src" / "pipecast" / "web" / "templates"
    used: set[str] = set()
    for name in ("cases.html", "post_approval.html"):
        used |= set(re.findall(r"\bw\.([a-z_0-9]+)", (folder / name).read_text(encoding="utf-8")))
    assert used
    for lang in ("en", "zh"):
        assert not used - set(strings(lang) | CASE_STRINGS[lang]), lang
