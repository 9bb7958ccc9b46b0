"""The backtest HTML page: three charts with the right numbers, nothing loaded from outside."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from cli_app import invoke
from pipecast.backtest.chongqing import run_chongqing
from pipecast.backtest.page import coverage_figure, fan_figure, pit_figure, render_page
from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.rates import Duration, RateRow, RateSet

RATES = RateSet("t", (
    RateRow(Phase.PRECLINICAL, 0.5, Duration(12.0, 20.0)),
    RateRow(Phase.PHASE1, 0.6, Duration(12.0, 24.0)),
    RateRow(Phase.PHASE2, 0.5, Duration(18.0, 30.0)),
    RateRow(Phase.PHASE3, 0.7, Duration(15.0, 28.0)),
    RateRow(Phase.FILED, 0.9, Duration(10.0, 16.0)),
))


def _result() -> dict[str, Any]:
    assets = [Asset(f"x{i}", f"X{i}", (PhaseEvent(Phase.FILED, dt.date(2023, 1 + i, 1)),
                                       PhaseEvent(Phase.APPROVED, dt.date(2024 + i % 2, 6, 1))))
              for i in range(6)]
    assets.append(Asset("late", "Late", (PhaseEvent(Phase.FILED, dt.date(2023, 9, 1)),
                                         PhaseEvent(Phase.APPROVED, dt.date(2026, 3, 1)))))
    return run_chongqing(assets, dt.date(2024, 1, 1), [2024, 2025, 2026], {"t": RATES},
                         data_as_of=dt.date(2026, 6, 1))


def _page(result: dict[str, Any]) -> str:
    return render_page(result, title="Backtest <test>", meta="m", notes=["a note"], plotly_js="/*plotly bundle*/",
                       css="body{}", plot_script="/*plot*/", csp="default-src 'none'")


def _figures(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="pipecast-figures">(.*?)</script>', page, re.S)
    assert match
    figures: dict[str, Any] = json.loads(match.group(1))
    return figures


def test_three_charts_with_the_numbers_of_the_result() -> None:
    result = _result()
    page = _page(result)
    figures = _figures(page)
    assert set(figures) == {"fig-fan", "fig-coverage", "fig-pit"}
    for key in figures:
        assert f'<div id="{key}" class="chart"></div>' in page
    observed = next(t for t in figures["fig-fan"]["data"] if t["name"] == "observed")
    assert observed["x"] == ["2024", "2025"]  # 2026 not complete: not scored
    assert observed["y"] == [3, 3]
    partial = next(t for t in figures["fig-fan"]["data"] if t["name"].startswith("observed so far"))
    assert (partial["x"], partial["y"]) == (["2026"], [1])
    line = next(t for t in figures["fig-fan"]["data"] if t["name"] == "rates: t")
    assert line["y"] == [round(r["t"]["expected"], 3) for r in result["years"]]
    cov = next(t for t in figures["fig-coverage"]["data"] if t["name"] == "rates: t")
    shares = [result["scores"]["t"]["coverage"][k]["share"] * 100 for k in ("50%", "80%", "95%")]
    assert cov["y"] == pytest.approx(shares, abs=0.01)
    bars = next(t for t in figures["fig-pit"]["data"] if t["name"] == "rates: t")
    assert sum(bars["y"]) == 2  # one PIT value per scored year
    assert "Backtest &lt;test&gt;" in page  # text is escaped


def test_figure_builders_stand_alone() -> None:
    result = _result()
    assert fan_figure(result)["layout"]["xaxis"]["type"] == "category"
    assert coverage_figure(result)["layout"]["xaxis"]["range"] == [40, 100]
    assert pit_figure(result)["layout"]["barmode"] == "group"


def test_no_external_url_in_the_page() -> None:
    page = _page(_result())
    assert "http://" not in page
    assert "https://" not in page
    assert "//cdn" not in page
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)


def test_command_writes_the_page_with_plotly_inline(tmp_path: Path) -> None:
    from plotly.offline import get_plotlyjs

    out = tmp_path / "bt.html"
    run = invoke(str(tmp_path / "db.sqlite"), "backtest", "chongqing", "--as-of", "2024-01-01", "--html", str(out))
    assert run.exit_code == 0, run.stderr
    page = out.read_text(encoding="utf-8")
    assert get_plotlyjs()[:200] in page  # the bundle of the installed package, inline
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", page)
    assert "connect-src 'none'" in page
    outside = page.replace(get_plotlyjs().replace("</script", "<\\/script"), "")
    assert "http://" not in outside
    assert "https://" not in outside
    assert set(_figures(page)) == {"fig-fan", "fig-coverage", "fig-pit"}
