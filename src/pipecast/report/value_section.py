"""The report's Value section: the deals' risk-adjusted value against their headline, the pipeline's rNPV,
the cost per expected approval of the 2025 Chongqing measures, and a tornado of the rNPV's sensitivity.

Every figure comes from `pipecast.value` on the forecast's own candidates, rate set and as-of date, with the
bundled sourced economics (USD million; the programme in CNY million). `compute_value_summary` does the
arithmetic (it reads the bundled tables); `value_section` and `tornado_figure` only present it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from pipecast.report.format import esc
from pipecast.report.style import BLUE, FONT_STACK

if TYPE_CHECKING:
    from pipecast.domain import Asset
    from pipecast.engines.result import Forecast
    from pipecast.store.money import DealRecord
    from pipecast.value.economics import Economics

#: Monte Carlo paths for the pipeline's P10/P50/P90 on the page (seeded: the same page every time).
REPORT_PATHS = 4000

VALUE_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "h_value": "Value",
        "value_caption": (
            "Risk-adjusted values from the same success probabilities and timings as the forecast, seen on {as_of}, "
            "with the bundled sourced economics (USD million unless marked). A headline adds up every amount a "
            "deal could pay; the risk-adjusted value weighs each payment by the probability that its event "
            "happens and discounts it to {as_of}."
        ),
        "h_deals": "Deals: headline against risk-adjusted value",
        "col_deal": "Deal",
        "col_signed": "Signed",
        "col_headline": "Headline",
        "col_risk_adjusted": "Risk-adjusted to the licensor",
        "col_share": "Share of headline",
        "col_p_approval": "P(approval)",
        "col_deal_note": "Note",
        "deal_not_valued": "not valued: the amounts by event are not published",
        "deal_no_candidate": "not valued: the candidate is not in this forecast",
        "deal_assumed": "split of milestones by event and royalty tiers assumed (not published)",
        "deal_recorded": "valued on the terms by event recorded in the store",
        "unknown": "unknown",
        "no_deals": "No deal is recorded for these candidates.",
        "h_pipeline": "Pipeline rNPV",
        "pipeline_text": (
            "rNPV of the {n} candidate(s) in this forecast: {rnpv} {currency} million "
            "(Monte Carlo, {paths} paths, seed {seed}: P10 {p10}, P50 {p50}, P90 {p90})."
        ),
        "h_programme": "Cost per expected approval of the 2025 measures",
        "programme_text": (
            "{name}, valid {valid_from} to {valid_until}: expected public outlay in the window {outlay} {currency} "
            "million ({due} due to date), expected approvals in the window {approvals}, cost per expected approval "
            "{cost} {currency} million. A gross ratio: what the programme pays per approval it sees, not the cost "
            "of an approval it caused."
        ),
        "h_tornado": "What moves the pipeline rNPV most",
        "tornado_caption": (
            "The pipeline rNPV ({base} {currency} million) with each input moved 20% down and 20% up for every "
            "candidate at once, the others held; widest range first."
        ),
        "tornado_down": "input −20%",
        "tornado_up": "input +20%",
        "axis_rnpv": "pipeline rNPV, {currency} million",
        "input_peak sales": "peak sales",
        "input_development costs": "development costs",
        "input_discount rate": "discount rate",
        "input_cost of goods": "cost of goods",
        "input_selling expense": "selling expense",
        "input_tax rate": "tax rate",
        "input_years to loss of exclusivity": "years to loss of exclusivity",
        "input_years to peak": "years to peak",
        "input_phase success probabilities": "phase success probabilities",
        "input_phase durations": "phase durations",
    },
    "zh": {
        "h_value": "价值",
        "value_caption": (
            "风险调整后的价值,采用与预测相同的各期成功概率和时间,以{as_of}为观察日,使用内置的有来源的经济参数"
            "(除注明外为百万美元)。交易总额是交易可能支付的全部金额之和;风险调整后价值按每笔付款对应事件"
            "发生的概率加权,并折现到{as_of}。"
        ),
        "h_deals": "交易:总额与风险调整后价值",
        "col_deal": "交易",
        "col_signed": "签署日期",
        "col_headline": "交易总额",
        "col_risk_adjusted": "对许可方的风险调整后价值",
        "col_share": "占总额比例",
        "col_p_approval": "获批概率",
        "col_deal_note": "备注",
        "deal_not_valued": "未估值:按事件划分的金额未公开",
        "deal_no_candidate": "未估值:该候选药物不在本次预测中",
        "deal_assumed": "里程碑按事件的拆分和特许权使用费分档为假设(未公开)",
        "deal_recorded": "按数据库中记录的分事件条款估值",
        "unknown": "未知",
        "no_deals": "这些候选药物没有记录在案的交易。",
        "h_pipeline": "管线风险调整净现值(rNPV)",
        "pipeline_text": (
            "本次预测中{n}个候选药物的rNPV:{rnpv}百万{currency}"
            "(蒙特卡洛模拟,{paths}条路径,种子{seed}:P10 {p10},P50 {p50},P90 {p90})。"
        ),
        "h_programme": "2025年措施每个预期获批的成本",
        "programme_text": (
            "{name},有效期{valid_from}至{valid_until}:有效期内预期公共支出{outlay}百万{currency}"
            "(其中截至观察日应付{due}),有效期内预期获批{approvals}个,每个预期获批的成本{cost}百万{currency}。"
            "这是一个总比率:即该措施每看到一个获批所支付的金额,而非由该措施促成的一个获批的成本。"
        ),
        "h_tornado": "对管线rNPV影响最大的因素",
        "tornado_caption": (
            "管线rNPV({base}百万{currency}):对所有候选药物同时将每个输入下调20%和上调20%,其余保持不变;"
            "按影响范围从大到小排列。"
        ),
        "tornado_down": "输入 −20%",
        "tornado_up": "输入 +20%",
        "axis_rnpv": "管线rNPV,百万{currency}",
        "input_peak sales": "峰值销售额",
        "input_development costs": "研发成本",
        "input_discount rate": "折现率",
        "input_cost of goods": "销售成本",
        "input_selling expense": "销售费用",
        "input_tax rate": "税率",
        "input_years to loss of exclusivity": "距失去独占期的年数",
        "input_years to peak": "达到峰值的年数",
        "input_phase success probabilities": "各期成功概率",
        "input_phase durations": "各期持续时间",
    },
}


@dataclass(frozen=True)
class DealLine:
    name: str
    date_text: str
    currency: str
    headline: float | None
    licensor_value: float | None  # risk-adjusted, None when not valued
    p_approval: float | None
    note_key: str  # deal_assumed, deal_not_valued, deal_no_candidate or ""
    source_url: str = ""
    status: str = ""  # as recorded, e.g. "terminated by ..."


@dataclass(frozen=True)
class SwingLine:
    input: str
    low: float
    high: float


@dataclass(frozen=True)
class ValueSummary:
    as_of: str
    currency: str
    candidates: int
    pipeline_rnpv: float
    p10: float
    p50: float
    p90: float
    paths: int
    seed: int
    deals: tuple[DealLine, ...]
    tornado: tuple[SwingLine, ...]
    programme: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _deal_lines(
    forecast: Forecast, stored: Sequence[DealRecord], economics_for: Any, deal_terms: Sequence[Any]
) -> list[DealLine]:
    """One line per recorded deal (or per bundled deal term sheet when none is recorded) on these candidates."""
    from pipecast.value.deals import value_deal

    by_id = {a.id: a for a in forecast.assets}
    terms = {d.candidate: d for d in deal_terms}
    records = list(stored) or [_as_record(d) for d in deal_terms]
    out = []
    for record in records:
        if record.candidate not in by_id:
            continue
        parties = f"{record.licensor} → {record.licensee}" if record.licensor else f"→ {record.licensee}"
        name = f"{record.asset or record.candidate}: {parties}"
        deal = _recorded_terms(record) or terms.get(record.candidate)
        if deal is None or deal.licensee.casefold() not in record.licensee.casefold():
            out.append(DealLine(name, record.date_text, record.currency, record.headline, None, None,
                                "deal_not_valued", record.source_url, record.status))
            continue
        econ = economics_for(by_id[record.candidate]).converted(deal.currency)
        result = value_deal(deal, by_id[record.candidate], forecast.rate_set, econ, forecast.as_of)
        note = "deal_recorded" if record.terms else "deal_assumed"
        out.append(DealLine(name, record.date_text, deal.currency, record.headline or deal.headline, result.licensor,
                            result.p_approval, note, record.source_url, record.status))
    return out


def _recorded_terms(record: DealRecord) -> Any:
    """The deal as recorded with its terms by event (a DEAL.yaml kept in the store), or None."""
    if not record.terms:
        return None
    import json

    from pipecast.loading.deals import deal_from_terms

    return deal_from_terms(json.loads(record.terms), f"store deal {record.key}")


def _as_record(deal: Any) -> Any:
    from pipecast.store.money import DealRecord

    return DealRecord(key=deal.candidate, licensor="", licensee=deal.licensee, currency=deal.currency,
                      date_text=deal.date.isoformat(), source_title="", source_url="", candidate=deal.candidate,
                      headline=deal.headline)


def compute_value_summary(
    forecast: Forecast, *, stored_deals: Sequence[DealRecord] = (), paths: int = REPORT_PATHS, seed: int = 0
) -> ValueSummary:
    """The Value section's figures for a forecast (its candidates, rate set and as-of date)."""
    from pipecast.loading.deals import (
        BUNDLED_DEALS,
        bundled_deal_path,
        bundled_programme_path,
        load_deal,
        load_programme,
    )
    from pipecast.loading.economics import bundled_economics
    from pipecast.value.montecarlo import simulate_portfolio
    from pipecast.value.programme import evaluate_programme
    from pipecast.value.sensitivity import pipeline_tornado

    table = bundled_economics()

    def economics_for(asset: Asset) -> Economics:
        return table.for_candidate(asset.therapeutic_area, asset.modality)

    assets, rates, as_of = forecast.assets, forecast.rate_set, forecast.as_of
    base, swings = pipeline_tornado(assets, rates, economics_for, as_of)
    total, _ = simulate_portfolio(assets, rates, economics_for, as_of, paths=paths, seed=seed)
    terms = []
    for name in BUNDLED_DEALS:
        with bundled_deal_path(name) as path:
            terms.append(load_deal(path))
    with bundled_programme_path("chongqing-2025") as path:
        measures = load_programme(path)
    programme = None
    if assets:
        result = evaluate_programme(measures, assets, rates, lambda a: economics_for(a).converted("CNY"), as_of)
        data = result.as_dict()
        programme = {k: data[k] for k in ("programme", "currency", "valid_from", "valid_until", "expected_outlay",
                                          "due_to_date", "expected_approvals", "cost_per_expected_approval")}
    return ValueSummary(
        as_of=as_of.isoformat(),
        currency="USD",
        candidates=sum(a.count for a in assets),
        pipeline_rnpv=base,
        p10=total.p10,
        p50=total.p50,
        p90=total.p90,
        paths=total.paths,
        seed=seed,
        deals=tuple(_deal_lines(forecast, stored_deals, economics_for, terms)),
        tornado=tuple(SwingLine(s.input, s.low, s.high) for s in swings),
        programme=programme,
    )


def _m(value: float | None, t: dict[str, str]) -> str:
    return t["unknown"] if value is None else f"{value:,.1f}"


def value_section(summary: ValueSummary, lang: str, table: Any) -> str:
    """The section's HTML; `table` is the report's table helper (headers, rows, numeric columns, ...)."""
    t = VALUE_STRINGS[lang]
    parts = [f'<section id="value"><h2>{esc(t["h_value"])}</h2>',
             f'<p class="caption">{esc(t["value_caption"].format(as_of=summary.as_of))}</p>',
             f'<h3>{esc(t["h_deals"])}</h3>']
    if summary.deals:
        rows = []
        for d in summary.deals:
            share = (f"{d.licensor_value / d.headline:.1%}" if d.licensor_value is not None and d.headline
                     else "")
            rows.append([
                esc(d.name), esc(d.date_text), esc(f"{d.currency} {_m(d.headline, t)}"),
                esc(_m(d.licensor_value, t) if d.licensor_value is not None else "—"), esc(share),
                esc(f"{d.p_approval:.1%}" if d.p_approval is not None else ""),
                esc("; ".join(x for x in (d.status if "terminat" in d.status else "", t[d.note_key]) if x)),
            ])
        headers = [t["col_deal"], t["col_signed"], t["col_headline"], t["col_risk_adjusted"], t["col_share"],
                   t["col_p_approval"], t["col_deal_note"]]
        parts.append('<div class="scroll">' + table(headers, rows, {2, 3, 4, 5}, nowrap=frozenset({1}))
                     + "</div>")
    else:
        parts.append(f"<p>{esc(t['no_deals'])}</p>")
    parts.append(f'<h3>{esc(t["h_pipeline"])}</h3>')
    parts.append("<p>" + esc(t["pipeline_text"].format(
        n=summary.candidates, rnpv=f"{summary.pipeline_rnpv:,.0f}", currency=summary.currency, paths=summary.paths,
        seed=summary.seed, p10=f"{summary.p10:,.0f}", p50=f"{summary.p50:,.0f}", p90=f"{summary.p90:,.0f}")) + "</p>")
    if summary.programme is not None:
        p = summary.programme
        cost = p["cost_per_expected_approval"]
        parts.append(f'<h3>{esc(t["h_programme"])}</h3>')
        parts.append("<p>" + esc(t["programme_text"].format(
            name=p["programme"], valid_from=p["valid_from"], valid_until=p["valid_until"],
            outlay=f"{p['expected_outlay']:,.1f}", currency=p["currency"], due=f"{p['due_to_date']:,.1f}",
            approvals=f"{p['expected_approvals']:.2f}", cost=f"{cost:,.1f}" if cost is not None else t["unknown"],
        )) + "</p>")
    parts.append(f'<h3>{esc(t["h_tornado"])}</h3>')
    parts.append('<p class="caption">' + esc(t["tornado_caption"].format(
        base=f"{summary.pipeline_rnpv:,.0f}", currency=summary.currency)) + "</p>")
    parts.append('<div class="chart" id="fig-tornado"></div></section>')
    return "".join(parts)


def tornado_figure(summary: ValueSummary, lang: str) -> Any:
    """Horizontal bars from the pipeline's rNPV to its value with each input down (light) and up (dark)."""
    import plotly.graph_objects as go

    t = VALUE_STRINGS[lang]
    rows = summary.tornado
    labels = [t.get(f"input_{s.input}", s.input) for s in rows]
    base = summary.pipeline_rnpv
    fig = go.Figure()
    for name, values, color in ((t["tornado_down"], [s.low for s in rows], f"rgba({BLUE},0.45)"),
                                (t["tornado_up"], [s.high for s in rows], f"rgba({BLUE},0.9)")):
        fig.add_trace(go.Bar(
            y=labels, x=[v - base for v in values], base=[base] * len(values), orientation="h", name=name,
            marker={"color": color}, customdata=values,
            hovertemplate="%{y}: %{customdata:,.0f}<extra>" + name + "</extra>",
        ))
    fig.add_vline(x=base, line={"color": "#333", "width": 1})
    fig.update_layout(
        template="plotly_white", height=80 + 34 * max(len(rows), 1), autosize=True, barmode="overlay",
        margin={"l": 220, "r": 20, "t": 10, "b": 50}, font={"family": FONT_STACK, "size": 13},
        legend={"orientation": "h", "y": -0.18},
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text=t["axis_rnpv"].format(currency=summary.currency), tickformat=",d")
    return fig


def recorded_deals(db: str | None, from_store: bool) -> list[DealRecord]:
    """The store's recorded deals when the forecast's candidates came from the store, else none."""
    if not from_store:
        return []
    from pipecast.store import Store
    from pipecast.store.money import deals

    with Store.open(db, create=False) as store:
        return deals(store)
