"""Dashboard pages of issue 12: the plan's targets (`/plan`) and the hubs side by side (`/regions`).

    /plan      each target: bound, actual, trend, forecast, P(met), verdict with its reason, and its source;
               the cumulative target's exact distribution ("10 in total by 2027")
    /regions   each hub's funnel, expected approvals per year, per 100 firms, and its data coverage

Both take `as_of` and `rates` (and /regions `years`) like `pipecast plan` and `pipecast compare-regions`, and
compute with the same calls (`pipecast.report.plan_section.compute_plan`) on the app's store, so the numbers
are the commands' numbers. Reading needs a login unless the app runs with `public_read`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from pipecast import clock
from pipecast.api.deps import AppState, CurrentUserOrNone, StateDep, csrf_token
from pipecast.errors import InputError, PipecastError
from pipecast.report import plan_section as ps
from pipecast.settings import from_env
from pipecast.web.figures import to_json
from pipecast.web.render import language, link, page
from pipecast.web.views import safe_url

router = APIRouter(include_in_schema=False)

#: Plan summaries kept per process, by store version and inputs.
CACHE_SIZE = 8


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(link(request, "/login", next=target), status_code=303)


def _when(text: str) -> dt.date:
    if not text:
        return clock.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"cannot read date {text!r}", field="as_of", expected="YYYY-MM-DD") from None


def _years(text: str, when: dt.date) -> list[int]:
    if not text:
        return list(range(when.year + 1, when.year + 4))
    from pipecast.targets import parse_years

    chosen = [y for y in parse_years(text) if y >= when.year]
    if not chosen:
        raise InputError(f"every year of {text} is before the as-of date {when}", field="years",
                         expected=f"years from {when.year} on")
    return chosen


def _summary(state: AppState, when: dt.date, rates: str, years: list[int]) -> ps.PlanSummary:
    """The plan on the store's candidates known on `when`, reused while the store does not change."""
    from pipecast.api.datacache import data_version
    from pipecast.domain import Portfolio
    from pipecast.facade import require_candidates, resolve_rates

    key = (state.store.display_url, tuple(str(k) for k in data_version(state.store)), when, rates, tuple(years))
    cache = state.extra.get("web_plan")
    if not isinstance(cache, dict):
        cache = {}
        state.extra["web_plan"] = cache
    found = cache.get(key)
    if isinstance(found, ps.PlanSummary):
        return found
    assets = state.store.assets(when)
    require_candidates(Portfolio.of(assets, when), None)
    summary = ps.compute_plan(assets, resolve_rates(rates), when, years)
    cache[key] = summary
    while len(cache) > CACHE_SIZE:
        cache.pop(next(iter(cache)))
    return summary


def _rates(value: str) -> str:
    from pipecast.rates import BUNDLED_RATE_SETS

    return value if value in BUNDLED_RATE_SETS else from_env("rates")


def _common(request: Request, lang: str, form: dict[str, str]) -> dict[str, Any]:
    from pipecast.rates import BUNDLED_RATE_SETS

    return {"w": ps.words(lang), "form": form, "rate_sets": sorted(BUNDLED_RATE_SETS), "ps": ps,
            "safe_url": safe_url, "lang": lang}


@router.get("/plan")
def plan_page(request: Request, user: CurrentUserOrNone, state: StateDep, as_of: str = "",
              rates: str = "") -> Response:
    if user is None and not state.settings.public_read:
        return _login_redirect(request)
    lang = language(request)
    form = {"as_of": as_of or clock.today().isoformat(), "rates": _rates(rates), "years": ""}
    error, summary, figs = "", None, {}
    try:
        when = _when(as_of)
        summary = _summary(state, when, form["rates"], _years("", when))
        if summary.cumulative is not None:
            figs["fig-plan-total"] = to_json(ps.cumulative_figure(summary.cumulative, lang))
    except PipecastError as exc:
        error = str(exc)
    return page(request, "plan.html", title_key="h_plan_page", active="/plan", user=user, csrf=csrf_token(request),
                figures=figs, s=summary, error=error, status=422 if error else 200,
                **_common(request, lang, form))


@router.get("/regions")
def regions_page(request: Request, user: CurrentUserOrNone, state: StateDep, as_of: str = "", years: str = "",
                 rates: str = "") -> Response:
    if user is None and not state.settings.public_read:
        return _login_redirect(request)
    lang = language(request)
    form = {"as_of": as_of or clock.today().isoformat(), "rates": _rates(rates), "years": years}
    error, summary, figs = "", None, {}
    try:
        when = _when(as_of)
        summary = _summary(state, when, form["rates"], _years(years, when))
        form["years"] = f"{summary.years[0]}-{summary.years[-1]}"
        figs["fig-plan-hubs"] = to_json(ps.hubs_figure(summary.hubs, summary.years, lang))
    except PipecastError as exc:
        error = str(exc)
    return page(request, "regions.html", title_key="h_regions_page", active="/regions", user=user,
                csrf=csrf_token(request), figures=figs, s=summary, error=error, status=422 if error else 200,
                **_common(request, lang, form))
