"""`create_app(settings)`: the FastAPI app, built from its settings; nothing is opened at import time.

On start the store is opened (created if missing) and migrated to the packaged head revision; on stop the
job pool and the store are closed. The REST API lives under /api/v1 (OpenAPI at /api/v1/openapi.json);
/login and /logout serve browsers; the dashboard (`pipecast.web`, when installed) is mounted at /.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI

from pipecast import __version__
from pipecast.api import errors
from pipecast.api.auditing import AuditRefusals
from pipecast.api.datacache import ViewCache
from pipecast.api.deps import AppState
from pipecast.api.jobs import ForecastCache, JobRunner
from pipecast.api.limits import BodyLimit
from pipecast.api.schemas import ErrorBody
from pipecast.api.settings import ApiSettings

API_PREFIX = "/api/v1"
#: Error responses every endpoint may give, documented once in the OpenAPI schema.
ERROR_RESPONSES: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in ((401, "No or bad credentials"), (403, "Not allowed for this user"), (404, "Unknown id"),
                         (413, "Body too large"), (422, "Invalid input"))
}


def open_state(settings: ApiSettings) -> AppState:
    """Open the store (applying migrations) and build what the app holds while it runs."""
    from pipecast.settings import resolve_db
    from pipecast.store import Store

    db = resolve_db(settings.db)
    from pipecast.alerting import after_change

    store = Store.open(db, create=True)
    store.after_change = after_change  # every committed edit runs the alert scan after it
    return AppState(settings=settings, store=store,
                    jobs=JobRunner(settings.job_workers, errors.pipecast_error_status),
                    cache=ForecastCache(settings.cache_size), views=ViewCache(store), db=db)


def api_router() -> APIRouter:
    from pipecast.api.routers import (
        audit,
        auth,
        candidates,
        forecasts,
        health,
        imports,
        money,
        organisations,
        rate_sets,
        scenarios,
        users,
    )

    router = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
    for module in (health, candidates, forecasts, scenarios, organisations, rate_sets, imports, audit, users):
        router.include_router(module.router)
    router.include_router(money.router)
    router.include_router(importlib.import_module("pipecast.api.routers.value").router)  # issue 11: rNPV
    router.include_router(auth.api_router)
    router.include_router(importlib.import_module("pipecast.api.routers.cases").router)  # issue 12: cases, alerts
    return router


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The app for these settings (default: `ApiSettings()`, the settings table's database)."""
    chosen = settings or ApiSettings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = open_state(chosen)
        app.state.pipecast = state
        try:
            yield
        finally:
            state.jobs.shutdown()
            state.store.close()

    app = FastAPI(title="pipecast", version=__version__, lifespan=lifespan,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs", redoc_url=None,
                  description="Pipeline, history, forecasts and audit of a region's innovative-drug pipeline.")
    errors.install(app)
    from pipecast.api.routers import auth

    app.include_router(api_router())
    app.include_router(auth.router)
    _mount_dashboard(app)
    app.add_middleware(BodyLimit, max_body=chosen.max_body_bytes, max_upload=chosen.max_upload_bytes,
                       upload_prefix=f"{API_PREFIX}/imports")
    app.add_middleware(AuditRefusals)  # outermost: it sees the 413s too
    return app


def _mount_dashboard(app: FastAPI) -> None:
    """Include `pipecast.web.pages.router` (and its static files) when the dashboard is installed."""
    try:
        pages = importlib.import_module("pipecast.web.pages")
    except ModuleNotFoundError as exc:
        if exc.name in ("pipecast.web", "pipecast.web.pages"):
            return
        raise
    app.include_router(pages.router)
    app.include_router(importlib.import_module("pipecast.web.cases").router)  # issue 12: /cases
    app.include_router(importlib.import_module("pipecast.web.value").router)  # issue 11: /value
    app.include_router(importlib.import_module("pipecast.web.plan").router)  # issue 12: /plan, /regions
    mount = getattr(pages, "mount_static", None)
    if callable(mount):
        mount(app)
