"""The `/value` dashboard page without a browser: both languages have the same words, the page renders in
each with the CLI's figures, anonymous visitors are sent to the login page, and `?as_of=` takes effect."""

from __future__ import annotations

import json

import pytest

from cli_app import invoke
from pipecast.web.i18n import WEB_STRINGS, format_number
from pipecast.web.value import VALUE_STRINGS
from test_api_support import Api, build_bundled, copy_store, make_api

AS_OF = "2026-12-01"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("value-web")
    (folder / "copy").mkdir()
    yield from make_api(str(copy_store(build_bundled(folder), folder / "copy")))


def test_both_languages_have_the_same_words() -> None:
    assert set(VALUE_STRINGS["en"]) == set(VALUE_STRINGS["zh"])
    assert {"nav_value"} <= set(WEB_STRINGS["en"]) & set(WEB_STRINGS["zh"])


def test_value_page_shows_the_cli_figures_in_both_languages(api: Api) -> None:
    outcome = invoke(api.db, "value", "programme", "chongqing-2025", "--as-of", AS_OF, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    programme = json.loads(outcome.stdout)
    deal = json.loads(invoke(api.db, "value", "deal", "gr1803", "--as-of", AS_OF, "--json").stdout)
    for lang, heading in (("en", "Value: deals"), ("zh", "价值：许可交易")):
        page = api.client.get("/value", params={"lang": lang, "as_of": AS_OF}, headers=api.auth("viewer"))
        assert page.status_code == 200, page.text[:500]
        assert heading in page.text
        assert 'href="/value' in page.text  # the navigation links to it
        assert format_number(programme["cost_per_expected_approval"], lang, 1) in page.text
        assert format_number(deal["risk_adjusted"]["licensor"], lang, 1) in page.text
    earlier = api.client.get("/value", params={"as_of": "2025-06-04"}, headers=api.auth("viewer")).text
    signing = json.loads(invoke(api.db, "value", "deal", "gr1803", "--as-of", "2025-06-04", "--json").stdout)
    assert format_number(signing["risk_adjusted"]["licensor"], "en", 1) in earlier
    assert format_number(deal["risk_adjusted"]["licensor"], "en", 1) not in earlier  # as_of takes effect


def test_anonymous_visitors_log_in_first(api: Api) -> None:
    api.client.cookies.clear()
    answer = api.client.get("/value", follow_redirects=False)
    assert answer.status_code == 303
    assert "/login" in answer.headers["location"]
