"""The `/value` page in Debian's Chromium (Playwright, /usr/bin/chromium) in English and Chinese, its numbers
checked against `pipecast value ... --json` on the same store (a second path through the program). The server
fixture is `test_web_browser.site`; screenshots go to its folder (PIPECAST_WEB_SHOTS names another)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from pipecast.web.i18n import format_number
from test_web_browser import CHROMIUM, CHROMIUM_ARGS, PASSWORD, TODAY, _cli, _sync_api, site

pytestmark = pytest.mark.browser
__all__ = ["site"]  # the fixture, shared with the dashboard's browser tests


@pytest.fixture(scope="module")
def tab(site: dict[str, Any]) -> Iterator[Any]:
    sync_api = _sync_api()
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        page = context.new_page()
        foreign: list[str] = []
        page.on("request", lambda r: None if r.url.startswith((site["base"], "data:", "blob:"))
                else foreign.append(r.url))
        try:
            yield page
            assert foreign == []  # nothing loaded from anywhere but the server
        finally:
            context.close()
            chromium.close()


def test_value_page_in_both_languages_matches_the_cli(tab: Any, site: dict[str, Any]) -> None:
    tab.goto(site["base"] + "/value?lang=en")
    assert "/login" in tab.url  # readers only
    tab.fill("#username", "admin")
    tab.fill("#password", PASSWORD)
    tab.click("#login")
    tab.goto(site["base"] + "/value?lang=en")
    tab.wait_for_selector("#deals-table")
    deal = json.loads(_cli(site["env"], "value", "deal", "gr1803", "--as-of", TODAY, "--json"))
    programme = json.loads(_cli(site["env"], "value", "programme", "chongqing-2025", "--as-of", TODAY, "--json"))
    pipeline = json.loads(_cli(site["env"], "value", "pipeline", "--as-of", TODAY, "--paths", "4000", "--json"))
    signing = json.loads(_cli(site["env"], "value", "deal", "gr1803", "--as-of", "2025-06-04", "--json"))
    row = tab.inner_text(f"#deal-gr1803-{TODAY}")
    assert format_number(deal["risk_adjusted"]["licensor"], "en", 1) in row
    assert format_number(712.0, "en", 1) in row  # the sourced headline
    assert format_number(signing["risk_adjusted"]["licensor"], "en", 1) in tab.inner_text("#deal-gr1803-2025-06-04")
    assert tab.inner_text("#p50").strip() == format_number(pipeline["montecarlo"]["p50"], "en", 1)
    assert format_number(programme["cost_per_expected_approval"], "en", 1) in tab.inner_text("#cost-per-approval")
    assert "Value: deals, pipeline rNPV" in tab.inner_text("h1")
    tab.screenshot(path=str(site["shots"] / "value-en.png"), full_page=True)
    tab.click("#lang-zh")
    tab.wait_for_selector("#deals-table")
    assert "价值" in tab.inner_text("h1")
    assert "许可交易" in tab.inner_text("#value-deals")
    assert tab.inner_text("#p10").strip() == format_number(pipeline["montecarlo"]["p10"], "zh", 1)
    assert tab.get_attribute("html", "lang") == "zh-CN"
    tab.screenshot(path=str(site["shots"] / "value-zh.png"), full_page=True)
