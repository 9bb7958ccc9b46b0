"""The plan in the report and on the dashboard: each target's verdict (`pipecast plan`) and the hubs side by side
(`pipecast compare-regions`), computed once here with the same calls as those commands, then presented.

`compute_plan` reads the bundled plan targets, entered figures, regions and hub counts (the commands' defaults)
and evaluates them on the given candidates; `plan_section` writes the report's section (escaped HTML) and
`cumulative_figure` / `hubs_figure` draw the charts both the report and the dashboard show. Words are in
English and Chinese (`PLAN_STRINGS`); the reasons in Chinese are built from the same numbers as the English.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipecast.report.format import esc, format_probability
from pipecast.report.style import BLUE, FONT_STACK, IN_BAND, OUT_BAND

if TYPE_CHECKING:
    from pipecast.domain import Asset
    from pipecast.plan.cumulative import CumulativeOutlook
    from pipecast.plan.hubs import HubComparison
    from pipecast.plan.kpi import KpiTarget
    from pipecast.plan.verdict import KpiStatus
    from pipecast.rates import RateSet

PLAN_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "h_plan": "The plan's targets",
        "plan_lead": (
            "Each target of the plan as known on {as_of}, rate set {rates}: on track means P(met) ≥ {threshold}."
        ),
        "col_target": "Target",
        "col_bound": "Bound",
        "col_actual": "Actual",
        "col_trend": "Trend",
        "col_forecast": "Forecast",
        "col_p_met": "P(met)",
        "col_verdict": "Verdict",
        "col_reason": "Why",
        "col_source": "Source",
        "verdict_on track": "on track",
        "verdict_at risk": "at risk",
        "verdict_met": "met",
        "verdict_missed": "missed",
        "verdict_cannot judge": "cannot judge",
        "verdict_tracked": "tracked",
        "from_registry": "registry",
        "h_cumulative": "{label}: the total by {deadline}",
        "cumulative_caption": (
            "Exact distribution of the total approved by {deadline}: {on_record} on record plus the further approvals "
            "(Poisson-binomial over the pipeline). Green bars meet the target of {need}; P(total ≥ {need}) = {p}; "
            "expected total {expected}, 90% range {q05}–{q95}."
        ),
        "axis_total": "innovative drugs approved in total",
        "axis_probability": "probability",
        "h_regions": "Hubs side by side",
        "regions_lead": (
            "Each hub's funnel from the stock counts it publishes, and its expected approvals from the same rate set "
            "({rates}, exact engine) as of {as_of}. Cells: expected; P(at least 1); 90% range. Not a ranking: "
            "read the coverage notes."
        ),
        "col_hub": "Hub",
        "col_funnel": "Preclinical / P1 / P2 / P3 / filed",
        "col_total": "Total {span}",
        "col_per_firm": "Expected per 100 firms",
        "col_published": "Published approvals",
        "col_coverage": "Data coverage",
        "not_published": "not published",
        "no_firms": "no firm count",
        "none_published": "none in the data",
        "h_hubs_chart": "Expected approvals per year",
        "hubs_chart_caption": "Hubs without a published stage count have no forecast and are not drawn.",
        "axis_year": "year",
        "axis_expected": "expected approvals",
        "kind_city": "city",
        "kind_park": "park",
        "kind_province": "province",
        "kind_country": "country",
        "kind_district": "district",
        "firms_text": "{shown} firms ({date})",
        "per_capita_none": "Per capita: not computed (no sourced population figure in the hub data).",
        "h_hub_table": "Funnels and expected approvals",
        "bound_track": "no numeric target (tracked)",
    },
    "zh": {
        "h_plan": "规划目标",
        "plan_lead": "截至 {as_of} 规划的各项目标，参数集 {rates}：达标概率 ≥ {threshold} 即为进展正常。",
        "col_target": "目标",
        "col_bound": "目标值",
        "col_actual": "实际",
        "col_trend": "趋势",
        "col_forecast": "预测",
        "col_p_met": "达标概率",
        "col_verdict": "判断",
        "col_reason": "理由",
        "col_source": "来源",
        "verdict_on track": "进展正常",
        "verdict_at risk": "有风险",
        "verdict_met": "已达成",
        "verdict_missed": "未达成",
        "verdict_cannot judge": "无法判断",
        "verdict_tracked": "跟踪",
        "from_registry": "登记数据",
        "h_cumulative": "{label}：到 {deadline} 的累计总数",
        "cumulative_caption": (
            "到 {deadline} 累计获批总数的精确分布：已获批 {on_record} 个，加上在研管线的新增获批（泊松二项分布）。"
            "绿色柱达到目标 {need} 个；累计 ≥ {need} 个的概率为 {p}；预期总数 {expected}，90% 区间 {q05}–{q95}。"
        ),
        "axis_total": "累计获批创新药数",
        "axis_probability": "概率",
        "h_regions": "各地对比",
        "regions_lead": (
            "各地按其公布的存量数据构建管线漏斗，并以同一参数集（{rates}，精确算法）预测截至 {as_of} 之后的获批数。"
            "单元格：预期值；至少 1 个的概率；90% 区间。这不是排名：请阅读数据覆盖说明。"
        ),
        "col_hub": "地区",
        "col_funnel": "临床前 / I期 / II期 / III期 / 已申报",
        "col_total": "{span} 合计",
        "col_per_firm": "每百家企业预期获批",
        "col_published": "公布的获批数",
        "col_coverage": "数据覆盖",
        "not_published": "未公布",
        "no_firms": "无企业数",
        "none_published": "数据中没有",
        "h_hubs_chart": "各年预期获批数",
        "hubs_chart_caption": "未公布阶段数据的地区没有预测，图中不显示。",
        "axis_year": "年份",
        "axis_expected": "预期获批数",
        "kind_city": "城市",
        "kind_park": "园区",
        "kind_province": "省",
        "kind_country": "国家",
        "kind_district": "区",
        "firms_text": "{shown} 家企业（{date}）",
        "per_capita_none": "人均：未计算（地区数据中没有有来源的人口数）。",
        "h_hub_table": "管线漏斗与预期获批",
        "bound_track": "无数值目标（跟踪）",
    },
}


@dataclass
class PlanSummary:
    """The plan's target statuses, the cumulative target's exact distribution, and the hubs side by side."""

    as_of: dt.date
    rate_set: str
    threshold: float
    statuses: list[KpiStatus]
    cumulative: CumulativeOutlook | None
    cumulative_target: KpiTarget | None
    hubs: list[HubComparison]
    years: list[int]

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "rate_set": self.rate_set, "on_track_threshold": self.threshold,
                "targets": [s.as_dict() for s in self.statuses], "years": self.years,
                "hubs": [h.as_dict() for h in self.hubs]}


def compute_plan(assets: Sequence[Asset], rates: RateSet, as_of: dt.date,
                 years: Sequence[int] | None = None) -> PlanSummary:
    """What `pipecast plan` and `pipecast compare-regions` compute with their defaults (the bundled targets,
    figures, regions and hub counts), on these candidates, for this rate set and as-of date."""
    from pipecast.loading.hubs import load_hub_figures, load_regions
    from pipecast.loading.plan import load_figures, load_targets
    from pipecast.plan.cumulative import cumulative_outlook
    from pipecast.plan.hubs import compare_hubs
    from pipecast.plan.verdict import ON_TRACK, evaluate

    goals = load_targets(None)
    statuses = evaluate(goals, load_figures(None, goals), assets, rates, as_of)
    total = next((g for g in goals if g.metric == "approvals_total"), None)
    outlook = None
    if total is not None:
        outlook, _ = cumulative_outlook(assets, rates, as_of, total.deadline, total.least_count(), total.counted_from)
    tree, hub_ids = load_regions(None)
    year_list = list(years) if years else list(range(as_of.year + 1, as_of.year + 4))
    hubs = compare_hubs([tree.get(h) for h in hub_ids], load_hub_figures(None, tree), rates, as_of, year_list)
    return PlanSummary(as_of, rates.name, ON_TRACK, statuses, outlook, total, hubs, year_list)


# ---------------------------------------------------------------------------------------------- words


def words(lang: str) -> dict[str, str]:
    return PLAN_STRINGS[lang]


def verdict_label(verdict: str, lang: str) -> str:
    return PLAN_STRINGS[lang].get(f"verdict_{verdict}", verdict)


def verdict_class(verdict: str) -> str:
    """A CSS class for the verdict's colour: good, bad or plain."""
    return {"on track": "good", "met": "good", "at risk": "bad", "missed": "bad"}.get(verdict, "plain")


def p_text(p: float | None) -> str:
    return "–" if p is None else format_probability(p)


def actual_text(status: KpiStatus, lang: str) -> str:
    a = status.actual
    if a is None:
        return "–"
    shown = f"{a.value:g}" if a.source == "registry" else a.label
    origin = PLAN_STRINGS[lang]["from_registry"] if a.source == "registry" else a.source
    return f"{shown} ({a.date.isoformat()}; {origin})"


def reason_text(status: KpiStatus, lang: str) -> str:
    """The verdict's reason: the core's English sentence, or the same numbers in Chinese."""
    if lang != "zh":
        return status.reason
    return _reason_zh(status) or status.reason


def _reason_zh(s: KpiStatus) -> str:
    t = s.target
    p = "" if s.p_met is None else f"{s.p_met:.2f}"
    if t.metric == "approvals_per_year" and s.p_met is not None and s.forecast:
        missed = s.details.get("missed_years") or []
        if missed:
            return f"已有年份未达到 {t.bound_text()} 个：{', '.join(map(str, missed))}"
        future = sorted(s.details.get("per_year_in_band", {}))
        span = f"{future[0]}–{future[-1]}" if future else f"{t.first_year}–{t.last_year}"
        sign = "≥" if s.verdict == "on track" else "<"
        return f"{span} 年每年获批 {t.bound_text()} 个的概率 = {p} {sign} 0.5"
    if t.metric == "approvals_total" and "on_record" in s.details:
        d = s.details
        on_record, need = int(d["on_record"]), int(d["need"])
        if s.verdict == "met":
            return f"已获批 {on_record} 个 ≥ {need} 个"
        return (f"到 {t.deadline.isoformat()} 累计 ≥ {need} 个的概率 = {p}：已获批 {on_record} 个，"
                f"还需 {need - on_record} 个，预期新增 {float(d['expected_more']):.2f} 个")
    if s.verdict == "tracked" and s.actual is not None:
        shown = f"{s.actual.value:g}" if s.actual.source == "registry" else s.actual.label
        return f"{s.actual.date.isoformat()}：{shown}（无数值目标，仅跟踪）"
    if s.verdict == "cannot judge":
        if s.actual is None:
            return "没有可比的公开数据（见说明）"
        return f"只有一个数据（{s.actual.label}，{s.actual.date.isoformat()}），无趋势；目标 {t.bound_text()}"
    if s.expected is not None and len(s.series) >= 2:
        first, last = s.series[0], s.series[-1]
        years = (last.date - first.date).days / 365.25
        pace = (last.value - first.value) / years if years > 0 else 0.0
        ok = "达到" if s.verdict == "on track" else "达不到"
        return (f"按每年 {pace:+.1f} 的直线趋势，到 {t.deadline.isoformat()} 为 {s.expected:.0f}："
                f"{ok}目标 {t.bound_text()}")
    return ""


def bound_text(target: KpiTarget, lang: str) -> str:
    return PLAN_STRINGS[lang]["bound_track"] if target.comparator == "track" else target.bound_text()


def kind_label(kind: str, lang: str) -> str:
    return PLAN_STRINGS[lang].get(f"kind_{kind}", kind)


def funnel_text(hub: HubComparison, lang: str) -> str:
    if not hub.pipeline.total:
        return PLAN_STRINGS[lang]["not_published"]
    return " / ".join(str(v) for v in hub.pipeline.stages.values())


def year_cell(hub: HubComparison, year: int) -> str:
    expected = hub.expected(year)
    if expected is None or hub.forecast is None:
        return "–"
    o = hub.forecast.outlook(year)
    p1 = hub.p_at_least_one(year) or 0.0
    return f"{expected:.2f}; {format_probability(p1)}; {o.quantile(0.05)}–{o.quantile(0.95)}"


def year_parts(hub: HubComparison, year: int) -> tuple[str, str] | None:
    """A year's expected approvals, and "P(at least 1) · 90% range", for a two-line cell (None: no forecast)."""
    expected = hub.expected(year)
    if expected is None or hub.forecast is None:
        return None
    o = hub.forecast.outlook(year)
    p1 = format_probability(hub.p_at_least_one(year) or 0.0)
    return f"{expected:.2f}", f"{p1} · {o.quantile(0.05)}–{o.quantile(0.95)}"


def number_cell(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def published_text(hub: HubComparison, lang: str) -> str:
    shown = "; ".join(f"{f.period or f.date.isoformat()}: {f.shown}" for f in hub.published)
    return shown or PLAN_STRINGS[lang]["none_published"]


def firms_text(hub: HubComparison, lang: str) -> str:
    if hub.firms is None:
        return PLAN_STRINGS[lang]["no_firms"]
    return PLAN_STRINGS[lang]["firms_text"].format(shown=hub.firms.shown, date=hub.firms.date.isoformat())


def span_text(years: Sequence[int]) -> str:
    return f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])


# ---------------------------------------------------------------------------------------------- charts


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    return {"template": "plotly_white", "height": height, "autosize": True,
            "margin": {"l": 55, "r": 20, "t": 20, "b": 50}, "font": {"family": FONT_STACK, "size": 13}} | extra


def cumulative_figure(outlook: CumulativeOutlook, lang: str) -> Any:
    """P(total = n) for every reachable total by the deadline; totals that meet the target in green."""
    import plotly.graph_objects as go

    w = PLAN_STRINGS[lang]
    totals = [outlook.on_record + k for k in range(len(outlook.pmf))]
    values = [float(v) for v in outlook.pmf]
    keep = [i for i, v in enumerate(values) if v >= 1e-4] or [0]
    last = max(keep[-1], min(outlook.need - outlook.on_record, len(values) - 1))
    xs, ys = totals[: last + 1], values[: last + 1]
    colours = [IN_BAND if x >= outlook.need else OUT_BAND for x in xs]
    fig = go.Figure(go.Bar(x=xs, y=ys, marker={"color": colours}, text=[format_probability(v) for v in ys],
                           textposition="outside", cliponaxis=False, hovertemplate="%{x}: %{y:.2%}<extra></extra>"))
    fig.update_layout(**_layout(320, showlegend=False))
    fig.update_xaxes(title_text=w["axis_total"], dtick=1, tickformat="d")
    fig.update_yaxes(title_text=w["axis_probability"], tickformat=".0%", range=[0, min(1.0, max(ys) * 1.25)])
    return fig


def hubs_figure(hubs: Sequence[HubComparison], years: Sequence[int], lang: str) -> Any:
    """Expected approvals per year, one group of bars per year and one bar per hub with a forecast."""
    import plotly.graph_objects as go

    w = PLAN_STRINGS[lang]
    fig = go.Figure()
    for hub in hubs:
        if hub.forecast is None:
            continue
        values = [hub.expected(y) or 0.0 for y in years]
        name = esc(hub.region.name)
        fig.add_trace(go.Bar(x=[str(y) for y in years], y=values, name=name,
                             hovertemplate=name + " %{x}: %{y:.2f}<extra></extra>"))
    fig.update_layout(**_layout(340, barmode="group", legend={"orientation": "h", "y": -0.22, "x": 0},
                                colorway=[f"rgb({BLUE})", "#9ecae1", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"]))
    fig.update_xaxes(title_text=w["axis_year"], type="category")
    fig.update_yaxes(title_text=w["axis_expected"], rangemode="tozero")
    return fig


# ---------------------------------------------------------------------------------------------- report


TableFn = Callable[..., str]


def _source_link(url: str, title: str) -> str:
    text = esc(title or url)
    if url.strip().lower().startswith(("http://", "https://")):
        return f'<a href="{esc(url)}" rel="noreferrer noopener">{text}</a>'
    return text


def plan_section(summary: PlanSummary, lang: str, table: TableFn) -> str:
    """The report's Plan section: the verdict table, the cumulative chart's place, and the hub table."""
    w = PLAN_STRINGS[lang]
    rows = []
    for s in summary.statuses:
        verdict = f'<b class="verdict-{verdict_class(s.verdict)}">{esc(verdict_label(s.verdict, lang))}</b>'
        rows.append([esc(s.target.label), esc(bound_text(s.target, lang)), esc(actual_text(s, lang)),
                     esc(s.forecast or "–"), esc(p_text(s.p_met)), verdict, esc(reason_text(s, lang)),
                     _source_link(s.target.citation.url, s.target.citation.title)])
    verdicts = table([w["col_target"], w["col_bound"], w["col_actual"], w["col_forecast"], w["col_p_met"],
                      w["col_verdict"], w["col_reason"], w["col_source"]], rows, {4}, long=frozenset({3, 6}))
    lead = w["plan_lead"].format(as_of=summary.as_of.isoformat(), rates=summary.rate_set,
                                 threshold=summary.threshold)
    parts = [f'<section id="plan" class="full"><h2>{esc(w["h_plan"])}</h2><p class="caption">{esc(lead)}</p>',
             f'<div class="scroll">{verdicts}</div>']
    if summary.cumulative is not None and summary.cumulative_target is not None:
        parts.append(_cumulative_block(summary.cumulative, summary.cumulative_target, lang))
    parts.append("</section>")
    parts.append(_hubs_block(summary, lang, table))
    return "".join(parts)


def cumulative_caption(outlook: CumulativeOutlook, lang: str) -> str:
    return PLAN_STRINGS[lang]["cumulative_caption"].format(
        deadline=outlook.deadline.isoformat(), on_record=outlook.on_record, need=outlook.need,
        p=format_probability(outlook.p_met), expected=f"{outlook.expected_total:.2f}",
        q05=outlook.quantile(0.05), q95=outlook.quantile(0.95))


def _cumulative_block(outlook: CumulativeOutlook, target: KpiTarget, lang: str) -> str:
    w = PLAN_STRINGS[lang]
    heading = w["h_cumulative"].format(label=target.label, deadline=outlook.deadline.isoformat())
    return (f'<h3>{esc(heading)}</h3><p class="caption">{esc(cumulative_caption(outlook, lang))}</p>'
            '<div class="chart" id="fig-plan-total"></div>')


def _hubs_block(summary: PlanSummary, lang: str, table: TableFn) -> str:
    w = PLAN_STRINGS[lang]
    years = summary.years
    headers = [w["col_hub"], w["col_funnel"], *(str(y) for y in years), w["col_total"].format(span=span_text(years)),
               w["col_per_firm"]]
    rows = [[esc(f"{h.region.name} ({kind_label(h.region.kind, lang)})"), esc(funnel_text(h, lang)),
             *(esc(year_cell(h, y)) for y in years), esc(number_cell(h.expected_total)),
             esc(number_cell(h.per_100_firms(h.expected_total), 3)) + f"<br><small>{esc(firms_text(h, lang))}</small>"]
            for h in summary.hubs]
    numeric = set(range(2, 2 + len(years) + 2))
    body = table(headers, rows, numeric, nowrap=frozenset({1}))
    notes = "".join(f"<li><b>{esc(h.region.name)}</b>: {esc(h.coverage)}<br>{esc(w['col_published'])}: "
                    f"{esc(published_text(h, lang))}</li>" for h in summary.hubs)
    body += f'<h3>{esc(w["col_coverage"])}</h3><ul class="coverage">{notes}</ul>'
    lead = w["regions_lead"].format(rates=summary.rate_set, as_of=summary.as_of.isoformat())
    note = ("" if any(h.population is not None for h in summary.hubs)
            else f'<p class="caption">{esc(w["per_capita_none"])}</p>')
    return (f'<section id="regions" class="full"><h2>{esc(w["h_regions"])}</h2><p class="caption">{esc(lead)}</p>'
            f'<div class="scroll">{body}</div>{note}<h3>{esc(w["h_hubs_chart"])}</h3>'
            f'<p class="caption">{esc(w["hubs_chart_caption"])}</p>'
            '<div class="chart" id="fig-plan-hubs"></div></section>')


def plan_figures(summary: PlanSummary, lang: str) -> dict[str, Any]:
    """The section's figures by element id."""
    out: dict[str, Any] = {"fig-plan-hubs": hubs_figure(summary.hubs, summary.years, lang)}
    if summary.cumulative is not None:
        out["fig-plan-total"] = cumulative_figure(summary.cumulative, lang)
    return out
