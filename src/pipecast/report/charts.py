"""The three plotly figures of the report: fan chart, yearly distributions, pipeline by phase."""

from __future__ import annotations

import math
from typing import Any

from pipecast.engines.result import Forecast
from pipecast.report.format import FUNNEL_PHASES, band_label, esc, format_probability
from pipecast.report.style import BLUE, FONT_STACK, IN_BAND, OUT_BAND, TARGET_FILL
from pipecast.targets import Target


def _base_layout(height: int) -> dict[str, Any]:
    return {
        "template": "plotly_white",
        "height": height,
        "autosize": True,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "font": {"family": FONT_STACK, "size": 13},
    }


def count_dtick(top: float, ticks: int = 8) -> int:
    """A whole-number tick step (1, 2, 5, 10, 20, 50, ...) for an axis of counts reaching `top`: at most
    about `ticks` ticks, never a fraction."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor * ticks >= top:
                return step * factor
        step *= 10


def steps(years: list[int], values: list[float]) -> dict[str, list[float]]:
    """Each year's value as a flat step over the year (year − ½ to year + ½): no slope between years.

    Consecutive points share either x (the jump at a year boundary) or y (the year itself), so plotly
    draws only horizontal and vertical segments.
    """
    xs: list[float] = []
    ys: list[float] = []
    for year, value in zip(years, values, strict=True):
        xs += [year - 0.5, year + 0.5]
        ys += [value, value]
    return {"x": xs, "y": ys}


def fan_figure(forecast: Forecast, target: Target, t: dict[str, str]) -> Any:
    import plotly.graph_objects as go

    fan = forecast.fan()
    years = forecast.years
    fig = go.Figure()
    top = max([*fan["q95"], float(target.low), 1.0])
    band_low, band_high = float(target.low), float(target.high if target.high is not None else top + 1)
    if band_low == band_high:
        band_low, band_high = band_low - 0.2, band_high + 0.2
    fig.add_shape(
        type="rect",
        xref="x",
        yref="y",
        x0=target.first_year - 0.5,
        x1=target.last_year + 0.5,
        y0=band_low,
        y1=band_high,
        fillcolor=TARGET_FILL,
        line={"width": 1, "color": "rgba(44,160,44,0.5)", "dash": "dot"},
        layer="below",
    )
    fig.add_annotation(
        x=target.first_year - 0.45,
        y=band_high,
        xref="x",
        yref="y",
        text=esc(t["fan_target"].format(band=band_label(target))),
        showarrow=False,
        xanchor="left",
        yanchor="top",
        font={"color": IN_BAND, "size": 12},
    )
    for low, high, name, alpha in (
        ("q05", "q95", t["fan_band90"], 0.15),
        ("q25", "q75", t["fan_band50"], 0.3),
    ):
        fig.add_trace(
            go.Scatter(**steps(years, fan[low]), mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False)
        )
        fig.add_trace(
            go.Scatter(
                **steps(years, fan[high]),
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=f"rgba({BLUE},{alpha})",
                name=name,
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            **steps(years, fan["q50"]),
            mode="lines",
            name=t["fan_median"],
            line={"color": f"rgb({BLUE})", "width": 1.5, "dash": "dot"},
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            **steps(years, fan["expected"]),
            mode="lines",
            name=t["fan_expected"],
            legendgroup="expected",
            line={"color": f"rgb({BLUE})", "width": 3},
            hoverinfo="skip",
        )
    )
    # One point per year carries the hover text: the year's expected count and its ranges.
    ranges = [[fan[q][k] for q in ("q05", "q25", "q50", "q75", "q95")] for k in range(len(years))]
    fig.add_trace(
        go.Scatter(
            x=years,
            y=fan["expected"],
            mode="markers",
            name=t["fan_expected"],
            legendgroup="expected",
            showlegend=False,
            marker={"color": f"rgb({BLUE})", "size": 7},
            customdata=ranges,
            hovertemplate=(
                f"{esc(t['fan_expected'])}: " + "%{y:.2f}<br>"
                f"{esc(t['fan_median'])}: " + "%{customdata[2]:.0f}<br>"
                f"{esc(t['fan_band50'])}: " + "%{customdata[1]:.0f}–%{customdata[3]:.0f}<br>"
                f"{esc(t['fan_band90'])}: " + "%{customdata[0]:.0f}–%{customdata[4]:.0f}<extra></extra>"
            ),
        )
    )
    observed = [(o.year, o.observed) for o in forecast.outlooks if o.observed > 0]
    if observed:
        fig.add_trace(
            go.Scatter(
                x=[y for y, _ in observed],
                y=[n for _, n in observed],
                mode="markers",
                name=t["fan_observed"],
                marker={
                    "symbol": "diamond",
                    "size": 12,
                    "color": "#d62728",
                    "line": {"width": 1, "color": "#fff"},
                },
                hovertemplate=f"{esc(t['fan_observed'])}: " + "%{y}<extra></extra>",
            )
        )
    layout = _base_layout(430)
    layout.update(
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.18, "x": 0},
        margin={"l": 60, "r": 20, "t": 20, "b": 80},
    )
    fig.update_layout(**layout)
    x_range = [min(years[0], target.first_year) - 0.5, max(years[-1], target.last_year) + 0.5] if years else None
    fig.update_xaxes(title_text=t["axis_year"], dtick=1, tickformat="d", range=x_range, showgrid=False)
    y_top = max(top, band_high) * 1.08
    fig.update_yaxes(
        title_text=t["axis_approvals"],
        rangemode="tozero",
        range=[0, y_top],
        dtick=count_dtick(y_top),
        tickformat="d",
    )
    return fig


def pmf_figure(forecast: Forecast, target: Target, t: dict[str, str]) -> Any:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    outlooks = forecast.outlooks
    n = len(outlooks)
    cols = min(4, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    # Counts beyond the 99.95th percentile of every year are invisible as bars; leave them off the axis.
    kmax = max(
        [min(len(o.pmf) - 1, o.quantile(0.9995) + 1) for o in outlooks]
        + [target.high if target.high is not None else target.low, 3]
    )
    titles = []
    for o in outlooks:
        if o.year in target.years:
            p = format_probability(o.p_between(target.low, target.high))
            titles.append(esc(t["pmf_sub_target"].format(year=o.year, band=band_label(target), p=p)))
        else:
            titles.append(esc(t["pmf_sub_other"].format(year=o.year, expected=f"{o.expected:.2f}")))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=titles,
        horizontal_spacing=0.05,
        vertical_spacing=min(0.2, 0.32 / rows),
        shared_yaxes=True,
    )
    for idx, o in enumerate(outlooks):
        r, c = idx // cols + 1, idx % cols + 1
        in_target = o.year in target.years
        colors = [IN_BAND if in_target and target.met_by(k) else OUT_BAND for k in range(len(o.pmf))]
        fig.add_trace(
            go.Bar(
                x=list(range(len(o.pmf))),
                y=o.pmf,
                marker_color=colors,
                showlegend=False,
                name=str(o.year),
                hovertemplate=f"{o.year}: " + "%{x} → %{y:.1%}<extra></extra>",
            ),
            row=r,
            col=c,
        )
        if in_target:
            x1 = (target.high if target.high is not None else kmax) + 0.5
            fig.add_vrect(
                x0=target.low - 0.5,
                x1=x1,
                fillcolor=TARGET_FILL,
                line_width=0,
                layer="below",
                row=r,
                col=c,
            )
    layout = _base_layout(250 * rows + 60)
    layout.update(margin={"l": 60, "r": 20, "t": 40, "b": 50}, bargap=0.15)
    fig.update_layout(**layout)
    fig.update_annotations(font_size=13)
    fig.update_xaxes(range=[-0.5, kmax + 0.5], dtick=max(1, math.ceil(kmax / 10)))
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%")
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=t["axis_probability"], row=r, col=1)
    for c in range(1, cols + 1):
        fig.update_xaxes(title_text=t["axis_count"], row=rows, col=c)
    return fig


def funnel_figure(forecast: Forecast, t: dict[str, str]) -> Any:
    import plotly.graph_objects as go

    funnel = forecast.funnel()
    labels = [t.get(f"phase_{p}", p) for p in FUNNEL_PHASES]
    values = [funnel.get(p, 0) for p in FUNNEL_PHASES]
    colors = [f"rgba({BLUE},{0.45 + 0.1 * i})" for i in range(len(FUNNEL_PHASES) - 1)] + [IN_BAND]
    fig = go.Figure(
        go.Bar(
            y=labels,
            x=values,
            orientation="h",
            text=[str(v) for v in values],
            textposition="outside",
            cliponaxis=False,
            marker={"color": colors},
            hovertemplate="%{y}: %{x}<extra></extra>",
        )
    )
    layout = _base_layout(60 + 46 * len(FUNNEL_PHASES))
    layout.update(margin={"l": 140, "r": 40, "t": 10, "b": 40}, bargap=0.25, showlegend=False)
    fig.update_layout(**layout)
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(
        title_text=t["axis_candidates"],
        rangemode="tozero",
        tickformat="d",
        dtick=count_dtick(max([*values, 1]) * 1.1),
    )
    return fig
