"""The dashboard's own plotly figures: target dials per year, counts by area or modality, and one candidate's
approval-year distribution. The fan chart, the yearly distributions and the phase funnel are the report's
(`pipecast.report.charts`), so the dashboard and the report draw the same numbers the same way.

Every figure is returned as plotly JSON text; the page embeds it in a non-executed JSON script element and
`static/app.js` draws it. Text that comes from data is escaped (`esc`): plotly renders some HTML in labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipecast.engines.result import Forecast
from pipecast.report.charts import count_dtick, fan_figure, funnel_figure, pmf_figure
from pipecast.report.format import esc, format_probability
from pipecast.report.style import BLUE, FONT_STACK, IN_BAND, OUT_BAND
from pipecast.targets import Target
from pipecast.web.views import Count

__all__ = ["approval_years_figure", "breakdown_figure", "fan_figure", "funnel_figure", "gauge_figure",
           "pmf_figure", "scenario_figure", "to_json"]


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    return {
        "template": "plotly_white",
        "height": height,
        "autosize": True,
        "margin": {"l": 40, "r": 20, "t": 30, "b": 40},
        "font": {"family": FONT_STACK, "size": 13},
    } | extra


def to_json(figure: Any) -> str:
    return str(figure.to_json())


def gauge_figure(forecast: Forecast, target: Target) -> Any:
    """One dial per target year: P(target band) in that year, the band's colour where it is likely."""
    import plotly.graph_objects as go

    check = forecast.check(target)
    years = list(check.per_year_in_band)
    fig = go.Figure()
    n = max(len(years), 1)
    for k, year in enumerate(years):
        p = check.per_year_in_band[year]
        fig.add_trace(go.Indicator(
            mode="gauge+number",
            value=round(p * 100, 1),
            number={"suffix": "%", "font": {"size": 26}},
            title={"text": f"{year}", "font": {"size": 15}},
            domain={"x": [k / n + 0.035, (k + 1) / n - 0.035], "y": [0, 1]},
            gauge={
                "axis": {"range": [0, 100], "ticksuffix": "%", "tickvals": [0, 50, 100],
                         "ticktext": ["0%", "50%", "100%"], "tickfont": {"size": 11}},
                "bar": {"color": IN_BAND if p >= 0.5 else f"rgb({BLUE})"},
                "steps": [{"range": [0, 100], "color": "#eef1f5"}],
            },
        ))
    fig.update_layout(**_layout(210, margin={"l": 25, "r": 25, "t": 40, "b": 10}))
    return fig


def breakdown_figure(counts: Sequence[Count], t: dict[str, str], *, limit: int = 12) -> Any:
    """Horizontal bars: candidates per value (area, modality), largest first; the rest folded into one bar."""
    import plotly.graph_objects as go

    shown = list(counts[:limit])
    rest = sum(c.count for c in counts[limit:])
    labels = [esc(c.key) if c.key else esc(t["unspecified"]) for c in shown]
    values = [c.count for c in shown]
    if rest:
        labels.append("…")
        values.append(rest)
    fig = go.Figure(go.Bar(
        y=labels, x=values, orientation="h", text=[str(v) for v in values], textposition="outside",
        cliponaxis=False, marker={"color": f"rgba({BLUE},0.7)"}, hovertemplate="%{y}: %{x}<extra></extra>",
    ))
    fig.update_layout(**_layout(60 + 30 * len(values), margin={"l": 10, "r": 40, "t": 10, "b": 40},
                                bargap=0.25, showlegend=False))
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text=t["axis_candidates"], rangemode="tozero", tickformat="d",
                     dtick=count_dtick(max([*values, 1]) * 1.1, ticks=4))
    return fig


def approval_years_figure(forecast: Forecast, row: int, t: dict[str, str]) -> Any:
    """P(first approved in year) for one candidate (one copy of a cohort), one bar per forecast year."""
    import plotly.graph_objects as go

    years = list(forecast.years)
    values = [float(forecast.probabilities[row, j]) for j in range(len(years))]
    fig = go.Figure(go.Bar(
        x=years, y=values, marker={"color": OUT_BAND}, text=[format_probability(v) for v in values],
        textposition="outside", cliponaxis=False, hovertemplate="%{x}: %{y:.1%}<extra></extra>",
    ))
    top = max([*values, 0.05])
    fig.update_layout(**_layout(300, showlegend=False))
    fig.update_xaxes(title_text=t["axis_year"], dtick=1, tickformat="d")
    fig.update_yaxes(title_text=t["axis_probability"], tickformat=".0%", range=[0, min(1.0, top * 1.25)])
    return fig


def scenario_figure(names: Sequence[str], expected_by_year: Sequence[dict[str, float]],
                    t: dict[str, str]) -> Any:
    """Expected approvals per year, one line per scenario (the comparison's Monte Carlo means)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, by_year in zip(names, expected_by_year, strict=True):
        years = sorted(by_year, key=int)
        fig.add_trace(go.Scatter(x=[int(y) for y in years], y=[by_year[y] for y in years], mode="lines+markers",
                                 name=esc(name), hovertemplate=esc(name) + " %{x}: %{y:.2f}<extra></extra>"))
    fig.update_layout(**_layout(330, legend={"orientation": "h", "y": -0.25, "x": 0}))
    fig.update_xaxes(title_text=t["axis_year"], dtick=1, tickformat="d")
    fig.update_yaxes(title_text=t["axis_approvals"], rangemode="tozero")
    return fig
