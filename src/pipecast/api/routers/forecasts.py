"""Forecasts: the JSON of `pipecast forecast --json` on the same store, by the same function
(`pipecast.facade.forecast_with`). Long Monte Carlo runs become background jobs (202 and a job URL)."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import APIRouter, Request, Response

from pipecast.api.deps import AppState, ReaderDep, StateDep
from pipecast.api.errors import ApiError, not_found
from pipecast.api.jobs import Job
from pipecast.api.schemas import ErrorDetail, ForecastCreate, JobPublic

router = APIRouter(tags=["forecasts"])
JOBS_PATH = "/api/v1/jobs"


def _compute(state: AppState, spec: ForecastCreate, progress: Callable[[int], None] | None) -> str:
    from pipecast.commands.common import to_json
    from pipecast.facade import choose_method, forecast_with
    from pipecast.targets import parse_target

    how = choose_method(spec.method, {"paths": spec.paths, "seed": spec.seed, "engine": spec.engine,
                                      "scheduler": None, "rho": spec.rho or None, "review_sigma": spec.review_sigma,
                                      "sponsor_stop": spec.sponsor_stop})
    goal = parse_target(spec.target, source="target") if spec.target else None
    result = forecast_with(how, None, rates=spec.rates, as_of=spec.as_of, years=spec.years, target=goal,
                           db=state.db, progress=progress)
    return to_json(result.to_json(goal))


def _check(state: AppState, spec: ForecastCreate) -> None:
    from pipecast.rates import BUNDLED_RATE_SETS

    if spec.rates is not None and spec.rates not in BUNDLED_RATE_SETS:
        raise ApiError(422, "invalid", f"unknown rate set {spec.rates!r}; expected one of "
                       + ", ".join(sorted(BUNDLED_RATE_SETS)), "rates")
    if spec.paths is not None and spec.paths > state.settings.max_paths:
        raise ApiError(422, "invalid", f"paths: at most {state.settings.max_paths}", "paths")


def _runs_long(state: AppState, spec: ForecastCreate) -> bool:
    if spec.background:
        return True
    if spec.method != "montecarlo":
        return False
    from pipecast.settings import int_value

    paths = int_value("paths", spec.paths)
    return paths > state.settings.sync_paths


def job_public(job: Job) -> JobPublic:
    error = None if job.error is None else ErrorDetail(code=job.error[0], message=job.error[1], field=job.error[2])
    return JobPublic(id=job.id, url=f"{JOBS_PATH}/{job.id}", status=job.status,  # type: ignore[arg-type]
                     progress=job.progress, created_at=job.created_at, finished_at=job.finished_at,
                     result=json.loads(job.result_json) if job.result_json is not None else None, error=error)


@router.post("/forecasts", summary="Forecast approvals per year (as `pipecast forecast --json`)",
             responses={200: {"description": "The forecast JSON"}, 202: {"model": JobPublic}})
def create_forecast(request: Request, state: StateDep, who: ReaderDep, spec: ForecastCreate) -> Response:
    _check(state, spec)
    key = (spec.model_dump_json(exclude={"background"}), state.views.version())
    cached = state.cache.get(key)
    if cached is not None and not spec.background:
        return Response(cached, media_type="application/json", headers={"X-Pipecast-Cache": "hit"})
    if _runs_long(state, spec):
        if state.jobs.pending() >= state.settings.max_pending_jobs:
            raise ApiError(429, "too_many_requests", f"{state.settings.max_pending_jobs} forecast jobs are queued "
                           "or running already; try again when one has finished", headers={"Retry-After": "10"})

        def work(progress: Callable[[int], None]) -> str:
            text = _compute(state, spec, progress)
            state.cache.put(key, text)
            return text

        job = state.jobs.submit(work)
        public = job_public(job)
        return Response(public.model_dump_json(), status_code=202, media_type="application/json",
                        headers={"Location": public.url})
    text = _compute(state, spec, None)
    state.cache.put(key, text)
    return Response(text, media_type="application/json", headers={"X-Pipecast-Cache": "miss"})


@router.get("/jobs/{job_id}", response_model=JobPublic, summary="A background forecast: progress and result")
def get_job(state: StateDep, who: ReaderDep, job_id: str) -> JobPublic:
    job = state.jobs.get(job_id)
    if job is None:
        raise not_found("job", job_id, "job_id")
    return job_public(job)
