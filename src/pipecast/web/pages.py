"""The dashboard: server-rendered pages (Jinja2, autoescaped) beside the REST API, in English and Chinese.

    /                       overview: counts by phase, area and modality; the target dials; the data's age
    /candidates             search (names and aliases in any language) and filters (phase, sponsor)
    /candidates/{id}        timeline of events with sources; approval-year distribution
    /forecast               a forecast form and its result: fan chart, yearly distributions, contributors
    /scenarios              two scenario files compared on common random numbers
    /import                 upload CSV/XLSX, dry run with the row named on error, then commit (CSRF)
    /audit                  the audit log, read-only
    /login, /logout         a browser session (the API's session cookie and CSRF token)
    /static/...             the stylesheet, the chart script and plotly.js from the installed plotly package

`router` is included by `pipecast.api.create_app`; every handler reads the app's state (`pipecast.api.deps`).
Reading needs a logged-in user unless the app runs with `public_read`; importing needs an editor or admin.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, RedirectResponse, Response

from pipecast import clock
from pipecast.api.deps import AppState, CurrentUserOrNone, StateDep, csrf_token
from pipecast.api.security import Principal
from pipecast.errors import InputError, PipecastError
from pipecast.settings import from_env, int_value
from pipecast.web import figures, views
from pipecast.web.i18n import format_date, strings
from pipecast.web.imports import (
    ImportProblem,
    StagedUpload,
    import_upload,
    stage_upload,
    summary_text,
    take_staged,
)
from pipecast.web.render import language, link, page
from pipecast.web.results import (
    Notices,
    chinese_name,
    comparison_view,
    data_age_text,
    forecast_view,
    notices,
    plain_notices,
)
from pipecast.web.scenario_files import ScenarioFile, scenario_files

router = APIRouter(include_in_schema=False)

#: Candidates per page of the list.
PAGE_SIZE = 50
#: Audit rows per page.
AUDIT_PAGE_SIZE = 100
#: The most Monte Carlo paths a page may ask for (the API takes larger runs as background jobs).
MAX_PAGE_PATHS = 20_000
DEFAULT_PAGE_PATHS = 10_000
#: Static files served from this package; plotly.js comes from the installed plotly package.
STATIC_FILES = {"style.css": "text/css", "app.js": "text/javascript"}
PLOTLY_FILE = "plotly.min.js"


# ------------------------------------------------------------------------------------------------ helpers


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(link(request, "/login", next=target), status_code=303)


def _may_read(user: Principal | None, state: AppState) -> bool:
    return user is not None or state.settings.public_read


def _may_write(user: Principal | None) -> bool:
    return user is not None and user.role in ("editor", "admin")


def _cache(state: AppState) -> views.ForecastCache:
    cache = state.extra.get("web_forecasts")
    if not isinstance(cache, views.ForecastCache):
        cache = views.ForecastCache()
        state.extra["web_forecasts"] = cache
    return cache


def _stamp(state: AppState) -> tuple[str, ...]:
    from pipecast.api.datacache import data_version

    return tuple(str(k) for k in data_version(state.store))


def _parse_date(text: str | None, field: str) -> dt.date:
    if not text:
        return clock.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"cannot read date {text!r}", field=field, expected="YYYY-MM-DD") from None


def _run_forecast(state: AppState, *, as_of: dt.date, years: str, target: str, rates: str, method: str = "exact",
                  paths: int = 0) -> Any:
    """A forecast on the app's store, as `pipecast forecast` makes it (the same facade call, so the same
    numbers, data date and warnings), reused while the store's data version does not change."""
    from pipecast.facade import choose_method, forecast_with

    key = views.ForecastKey(state.store.display_url, _stamp(state), as_of, years, target, rates, method, paths)

    def compute() -> Any:
        given: dict[str, Any] = {"paths": paths if method == "montecarlo" else None, "seed": None, "engine": None,
                                 "scheduler": None, "rho": None, "review_sigma": None, "sponsor_stop": None}
        how = choose_method(method, given)
        return forecast_with(how, None, rates=rates, as_of=as_of, years=years or None, target=target, db=state.db)

    return _cache(state).get(key, compute)


def _default_years(as_of: dt.date) -> str:
    return f"{as_of.year}-{as_of.year + int_value('years_ahead')}"


def _paths(paths: int) -> int:
    return min(max(paths, 100), MAX_PAGE_PATHS)


@dataclass
class ForecastForm:
    as_of: str
    years: str
    target: str
    rates: str
    method: str
    paths: int


@dataclass
class ScenarioForm:
    base: str
    other: str
    as_of: str
    paths: int


def _t(request: Request) -> dict[str, str]:
    return strings(language(request))


# ------------------------------------------------------------------------------------------------ static


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The dashboard's stylesheet and script, and plotly.js from the installed plotly package (no CDN)."""
    if name == PLOTLY_FILE:
        path = Path(str(resources.files("plotly") / "package_data" / PLOTLY_FILE))
        media = "text/javascript"
    elif name in STATIC_FILES:
        path = Path(str(resources.files("pipecast.web") / "static" / name))
        media = STATIC_FILES[name]
    else:
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=media, headers={"Cache-Control": "public, max-age=3600",
                                                          "X-Content-Type-Options": "nosniff"})


@router.get("/favicon.ico")
def favicon() -> Response:
    """No icon (browsers ask for one): an empty answer rather than a 404 in every page's console."""
    return Response(status_code=204)


# ------------------------------------------------------------------------------------------------ overview


@router.get("/")
def overview(request: Request, user: CurrentUserOrNone, state: StateDep) -> Response:
    if not _may_read(user, state):
        return _login_redirect(request)
    lang = language(request)
    t = strings(lang)
    as_of = clock.today()
    target_text = from_env("report_target")
    result = _run_forecast(state, as_of=as_of, years=_default_years(as_of), target=target_text,
                           rates=from_env("rates"))
    from pipecast.loading.targets import load_target

    target = load_target(target_text)
    check = result.check(target)
    known = list(result.assets)
    phase_counts = views.by_phase(known)
    area = views.by_attribute(known, lambda a: a.therapeutic_area)
    modality = views.by_attribute(known, lambda a: a.modality)
    from pipecast.report.format import band_label, format_probability, span_label

    figs = {
        "fig-gauge": figures.to_json(figures.gauge_figure(result, target)),
        "fig-phase": figures.to_json(figures.funnel_figure(result, t)),
        "fig-area": figures.to_json(figures.breakdown_figure(area, t)),
        "fig-modality": figures.to_json(figures.breakdown_figure(modality, t)),
    }
    return page(
        request, "overview.html", title_key="h_overview", active="/", user=user, csrf=csrf_token(request),
        figures=figs, as_of=as_of, target=str(target), band=band_label(target),
        span=span_label(target.first_year, target.last_year), p_all=format_probability(check.all_years_in_band),
        p_all_raw=float(check.all_years_in_band), data_age=data_age_text(result, t, lang),
        stale=bool(result.warnings), notes=notices(result, target, t, lang), phase_counts=phase_counts,
    )


# ------------------------------------------------------------------------------------------------ candidates


@router.get("/candidates")
def candidates(request: Request, user: CurrentUserOrNone, state: StateDep, q: str = "", phase: str = "",
               sponsor: str = "", offset: int = 0) -> Response:
    if not _may_read(user, state):
        return _login_redirect(request)
    t = _t(request)
    everyone = state.store.assets(clock.today())
    found = views.search(everyone, query=q[:200], phase=phase if phase in views.PHASE_ORDER else "",
                         sponsor=sponsor[:200])
    start = max(0, offset)
    shown = found[start:start + PAGE_SIZE]
    params = {"q": q, "phase": phase, "sponsor": sponsor}
    prev_url = link(request, "/candidates", **params, offset=max(0, start - PAGE_SIZE)) if start else ""
    next_url = (link(request, "/candidates", **params, offset=start + PAGE_SIZE)
                if start + PAGE_SIZE < len(found) else "")
    return page(
        request, "candidates.html", title_key="h_candidates", active="/candidates", user=user,
        csrf=csrf_token(request), q=q, phase_value=phase, sponsor=sponsor, phases=views.PHASE_ORDER,
        sponsors=views.sponsors(everyone), items=shown, zh_name=lambda a: chinese_name(a, t), total=len(found),
        pages=len(found) > PAGE_SIZE, first=start + 1, last=start + len(shown), prev_url=prev_url, next_url=next_url,
    )


@router.get("/candidates/{asset_id:path}")
def candidate(request: Request, asset_id: str, user: CurrentUserOrNone, state: StateDep) -> Response:
    if not _may_read(user, state):
        return _login_redirect(request)
    lang = language(request)
    t = strings(lang)
    try:
        asset = state.store.asset(asset_id)
        records = state.store.history(asset.id)
    except InputError:
        return page(request, "error.html", title_key="h_error", active="/candidates", user=user,
                    csrf=csrf_token(request), status=404, message=t["not_found"].format(what=asset_id))
    as_of = clock.today()
    years = _default_years(as_of)
    result = _run_forecast(state, as_of=as_of, years=years, target=from_env("report_target"), rates=from_env("rates"))
    row = views.asset_row(result, asset.id)
    figs: dict[str, str] = {}
    caption = ""
    if row is not None and asset.approval_date is None:
        from pipecast.report.format import format_probability, span_label

        figs["fig-approval"] = figures.to_json(figures.approval_years_figure(result, row, t))
        caption = t["approval_caption"].format(
            span=span_label(result.years[0], result.years[-1]), p=format_probability(float(result.p_approval[row])),
            rates=result.rate_set.name, as_of=format_date(as_of, lang))
    zh = chinese_name(asset, t)
    title = f"{zh} ({asset.name})" if lang == "zh" and zh else asset.name
    return page(
        request, "candidate.html", title_key="h_candidates", active="/candidates", user=user,
        csrf=csrf_token(request), figures=figs, title=title, a=asset, events=views.timeline(records),
        approved_on=asset.approval_date, approval_caption=caption, has_chart=bool(figs),
    )


# ------------------------------------------------------------------------------------------------ forecast


@router.get("/forecast")
def forecast_page(request: Request, user: CurrentUserOrNone, state: StateDep, as_of: str = "", years: str = "",
                  target: str = "", rates: str = "", method: str = "exact", paths: int = DEFAULT_PAGE_PATHS,
                  run: str = "") -> Response:
    if not _may_read(user, state):
        return _login_redirect(request)
    from pipecast.facade import METHODS
    from pipecast.rates import BUNDLED_RATE_SETS

    lang = language(request)
    t = strings(lang)
    form = ForecastForm(as_of=as_of or clock.today().isoformat(), years=years,
                        target=target or from_env("report_target"),
                        rates=rates if rates in BUNDLED_RATE_SETS else from_env("rates"),
                        method=method if method in METHODS else "exact", paths=_paths(paths))
    error = ""
    view = None
    figs: dict[str, str] = {}
    try:
        when = _parse_date(form.as_of, "as_of")
        form.years = years or _default_years(when)
        if run:
            from pipecast.loading.targets import load_target

            goal = load_target(form.target)
            result = _run_forecast(state, as_of=when, years=form.years, target=form.target, rates=form.rates,
                                   method=form.method, paths=form.paths if form.method == "montecarlo" else 0)
            view = forecast_view(result, goal, t, lang)
            figs = {"fig-fan": figures.to_json(figures.fan_figure(result, goal, t)),
                    "fig-pmf": figures.to_json(figures.pmf_figure(result, goal, t))}
    except PipecastError as exc:
        error = str(exc)
    return page(
        request, "forecast.html", title_key="h_forecast", active="/forecast", user=user, csrf=csrf_token(request),
        figures=figs, form=form, rate_sets=sorted(BUNDLED_RATE_SETS), methods=METHODS, max_paths=MAX_PAGE_PATHS,
        result=view, error=error, status=422 if error else 200,
    )


# ------------------------------------------------------------------------------------------------ scenarios


@router.get("/scenarios")
def scenarios_page(request: Request, user: CurrentUserOrNone, state: StateDep, base: str = "", other: str = "",
                   as_of: str = "", paths: int = DEFAULT_PAGE_PATHS) -> Response:
    if not _may_read(user, state):
        return _login_redirect(request)
    lang = language(request)
    t = strings(lang)
    files = scenario_files(state)
    by_key = {f.key: f for f in files}
    form = ScenarioForm(base=base if base in by_key else (files[0].key if files else ""),
                        other=other if other in by_key else (files[1].key if len(files) > 1 else ""),
                        as_of=as_of or clock.today().isoformat(), paths=_paths(paths))
    error = ""
    comparison = None
    notes = Notices([], [])
    figs: dict[str, str] = {}
    if base and other:
        try:
            when = _parse_date(form.as_of, "as_of")
            comparison, warnings, data_as_of = _compare(state, by_key[form.base], by_key[form.other], when,
                                                        form.paths)
            notes = plain_notices(warnings, data_as_of, when, t, lang)
        except PipecastError as exc:
            error = str(exc)
    view = comparison_view(comparison, t, lang) if comparison is not None else None
    if view is not None:
        figs["fig-scenarios"] = figures.to_json(figures.scenario_figure(view.names, view.expected_by_year, t))
    return page(
        request, "scenarios.html", title_key="h_scenarios", active="/scenarios", user=user,
        csrf=csrf_token(request), figures=figs, files=files, form=form, max_paths=MAX_PAGE_PATHS,
        comparison=view, notes=notes, error=error, status=422 if error else 200,
    )


def _compare(state: AppState, base: ScenarioFile, other: ScenarioFile, when: dt.date,
             paths: int) -> tuple[Any, list[str], dt.date | None]:
    from pipecast.domain import Portfolio
    from pipecast.facade import _data_age_warnings, check_years, latest_date, require_candidates
    from pipecast.loading.scenarios import compare
    from pipecast.loading.targets import load_target

    goal = load_target(base.target or from_env("report_target"))
    check_years(goal.years, when)
    assets = state.store.assets(when)
    require_candidates(Portfolio.of(assets, when), None)
    rates = base.rates or from_env("rates")
    result = compare(base.path, [other.path], goal, paths=paths, seed=int_value("seed"), assets=assets, rates=rates,
                     as_of=when, engine=from_env("engine"))
    views_known = [v for v in (a.as_of(when) for a in assets) if v is not None]
    data_as_of = latest_date(views_known, as_of=when)
    return result, _data_age_warnings(data_as_of, when), data_as_of


# ------------------------------------------------------------------------------------------------ import


@router.get("/import")
def import_page(request: Request, user: CurrentUserOrNone, state: StateDep) -> Response:
    if user is None:
        return _login_redirect(request)
    return page(request, "import.html", title_key="h_import", active="/import", user=user,
                csrf=csrf_token(request), can_write=_may_write(user), problem=None, summary=None, staged="",
                summary_text="")


@router.post("/import")
def import_submit(
    request: Request,
    user: CurrentUserOrNone,
    state: StateDep,
    action: Annotated[str, Form()] = "dry_run",
    file: Annotated[UploadFile | None, File()] = None,
    staged: Annotated[str, Form()] = "",
) -> Response:
    """A dry run of an uploaded file (kept for its commit), or the commit of a file dry-run before."""
    if user is None:
        return _login_redirect(request)
    lang = language(request)
    t = strings(lang)
    common: dict[str, Any] = {"title_key": "h_import", "active": "/import", "user": user,
                              "csrf": csrf_token(request), "can_write": _may_write(user)}
    if not _may_write(user):
        return page(request, "import.html", status=403, problem=None, summary=None, staged="", summary_text="",
                    **common)
    upload: StagedUpload | None
    if action == "commit":
        upload = take_staged(state, staged, user.name)
        if upload is None:
            problem = ImportProblem(file="", row=None, field="", message=t["not_found"].format(what=staged or "-"),
                                    expected="")
            return page(request, "import.html", status=404, problem=problem, summary=None, staged="",
                        summary_text="", **common)
    else:
        if file is None:
            problem = ImportProblem("", None, "file", t["field_file"], ".csv / .xlsx")
            return page(request, "import.html", status=422, problem=problem, summary=None, staged="",
                        summary_text="", **common)
        upload = StagedUpload(file.filename or "", file.file.read(state.settings.max_upload_bytes + 1), user.name,
                              time.monotonic())
    outcome = import_upload(request, state, user, upload, dry_run=action != "commit")
    token = ""
    if outcome.summary is not None and outcome.summary.dry_run and outcome.summary.changed:
        token = secrets.token_urlsafe(16)
        stage_upload(state, token, upload)
    status = 422 if outcome.problem is not None else 200
    text = summary_text(outcome.summary, t) if outcome.summary is not None else ""
    return page(request, "import.html", status=status, problem=outcome.problem, problems=outcome.problems,
                problems_total=outcome.problems_total, summary=outcome.summary, staged=token, summary_text=text,
                **common)


# ------------------------------------------------------------------------------------------------ audit


@router.get("/audit")
def audit_page(request: Request, user: CurrentUserOrNone, state: StateDep, offset: int = 0, actor: str = "",
               outcome: str = "") -> Response:
    if not _may_read(user, state):
        return _login_redirect(request)
    from pipecast.store import audit
    from pipecast.store.users import session_scope

    t = _t(request)
    start = max(0, offset)
    chosen = outcome if outcome in audit.OUTCOMES else ""
    with session_scope(state.store) as session:
        rows, total = audit.entries(session=session, actor=actor[:200] or None, outcome=chosen or None,
                                    limit=AUDIT_PAGE_SIZE, offset=start)
    entries = [
        {"when": r.at, "who": f"{r.actor} ({t.get('role_' + r.role, r.role)})" if r.role else r.actor,
         "action": f"{r.action} · {r.outcome} {r.status}", "what": _what(r.resource, r.changes, r.message),
         "origin": r.client, "source": r.source}
        for r in rows
    ]
    params = {"actor": actor, "outcome": chosen}
    prev_url = link(request, "/audit", **params, offset=max(0, start - AUDIT_PAGE_SIZE)) if start else ""
    next_url = (link(request, "/audit", **params, offset=start + AUDIT_PAGE_SIZE)
                if start + AUDIT_PAGE_SIZE < total else "")
    return page(request, "audit.html", title_key="h_audit", active="/audit", user=user, csrf=csrf_token(request),
                entries=entries, prev_url=prev_url, next_url=next_url, actor=actor, outcome=chosen,
                outcomes=audit.OUTCOMES, total=total)


def _what(resource: str, changes: dict[str, Any], message: str) -> str:
    parts = [resource] if resource else []
    parts += [f"{k}: {v}" for k, v in sorted(changes.items())]
    if message:
        parts.append(message)
    return "; ".join(parts)


# ------------------------------------------------------------------------------------------------ login


@router.get("/login")
def login_page(request: Request, user: CurrentUserOrNone, next: str = "/") -> Response:
    asked = user is None and "next" in request.query_params  # sent here from a page that needs a login
    return _login_form(request, user, next, _t(request)["login_needed"] if asked else "")


def _login_form(request: Request, user: Principal | None, following: str, message: str,
                status: int = 200) -> Response:
    return page(request, "login.html", title_key="h_login", active="", user=user, csrf=csrf_token(request),
                message=message, next=_safe_next(following), login_action=link(request, "/signin"), status=status)


@router.post("/signin")
def signin(request: Request, state: StateDep, username: Annotated[str, Form()] = "",
           password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/") -> Response:
    """The login form: the API's login check (rate limit, audit, session), then back to the page asked for;
    a refused login shows the form again with the reason, in the page's language."""
    from pydantic import ValidationError

    from pipecast.api.errors import ApiError
    from pipecast.api.routers import auth
    from pipecast.api.schemas import LoginCreate

    t = _t(request)
    try:
        creds = LoginCreate.model_validate({"username": username, "password": password})
        raw, _csrf, _user = auth.check_login(request, state, creds)
    except ValidationError:
        return _login_form(request, None, next, t["login_failed"], status=422)
    except ApiError as exc:  # 401 is already in the audit log; a 429 is recorded by the audit middleware
        text = {401: t["login_failed"], 429: t["login_throttled"]}.get(exc.status, exc.message)
        return _login_form(request, None, next, text, status=exc.status)
    response = RedirectResponse(_safe_next(next), status_code=303)
    auth.set_session_cookie(response, state, raw)
    return response


@router.post("/signout")
def signout(request: Request, state: StateDep, user: CurrentUserOrNone) -> Response:
    """End the browser session (the form carries the CSRF token) and go to the login page."""
    from pipecast.api.routers.auth import end_browser_session
    from pipecast.api.settings import SESSION_COOKIE

    end_browser_session(request, state, user)
    response = RedirectResponse(link(request, "/login"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _safe_next(target: str) -> str:
    """Only a path on this site (never //host or a scheme): the page to go back to after logging in."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
