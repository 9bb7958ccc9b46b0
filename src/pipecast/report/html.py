"""One self-contained HTML page for a forecast and a plan's target.

The page works offline: plotly.js is embedded from plotly's own offline bundle, there are no web
fonts, and a Content-Security-Policy forbids the page from loading anything. Every number shown is
also embedded as JSON (``script#pipecast-data``, the same shape as ``pipecast forecast --json``), so
each chart and table can be traced back to the forecast that produced it.

All visible text comes from one dictionary per language (``STRINGS["en"]``, ``STRINGS["zh"]``);
all data is escaped with ``html.escape`` before it reaches the page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipecast.domain import Asset
from pipecast.engines.result import Forecast, TargetCheck
from pipecast.errors import InputError
from pipecast.rates import BUNDLED_RATE_SETS
from pipecast.report.charts import fan_figure, funnel_figure, pmf_figure
from pipecast.report.format import (
    FUNNEL_PHASES,
    SUMMARY_CHARS,
    band_label,
    esc,
    format_delta,
    format_probability,
    is_cjk,
    span_label,
    verdict_key,
)
from pipecast.report.strings import LANGUAGES, STRINGS
from pipecast.report.style import CSP, CSS, PLOT_SCRIPT
from pipecast.report.value_section import ValueSummary, tornado_figure, value_section
from pipecast.targets import Target

if TYPE_CHECKING:
    from pipecast.report.plan_section import PlanSummary

__all__ = ["LANGUAGES", "render_report", "write_report"]

#: Year columns in one "Every candidate" table; more years wrap into a second table below it.
YEARS_PER_TABLE = 9

_URL_RE = re.compile(r"https?://[^\s,;\"'<>()]+[^\s,;\"'<>().]")


def _linkify(text: str) -> str:
    """Escape text and turn the URLs in it into links (links load nothing until followed)."""
    out: list[str] = []
    last = 0
    for match in _URL_RE.finditer(text):
        out.append(esc(text[last : match.start()]))
        url = match.group(0)
        out.append(f'<a href="{esc(url)}" rel="noreferrer noopener">{esc(url)}</a>')
        last = match.end()
    out.append(esc(text[last:]))
    return "".join(out)


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: set[int],
    cls: str = "",
    long: frozenset[int] = frozenset(),
    nowrap: frozenset[int] = frozenset(),
) -> str:
    """A table from escaped cell HTML; headers are escaped here.

    Columns in `nowrap` (short words: a phase, a date, a count) never break inside a word, which keeps
    Chinese labels from being squeezed to one character per line.
    """

    def head_class(i: int) -> str:
        classes = [c for c, cols in (("num", numeric), ("nowrap", nowrap)) if i in cols]
        return f' class="{" ".join(classes)}"' if classes else ""

    head = "".join(f"<th{head_class(i)}>{esc(h)}</th>" for i, h in enumerate(headers))
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


def _method_label(forecast: Forecast, t: dict[str, str]) -> str:
    return t.get(f"method_{forecast.method}", forecast.method)


def _base_name(path: str) -> str:
    """The last part of a path, whatever the system that wrote it."""
    return Path(path.replace("\\", "/")).name


def _is_bundled(forecast: Forecast) -> bool:
    """Whether the forecast's rate set is one of pipecast's bundled sets (not a user's file)."""
    rate_set = forecast.rate_set
    bundled = BUNDLED_RATE_SETS.get(rate_set.name)
    if bundled is None:
        return False
    origin = rate_set.origin or ""
    if not origin or origin.startswith("bundled"):
        return True
    from importlib import resources

    packaged = Path(str(resources.files("pipecast.rates") / "data" / bundled[0]))
    try:
        return Path(origin).resolve() == packaged.resolve()
    except OSError:
        return False


def _rate_name(forecast: Forecast) -> str:
    """The rate set's name: the bundled name, or a file's base name (never a local path)."""
    return _base_name(forecast.rate_set.name)


def _origin_label(forecast: Forecast, t: dict[str, str]) -> str:
    """Where the rate set comes from, for readers: never a local path, only a file's base name."""
    if _is_bundled(forecast):
        return t["bundled"]
    name = _base_name(forecast.rate_set.origin or "")
    return t["rate_file"].format(name=name) if name else ""


def _public_data(forecast: Forecast, target: Target) -> dict[str, Any]:
    """The forecast's JSON as embedded in the page, with the rate file's local path cut to its name."""
    data = forecast.to_json(target)
    rate_set = data.get("rate_set")
    if isinstance(rate_set, dict):
        rate_set["name"] = _rate_name(forecast)
        if rate_set.get("origin"):
            rate_set["origin"] = "bundled" if _is_bundled(forecast) else _base_name(str(rate_set["origin"]))
    return data


def _chinese_alias(asset: Asset) -> str:
    return next((alias for alias in asset.aliases if is_cjk(alias)), "")


def _name_cell(asset: Asset | None, name: str, t: dict[str, str], *, stale: bool = False) -> str:
    """A candidate's name as the reader's language has it.

    In Chinese, a candidate with a Chinese alias shows that alias with its code name beside it, and a
    cohort gets a Chinese description with its recorded name beside it.
    """
    shown = esc(name)
    if "cohort_name" in t and asset is not None and not is_cjk(name):
        local = _chinese_alias(asset)
        if not local and asset.id.startswith("cohort:"):
            local = t["cohort_name"].format(phase=t.get(f"phase_{asset.phase.value}", asset.phase.value))
        if local:
            shown = f'{esc(local)} <span class="alt">{esc(name)}</span>'
    if stale:
        shown += f' <span class="stale" title="{esc(t["stale_title"])}">{esc(t["stale_badge"])}</span>'
    return shown


def _stale_share(forecast: Forecast, target: Target) -> float | None:
    """P(target met) minus P(target met) without the stale candidates, where the forecast gives it for
    this target (`Forecast.stale_share`, filled in by the facade for the target it was asked about)."""
    value = getattr(forecast, "stale_share", None)
    share_target = getattr(forecast, "stale_share_target", None)
    if share_target is not None and str(share_target) != str(target):
        return None
    return float(value) if isinstance(value, int | float) else None


def _stale_text(forecast: Forecast, target: Target, check: TargetCheck, t: dict[str, str]) -> str:
    """How many candidates are stale and how the probability would change without them ("" if none)."""
    stale = [a for a in forecast.assets if a.id in forecast.stale_ids]
    if not stale:
        return ""
    text = t["stale_count"].format(n=sum(a.count for a in stale))
    share = _stale_share(forecast, target)
    if share is not None:
        with_all = check.all_years_in_band
        without = min(1.0, max(0.0, with_all - share))
        text += t.get("sentence_gap", " ") + t["stale_share"].format(
            without=format_probability(without), p=format_probability(with_all)
        )
    return text


def _notices(forecast: Forecast, target: Target, check: TargetCheck, t: dict[str, str]) -> str:
    """What a reader must know before quoting the numbers: the forecast's warnings (stale data, ...).

    In English they are shown as the forecast words them. In Chinese the page says the same in Chinese
    from the forecast's fields (data date, stale candidates) and keeps the original sentences folded.
    """
    if not forecast.warnings:
        return ""
    originals = "".join(f"<li>{esc(w)}</li>" for w in forecast.warnings)
    if "warnings_original" in t:
        local = [_data_age_text(forecast, t), _stale_text(forecast, target, check, t)]
        items = "".join(f"<li>{esc(text)}</li>" for text in local if text)
        body = (
            f"<ul>{items}</ul><details><summary>{esc(t['warnings_original'])}</summary><ul>{originals}</ul></details>"
        )
    else:
        body = f"<ul>{originals}</ul>"
    return f'<section id="warnings" class="warnings"><h2>{esc(t["h_warnings"])}</h2>{body}</section>'


def _data_age_text(forecast: Forecast, t: dict[str, str]) -> str:
    if forecast.data_as_of is None:
        return t["data_age_none"]
    days = (forecast.as_of - forecast.data_as_of).days
    return t["data_age"].format(data_as_of=forecast.data_as_of.isoformat(), days=days, as_of=forecast.as_of)


def _data_age(forecast: Forecast, t: dict[str, str]) -> str:
    """The data's date next to the headline: a reader quoting the number sees how old its basis is."""
    cls = "data-age warn" if forecast.warnings else "data-age"
    return f'<p class="{cls}">{esc(_data_age_text(forecast, t))}</p>'


# ---------------------------------------------------------------------------------------------- sections


def _headline(forecast: Forecast, target: Target, check: TargetCheck, t: dict[str, str]) -> str:
    span = span_label(target.first_year, target.last_year)
    band = band_label(target)
    p_all = format_probability(check.all_years_in_band)
    parts = [
        '<section id="headline">',
        f"<h2>{esc(t['h_headline'])}</h2>",
        '<div class="headline">',
        f'<div class="big" data-probability="{check.all_years_in_band!r}">{esc(p_all)}</div>',
        '<div class="text">',
        f'<p class="target">{esc(t["target_label"].format(target=target, band=band, span=span))}</p>',
        f"<p>{esc(t['headline'].format(as_of=forecast.as_of.isoformat(), band=band, span=span, p=p_all))}</p>",
    ]
    if target.high is not None:
        floor = format_probability(check.all_years_at_least_low)
        parts.append(f"<p>{esc(t['headline_floor'].format(low=target.low, span=span, p=floor))}</p>")
    verdict = t[verdict_key(check.all_years_in_band)]
    parts.append(f'<p class="verdict">{esc(t["verdict"].format(verdict=verdict))}</p>')
    parts.append(_data_age(forecast, t))
    if check.missing_years:
        years = ", ".join(str(y) for y in check.missing_years)
        parts.append(f'<p class="warn">{esc(t["missing_years"].format(years=years))}</p>')
    parts.append("</div></div>")
    rows = []
    for year, p_in in check.per_year_in_band.items():
        o = forecast.outlook(year)
        rows.append(
            [
                esc(year),
                esc(format_probability(p_in)),
                esc(format_probability(check.per_year_at_least_low[year])),
                esc(f"{o.expected:.2f}"),
                esc(f"{o.quantile(0.05)}–{o.quantile(0.95)}"),
                esc(o.observed),
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
    parts.append(f'<p class="caption">{esc(t["per_year_caption"])}</p>')
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
        f'<section id="{section_id}"><h2>{esc(heading)}</h2><p class="caption">{esc(caption)}</p>'
        f"{chart}{extra}</section>"
    )


def _contributors(forecast: Forecast, target: Target, check: TargetCheck, t: dict[str, str]) -> str:
    span = span_label(target.first_year, target.last_year)
    by_id = {a.id: a for a in forecast.assets}
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
            _name_cell(by_id.get(c.asset_id), c.name, t, stale=c.asset_id in forecast.stale_ids),
            f"<code>{esc(c.asset_id)}</code>",
            esc(t.get(f"phase_{c.phase}", c.phase)),
            esc(by_id[c.asset_id].count if c.asset_id in by_id else 1),
            esc(format_probability(c.expected_in_range)),
            esc(format_delta(c.delta_probability, t)),
        ]
        for c in check.contributors
    ]
    body = (
        '<div class="scroll">' + _table(headers, rows, {3, 4, 5}, nowrap=frozenset({2})) + "</div>"
        if rows
        else f"<p>{esc(t['no_contributors'])}</p>"
    )
    return (
        f'<section id="contributors"><h2>{esc(t["h_contributors"])}</h2>'
        f'<p class="caption">{esc(t["contributors_caption"].format(low=target.low, span=span))}</p>'
        f"{body}</section>"
    )


def _year_groups(years: list[str], size: int = YEARS_PER_TABLE) -> list[list[str]]:
    """Years split into as few tables as fit a screen's width, of equal size (16 years: 8 and 8)."""
    if not years:
        return [[]]
    parts = -(-len(years) // size)
    step = -(-len(years) // parts)
    return [years[k : k + step] for k in range(0, len(years), step)]


def _candidates(forecast: Forecast, target: Target, check: TargetCheck, t: dict[str, str]) -> str:
    """Every candidate, full width with every year visible: the page scrolls, the table does not.

    Many forecast years wrap into a second table (name, P(ever) and the later years) instead of
    running off the page's right edge.
    """
    rows_data = sorted(forecast.candidate_rows(), key=lambda r: (-r["p_approval"], r["name"], r["id"]))
    by_id = {a.id: a for a in forecast.assets}
    names = {
        r["id"]: _name_cell(by_id.get(r["id"]), r["name"], t, stale=r["id"] in forecast.stale_ids)
        + f'<br><code class="id">{esc(r["id"])}</code>'
        for r in rows_data
    }
    tables = []
    for k, years in enumerate(_year_groups([str(y) for y in forecast.years])):
        lead = (
            [t["col_name"], t["col_sponsor"], t["col_phase"], t["col_since"], t["col_copies"]]
            if k == 0
            else [t["col_name"]]
        )
        headers = [*lead, t["col_p_ever"], *years]
        rows = [
            [
                names[r["id"]],
                *(
                    [
                        esc(r["sponsor"]),
                        esc(t.get(f"phase_{r['phase']}", r["phase"])),
                        esc(r["phase_start"]),
                        esc(r["count"]),
                    ]
                    if k == 0
                    else []
                ),
                esc(format_probability(r["p_approval"])),
                *[esc(format_probability(r["by_year"][y])) for y in years],
            ]
            for r in rows_data
        ]
        first_year = len(lead) + 1
        numeric = {first_year - 1, *range(first_year, first_year + len(years))}
        if k == 0:
            numeric.add(4)
        nowrap = frozenset({*range(first_year, first_year + len(years)), *((2, 3, 4) if k == 0 else ())})
        if k:
            span = span_label(int(years[0]), int(years[-1]))
            tables.append(f"<h3>{esc(t['candidates_more'].format(span=span))}</h3>")
        tables.append(_table(headers, rows, numeric, cls="candidates", nowrap=nowrap))
    stale_text = _stale_text(forecast, target, check, t)
    stale = f'<p class="caption stale-note">{esc(stale_text)}</p>' if stale_text else ""
    return (
        f'<section id="candidates" class="full"><h2>{esc(t["h_candidates"])}</h2>'
        f'<p class="caption">{esc(t["candidates_caption"])}</p>{stale}{"".join(tables)}</section>'
    )


def _funnel_section(forecast: Forecast, t: dict[str, str]) -> str:
    funnel = forecast.funnel()
    inactive = [f"{t.get(f'phase_{p}', p)} {n}" for p, n in funnel.items() if n and p not in FUNNEL_PHASES]
    extra = f'<p class="caption">{esc(t["funnel_inactive"].format(items=", ".join(inactive)))}</p>' if inactive else ""
    caption = t["funnel_caption"].format(as_of=forecast.as_of.isoformat())
    return _chart_section("funnel", t["h_funnel"], caption, "fig-funnel", extra)


def _rate_description(forecast: Forecast, t: dict[str, str]) -> str:
    """The bundled rate set's one-line source, in the reader's language where it is translated."""
    bundled = BUNDLED_RATE_SETS.get(forecast.rate_set.name)
    if bundled and _is_bundled(forecast):
        return t.get(f"rate_desc_{forecast.rate_set.name}", bundled[1])
    return ""


def _source_cell(source: str, note: str, t: dict[str, str]) -> str:
    """Source and note of a rate row, folded to one line until opened (the full text stays in the page)."""
    if not source and not note:
        return ""
    short = source or note
    summary = short if len(short) <= SUMMARY_CHARS else short[: SUMMARY_CHARS - 1].rstrip() + "…"
    body = f"<p>{_linkify(source)}</p>" if source else ""
    if note:
        body += f'<p class="note"><b>{esc(t["col_note"])}:</b> {_linkify(note)}</p>'
    return f"<details><summary>{esc(summary)}</summary>{body}</details>"


def _honesty_facts(forecast: Forecast, target: Target, t: dict[str, str]) -> list[tuple[str, str]]:
    """Which validation applies to the rate set and how it scored; the arrivals and the pipeline-only figure."""
    from pipecast.loading.validation import validation_lines

    facts = [(t.get("validation", "Validation"),
              "<br>".join(esc(line) for line in validation_lines(forecast.validation)))]
    if forecast.arrival_fit is not None:
        rates = ", ".join(f"{k} {v:g}" for k, v in forecast.arrival_fit["per_year"].items() if v)
        expected = "; ".join(f"{o.year}: {o.from_pipeline:.2f} + {o.from_arrivals:.2f}" for o in forecast.outlooks)
        alone = forecast.probability_met(target, pipeline_only=True)
        facts.append((t.get("arrivals", "Candidates not yet known (arrivals)"), esc(
            f"new phase entries a year: {rates or 'none'} (Poisson, fitted on {forecast.arrival_fit['fitted_on']} "
            f"entries known at the as-of date). Expected approvals from today's pipeline + from candidates not "
            f"yet known: {expected}. P(target {target}) from today's pipeline alone (independent, no "
            f"arrivals): {alone:.1%}")))
    return facts


def _assumptions(forecast: Forecast, target: Target, t: dict[str, str]) -> str:
    rate_set = forecast.rate_set
    description = _rate_description(forecast, t)
    origin = _origin_label(forecast, t)
    years = span_label(forecast.years[0], forecast.years[-1]) if forecast.years else ""
    facts = [
        (t["as_of"], esc(forecast.as_of.isoformat())),
        (t["data_as_of"], esc(forecast.data_as_of.isoformat() if forecast.data_as_of else t["data_unknown"])),
        (t["rate_set"], f"<code>{esc(_rate_name(forecast))}</code>"),
    ]
    if origin:
        facts.append((t["rate_origin"], esc(origin)))
    if description:
        facts.append((t["rate_description"], esc(description)))
    facts += [
        (
            t["candidates"],
            esc(t["candidates_value"].format(candidates=int(forecast.counts.sum()), rows=len(forecast.assets))),
        ),
        (t["years"], esc(years)),
        (t["target"], f"<code>{esc(target)}</code>"),
        (t["method"], esc(_method_label(forecast, t))),
        *_honesty_facts(forecast, target, t),
    ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{v}</dd>" for k, v in facts)
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
                esc(t.get(f"phase_{r.phase.value}", r.phase.value)),
                esc(r.therapeutic_area or t["any"]),
                esc(r.modality or t["any"]),
                esc(f"{r.p_success:.1%}"),
                esc(f"{r.duration.median_months:.1f}"),
                esc(f"{r.duration.p90_months:.1f}"),
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
    table = _table(headers, rows, {3, 4, 5}, cls="rates", long=frozenset({6}), nowrap=frozenset({0}))
    paragraphs = [t["method_text"].format(method=_method_label(forecast, t)), t["cohort_text"], t["scope_text"]]
    if forecast.mc_error:
        paragraphs.append(t["mc_text"])
    text = "".join(f"<p>{esc(p)}</p>" for p in paragraphs)
    return (
        f'<section id="assumptions"><h2>{esc(t["h_assumptions"])}</h2><dl class="facts">{dl}</dl>{text}'
        f'<h3>{esc(t["h_rates"])}</h3><p class="caption">{esc(t["rates_caption"])}</p>'
        f'<div class="scroll">{table}</div></section>'
    )


def _plan_section(plan: PlanSummary | None, lang: str) -> str:
    if plan is None:
        return ""
    from pipecast.report.plan_section import plan_section

    return plan_section(plan, lang, _table)


# ---------------------------------------------------------------------------------------------- page


def render_report(
    forecast: Forecast,
    target: Target,
    *,
    title: str | None = None,
    lang: str = "en",
    value: ValueSummary | None = None,
    plan: PlanSummary | None = None,
) -> str:
    """The whole report as one HTML document (a str) that opens offline in any browser.

    With `value` (`pipecast.report.value_section.compute_value_summary`) it has a Value section too."""
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
    if value is not None:
        figures["fig-tornado"] = tornado_figure(value, lang)
    if plan is not None:  # the Plan section (pipecast.report.plan_section)
        from pipecast.report.plan_section import plan_figures

        figures |= plan_figures(plan, lang)
    figures_json = "{" + ",".join(f"{json.dumps(k)}:{fig.to_json()}" for k, fig in figures.items()) + "}"
    public = _public_data(forecast, target) | ({"value": value.as_dict()} if value is not None else {})
    public |= {"plan": plan.as_dict()} if plan is not None else {}
    data_json = json.dumps(public, ensure_ascii=False, default=_json_default)
    meta = t["meta"].format(
        as_of=forecast.as_of.isoformat(),
        data_as_of=forecast.data_as_of.isoformat() if forecast.data_as_of else t["data_unknown"],
        rates=_rate_name(forecast),
        candidates=int(forecast.counts.sum()),
        rows=len(forecast.assets),
        method=_method_label(forecast, t),
    )
    sections = [
        _notices(forecast, target, check, t),
        _headline(forecast, target, check, t),
        _chart_section("fan", t["h_fan"], t["fan_caption"], "fig-fan"),
        _chart_section("distribution", t["h_pmf"], t["pmf_caption"], "fig-pmf", wide=True),
        _contributors(forecast, target, check, t),
        _candidates(forecast, target, check, t),
        _funnel_section(forecast, t),
        value_section(value, lang, _table) if value is not None else "",
        _plan_section(plan, lang),
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
            f"<title>{esc(page_title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            "<main>",
            f'<header><h1>{esc(page_title)}</h1><p class="meta">{esc(meta)}</p></header>',
            f'<noscript><p class="warn">{esc(t["noscript"])}</p></noscript>',
            *sections,
            f"<footer><p>{esc(t['footer'].format(version=_version()))}</p></footer>",
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
    value: ValueSummary | None = None,
    plan: PlanSummary | None = None,
) -> Path:
    """Write the report to `path` (UTF-8) and return the path written."""
    out = Path(path)
    if out.parent and not out.parent.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(forecast, target, title=title, lang=lang, value=value, plan=plan), encoding="utf-8")
    return out
