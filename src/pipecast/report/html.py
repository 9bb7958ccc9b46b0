"""One self-contained HTML page for a forecast and a plan's target.

The page works offline: plotly.js is embedded from plotly's own offline bundle, there are no web
fonts, and a Content-Security-Policy forbids the page from loading anything. Every number shown is
also embedded as JSON (``script#pipecast-data``, the same shape as ``pipecast forecast --json``), so
each chart and table can be traced back to the forecast that produced it.

All visible text comes from one dictionary per language (``STRINGS["en"]``, ``STRINGS["zh"]``);
all data is escaped with ``html.escape`` before it reaches the page.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipecast.errors import InputError
from pipecast.forecast.result import Forecast, TargetCheck
from pipecast.rates import BUNDLED_RATE_SETS
from pipecast.targets import Target

LANGUAGES = ("en", "zh")

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Class 1 innovative drug approvals: forecast",
        "meta": (
            "As of {as_of} · rate set {rates} · {candidates} candidates in {rows} rows · method: {method}"
        ),
        "h_headline": "Probability the target is met",
        "target_label": "Target {target}: {band} approvals in every year of {span}",
        "headline": (
            "With the pipeline on record on {as_of}, the probability of {band} approvals in every year "
            "of {span} is {p}."
        ),
        "headline_floor": "The probability of at least {low} approval(s) in every year of {span} is {p}.",
        "verdict": "In plain words: meeting the target is {verdict}.",
        "verdict_0": "very unlikely",
        "verdict_1": "unlikely",
        "verdict_2": "about as likely as not",
        "verdict_3": "likely",
        "verdict_4": "very likely",
        "missing_years": (
            "Target years outside the forecast range, left out of the probabilities above: {years}."
        ),
        "per_year_caption": "Each year on its own (from Forecast.check and Forecast.outlooks).",
        "col_year": "Year",
        "col_in_band": "P({band})",
        "col_at_least": "P(≥{low})",
        "col_expected": "Expected",
        "col_range90": "90% range",
        "col_observed": "On record",
        "h_fan": "Approvals per year",
        "fan_caption": (
            "Shaded: the middle 90% (5–95%) and middle 50% (25–75%) of the yearly count; solid line: "
            "expected number; dotted: median; diamonds: approvals already on record; green box: the target "
            "band. Values: Forecast.fan()."
        ),
        "fan_band90": "5–95%",
        "fan_band50": "25–75%",
        "fan_expected": "expected",
        "fan_median": "median",
        "fan_observed": "on record",
        "fan_target": "target {band}",
        "axis_year": "year",
        "axis_approvals": "approvals in the year",
        "h_pmf": "Distribution of the yearly count",
        "pmf_caption": (
            "Probability of each number of approvals per year (Forecast.outlooks[].pmf); the shaded band "
            "and green bars mark counts that meet the target in the target's years."
        ),
        "pmf_sub_target": "{year} · P({band}) = {p}",
        "pmf_sub_other": "{year} · expected {expected}",
        "axis_count": "approvals",
        "axis_candidates": "candidates",
        "axis_probability": "probability",
        "h_contributors": "Candidates that carry the target",
        "contributors_caption": (
            "Leave-one-out: how much the probability of at least {low} approval(s) in every year of {span} "
            "drops without this candidate (one copy for a cohort). From Forecast.check().contributors."
        ),
        "col_candidate": "Candidate",
        "col_id": "ID",
        "col_phase": "Phase",
        "col_copies": "Copies",
        "col_p_range": "P(approved {span})",
        "col_delta": "Adds to P(≥{low} every year)",
        "no_contributors": "No candidate can be approved in the target's years.",
        "h_candidates": "Every candidate",
        "candidates_caption": (
            "Probability that each candidate (one copy for a cohort) is first approved in each year, and "
            "ever. From Forecast.candidate_rows(); sorted by P(ever approved)."
        ),
        "col_name": "Name",
        "col_sponsor": "Sponsor",
        "col_since": "In phase since",
        "col_p_ever": "P(ever approved)",
        "h_funnel": "Pipeline by phase",
        "funnel_caption": (
            "Candidates (cohorts counted by their copies) in each phase on {as_of}. From Forecast.funnel()."
        ),
        "funnel_inactive": "Not shown, they cannot be approved: {items}.",
        "h_assumptions": "Assumptions and method",
        "as_of": "As-of date",
        "rate_set": "Rate set",
        "rate_origin": "Origin",
        "rate_description": "Description",
        "years": "Forecast years",
        "target": "Target",
        "method": "Method",
        "candidates": "Candidates",
        "candidates_value": "{candidates} in {rows} rows",
        "bundled": "bundled with pipecast",
        "method_text": (
            "Each candidate goes through its remaining phases. Each phase succeeds with the rate set's "
            "probability and lasts a lognormal time given by the rate set's median and 90th percentile; "
            "the current phase is measured from the date the candidate entered it and conditioned on not "
            "having ended by the as-of date. This gives each candidate's probability of first approval in "
            "each calendar year. The yearly count is the sum of these outcomes (a Poisson-binomial "
            "distribution, computed: {method}). The probability of meeting the target in every year is "
            "computed jointly over the years, because a candidate can be approved only once; it is not the "
            "product of the yearly probabilities."
        ),
        "cohort_text": (
            'Cohorts: a row with a count n (for example "5 unnamed phase 1 candidates") is counted as n '
            "independent copies with the same probabilities. If candidates in a cohort share a sponsor or "
            "science their outcomes are correlated and the true spread is wider than shown."
        ),
        "scope_text": (
            "Only candidates on record on the as-of date are counted. Candidates that enter the pipeline "
            "later are not, so later years show what today's pipeline delivers, not everything the region "
            "may achieve."
        ),
        "mc_text": "Monte Carlo standard errors are included in the embedded data (script#pipecast-data).",
        "h_rates": "Rate rows",
        "rates_caption": (
            "Every row of the rate set. The most specific row matching a candidate's phase, therapeutic "
            "area and modality is used; general rows (no area, no modality) cover the rest."
        ),
        "col_area": "Area",
        "col_modality": "Modality",
        "col_p_success": "P(success)",
        "col_median": "Median, months",
        "col_p90": "P90, months",
        "col_source": "Source and note (click to open)",
        "col_note": "Note",
        "any": "(any)",
        "footer": (
            "Generated by pipecast {version}. The data behind every chart and table is embedded in this "
            "file as JSON (script#pipecast-data). Charts: plotly.js, embedded; the page loads nothing "
            "from the network."
        ),
        "noscript": "The charts need JavaScript; the tables and the embedded data do not.",
        "phase_preclinical": "preclinical",
        "phase_phase1": "phase 1",
        "phase_phase2": "phase 2",
        "phase_phase3": "phase 3",
        "phase_filed": "filed (NDA/BLA)",
        "phase_approved": "approved",
        "phase_discontinued": "discontinued",
        "phase_suspended": "suspended",
    },
    "zh": {
        "title": "1类创新药获批数量预测",
        "meta": (
            "数据截至 {as_of} · 参数集 {rates} · 共 {candidates} 个候选药物（{rows} 行） · 方法：{method}"
        ),
        "h_headline": "目标达成概率",
        "target_label": "目标 {target}：{span} 年每年获批 {band} 个",
        "headline": "按 {as_of} 已记录的管线，{span} 年每年均获批 {band} 个的概率为 {p}。",
        "headline_floor": "{span} 年每年至少获批 {low} 个的概率为 {p}。",
        "verdict": "通俗地说：达成目标{verdict}。",
        "verdict_0": "极不可能",
        "verdict_1": "不太可能",
        "verdict_2": "可能性约为一半",
        "verdict_3": "较有可能",
        "verdict_4": "极有可能",
        "missing_years": "以下目标年份超出预测范围，未计入上述概率：{years}。",
        "per_year_caption": "逐年单独计算（来自 Forecast.check 与 Forecast.outlooks）。",
        "col_year": "年份",
        "col_in_band": "P({band})",
        "col_at_least": "P(≥{low})",
        "col_expected": "期望值",
        "col_range90": "90% 区间",
        "col_observed": "已获批",
        "h_fan": "每年获批数量预测",
        "fan_caption": (
            "阴影：每年获批数量的中间 90%（5–95%）与中间 50%（25–75%）区间；实线：期望值；点线：中位数；"
            "菱形：已获批记录；绿色区域：目标区间。数据：Forecast.fan()。"
        ),
        "fan_band90": "5–95%",
        "fan_band50": "25–75%",
        "fan_expected": "期望值",
        "fan_median": "中位数",
        "fan_observed": "已获批",
        "fan_target": "目标 {band}",
        "axis_year": "年份",
        "axis_approvals": "当年获批数量",
        "h_pmf": "每年获批数量的概率分布",
        "pmf_caption": (
            "每年获批不同数量的概率（Forecast.outlooks[].pmf）；在目标年份中，阴影区间与绿色柱表示达成目标的数量。"
        ),
        "pmf_sub_target": "{year} · P({band}) = {p}",
        "pmf_sub_other": "{year} · 期望 {expected}",
        "axis_count": "获批数量",
        "axis_candidates": "候选药物数量",
        "axis_probability": "概率",
        "h_contributors": "对目标贡献最大的候选药物",
        "contributors_caption": (
            "逐一剔除法：去掉该候选药物（队列只去掉一个）后，{span} 年每年至少获批 {low} 个的概率下降多少。"
            "数据：Forecast.check().contributors。"
        ),
        "col_candidate": "候选药物",
        "col_id": "编号",
        "col_phase": "阶段",
        "col_copies": "数量",
        "col_p_range": "P({span} 获批)",
        "col_delta": "对 P(每年≥{low}) 的贡献",
        "no_contributors": "没有候选药物能在目标年份获批。",
        "h_candidates": "全部候选药物",
        "candidates_caption": (
            "每个候选药物（队列按单个计）在各年首次获批及最终获批的概率。数据：Forecast.candidate_rows()；"
            "按最终获批概率排序。"
        ),
        "col_name": "名称",
        "col_sponsor": "申办方",
        "col_since": "进入当前阶段",
        "col_p_ever": "P(最终获批)",
        "h_funnel": "各阶段管线分布",
        "funnel_caption": "{as_of} 各阶段的候选药物数量（队列按数量计）。数据：Forecast.funnel()。",
        "funnel_inactive": "未列出（不会获批）：{items}。",
        "h_assumptions": "假设与方法",
        "as_of": "数据截至",
        "rate_set": "参数集",
        "rate_origin": "来源文件",
        "rate_description": "说明",
        "years": "预测年份",
        "target": "目标",
        "method": "方法",
        "candidates": "候选药物",
        "candidates_value": "{candidates} 个（{rows} 行）",
        "bundled": "pipecast 内置",
        "method_text": (
            "每个候选药物依次经历其余各阶段：每个阶段按参数集中的成功概率推进，持续时间服从对数正态分布"
            "（由参数集的中位数与第 90 百分位数确定）；当前阶段从进入之日起计算，并以截至日尚未结束为条件。"
            "由此得到每个候选药物在各自然年首次获批的概率。每年获批数量是这些结果之和（泊松二项分布，"
            "计算方式：{method}）。每年均达成目标的概率按各年联合计算（同一药物只能获批一次），"
            "而不是各年概率的乘积。"
        ),
        "cohort_text": (
            "队列：数量为 n 的一行（例如“5 个未具名的 I 期候选药物”）按 n 个相互独立、概率相同的副本计算。"
            "若同一队列的药物来自同一申办方或同一技术，其结果相关，实际的不确定性比图中更大。"
        ),
        "scope_text": (
            "只计入截至日已记录的候选药物；之后新进入管线的药物未计入，因此较远年份反映的是现有管线的产出，"
            "而不是本地区可能达到的全部。"
        ),
        "mc_text": "蒙特卡洛标准误见页面内嵌数据（script#pipecast-data）。",
        "h_rates": "参数表",
        "rates_caption": (
            "参数集的全部行。对每个候选药物，使用与其阶段、治疗领域和药物类型最匹配的一行；"
            "通用行（不限领域与类型）覆盖其余情形。"
        ),
        "col_area": "治疗领域",
        "col_modality": "药物类型",
        "col_p_success": "成功概率",
        "col_median": "中位时长（月）",
        "col_p90": "P90（月）",
        "col_source": "来源与备注（点击展开）",
        "col_note": "备注",
        "any": "（不限）",
        "footer": (
            "由 pipecast {version} 生成。各图表背后的数据以 JSON 形式内嵌于本文件（script#pipecast-data）。"
            "图表使用内嵌的 plotly.js，页面不从网络加载任何内容。"
        ),
        "noscript": "图表需要 JavaScript；表格与内嵌数据不需要。",
        "phase_preclinical": "临床前",
        "phase_phase1": "I期",
        "phase_phase2": "II期",
        "phase_phase3": "III期",
        "phase_filed": "已申报上市",
        "phase_approved": "已获批",
        "phase_discontinued": "已终止",
        "phase_suspended": "暂停",
    },
}

#: Phases drawn in the funnel, in order: the pipeline and what it has already delivered.
FUNNEL_PHASES = ("preclinical", "phase1", "phase2", "phase3", "filed", "approved")
#: Characters of a rate row's source shown before it is opened.
SUMMARY_CHARS = 110
#: Upper bounds of the plain-language verdicts (verdict_0 ... verdict_4).
VERDICT_BOUNDS = (0.1, 0.33, 0.66, 0.9)

#: Only local fonts: CJK fonts where the reader's system has them, then common sans-serifs.
FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", '
    '"Noto Sans CJK SC", "Source Han Sans SC", "Liberation Sans", "DejaVu Sans", Arial, sans-serif'
)
BLUE = "31,119,180"
TARGET_FILL = "rgba(44,160,44,0.14)"
IN_BAND = "#2ca02c"
OUT_BAND = "#7f9fbf"

CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'"
)

CSS = """
:root { --ink: #1d2733; --muted: #5b6776; --line: #d9dee5; --accent: #1f77b4; --ok: #2ca02c; }
* { box-sizing: border-box; }
body { margin: 0; font-family: FONTS; color: var(--ink); background: #f4f6f9; line-height: 1.5; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
header h1 { font-size: 1.7rem; margin: 0 0 4px; }
.meta { color: var(--muted); margin: 0 0 20px; font-size: 0.95rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 18px 22px;
  margin: 0 0 20px; }
h2 { font-size: 1.25rem; margin: 0 0 10px; }
h3 { font-size: 1.05rem; margin: 18px 0 8px; }
.caption { color: var(--muted); font-size: 0.88rem; margin: 6px 0 10px; }
.headline { display: flex; gap: 24px; align-items: center; flex-wrap: wrap; }
.big { font-size: 3rem; font-weight: 700; color: var(--accent); line-height: 1.1; min-width: 7ch; }
.headline .text { flex: 1 1 420px; }
.headline .target { font-weight: 600; margin: 0 0 4px; }
.headline p { margin: 4px 0; }
.verdict { font-weight: 600; }
.warn { color: #9a5b00; }
.chart { width: 100%; min-height: 300px; }
.chart.wide { min-width: 760px; }
.scroll { overflow: auto; max-width: 100%; }
.scroll.tall { max-height: 32em; }
table { border-collapse: collapse; font-size: 0.9rem; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f5; font-weight: 600; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.rates { font-size: 0.84rem; }
table.rates th.num { white-space: normal; }
table.rates td.long { width: 55%; min-width: 20em; overflow-wrap: anywhere; }
table.rates details p { margin: 4px 0; }
table.rates details[open] summary { margin-bottom: 4px; }
td.nowrap { white-space: nowrap; }
table.candidates { font-size: 0.84rem; }
table.candidates th, table.candidates td { padding: 4px 6px; }
table.candidates th.num { white-space: normal; }
details summary { cursor: pointer; color: var(--muted); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0 0 12px; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
code { font-size: 0.9em; }
footer { color: var(--muted); font-size: 0.85rem; text-align: center; }
@media print { body { background: #fff; } section { break-inside: avoid; border: none; }
  .scroll.tall { max-height: none; } }
""".replace("FONTS", FONT_STACK)

PLOT_SCRIPT = """
(function () {
  var specs = JSON.parse(document.getElementById("pipecast-figures").textContent);
  var config = {displaylogo: false, responsive: true,
                modeBarButtonsToRemove: ["lasso2d", "select2d", "sendDataToCloud"]};
  Object.keys(specs).forEach(function (id) {
    var spec = specs[id];
    Plotly.newPlot(id, spec.data, spec.layout, config);
  });
})();
"""

_URL_RE = re.compile(r"https?://[^\s,;\"'<>()]+[^\s,;\"'<>().]")


def format_probability(p: float) -> str:
    """A probability as the page shows it: one decimal percent, never rounding a possibility to 0 or 100."""
    if 0 < p < 0.0005:
        return "<0.1%"
    if 0.9995 <= p < 1:
        return ">99.9%"
    return f"{p:.1%}"


def _format_delta(d: float) -> str:
    if 0 < abs(d) < 0.0005:
        return "+<0.1%" if d > 0 else "−<0.1%"
    return f"{d:+.1%}".replace("-", "−")


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


def _band(target: Target) -> str:
    return (
        f"{target.low}+"
        if target.high is None
        else (str(target.low) if target.low == target.high else f"{target.low}–{target.high}")
    )


def verdict_key(p: float) -> str:
    for k, bound in enumerate(VERDICT_BOUNDS):
        if p < bound:
            return f"verdict_{k}"
    return f"verdict_{len(VERDICT_BOUNDS)}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _linkify(text: str) -> str:
    """Escape text and turn the URLs in it into links (links load nothing until followed)."""
    out: list[str] = []
    last = 0
    for match in _URL_RE.finditer(text):
        out.append(_e(text[last : match.start()]))
        url = match.group(0)
        out.append(f'<a href="{_e(url)}" rel="noreferrer noopener">{_e(url)}</a>')
        last = match.end()
    out.append(_e(text[last:]))
    return "".join(out)


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: set[int],
    cls: str = "",
    long: frozenset[int] = frozenset(),
    nowrap: frozenset[int] = frozenset(),
) -> str:
    """A table from escaped cell HTML; headers are escaped here."""
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{_e(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            if i in numeric:
                cells.append(f'<td class="num">{cell}</td>')
            elif i in long:
                cells.append(f'<td class="long">{cell}</td>')
            elif i in nowrap:
                cells.append(f'<td class="nowrap">{cell}</td>')
            else:
                cells.append(f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    attr = f' class="{cls}"' if cls else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _script_json(text: str) -> str:
    """JSON text that is safe inside a <script> element (no '<', '>' or '&' outside escapes)."""
    return (
        text.replace("&", "\\u0026")
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("pipecast")
    except Exception:  # not installed as a distribution
        return "(development)"


# ---------------------------------------------------------------------------------------------- figures


def _base_layout(height: int) -> dict[str, Any]:
    return {
        "template": "plotly_white",
        "height": height,
        "autosize": True,
        "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
        "font": {"family": FONT_STACK, "size": 13},
    }


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
        text=_e(t["fan_target"].format(band=_band(target))),
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
            go.Scatter(
                x=years, y=fan[low], mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False
            )
        )
        fig.add_trace(
            go.Scatter(
                x=years,
                y=fan[high],
                mode="lines",
                line={"width": 0},
                fill="tonexty",
                fillcolor=f"rgba({BLUE},{alpha})",
                name=name,
                customdata=fan[low],
                hovertemplate=f"{_e(name)}: " + "%{customdata:.0f}–%{y:.0f}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=years,
            y=fan["q50"],
            mode="lines",
            name=t["fan_median"],
            line={"color": f"rgb({BLUE})", "width": 1.5, "dash": "dot"},
            hovertemplate=f"{_e(t['fan_median'])}: " + "%{y:.0f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=years,
            y=fan["expected"],
            mode="lines+markers",
            name=t["fan_expected"],
            line={"color": f"rgb({BLUE})", "width": 3},
            hovertemplate=f"{_e(t['fan_expected'])}: " + "%{y:.2f}<extra></extra>",
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
                hovertemplate=f"{_e(t['fan_observed'])}: " + "%{y}<extra></extra>",
            )
        )
    layout = _base_layout(430)
    layout.update(
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.18, "x": 0},
        margin={"l": 60, "r": 20, "t": 20, "b": 80},
    )
    fig.update_layout(**layout)
    fig.update_xaxes(title_text=t["axis_year"], dtick=1, tickformat="d")
    fig.update_yaxes(
        title_text=t["axis_approvals"], rangemode="tozero", range=[0, max(top, band_high) * 1.08]
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
            titles.append(_e(t["pmf_sub_target"].format(year=o.year, band=_band(target), p=p)))
        else:
            titles.append(_e(t["pmf_sub_other"].format(year=o.year, expected=f"{o.expected:.2f}")))
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
    fig.update_xaxes(title_text=t["axis_candidates"], rangemode="tozero", tickformat="d")
    return fig


# ---------------------------------------------------------------------------------------------- sections


def _headline(forecast: Forecast, target: Target, check: TargetCheck, t: dict[str, str]) -> str:
    span = _span(target.first_year, target.last_year)
    band = _band(target)
    p_all = format_probability(check.all_years_in_band)
    parts = [
        '<section id="headline">',
        f"<h2>{_e(t['h_headline'])}</h2>",
        '<div class="headline">',
        f'<div class="big" data-probability="{check.all_years_in_band!r}">{_e(p_all)}</div>',
        '<div class="text">',
        f'<p class="target">{_e(t["target_label"].format(target=target, band=band, span=span))}</p>',
        f"<p>{_e(t['headline'].format(as_of=forecast.as_of.isoformat(), band=band, span=span, p=p_all))}</p>",
    ]
    if target.high is not None:
        floor = format_probability(check.all_years_at_least_low)
        parts.append(f"<p>{_e(t['headline_floor'].format(low=target.low, span=span, p=floor))}</p>")
    verdict = t[verdict_key(check.all_years_in_band)]
    parts.append(f'<p class="verdict">{_e(t["verdict"].format(verdict=verdict))}</p>')
    if check.missing_years:
        years = ", ".join(str(y) for y in check.missing_years)
        parts.append(f'<p class="warn">{_e(t["missing_years"].format(years=years))}</p>')
    parts.append("</div></div>")
    rows = []
    for year, p_in in check.per_year_in_band.items():
        o = forecast.outlook(year)
        rows.append(
            [
                _e(year),
                _e(format_probability(p_in)),
                _e(format_probability(check.per_year_at_least_low[year])),
                _e(f"{o.expected:.2f}"),
                _e(f"{o.quantile(0.05)}–{o.quantile(0.95)}"),
                _e(o.observed),
            ]
        )
    headers = [
        t["col_year"],
        t["col_in_band"].format(band=band),
        t["col_at_least"].format(low=target.low),
        t["col_expected"],
        t["col_range90"],
        t["col_observed"],
    ]
    parts.append(f'<p class="caption">{_e(t["per_year_caption"])}</p>')
    parts.append('<div class="scroll">' + _table(headers, rows, {0, 1, 2, 3, 4, 5}) + "</div>")
    parts.append("</section>")
    return "".join(parts)


def _chart_section(
    section_id: str, heading: str, caption: str, figure_id: str, extra: str = "", *, wide: bool = False
) -> str:
    """A chart's section; a wide chart keeps a minimum width and scrolls sideways on narrow screens."""
    chart = f'<div class="chart{" wide" if wide else ""}" id="{figure_id}"></div>'
    if wide:
        chart = f'<div class="scroll">{chart}</div>'
    return (
        f'<section id="{section_id}"><h2>{_e(heading)}</h2><p class="caption">{_e(caption)}</p>'
        f"{chart}{extra}</section>"
    )


def _contributors(forecast: Forecast, target: Target, check: TargetCheck, t: dict[str, str]) -> str:
    span = _span(target.first_year, target.last_year)
    copies = {a.id: a.count for a in forecast.assets}
    headers = [
        t["col_candidate"],
        t["col_id"],
        t["col_phase"],
        t["col_copies"],
        t["col_p_range"].format(span=span),
        t["col_delta"].format(low=target.low),
    ]
    rows = [
        [
            _e(c.name),
            f"<code>{_e(c.asset_id)}</code>",
            _e(t.get(f"phase_{c.phase}", c.phase)),
            _e(copies.get(c.asset_id, 1)),
            _e(format_probability(c.expected_in_range)),
            _e(_format_delta(c.delta_probability)),
        ]
        for c in check.contributors
    ]
    body = (
        '<div class="scroll">' + _table(headers, rows, {3, 4, 5}) + "</div>"
        if rows
        else f"<p>{_e(t['no_contributors'])}</p>"
    )
    return (
        f'<section id="contributors"><h2>{_e(t["h_contributors"])}</h2>'
        f'<p class="caption">{_e(t["contributors_caption"].format(low=target.low, span=span))}</p>'
        f"{body}</section>"
    )


def _candidates(forecast: Forecast, t: dict[str, str]) -> str:
    rows_data = sorted(forecast.candidate_rows(), key=lambda r: (-r["p_approval"], r["name"], r["id"]))
    years = [str(y) for y in forecast.years]
    headers = [
        t["col_id"],
        t["col_name"],
        t["col_sponsor"],
        t["col_phase"],
        t["col_since"],
        t["col_copies"],
        t["col_p_ever"],
        *years,
    ]
    rows = [
        [
            f"<code>{_e(r['id'])}</code>",
            _e(r["name"]),
            _e(r["sponsor"]),
            _e(t.get(f"phase_{r['phase']}", r["phase"])),
            _e(r["phase_start"]),
            _e(r["count"]),
            _e(format_probability(r["p_approval"])),
            *[_e(format_probability(r["by_year"][y])) for y in years],
        ]
        for r in rows_data
    ]
    numeric = {5, 6, *range(7, 7 + len(years))}
    table = _table(headers, rows, numeric, cls="candidates", nowrap=frozenset({4}))
    return (
        f'<section id="candidates"><h2>{_e(t["h_candidates"])}</h2>'
        f'<p class="caption">{_e(t["candidates_caption"])}</p>'
        f'<div class="scroll tall">{table}</div></section>'
    )


def _funnel_section(forecast: Forecast, t: dict[str, str]) -> str:
    funnel = forecast.funnel()
    inactive = [f"{t.get(f'phase_{p}', p)} {n}" for p, n in funnel.items() if n and p not in FUNNEL_PHASES]
    extra = (
        f'<p class="caption">{_e(t["funnel_inactive"].format(items=", ".join(inactive)))}</p>'
        if inactive
        else ""
    )
    caption = t["funnel_caption"].format(as_of=forecast.as_of.isoformat())
    return _chart_section("funnel", t["h_funnel"], caption, "fig-funnel", extra)


def _rate_description(forecast: Forecast) -> str:
    bundled = BUNDLED_RATE_SETS.get(forecast.rate_set.name)
    if bundled and Path(forecast.rate_set.origin or "").name == bundled[0]:
        return bundled[1]
    return ""


def _source_cell(source: str, note: str, t: dict[str, str]) -> str:
    """Source and note of a rate row, folded to one line until opened (the full text stays in the page)."""
    if not source and not note:
        return ""
    short = source or note
    summary = short if len(short) <= SUMMARY_CHARS else short[: SUMMARY_CHARS - 1].rstrip() + "…"
    body = f"<p>{_linkify(source)}</p>" if source else ""
    if note:
        body += f'<p class="note"><b>{_e(t["col_note"])}:</b> {_linkify(note)}</p>'
    return f"<details><summary>{_e(summary)}</summary>{body}</details>"


def _assumptions(forecast: Forecast, target: Target, t: dict[str, str]) -> str:
    rate_set = forecast.rate_set
    description = _rate_description(forecast)
    origin = rate_set.origin or t["bundled"]
    years = _span(forecast.years[0], forecast.years[-1]) if forecast.years else ""
    facts = [
        (t["as_of"], _e(forecast.as_of.isoformat())),
        (t["rate_set"], f"<code>{_e(rate_set.name)}</code>"),
        (t["rate_origin"], f"<code>{_e(origin)}</code>"),
    ]
    if description:
        facts.append((t["rate_description"], _e(description)))
    facts += [
        (
            t["candidates"],
            _e(
                t["candidates_value"].format(candidates=int(forecast.counts.sum()), rows=len(forecast.assets))
            ),
        ),
        (t["years"], _e(years)),
        (t["target"], f"<code>{_e(target)}</code>"),
        (t["method"], _e(forecast.method)),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{v}</dd>" for k, v in facts)
    order = {p: i for i, p in enumerate(("preclinical", "phase1", "phase2", "phase3", "filed"))}
    rate_rows = sorted(
        rate_set.rows,
        key=lambda r: (
            r.specificity,
            r.therapeutic_area.casefold(),
            r.modality.casefold(),
            order.get(r.phase.value, 9),
        ),
    )
    rows = []
    for r in rate_rows:
        rows.append(
            [
                _e(t.get(f"phase_{r.phase.value}", r.phase.value)),
                _e(r.therapeutic_area or t["any"]),
                _e(r.modality or t["any"]),
                _e(f"{r.p_success:.1%}"),
                _e(f"{r.duration.median_months:.1f}"),
                _e(f"{r.duration.p90_months:.1f}"),
                _source_cell(r.source, r.note, t),
            ]
        )
    headers = [
        t["col_phase"],
        t["col_area"],
        t["col_modality"],
        t["col_p_success"],
        t["col_median"],
        t["col_p90"],
        t["col_source"],
    ]
    table = _table(headers, rows, {3, 4, 5}, cls="rates", long=frozenset({6}))
    paragraphs = [t["method_text"].format(method=forecast.method), t["cohort_text"], t["scope_text"]]
    if forecast.mc_error:
        paragraphs.append(t["mc_text"])
    text = "".join(f"<p>{_e(p)}</p>" for p in paragraphs)
    return (
        f'<section id="assumptions"><h2>{_e(t["h_assumptions"])}</h2><dl class="facts">{dl}</dl>{text}'
        f'<h3>{_e(t["h_rates"])}</h3><p class="caption">{_e(t["rates_caption"])}</p>'
        f'<div class="scroll">{table}</div></section>'
    )


# ---------------------------------------------------------------------------------------------- page


def render_report(forecast: Forecast, target: Target, *, title: str | None = None, lang: str = "en") -> str:
    """The whole report as one HTML document (a str) that opens offline in any browser."""
    if lang not in STRINGS:
        raise InputError(f"unknown report language {lang!r}", field="--lang", expected=" or ".join(LANGUAGES))
    from plotly.offline import get_plotlyjs

    t = STRINGS[lang]
    check = forecast.check(target)
    page_title = title or t["title"]
    figures = {
        "fig-fan": fan_figure(forecast, target, t),
        "fig-pmf": pmf_figure(forecast, target, t),
        "fig-funnel": funnel_figure(forecast, t),
    }
    figures_json = "{" + ",".join(f"{json.dumps(k)}:{fig.to_json()}" for k, fig in figures.items()) + "}"
    data_json = json.dumps(forecast.to_json(target), ensure_ascii=False, default=_json_default)
    meta = t["meta"].format(
        as_of=forecast.as_of.isoformat(),
        rates=forecast.rate_set.name,
        candidates=int(forecast.counts.sum()),
        rows=len(forecast.assets),
        method=forecast.method,
    )
    sections = [
        _headline(forecast, target, check, t),
        _chart_section("fan", t["h_fan"], t["fan_caption"], "fig-fan"),
        _chart_section("distribution", t["h_pmf"], t["pmf_caption"], "fig-pmf", wide=True),
        _contributors(forecast, target, check, t),
        _candidates(forecast, t),
        _funnel_section(forecast, t),
        _assumptions(forecast, target, t),
    ]
    plotly_js = get_plotlyjs().replace("</script", "<\\/script")
    html_lang = "zh-CN" if lang == "zh" else "en"
    return "\n".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{html_lang}">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="generator" content="pipecast">',
            f"<title>{_e(page_title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            "<main>",
            f'<header><h1>{_e(page_title)}</h1><p class="meta">{_e(meta)}</p></header>',
            f'<noscript><p class="warn">{_e(t["noscript"])}</p></noscript>',
            *sections,
            f"<footer><p>{_e(t['footer'].format(version=_version()))}</p></footer>",
            "</main>",
            f'<script type="application/json" id="pipecast-data">{_script_json(data_json)}</script>',
            f'<script type="application/json" id="pipecast-figures">{_script_json(figures_json)}</script>',
            f"<script>{plotly_js}</script>",
            f"<script>{PLOT_SCRIPT}</script>",
            "</body>",
            "</html>",
        ]
    )


def write_report(
    path: str | Path,
    forecast: Forecast,
    target: Target,
    *,
    title: str | None = None,
    lang: str = "en",
) -> Path:
    """Write the report to `path` (UTF-8) and return the path written."""
    out = Path(path)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(forecast, target, title=title, lang=lang), encoding="utf-8")
    return out
