"""A forecast, a scenario comparison and the data's age as the pages show them: rows of text in the reader's
language. The numbers are the forecast's own; only their wording and format are decided here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from pipecast.domain import Asset
from pipecast.engines.result import Forecast
from pipecast.report.format import band_label, format_delta, format_probability, is_cjk, span_label, verdict_key
from pipecast.scenarios.compare import Comparison
from pipecast.targets import Target
from pipecast.web.i18n import format_date, format_number, phase_label


def chinese_name(asset: Asset | None, t: dict[str, str]) -> str:
    """The candidate's Chinese alias (shown first on Chinese pages); a cohort gets the report's Chinese
    description of it; "" when there is neither."""
    if asset is None or is_cjk(asset.name):
        return ""
    alias = next((alias for alias in asset.aliases if is_cjk(alias)), "")
    if not alias and asset.id.startswith("cohort:") and "cohort_name" in t:
        return t["cohort_name"].format(phase=phase_label(asset.phase.value, t))
    return alias


def data_age_text(forecast: Forecast, t: dict[str, str], lang: str) -> str:
    if forecast.data_as_of is None:
        return t["data_age_none"]
    days = (forecast.as_of - forecast.data_as_of).days
    return t["data_age"].format(data_as_of=format_date(forecast.data_as_of, lang), days=format_number(days, lang),
                                as_of=format_date(forecast.as_of, lang))


_URL_RE = re.compile(r"https?://[^\s,;\"'<>()]+[^\s,;\"'<>().]")


def linked(text: str) -> list[tuple[str, str]]:
    """Text cut into (text, url) pieces: url is "" for plain text; the template links the rest (escaped)."""
    pieces: list[tuple[str, str]] = []
    last = 0
    for match in _URL_RE.finditer(text):
        if match.start() > last:
            pieces.append((text[last:match.start()], ""))
        pieces.append((match.group(0), match.group(0)))
        last = match.end()
    if last < len(text):
        pieces.append((text[last:], ""))
    return pieces


@dataclass(frozen=True, slots=True)
class Notices:
    """What a reader must know before quoting the numbers: `shown` in the page's language, and the program's
    own English sentences (`originals`) folded beneath them on a Chinese page (empty on an English one)."""

    shown: list[str]
    originals: list[str]


def notices(forecast: Forecast, target: Target | None, t: dict[str, str], lang: str) -> Notices:
    """The forecast's warnings. In English as the forecast words them; in Chinese the same facts (the data's
    age, the stale candidates and what rests on them) said in Chinese from the forecast's fields."""
    originals = list(forecast.warnings)
    if lang == "en" or not originals:
        return Notices(originals, [])
    shown = [data_age_text(forecast, t, lang)]
    stale = [a for a in forecast.assets if a.id in forecast.stale_ids]
    if stale:
        text = t["stale_count"].format(n=format_number(sum(a.count for a in stale), lang))
        if target is not None and forecast.stale_share is not None:
            with_all = forecast.check(target).all_years_in_band
            without = min(1.0, max(0.0, with_all - forecast.stale_share))
            text += t["stale_share"].format(without=format_probability(without), p=format_probability(with_all))
        shown.append(text)
    return Notices(shown, originals)


def plain_notices(originals: list[str], data_as_of: dt.date | None, as_of: dt.date, t: dict[str, str],
                  lang: str) -> Notices:
    """Warnings about the data's age alone (the scenario page), in the page's language."""
    if lang == "en" or not originals:
        return Notices(originals, [])
    if data_as_of is None:
        return Notices([t["data_age_none"]], originals)
    days = (as_of - data_as_of).days
    text = t["stale_data"].format(data_as_of=format_date(data_as_of, lang), as_of=format_date(as_of, lang),
                                  days=format_number(days, lang))
    return Notices([text], originals)


@dataclass
class ForecastView:
    p_all: str
    p_all_raw: float
    target_label: str
    lead: str
    verdict: str
    data_age: str
    warnings: Notices
    year_headers: list[str]
    year_rows: list[list[str]]
    contributors_caption: str
    contributor_headers: list[str]
    contributors: list[dict[str, Any]]
    facts: list[tuple[str, str]]
    paragraphs: list[str]
    rate_headers: list[str] = field(default_factory=list)
    rate_rows: list[list[str]] = field(default_factory=list)
    rate_sources: list[list[tuple[str, str]]] = field(default_factory=list)


def forecast_view(forecast: Forecast, target: Target, t: dict[str, str], lang: str) -> ForecastView:
    check = forecast.check(target)
    span = span_label(target.first_year, target.last_year)
    band = band_label(target)
    p_all = format_probability(check.all_years_in_band)
    year_rows = []
    for year, p_in in check.per_year_in_band.items():
        o = forecast.outlook(year)
        year_rows.append([str(year), format_probability(p_in), format_probability(check.per_year_at_least_low[year]),
                          format_number(o.expected, lang, 2), f"{o.quantile(0.05)}–{o.quantile(0.95)}",
                          format_number(o.observed, lang)])
    by_id = {a.id: a for a in forecast.assets}
    contributors = [
        {"id": c.asset_id, "name": c.name, "zh_name": chinese_name(by_id.get(c.asset_id), t), "phase": c.phase,
         "stale": c.asset_id in forecast.stale_ids, "p_range": format_probability(c.expected_in_range),
         "delta": format_delta(c.delta_probability, t)}
        for c in check.contributors
    ]
    method = t.get(f"method_{forecast.method}", forecast.method)
    years = span_label(forecast.years[0], forecast.years[-1]) if forecast.years else ""
    facts = [
        (t["as_of"], format_date(forecast.as_of, lang)),
        (t["data_as_of"], format_date(forecast.data_as_of, lang) if forecast.data_as_of else t["data_unknown"]),
        (t["rate_set"], forecast.rate_set.name),
        (t["candidates"], t["candidates_value"].format(candidates=format_number(int(forecast.counts.sum()), lang),
                                                       rows=format_number(len(forecast.assets), lang))),
        (t["years"], years),
        (t["target"], str(target)),
        (t["method"], method),
    ]
    rate_rows = [
        [phase_label(r.phase.value, t), r.therapeutic_area or t["any"], r.modality or t["any"], f"{r.p_success:.1%}",
         format_number(r.duration.median_months, lang, 1), format_number(r.duration.p90_months, lang, 1)]
        for r in forecast.rate_set.rows
    ]
    rate_sources = [linked(" ".join(x for x in (r.source, r.note) if x)) for r in forecast.rate_set.rows]
    return ForecastView(
        p_all=p_all,
        p_all_raw=float(check.all_years_in_band),
        target_label=t["target_label"].format(target=target, band=band, span=span),
        lead=t["result_lead"].format(band=band, span=span, p=p_all),
        verdict=t["verdict"].format(verdict=t[verdict_key(check.all_years_in_band)]),
        data_age=data_age_text(forecast, t, lang),
        warnings=notices(forecast, target, t, lang),
        year_headers=[t["col_year"], t["col_in_band"].format(band=band), t["col_at_least"].format(low=target.low),
                      t["col_expected"], t["col_range90"], t["col_observed"]],
        year_rows=year_rows,
        contributors_caption=t["contributors_caption"].format(low=target.low, span=span),
        contributor_headers=[t["col_candidate"], t["col_id"], t["col_phase"], t["col_p_range"].format(span=span),
                             t["col_delta"].format(low=target.low)],
        contributors=contributors,
        facts=facts,
        paragraphs=[t["method_text"].format(method=method), t["cohort_text"], t["scope_text"]],
        rate_headers=[t["col_phase"], t["col_area"], t["col_modality"], t["col_p_success"], t["col_median"],
                      t["col_p90"], t["col_source"]],
        rate_rows=rate_rows,
        rate_sources=rate_sources,
    )


@dataclass
class ComparisonView:
    caption: str
    headers: list[str]
    rows: list[list[str]]
    names: list[str]
    expected_by_year: list[dict[str, float]]


def _pm(value: float, error: float, percent: bool, lang: str) -> str:
    if percent:
        return f"{value:.1%} ±{error:.1%}"
    return f"{format_number(value, lang, 2)} ±{format_number(error, lang, 2)}"


def _signed(value: float, error: float, percent: bool, lang: str) -> str:
    text = f"{value:+.1%}" if percent else f"{value:+,.2f}"
    spread = f"{error:.1%}" if percent else format_number(error, lang, 2)
    return f"{text.replace('-', '−')} ±{spread}"


def comparison_view(result: Comparison, t: dict[str, str], lang: str) -> ComparisonView:
    target = result.target
    band = band_label(target)
    span = span_label(target.first_year, target.last_year)
    headers = [t["col_scenario"], t["col_p_band"].format(band=band), t["col_change"],
               t["col_p_floor"].format(low=target.low), t["col_change"], t["col_expected_total"].format(span=span),
               t["col_change"]]
    rows = []
    for o in result.outcomes:
        cells = [o.name]
        for key in ("all_years_in_band", "all_years_at_least_low", "expected_total"):
            percent = key != "expected_total"
            cells.append(_pm(o.figures[key], o.errors[key], percent, lang))
            cells.append(_signed(o.difference[key], o.difference_error[key], percent, lang) if o.difference else "")
        rows.append(cells)
    return ComparisonView(
        caption=t["scenario_caption"].format(paths=format_number(result.paths, lang), seed=result.seed),
        headers=headers,
        rows=rows,
        names=[o.name for o in result.outcomes],
        expected_by_year=[{str(y.year): y.expected for y in o.forecast.outlooks} for o in result.outcomes],
    )
