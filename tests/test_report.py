"""The HTML report: self-contained, escaped, the headline matches the forecast, and it renders offline."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest

from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.errors import InputError
from pipecast.facade import forecast as run_forecast
from pipecast.engines.result import Forecast
from pipecast.rates import Duration, RateRow, RateSet
from pipecast.report import render_report, write_report
from pipecast.targets import Target, parse_target

AS_OF = dt.date(2025, 11, 1)
YEARS = "2025-2031"
TARGET = parse_target("2027-2030:1-3")
EVIL = "<script>alert(1)</script>"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
RATE_TABLE = {
    Phase.PRECLINICAL: (0.69, 12, 24),
    Phase.PHASE1: (0.52, 22, 45),
    Phase.PHASE2: (0.30, 36, 70),
    Phase.PHASE3: (0.58, 34, 60),
    Phase.FILED: (0.90, 13, 22),
}


def rate_set() -> RateSet:
    rows = tuple(
        RateRow(p, s, Duration(m, q), source=f"test source for {p.value} https://example.org/{p.value}")
        for p, (s, m, q) in RATE_TABLE.items()
    )
    return RateSet("test-rates", rows, "tests/test_report.py")


def asset(
    asset_id: str, phase: Phase, start: dt.date, *, name: str = "", sponsor: str = "", count: int = 1
) -> Asset:
    return Asset(asset_id, name or asset_id, (PhaseEvent(phase, start),), sponsor=sponsor, count=count)


def portfolio() -> list[Asset]:
    return [
        asset("f-1", Phase.FILED, dt.date(2025, 6, 1), name="Filed one"),
        asset("f-2", Phase.FILED, dt.date(2025, 9, 1), name="Filed two"),
        asset("p3-1", Phase.PHASE3, dt.date(2023, 1, 10), name="Late phase 3"),
        asset("p3-2", Phase.PHASE3, dt.date(2024, 3, 1), name="Phase 3 antibody"),
        asset("xss", Phase.PHASE3, dt.date(2023, 6, 1), name=EVIL, sponsor='"Evil" & <b>Co</b>'),
        asset("cohort:p2", Phase.PHASE2, dt.date(2023, 6, 1), name="Unnamed phase 2 candidates", count=8),
        asset("cohort:p1", Phase.PHASE1, dt.date(2024, 6, 30), name="Unnamed phase 1 candidates", count=12),
        asset("done", Phase.APPROVED, dt.date(2025, 3, 1), name="Approved this year"),
    ]


@pytest.fixture(scope="module")
def result() -> Forecast:
    return run_forecast(portfolio(), rates=rate_set(), as_of=AS_OF, years=YEARS)


@pytest.fixture(scope="module")
def page(result: Forecast) -> str:
    return render_report(result, TARGET, title="Test report")


def section(page: str, section_id: str) -> str:
    match = re.search(rf'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"no section {section_id}"
    return match.group(1)


def test_page_is_self_contained(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I), "a script is loaded from somewhere"
    assert not re.search(r"<link\b", page, re.I), "a stylesheet or font is linked"
    styles = " ".join(re.findall(r"<style>(.*?)</style>", page, re.S))
    assert "@import" not in styles and "url(" not in styles and "@font-face" not in styles
    assert "Plotly.newPlot" in page and "plotly.js v" in page  # the library itself is inline
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    for figure_id in ("fig-fan", "fig-pmf", "fig-funnel"):
        assert f'id="{figure_id}"' in page


def test_headline_probability_matches_check(result: Forecast, page: str) -> None:
    check = result.check(TARGET)
    p = check.all_years_in_band
    assert 0.01 < p < 0.99, "the fixture should give a probability the format shows as a plain percent"
    headline = section(page, "headline")
    big = re.search(r'<div class="big"[^>]*>(.*?)</div>', headline, re.S)
    assert big and big.group(1) == f"{p:.1%}"
    assert f"is {p:.1%}." in headline  # the sentence says the same number
    assert f"{check.all_years_at_least_low:.1%}" in headline
    for year, p_year in check.per_year_in_band.items():
        row = re.search(rf"<tr><td class=\"num\">{year}</td><td class=\"num\">([^<]*)</td>", headline)
        assert row and row.group(1) == f"{p_year:.1%}"


def test_data_is_escaped(page: str) -> None:
    assert EVIL not in page
    assert "alert(1)" in page  # it is shown, as text
    assert html.escape(EVIL) in section(page, "candidates")
    assert html.escape(EVIL) in section(page, "contributors")
    assert html.escape('"Evil" & <b>Co</b>') in section(page, "candidates")
    assert "<b>Co</b>" not in page
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert len(scripts) == 4  # data, figures, plotly.js, the plotting call: nothing injected


def test_embedded_data_traces_every_figure(result: Forecast, page: str) -> None:
    match = re.search(r'<script type="application/json" id="pipecast-data">(.*?)</script>', page, re.S)
    assert match
    data = json.loads(match.group(1))
    assert data["fan"] == json.loads(json.dumps(result.fan()))
    assert data["target"]["all_years_in_band"] == pytest.approx(result.check(TARGET).all_years_in_band)
    names = {c["name"] for c in data["target"]["contributors"]}
    assert EVIL in names  # JSON escapes keep the data exact


def test_assumptions_list_every_rate_row(result: Forecast, page: str) -> None:
    assumptions = section(page, "assumptions")
    assert AS_OF.isoformat() in assumptions
    assert "test-rates" in assumptions and "tests/test_report.py" in assumptions
    for row in result.rate_set.rows:
        assert f"{row.p_success:.1%}" in assumptions
        assert f"{row.duration.median_months:.1f}" in assumptions
        assert html.escape(row.source) in assumptions or row.source.split(" https")[0] in assumptions
    assert "independent copies" in assumptions
    assert 'href="https://example.org/filed"' in assumptions


def test_chinese_labels(result: Forecast) -> None:
    page = render_report(result, TARGET, lang="zh")
    assert '<html lang="zh-CN">' in page
    for label in ("获批数量预测", "目标达成概率", "假设与方法", "各阶段管线分布"):
        assert label in page
    assert f"{result.check(TARGET).all_years_in_band:.1%}" in section(page, "headline")
    assert EVIL not in page


def test_unknown_language_is_an_input_error(result: Forecast) -> None:
    with pytest.raises(InputError):
        render_report(result, TARGET, lang="fr")


def test_open_ended_and_single_year_targets(result: Forecast) -> None:
    for target in (parse_target("2027-2030:1+"), parse_target("2028:2"), Target(2030, 2034, 1, 3)):
        page = render_report(result, target)
        assert f"{result.check(target).all_years_in_band:.1%}" in section(page, "headline")
    page = render_report(result, Target(2030, 2034, 1, 3))
    assert "2032, 2033, 2034" in section(page, "headline")  # years outside the forecast are named


def test_cli_writes_the_report(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipecast.cli import app

    assets = tmp_path / "assets.csv"
    assets.write_text(
        "id,name,sponsor,modality,therapeutic_area,phase,phase_start,count\n"
        "a-1,Filed antibody,Bio,monoclonal antibody,Immunology,NDA,2025-03-01,1\n"
        "a-2,Phase 3 drug,Pharma,small molecule,Oncology,Phase III,2023-06-15,1\n"
        "cohort:p1,Unnamed phase 1,,,,I期,2024-06-30,5\n",
        encoding="utf-8",
    )
    rates = tmp_path / "rates.csv"
    rates.write_text(
        "phase,p_success,median_months,p90_months\n"
        + "".join(f"{p.value},{s},{m},{q}\n" for p, (s, m, q) in RATE_TABLE.items()),
        encoding="utf-8",
    )
    out = tmp_path / "out" / "report.html"
    args = [
        "report",
        "--out",
        str(out),
        "--assets",
        str(assets),
        "--rates",
        str(rates),
        "--as-of",
        "2025-11-01",
    ]
    run = CliRunner().invoke(
        app, [*args, "--years", "2025-2031", "--target", "2027-2030:1-3", "--lang", "zh"]
    )
    assert run.exit_code == 0, run.output
    assert run.output.strip() == str(out)
    text = out.read_text(encoding="utf-8")
    assert "目标达成概率" in text and "Filed antibody" in text


@pytest.mark.browser
def test_renders_offline_in_chromium(result: Forecast, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    path = write_report(tmp_path / "report.html", result, TARGET)
    errors: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.resolve().as_uri())
            page.wait_for_function(
                "document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3", timeout=30_000
            )
            assert page.locator("#fig-fan .main-svg").count() >= 1
            assert page.locator("#fig-pmf .main-svg").count() >= 1
            assert page.locator("#fig-funnel .main-svg").count() >= 1
            assert page.locator("#fig-pmf .bars path").count() > 0  # the bars were drawn
            headline = page.locator("#headline .big").inner_text()
            assert headline == f"{result.check(TARGET).all_years_in_band:.1%}"
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert requests and all(url.startswith("file://") for url in requests), requests
    assert shot.stat().st_size > 10_000
