"""The dashboard in-process (FastAPI's TestClient on `create_app`, a real SQLite store loaded with the bundled
Chongqing data): search across languages, escaping, the language switch, the import page's dry run and
commit with CSRF and roles, plotly served from the installed package, and the words in both languages.

The browser tests (Chromium) are in test_web_browser.py.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.web import i18n, views

TODAY = "2026-12-01"
PASSWORD = "correct horse battery"
HEADER = "id,name,sponsor,modality,therapeutic_area,phase,phase_start\n"
TEMPLATES = Path(str(resources.files("pipecast.web") / "templates"))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from pipecast.api import ApiSettings, create_app
    from pipecast.api.security import hash_password
    from pipecast.commands.store_cmds import bundled_dataset_path, read_input, resolve_through_store
    from pipecast.store import Store, users

    monkey = pytest.MonkeyPatch()
    monkey.setenv("PIPECAST_TODAY", TODAY)
    monkey.setenv("PIPECAST_RATES", "china")
    monkey.setenv("PIPECAST_LANG", "en")
    db = str(tmp_path_factory.mktemp("web") / "pipecast.sqlite")
    with Store.open(db) as store:
        with bundled_dataset_path("chongqing") as folder:
            assets, facts, orgs, kind = read_input(folder)
            store.import_data(assets=resolve_through_store(store, assets), facts=facts, organisations=orgs,
                              source_file=folder, kind=kind)
        with users.session_scope(store, write=True) as session:
            for name, role, org in (("admin", "admin", ""), ("viewer", "viewer", ""),
                                    ("fochon-editor", "editor", "org:fochon")):
                users.add_user(session=session, name=name, role=role, org_id=org, password_hash=hash_password(PASSWORD))
    try:
        with TestClient(create_app(ApiSettings(db=db))) as test_client:
            yield test_client
    finally:
        monkey.undo()


def _login(client: Any, name: str) -> str:
    """Log in through the login form; returns the session's CSRF token as a page's form carries it."""
    client.cookies.clear()
    answer = client.post("/signin", data={"username": name, "password": PASSWORD, "next": "/import"},
                         follow_redirects=False)
    assert answer.status_code == 303
    page = client.get("/import").text
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


def _found(client: Any, query: str) -> list[str]:
    """The candidate ids the list page links to for a search."""
    page = client.get("/candidates", params={"q": query}).text
    return re.findall(r'href="/candidates/([^"]+)" class="cand"', page)


def _asset(asset_id: str, name: str, aliases: tuple[str, ...] = (), sponsor: str = "") -> Asset:
    return Asset(asset_id, name, (PhaseEvent(Phase.PHASE1, dt.date(2024, 1, 1)),), sponsor=sponsor, aliases=aliases)


# ------------------------------------------------------------------------------------------- pure parts


def test_search_matches_any_script_and_part_of_an_alias() -> None:
    gr1501 = _asset("genrix-gr1501", "xeligekimab", ("GR1501", "赛立奇单抗", "金立希"), "Genrix (智翔金泰)")
    other = _asset("fochon-fcn011", "FCN-011", (), "Fochon")
    pool = [gr1501, other]
    assert views.search(pool, query="赛立奇") == [gr1501]
    assert views.search(pool, query="ｇｒ１５０１") == [gr1501]  # full-width letters fold to GR1501
    assert views.search(pool, query="fcn 011") == [other]  # spaces and hyphens fold away
    assert views.search(pool, query="智翔") == []  # the sponsor is a filter, not a name
    assert views.search(pool, sponsor="智翔金泰") == [gr1501]
    assert views.search(pool) == [other, gr1501]  # blank filters: everyone, by phase then name


def test_unsafe_source_links_are_not_links() -> None:
    assert views.safe_url("javascript:alert(1)") == ""
    assert views.safe_url(" data:text/html,x") == ""
    assert views.safe_url("https://example.org/a") == "https://example.org/a"


def test_rate_sources_link_only_their_urls() -> None:
    from pipecast.web.results import linked

    pieces = linked("BIO 2021, https://example.org/r.pdf. Note <b>x</b> javascript:alert(1)")
    assert pieces == [("BIO 2021, ", ""), ("https://example.org/r.pdf", "https://example.org/r.pdf"),
                      (". Note <b>x</b> javascript:alert(1)", "")]


def test_both_languages_have_the_same_words() -> None:
    assert set(i18n.WEB_STRINGS["en"]) == set(i18n.WEB_STRINGS["zh"])
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"\bt\.([a-z_0-9]+)", template.read_text(encoding="utf-8")))
    for lang in i18n.LANGUAGES:
        missing = used - set(i18n.strings(lang)) - {"get", "warnings_original"}
        assert not missing, (lang, missing)


def test_dates_and_language_choice() -> None:
    day = dt.date(2025, 11, 1)
    assert i18n.format_date(day, "en") == "1 Nov 2025"
    assert i18n.format_date(day, "zh") == "2025年11月1日"
    assert i18n.format_number(12345.678, "en", 1) == "12,345.7"
    assert i18n.choose_language("zh", "en", "en") == "zh"
    assert i18n.choose_language("xx", "zh", "en") == "zh"  # an unknown ?lang= is ignored
    assert i18n.choose_language(None, None, "fr") == "en"


def test_templates_load_nothing_from_elsewhere() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), template.name
        assert "<script>" not in text  # no inline script: the CSP allows scripts from this server only


# ------------------------------------------------------------------------------------------- pages


def test_reading_needs_a_login(client: Any) -> None:
    client.cookies.clear()
    answer = client.get("/candidates?q=GR1501", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_candidate_search_by_chinese_name(client: Any) -> None:
    _login(client, "viewer")
    assert _found(client, "赛立奇") == ["genrix-gr1501"]
    assert client.get("/candidates", params={"phase": "approved"}).text.count('class="cand"') == 5


def test_every_page_renders_in_both_languages(client: Any) -> None:
    _login(client, "viewer")
    for lang, word, html_lang in (("en", "Overview", 'lang="en"'), ("zh", "概览", 'lang="zh-CN"')):
        for path in ("/", "/candidates", "/candidates/genrix-gr1802", "/forecast?run=1", "/scenarios",
                     "/import", "/audit"):
            answer = client.get(path, params={"lang": lang})
            assert answer.status_code == 200, (path, answer.text[:500])
            assert html_lang in answer.text
            assert word in answer.text
            assert "script-src 'self'" in answer.headers["content-security-policy"]
    # the cookie keeps the language chosen last
    assert 'lang="en"' in client.get("/audit").text


def test_forecast_form_error_is_a_sentence(client: Any) -> None:
    _login(client, "viewer")
    answer = client.get("/forecast", params={"run": "1", "target": "2027-2030:x"})
    assert answer.status_code == 422
    assert "cannot read target" in answer.text


def test_plotly_is_served_from_the_installed_package(client: Any) -> None:
    answer = client.get("/static/plotly.min.js")
    assert answer.status_code == 200
    assert answer.content == (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    assert client.get("/static/../pages.py").status_code == 404
    assert client.get("/static/pages.py").status_code == 404


def _upload(client: Any, csrf: str, name: str, text: str, **extra: str) -> Any:
    return client.post("/import", data={"csrf_token": csrf, "action": "dry_run", **extra},
                       files={"file": (name, text.encode("utf-8"), "text/csv")})


def test_import_dry_run_names_the_row_and_writes_nothing(client: Any) -> None:
    csrf = _login(client, "admin")
    text = HEADER + "w-1,One,Fochon Pharmaceuticals,mab,Oncology,phase1,2024-01-05\n" \
                    "w-2,Two,Fochon Pharmaceuticals,mab,Oncology,phase 9,2024-01-05\n"
    answer = _upload(client, csrf, "../../etc/bad.csv", text)
    assert answer.status_code == 422
    row = re.search(r'<table id="row-errors">.*?<tbody><tr>(.*?)</tr>', answer.text, re.S)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert cells[:3] == ["bad.csv", "3", "phase"]  # the path cut to its name; line 3 of the file
    assert _found(client, "w-1") == []


def test_import_dry_run_names_every_bad_row_up_to_the_cap(client: Any) -> None:
    from pipecast.api.rowcheck import MAX_LISTED

    csrf = _login(client, "admin")
    lines = [f"w-many-{i},N{i},Fochon Pharmaceuticals,mab,Oncology,{'phase 9' if i % 2 else 'phase1'},"
             f"{'later' if i % 4 == 0 else '2024-01-05'}" for i in range(8)]
    answer = _upload(client, csrf, "many.csv", HEADER + "\n".join(lines) + "\n")
    assert answer.status_code == 422
    body = re.search(r'<table id="row-errors">.*?<tbody>(.*?)</tbody>', answer.text, re.S)
    assert body is not None
    shown = [re.findall(r"<td[^>]*>(.*?)</td>", r)[:3] for r in re.findall(r"<tr>(.*?)</tr>", body.group(1))]
    # i odd: a bad phase; i a multiple of 4: a bad date; file row = i + 2
    expected = sorted([["many.csv", str(i + 2), "phase"] for i in range(8) if i % 2]
                      + [["many.csv", str(i + 2), "phase_start"] for i in range(8) if i % 4 == 0],
                      key=lambda r: int(r[1]))
    assert shown == expected
    assert 'id="problems-more"' not in answer.text
    many = HEADER + "".join(f"w-cap-{i},N,Fochon Pharmaceuticals,mab,Oncology,phase 9,2024-01-05\n"
                            for i in range(MAX_LISTED + 7))
    capped = _upload(client, csrf, "cap.csv", many, lang="zh")
    assert capped.text.count('<td class="num">') == MAX_LISTED
    assert "另有 7 个问题未列出" in capped.text or "and 7 more problem(s)" in capped.text
    assert _found(client, "w-many-0") == []


def test_import_commit_writes_what_the_dry_run_showed_and_escapes_names(client: Any) -> None:
    csrf = _login(client, "admin")
    text = HEADER + 'w-9,"<script>alert(1)</script>",Fochon Pharmaceuticals,mab,Oncology,phase1,2024-01-05\n'
    preview = _upload(client, csrf, "good.csv", text)
    assert preview.status_code == 200
    assert _found(client, "w-9") == []  # a dry run writes nothing
    staged = re.search(r'name="staged" value="([^"]+)"', preview.text)
    assert staged is not None
    forged = client.post("/import", data={"action": "commit", "staged": staged.group(1)})  # no CSRF token
    assert forged.status_code == 403
    done = client.post("/import", data={"csrf_token": csrf, "action": "commit", "staged": staged.group(1)})
    assert done.status_code == 200
    assert "Imported" in done.text
    again = client.post("/import", data={"csrf_token": csrf, "action": "commit", "staged": staged.group(1)})
    assert again.status_code == 404  # a staged upload commits once
    listing = client.get("/candidates", params={"q": "w-9"}).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing
    assert "<script>alert(1)</script>" not in listing
    audit = client.get("/audit").text
    assert "imports.post" in audit
    refused = client.get("/audit", params={"outcome": "refused"}).text
    assert "imports.post" not in refused  # the filter keeps only refusals
    assert "import.post · refused 403" in refused  # the forged commit above, recorded as an attempt


def test_import_needs_an_editor_of_the_owner(client: Any) -> None:
    csrf = _login(client, "viewer")
    text = HEADER + "w-5,Five,Fochon Pharmaceuticals,mab,Oncology,phase1,2024-01-05\n"
    assert _upload(client, csrf, "v.csv", text).status_code == 403
    csrf = _login(client, "fochon-editor")
    assert _upload(client, csrf, "mine.csv", text).status_code == 200  # its own organisation's candidate
    theirs = HEADER + "w-6,Six,Chongqing Genrix Biopharmaceutical,mab,Oncology,phase1,2024-01-05\n"
    refused = _upload(client, csrf, "theirs.csv", theirs)
    assert refused.status_code == 422
    assert "may not write for w-6" in refused.text


def test_login_form_refuses_a_wrong_password_on_the_page(client: Any) -> None:
    client.cookies.clear()
    answer = client.post("/signin", data={"username": "admin", "password": "nope", "next": "/"},
                         params={"lang": "zh"})
    assert answer.status_code == 401
    assert "用户名或密码错误" in answer.text
    assert client.post("/signin", data={"username": "admin", "password": PASSWORD, "next": "//evil.example"},
                       follow_redirects=False).headers["location"] == "/"


def test_unknown_candidate_is_a_404_page_with_the_id_escaped(client: Any) -> None:
    _login(client, "viewer")
    answer = client.get("/candidates/<img src=x onerror=alert(1)>")
    assert answer.status_code == 404
    assert "&lt;img src=x onerror=alert(1)&gt;" in answer.text
    assert "<img src=x" not in answer.text


def test_public_read_shows_pages_without_login_but_not_the_import(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from pipecast.api import ApiSettings, create_app
    from pipecast.domain import Asset as A
    from pipecast.store import Store

    db = str(tmp_path / "p.sqlite")
    with Store.open(db) as store:
        store.add_assets([A("x-1", "Xeno", (PhaseEvent(Phase.PHASE2, dt.date(2024, 3, 1)),), sponsor="S")])
    with TestClient(create_app(ApiSettings(db=db, public_read=True))) as anonymous:
        assert _found(anonymous, "xeno") == ["x-1"]
        assert anonymous.get("/candidates/x-1").status_code == 200
        assert anonymous.get("/import", follow_redirects=False).status_code == 303
        refused = anonymous.post("/import", data={"action": "dry_run"},
                                 files={"file": ("a.csv", HEADER.encode(), "text/csv")}, follow_redirects=False)
        assert refused.status_code == 303
