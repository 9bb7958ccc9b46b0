"""The report's Value section: figures checked against linear identities and the value functions, both
languages, the tornado chart, and the `report --value` switch."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipecast.cli import run
from pipecast.domain import Asset, Phase, PhaseEvent, Portfolio
from pipecast.engines.exact import forecast_portfolio
from pipecast.loading.deals import bundled_deal_path, load_deal
from pipecast.loading.economics import bundled_economics
from pipecast.loading.rates import bundled_rate_set
from pipecast.report.html import render_report
from pipecast.report.value_section import VALUE_STRINGS, compute_value_summary
from pipecast.targets import parse_target
from pipecast.value.deals import value_deal
from pipecast.value.rnpv import value_candidate

AS_OF = dt.date(2026, 12, 1)
TARGET = parse_target("2027-2030:1-3")


def portfolio() -> list[Asset]:
    return [
        Asset("genrix-gr1803", "velinotamig", (PhaseEvent(Phase.PHASE2, dt.date(2025, 6, 4)),
                                               PhaseEvent(Phase.FILED, dt.date(2026, 1, 8))),
              modality="bispecific antibody", therapeutic_area="Oncology"),
        Asset("b", "Beta", (PhaseEvent(Phase.PHASE1, dt.date(2025, 1, 1)),), modality="small molecule"),
        Asset("c", "Gamma cohort", (PhaseEvent(Phase.PHASE2, dt.date(2024, 6, 1)),), count=3),
    ]


@pytest.fixture(scope="module")
def summary_and_forecast() -> tuple[Any, Any]:
    forecast = forecast_portfolio(Portfolio.of(portfolio(), AS_OF), bundled_rate_set("china"), range(2027, 2031))
    return compute_value_summary(forecast, paths=500), forecast


def test_pipeline_rnpv_and_the_linear_swings(summary_and_forecast: tuple[Any, Any]) -> None:
    """rNPV is linear in development costs and in peak sales: costs x0.8 adds 0.2 x the development PV,
    peak x1.2 adds 0.2 x the commercial PV (summed over every copy)."""
    summary, forecast = summary_and_forecast
    table = bundled_economics()
    values = [value_candidate(a, forecast.rate_set, table.for_candidate(a.therapeutic_area, a.modality), AS_OF)
              for a in forecast.assets]
    development = sum(v.development_pv * v.count for v in values)
    commercial = sum(v.commercial_pv * v.count for v in values)
    assert summary.pipeline_rnpv == pytest.approx(commercial - development, rel=1e-12)
    swings = {s.input: s for s in summary.tornado}
    assert swings["development costs"].low == pytest.approx(summary.pipeline_rnpv + 0.2 * development, rel=1e-9)
    assert swings["development costs"].high == pytest.approx(summary.pipeline_rnpv - 0.2 * development, rel=1e-9)
    assert swings["peak sales"].high == pytest.approx(summary.pipeline_rnpv + 0.2 * commercial, rel=1e-9)
    widths = [abs(s.high - s.low) for s in summary.tornado]
    assert widths == sorted(widths, reverse=True)
    assert summary.candidates == 1 + 1 + 3
    assert summary.p10 <= summary.p50 <= summary.p90


def test_deal_and_programme_lines(summary_and_forecast: tuple[Any, Any]) -> None:
    summary, forecast = summary_and_forecast
    (deal_line,) = summary.deals  # no store: the bundled GR1803 terms, the candidate being in the forecast
    with bundled_deal_path("gr1803") as path:
        deal = load_deal(path)
    gr1803 = forecast.assets[0]
    econ = bundled_economics().for_candidate(gr1803.therapeutic_area, gr1803.modality)
    direct = value_deal(deal, gr1803, forecast.rate_set, econ, AS_OF)
    assert deal_line.headline == 20 + 292 + 400
    assert deal_line.licensor_value == pytest.approx(direct.licensor, rel=1e-12)
    assert deal_line.note_key == "deal_assumed"
    programme = summary.programme
    assert programme["cost_per_expected_approval"] == pytest.approx(
        programme["expected_outlay"] / programme["expected_approvals"], rel=1e-12
    )


def _section(page: str) -> str:
    match = re.search(r'<section id="value">(.*?)</section>', page, re.S)
    assert match, "no value section"
    return match.group(1)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_section_and_its_tornado_in_the_page(summary_and_forecast: tuple[Any, Any], lang: str) -> None:
    summary, forecast = summary_and_forecast
    page = render_report(forecast, TARGET, lang=lang, value=summary)
    body = _section(page)
    t = VALUE_STRINGS[lang]
    assert t["h_value"] in body
    assert f"{summary.deals[0].licensor_value:,.1f}" in body
    assert f"{summary.programme['cost_per_expected_approval']:,.1f}" in body
    figures = json.loads(re.search(r'id="pipecast-figures">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    down, up = figures["fig-tornado"]["data"]
    # Each bar starts at the pipeline rNPV and ends at the swung value.
    for trace, attr in ((down, "low"), (up, "high")):
        ends = [b + x for b, x in zip(trace["base"], trace["x"], strict=True)]
        assert ends == pytest.approx([getattr(s, attr) for s in summary.tornado], rel=1e-9)
        assert trace["y"][0] == t[f"input_{summary.tornado[0].input}"]
    data = json.loads(re.search(r'id="pipecast-data">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert data["value"]["pipeline_rnpv"] == pytest.approx(summary.pipeline_rnpv)
    # Switched off: no section, no tornado.
    plain = render_report(forecast, TARGET, lang=lang)
    assert 'id="value"' not in plain
    assert "fig-tornado" not in plain


def test_every_string_is_in_both_languages() -> None:
    assert set(VALUE_STRINGS["en"]) == set(VALUE_STRINGS["zh"])
    assert all(v.strip() for lang in VALUE_STRINGS.values() for v in lang.values())


def test_report_value_option_with_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "p.sqlite")
    assert run(["--db", db, "load-bundled", "chongqing"]) == 0
    out = tmp_path / "r.html"
    assert run(["--db", db, "report", "--value", "--as-of", "2026-12-01", "--out", str(out)]) == 0
    body = _section(out.read_text(encoding="utf-8"))
    assert "GR1803" in body
    assert "Cullinan" in body
    assert "FCN-338" in body  # recorded deals from the store, valued or not
    assert "terminated" in body
    assert body.count("not valued") == 3
    assert run(["--db", db, "report", "--as-of", "2026-12-01", "--out", str(out)]) == 0
    assert 'id="value"' not in out.read_text(encoding="utf-8")
    capsys.readouterr()


def test_a_deal_recorded_with_its_terms_is_valued_on_them(
    tmp_path: Path, summary_and_forecast: tuple[Any, Any]
) -> None:
    from pipecast.loading.deals import deal_record

    _, forecast = summary_and_forecast
    path = tmp_path / "DEAL.yaml"
    path.write_text(
        "candidate: genrix-gr1803\nlicensee: Cullinan Therapeutics\nlicensor: Genrix\ndate: 2025-06-04\n"
        "currency: USD\nupfront: 20\nmilestones: [{event: approved, amount: 692}]\n"
        "source: {title: t, url: 'https://example.org', date: 2025-06-04}\n",
        encoding="utf-8",
    )
    summary = compute_value_summary(forecast, stored_deals=[deal_record(path)], paths=200)
    (line,) = summary.deals
    gr1803 = forecast.assets[0]
    econ = bundled_economics().for_candidate(gr1803.therapeutic_area, gr1803.modality)
    direct = value_deal(load_deal(path), gr1803, forecast.rate_set, econ, AS_OF)
    assert line.note_key == "deal_recorded"
    assert line.licensor_value == pytest.approx(direct.licensor, rel=1e-12)
    # 20 paid + 692 x P(approval) x E[discount]: below the headline, above the upfront.
    assert line.licensor_value is not None
    assert 20 < line.licensor_value < 712
