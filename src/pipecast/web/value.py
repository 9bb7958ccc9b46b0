"""The dashboard's `/value` page (issue 11): the bundled deals' headline against their risk-adjusted value,
the pipeline's rNPV with its Monte Carlo P10/P50/P90, and the 2025 Chongqing measures' cost per expected
approval, all from `pipecast.valuation` (the figures of `pipecast value ... --json`) on the store as known on
`?as_of=` (default: today). Words in English and Chinese.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from pipecast import clock
from pipecast.api.deps import CurrentUserOrNone, StateDep, csrf_token
from pipecast.web.i18n import strings
from pipecast.web.render import language, link, page

router = APIRouter(include_in_schema=False)
#: At most this many Monte Carlo paths on the page (the setting `paths` when smaller), to answer quickly.
PAGE_PATHS = 4000

VALUE_STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "h_value": "Value: deals, pipeline rNPV and public support",
        "value_lead": "Risk-adjusted values from the forecast's own probabilities and timings, as of {as_of} "
                      "(rate set {rates}; default economics; millions of the currency shown).",
        "value_as_of": "As of",
        "value_show": "Show",
        "h_value_deals": "Licensing deals: headline against risk-adjusted value",
        "col_deal": "Deal",
        "col_seen_on": "Seen on",
        "col_headline": "Headline",
        "col_licensor": "Risk-adjusted to the licensor",
        "col_share": "Share of headline",
        "col_p_approval": "P(approval)",
        "deal_assumed": "The split of the milestones by event and the royalty tiers are assumptions (the "
                        "published terms give totals only).",
        "deal_unknown": "{deal}: the candidate is not known on this date.",
        "h_value_pipeline": "Pipeline rNPV",
        "pipeline_lead": "{n} candidates; analytic rNPV {rnpv}; Monte Carlo ({paths} paths, seed {seed}): mean "
                         "{mean} ± {se}.",
        "col_p10": "P10",
        "col_p50": "P50",
        "col_p90": "P90",
        "h_value_programme": "The 2025 Chongqing measures (渝府办发〔2025〕56号)",
        "col_outlay": "Expected outlay in the window",
        "col_due": "Due to date",
        "col_approvals": "Expected approvals in the window",
        "col_cost_per_approval": "Cost per expected approval",
        "programme_note": "A gross ratio: outlay over approvals expected, not the cost of an approval the "
                          "programme caused.",
        "value_none": "No candidates are known on this date.",
    },
    "zh": {
        "h_value": "价值：许可交易、管线风险调整净现值与政策支持",
        "value_lead": "基于与获批预测相同的概率和时间估算的风险调整价值，截至 {as_of}（比率集 {rates}；"
                      "默认经济参数；金额单位为所示货币的百万元）。",
        "value_as_of": "截至日期",
        "value_show": "显示",
        "h_value_deals": "许可交易：公告总额与风险调整价值",
        "col_deal": "交易",
        "col_seen_on": "估值日期",
        "col_headline": "公告总额",
        "col_licensor": "对许可方的风险调整价值",
        "col_share": "占公告总额",
        "col_p_approval": "获批概率",
        "deal_assumed": "里程碑按事件的拆分和分成档位为假设（公开条款只给出总额）。",
        "deal_unknown": "{deal}：该日期尚无此候选药物的记录。",
        "h_value_pipeline": "管线风险调整净现值（rNPV）",
        "pipeline_lead": "共 {n} 个候选药物；解析 rNPV {rnpv}；蒙特卡洛（{paths} 条路径，种子 {seed}）："
                         "均值 {mean} ± {se}。",
        "col_p10": "P10",
        "col_p50": "P50",
        "col_p90": "P90",
        "h_value_programme": "重庆 2025 年支持措施（渝府办发〔2025〕56号）",
        "col_outlay": "有效期内预期支出",
        "col_due": "截至目前应付",
        "col_approvals": "有效期内预期获批数",
        "col_cost_per_approval": "每个预期获批的成本",
        "programme_note": "毛比率：预期支出除以预期获批数，并非该政策促成一个获批的成本。",
        "value_none": "该日期没有已知的候选药物。",
    },
}


def _figures(state: StateDep, when: dt.date) -> dict[str, Any]:
    from pipecast.domain import Portfolio
    from pipecast.errors import InputError
    from pipecast.facade import resolve_rates
    from pipecast.loading.deals import (
        BUNDLED_DEALS,
        bundled_deal_path,
        bundled_programme_path,
        load_deal,
        load_programme,
    )
    from pipecast.settings import int_value
    from pipecast.valuation import deal_json, pipeline_json, programme_json

    rates = resolve_rates(None)

    def assets_on(day: dt.date) -> list[Any]:
        return list(Portfolio.of(state.views.assets(day), day).assets)

    assets = assets_on(when)
    deals: list[dict[str, Any]] = []
    unknown: list[str] = []
    for name in sorted(BUNDLED_DEALS):
        with bundled_deal_path(name) as path:
            the_deal = load_deal(path)
        for seen in sorted({min(the_deal.date, when), when}):
            try:
                out = deal_json(the_deal, name, assets if seen == when else assets_on(seen), rates, None, seen)
            except InputError:
                unknown.append(name)
                continue
            deals.append({"name": name, "deal": the_deal, "seen": seen, "out": out})
    paths, seed = min(int_value("paths"), PAGE_PATHS), int_value("seed")
    pipeline = pipeline_json(assets, rates, None, "USD", when, paths=paths, seed=seed) if assets else None
    with bundled_programme_path("chongqing-2025") as path:
        programme = programme_json(load_programme(path), assets, rates, None, when)
    return {"deals": deals, "unknown": unknown, "pipeline": pipeline, "programme": programme,
            "rates": rates.name, "n": len(assets)}


@router.get("/value")
def value_page(request: Request, user: CurrentUserOrNone, state: StateDep, as_of: dt.date | None = None) -> Response:
    if user is None and not state.settings.public_read:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(link(request, "/login", next=target), status_code=303)
    lang = language(request)
    w = strings(lang) | VALUE_STRINGS[lang]
    when = as_of or clock.today()
    return page(request, "value.html", title_key="nav_value", active="/value", user=user, csrf=csrf_token(request),
                title=w["h_value"], w=w, as_of=when, **_figures(state, when))
