"""Rendering a page: the Jinja2 environment (autoescape on, undefined names are errors), the language of the
request, links, the figures' JSON, and the security headers every page carries.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from pipecast.settings import from_env
from pipecast.web.i18n import (
    LANG_COOKIE,
    LANG_NAMES,
    LANGUAGES,
    choose_language,
    format_date,
    format_number,
    phase_label,
    strings,
)

#: Scripts and styles from this server only (plotly.js sets inline styles on what it draws).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
#: The pages in the navigation bar, in order: path and the key of its label.
NAV: tuple[tuple[str, str], ...] = (
    ("/", "nav_overview"),
    ("/candidates", "nav_candidates"),
    ("/forecast", "nav_forecast"),
    ("/scenarios", "nav_scenarios"),
    ("/import", "nav_import"),
    ("/audit", "nav_audit"),
    ("/plan", "nav_plan"),
    ("/regions", "nav_regions"),
    ("/value", "nav_value"),
)
LANG_COOKIE_SECONDS = 365 * 24 * 3600

_ENV: Environment | None = None


def environment() -> Environment:
    """The template environment, built on first use (nothing at import time). Autoescape is on for every
    template: data reaches the page as text, never as markup."""
    global _ENV
    if _ENV is None:
        _ENV = Environment(loader=PackageLoader("pipecast.web", "templates"), autoescape=True,
                           undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return _ENV


def language(request: Request) -> str:
    return choose_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE), from_env("language"))


def script_json(text: str) -> Markup:
    """JSON that is safe inside a <script type="application/json"> element: no '<', '>' or '&' outside
    escapes, so no data can close the element; marked safe so autoescape leaves the quotes alone."""
    return Markup(
        text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def figures_json(figures: Mapping[str, str]) -> Markup | None:
    """The figures (element id -> plotly JSON text) as one JSON object, or None when the page has none."""
    if not figures:
        return None
    return script_json("{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in figures.items()) + "}")


def base_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def link(request: Request, path: str, **params: Any) -> str:
    """A link to one of the dashboard's pages, with query parameters (blank ones left out)."""
    query = {k: v for k, v in params.items() if v not in (None, "")}
    return base_path(request) + path + (("?" + urlencode(query)) if query else "")


def switch_link(request: Request, lang: str) -> str:
    """The current page in another language."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return base_path(request) + request.url.path + "?" + urlencode(query)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("pipecast")
    except Exception:  # not installed as a distribution
        return "(development)"


def page(request: Request, template: str, *, title_key: str, active: str, user: Any, csrf: str,
         figures: Mapping[str, str] | None = None, status: int = 200, title: str = "",
         **context: Any) -> HTMLResponse:
    """Render one page in the request's language, with the navigation, the language switch and the headers."""
    lang = language(request)
    t = strings(lang)
    values: dict[str, Any] = {
        "t": t,
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else "en",
        "languages": [(code, LANG_NAMES[code]) for code in LANGUAGES],
        "title": title or t[title_key],
        "nav": NAV,
        "active": active,
        "user": user,
        "csrf_token": csrf,
        "logout_action": link(request, "/signout"),
        "static_url": link(request, "/static"),
        "figures_json": figures_json(figures or {}),
        "version": _version(),
        "url": lambda path, **params: link(request, path, **params),
        "switch_url": lambda code: switch_link(request, code),
        "fmt_date": lambda value: format_date(value, lang),
        "fmt_num": lambda value, digits=0: format_number(value, lang, digits),
        "phase": lambda value: phase_label(value, t),
    } | context
    html = environment().get_template(template).render(values)
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        response.set_cookie(LANG_COOKIE, asked, max_age=LANG_COOKIE_SECONDS, samesite="lax", httponly=True)
    return response
