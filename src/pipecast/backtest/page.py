"""The HTML page of a backtest (pure): a forecast fan against the observed counts, coverage, PIT histogram.

Builds plotly figure specs as plain dicts and the page as one string; the caller passes the plotly.js
bundle and the page's CSS, script and Content-Security-Policy (the shell reads them from the installed
plotly package and from the pipecast report's style), so the page opens offline and loads nothing.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipecast.backtest.scores import central_interval

#: Colours per forecaster (the report's blue first), then a cycle.
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#7f7f7f", "#e377c2", "#17becf")
LEVELS = (0.5, 0.8, 0.95)
PIT_BINS = 5

LABELS = {
    "model": "pipecast model",
    "poisson_last_year": "baseline: Poisson(last year)",
    "negative_binomial": "baseline: negative binomial",
    "bundled_independent": "bundled global rate, independent (before)",
    "global": "rates: global",
    "china": "rates: china",
    "china_calibrated": "rates: china_calibrated",
}


@dataclass(frozen=True)
class Band:
    expected: float
    intervals: dict[float, tuple[int, int]]


def label(name: str) -> str:
    return LABELS.get(name, f"rates: {name}")


def _band(summary: Mapping[str, Any]) -> Band | None:
    if "pmf" in summary:
        pmf = list(summary["pmf"])
        expected = float(sum(k * p for k, p in enumerate(pmf)))
        return Band(expected, {lv: central_interval(pmf, lv) for lv in LEVELS})
    if "expected" in summary:
        intervals = {lv: tuple(summary[f"interval_{round(lv * 100)}"]) for lv in LEVELS
                     if f"interval_{round(lv * 100)}" in summary}
        return Band(float(summary["expected"]), intervals)
    return None


def series(result: Mapping[str, Any]) -> tuple[list[str], list[int | None], dict[str, list[Band | None]]]:
    """(x labels, observed counts, bands per forecaster) from any backtest result of this package."""
    rows = result.get("rows") or result.get("years") or []
    names = list(result.get("forecasters") or result.get("scores") or [])
    x = [str(r["year"]) for r in rows]
    observed = [r.get("observed") for r in rows]
    bands: dict[str, list[Band | None]] = {}
    for name in names:
        values = []
        for row in rows:
            summary = row.get(name)
            if summary is None and name == "model" and "pmf" in row:
                summary = row
            values.append(_band(summary) if isinstance(summary, Mapping) else None)
        if any(v is not None for v in values):
            bands[name] = values
    return x, observed, bands


def _hex_rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def fan_figure(result: Mapping[str, Any]) -> dict[str, Any]:
    """Each forecaster's expected count and 80% interval per year, and the observed counts as points."""
    x, observed, bands = series(result)
    data: list[dict[str, Any]] = []
    for i, (name, values) in enumerate(bands.items()):
        colour = COLOURS[i % len(COLOURS)]
        xs = [x[j] for j, v in enumerate(values) if v is not None and 0.8 in v.intervals]
        lo = [v.intervals[0.8][0] for v in values if v is not None and 0.8 in v.intervals]
        hi = [v.intervals[0.8][1] for v in values if v is not None and 0.8 in v.intervals]
        if xs:
            data.append({"type": "scatter", "mode": "lines", "x": xs + xs[::-1], "y": hi + lo[::-1], "fill": "toself",
                         "fillcolor": _hex_rgba(colour, 0.12), "line": {"width": 0}, "hoverinfo": "skip",
                         "name": f"{label(name)}: 80% interval", "legendgroup": name, "showlegend": False})
        data.append({"type": "scatter", "mode": "lines+markers", "name": label(name), "legendgroup": name,
                     "x": [x[j] for j, v in enumerate(values) if v is not None],
                     "y": [round(v.expected, 3) for v in values if v is not None],
                     "line": {"color": colour, "width": 2}, "marker": {"size": 5}})
    data.append({"type": "scatter", "mode": "markers", "name": "observed",
                 "x": [x[j] for j, o in enumerate(observed) if o is not None],
                 "y": [o for o in observed if o is not None],
                 "marker": {"color": "#111", "size": 10, "symbol": "diamond"}})
    rows = result.get("rows") or result.get("years") or []
    partial = [(str(r["year"]), r["observed_so_far"]) for r in rows
               if r.get("observed") is None and r.get("observed_so_far")]
    if partial:
        data.append({"type": "scatter", "mode": "markers", "name": "observed so far (year not complete)",
                     "x": [p[0] for p in partial], "y": [p[1] for p in partial],
                     "marker": {"color": "#111", "size": 10, "symbol": "diamond-open"}})
    return {"data": data, "layout": _layout("Forecast (expected, shaded: 80% interval) against observed counts",
                                            "year", "approvals in the year", category=True)}


def coverage_figure(result: Mapping[str, Any]) -> dict[str, Any]:
    """Share of years inside each central interval, with Wilson 95% intervals, against the nominal level."""
    data: list[dict[str, Any]] = [{"type": "scatter", "mode": "lines", "x": [0, 100], "y": [0, 100],
                                   "name": "calibrated", "line": {"color": "#999", "dash": "dash"}}]
    for i, (name, scores) in enumerate(_scored(result).items()):
        colour = COLOURS[i % len(COLOURS)]
        nominal, share, plus, minus = [], [], [], []
        for key, cov in scores["coverage"].items():
            level = float(cov["level"]) * 100
            value = float(cov["share"]) * 100
            nominal.append(level + (i - 2) * 0.8)  # a small offset so the error bars do not overlap
            share.append(round(value, 2))
            plus.append(round(float(cov["wilson95_high"]) * 100 - value, 2))
            minus.append(round(value - float(cov["wilson95_low"]) * 100, 2))
            del key
        data.append({"type": "scatter", "mode": "markers", "name": label(name), "x": nominal, "y": share,
                     "marker": {"color": colour, "size": 9},
                     "error_y": {"type": "data", "symmetric": False, "array": plus, "arrayminus": minus,
                                 "color": colour}})
    layout = _layout("Coverage of the central 50%, 80% and 95% intervals (bars: Wilson 95%)",
                     "nominal level (%)", "years inside the interval (%)")
    layout["xaxis"]["range"] = [40, 100]
    layout["yaxis"]["range"] = [-2, 102]
    return {"data": data, "layout": layout}


def pit_figure(result: Mapping[str, Any]) -> dict[str, Any]:
    """Histogram of randomised PIT values per forecaster: flat at the dashed line when calibrated."""
    data: list[dict[str, Any]] = []
    total = 0
    for i, (name, scores) in enumerate(_scored(result).items()):
        pits = [float(u) for u in scores.get("pit", [])]
        total = max(total, len(pits))
        counts = [0] * PIT_BINS
        for u in pits:
            counts[min(int(u * PIT_BINS), PIT_BINS - 1)] += 1
        centres = [round((b + 0.5) / PIT_BINS, 3) for b in range(PIT_BINS)]
        data.append({"type": "bar", "name": label(name), "x": centres, "y": counts,
                     "marker": {"color": COLOURS[i % len(COLOURS)]}})
    expected = total / PIT_BINS if total else 0
    data.append({"type": "scatter", "mode": "lines", "name": "uniform (calibrated)", "x": [0, 1],
                 "y": [expected, expected], "line": {"color": "#111", "dash": "dash"}})
    layout = _layout("Randomised PIT histogram (low: forecast ran high; high: forecast ran low)",
                     "PIT value", "years")
    layout["barmode"] = "group"
    layout["xaxis"]["range"] = [0, 1]
    return {"data": data, "layout": layout}


def _scored(result: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {k: v for k, v in (result.get("scores") or {}).items() if v.get("years")}


def _layout(title: str, x_title: str, y_title: str, *, category: bool = False) -> dict[str, Any]:
    xaxis: dict[str, Any] = {"title": {"text": x_title}, "gridcolor": "#e5e9ef"}
    if category:
        xaxis["type"] = "category"
    return {"title": {"text": title, "font": {"size": 15}}, "xaxis": xaxis,
            "yaxis": {"title": {"text": y_title}, "gridcolor": "#e5e9ef", "rangemode": "tozero"},
            "legend": {"orientation": "h", "y": -0.22}, "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
            "paper_bgcolor": "#fff", "plot_bgcolor": "#fff", "height": 440}


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def scores_table(result: Mapping[str, Any]) -> str:
    heads = ["forecaster", "years", "mean log score", "mean CRPS", "bias", "50%", "80% (Wilson 95%)", "95%"]
    lines = ["<table><thead><tr>" + "".join(
        f'<th class="{"num" if i else ""}">{esc(h)}</th>' for i, h in enumerate(heads)) + "</tr></thead><tbody>"]
    for name, s in _scored(result).items():
        cov = s["coverage"]
        c80 = cov["80%"]
        cells = [label(name), s["years"], _fmt(s["mean_log_score"]), _fmt(s["mean_crps"], 2), f"{s['bias']:+.2f}",
                 f"{cov['50%']['hits']}/{cov['50%']['years']}",
                 f"{c80['hits']}/{c80['years']} ({c80['wilson95_low']:.2f}-{c80['wilson95_high']:.2f})",
                 f"{cov['95%']['hits']}/{cov['95%']['years']}"]
        lines.append("<tr>" + "".join(f'<td class="{"num" if i else ""}">{esc(c)}</td>'
                                      for i, c in enumerate(cells)) + "</tr>")
    lines.append("</tbody></table>")
    return "".join(lines)


def years_table(result: Mapping[str, Any]) -> str:
    x, observed, bands = series(result)
    heads = ["year", "observed", *(label(n) for n in bands)]
    out = ["<table><thead><tr>" + "".join(f'<th class="{"num" if i else ""}">{esc(h)}</th>'
                                         for i, h in enumerate(heads)) + "</tr></thead><tbody>"]
    for j, year in enumerate(x):
        cells = [year, "-" if observed[j] is None else observed[j]]
        for values in bands.values():
            band = values[j]
            if band is None:
                cells.append("-")
            else:
                lo, hi = band.intervals.get(0.8, (None, None))
                cells.append(f"{band.expected:.1f} [{lo}-{hi}]")
        out.append("<tr>" + "".join(f'<td class="{"num" if i else ""}">{esc(c)}</td>'
                                    for i, c in enumerate(cells)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _script_json(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(
    result: Mapping[str, Any],
    *,
    title: str,
    meta: str,
    notes: Sequence[str],
    plotly_js: str,
    css: str,
    plot_script: str,
    csp: str,
) -> str:
    """One HTML document: the three charts, the score and year tables, the notes; nothing loaded from outside."""
    figures = {"fig-fan": fan_figure(result), "fig-coverage": coverage_figure(result), "fig-pit": pit_figure(result)}
    figures_json = json.dumps(figures, ensure_ascii=False, allow_nan=False)
    safe_js = plotly_js.replace("</script", "<\\/script")
    csp_attribute = html.escape(csp, quote=False).replace('"', "&quot;")
    note_items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    sections = [
        '<section><h2>Forecast against what happened</h2><div id="fig-fan" class="chart"></div>'
        '<p class="caption">Lines: expected count of each forecaster; shaded: its central 80% interval; '
        "diamonds: the observed count.</p></section>",
        f"<section><h2>Scores</h2>{scores_table(result)}"
        '<p class="caption">Log score: mean ln P(observed), higher is better. CRPS: discrete ranked probability '
        "score, lower is better. Bias: mean observed minus expected (positive: the forecast ran low).</p></section>",
        '<section><h2>Coverage</h2><div id="fig-coverage" class="chart"></div>'
        '<p class="caption">A calibrated forecaster sits on the dashed line; with few years the Wilson intervals '
        "are wide.</p></section>",
        '<section><h2>PIT histogram</h2><div id="fig-pit" class="chart"></div>'
        '<p class="caption">Randomised probability integral transform of each observed count under its forecast; '
        "calibrated forecasts give a flat histogram.</p></section>",
        f"<section><h2>Year by year</h2><div class=\"scroll\">{years_table(result)}</div>"
        '<p class="caption">Expected [central 80% interval].</p></section>',
    ]
    if note_items:
        sections.append(f"<section><h2>What this can and cannot show</h2><ul>{note_items}</ul></section>")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp_attribute}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="pipecast">',
        f"<title>{esc(title)}</title>",
        f"<style>{css}</style>",
        "</head>",
        "<body>",
        "<main>",
        f'<header><h1>{esc(title)}</h1><p class="meta">{esc(meta)}</p></header>',
        '<noscript><p class="warn">The charts need JavaScript; the tables below hold the same numbers.</p></noscript>',
        *sections,
        "<footer><p>pipecast backtest page; opens offline, loads nothing from outside.</p></footer>",
        "</main>",
        f'<script type="application/json" id="pipecast-figures">{_script_json(figures_json)}</script>',
        f"<script>{safe_js}</script>",
        f"<script>{plot_script}</script>",
        "</body>",
        "</html>",
    ])
