"""Scenario comparison: the JSON of `pipecast scenarios compare --json` for scenarios given as JSON objects
(the same mapping as a scenario YAML file), on common random numbers. Long runs become background jobs.

A scenario may name a bundled rate set only (`rates: china`): the server reads no file a request names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from pipecast.api.deps import AppState, ReaderDep, StateDep
from pipecast.api.errors import ApiError
from pipecast.api.routers.forecasts import job_public
from pipecast.api.schemas import Strict

router = APIRouter(prefix="/scenarios", tags=["scenarios"])
MAX_SCENARIOS = 6


class ScenarioCompare(Strict):
    base: dict[str, Any] | None = Field(default=None, description="The reference scenario (None: as it is)")
    others: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_SCENARIOS)
    target: str = Field(max_length=60, pattern=r"^[0-9][0-9:,\- ]*$", examples=["2027-2030:1-3"])
    as_of: dt.date | None = None
    rates: str | None = Field(default=None, max_length=40)
    paths: int | None = Field(default=None, ge=1)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    background: bool = False


def _scenario(raw: dict[str, Any], label: str) -> Any:
    from pipecast.loading.rates import resolve_rate_set
    from pipecast.rates import BUNDLED_RATE_SETS
    from pipecast.scenarios.levers import parse_scenario

    scenario = parse_scenario(raw, file=label)
    if scenario.rates is None:
        return scenario
    if scenario.rates not in BUNDLED_RATE_SETS:
        raise ApiError(422, "invalid", f"{label}: rates must name a bundled rate set ("
                       + ", ".join(sorted(BUNDLED_RATE_SETS)) + ")", f"{label}.rates")
    return dataclasses.replace(scenario, rate_set=resolve_rate_set(scenario.rates))


def _compute(state: AppState, spec: ScenarioCompare, paths: int, seed: int) -> str:
    from pipecast.commands.common import to_json
    from pipecast.domain import Portfolio
    from pipecast.facade import _data_age_warnings, check_years, load_inputs, require_candidates, resolve_as_of
    from pipecast.loading.scenarios import compare
    from pipecast.settings import from_env
    from pipecast.targets import parse_target

    goal = parse_target(spec.target, source="target")
    when = resolve_as_of(spec.as_of)
    check_years(goal.years, when)
    inputs = load_inputs(None, state.db, when)
    require_candidates(Portfolio.of(inputs.assets, when), None)
    base = _scenario(spec.base, "base") if spec.base is not None else None
    others = [_scenario(raw, f"others.{i}") for i, raw in enumerate(spec.others)]
    result = compare(base, others, goal, paths=paths, seed=seed, assets=inputs.assets,
                     rates=spec.rates or from_env("rates"), as_of=when, engine=from_env("engine"))
    return to_json(result.to_json() | {"warnings": _data_age_warnings(inputs.data_as_of, when)})


@router.post("/compare", summary="Compare scenarios (as `pipecast scenarios compare --json`)",
             responses={200: {"description": "The comparison JSON"}, 202: {"description": "A job"}})
def compare_scenarios(request: Request, state: StateDep, who: ReaderDep, spec: ScenarioCompare) -> Response:
    from pipecast.rates import BUNDLED_RATE_SETS
    from pipecast.settings import int_value

    if spec.rates is not None and spec.rates not in BUNDLED_RATE_SETS:
        raise ApiError(422, "invalid", f"unknown rate set {spec.rates!r}", "rates")
    paths = int_value("paths", spec.paths)
    seed = int_value("seed", spec.seed)
    if paths > state.settings.max_paths:
        raise ApiError(422, "invalid", f"paths: at most {state.settings.max_paths}", "paths")
    if spec.base is not None:
        _scenario(spec.base, "base")  # a bad scenario is a 422 now, not a failed job later
    for i, raw in enumerate(spec.others):
        _scenario(raw, f"others.{i}")
    if spec.background or paths > state.settings.sync_paths:
        if state.jobs.pending() >= state.settings.max_pending_jobs:
            raise ApiError(429, "too_many_requests", "too many jobs queued or running; try again later",
                           headers={"Retry-After": "10"})

        def work(progress: Callable[[int], None]) -> str:
            return _compute(state, spec, paths, seed)

        public = job_public(state.jobs.submit(work))
        return Response(public.model_dump_json(), status_code=202, media_type="application/json",
                        headers={"Location": public.url})
    return Response(_compute(state, spec, paths, seed), media_type="application/json")
