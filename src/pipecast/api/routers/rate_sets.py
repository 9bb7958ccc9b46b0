"""The bundled rate sets (read-only): each row's success probability, durations and source; and a target
string checked and read back (what POST /forecasts will use)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pipecast.api.deps import ReaderDep
from pipecast.api.errors import not_found

router = APIRouter(tags=["rate sets"])


class RateRowPublic(BaseModel):
    phase: str
    p_success: float
    median_months: float
    p90_months: float
    therapeutic_area: str
    modality: str
    source: str
    note: str


class RateSetPublic(BaseModel):
    name: str
    description: str
    rows: list[RateRowPublic]


class RateSetSummary(BaseModel):
    name: str
    description: str


class TargetPublic(BaseModel):
    target: str
    first_year: int
    last_year: int
    low: int
    high: int | None


@router.get("/rate-sets", response_model=list[RateSetSummary], summary="The bundled rate sets")
def list_rate_sets(who: ReaderDep) -> list[RateSetSummary]:
    from pipecast.rates import BUNDLED_RATE_SETS

    return [RateSetSummary(name=n, description=d) for n, (_, d) in sorted(BUNDLED_RATE_SETS.items())]


@router.get("/rate-sets/{name}", response_model=RateSetPublic, summary="One bundled rate set, row by row")
def get_rate_set(who: ReaderDep, name: str) -> RateSetPublic:
    from pipecast.loading.rates import bundled_rate_set
    from pipecast.rates import BUNDLED_RATE_SETS

    if name not in BUNDLED_RATE_SETS:
        raise not_found("rate set", name, "name")
    rate_set = bundled_rate_set(name)
    rows = [RateRowPublic(phase=r.phase.value, p_success=r.p_success, median_months=r.duration.median_months,
                          p90_months=r.duration.p90_months, therapeutic_area=r.therapeutic_area, modality=r.modality,
                          source=r.source, note=r.note) for r in rate_set.rows]
    return RateSetPublic(name=name, description=BUNDLED_RATE_SETS[name][1], rows=rows)


@router.get("/targets", response_model=TargetPublic, summary="Read a target such as 2027-2030:1-3")
def read_target(who: ReaderDep,
                target: Annotated[str, Query(max_length=60, pattern=r"^[0-9][0-9:,\- ]*$")]) -> TargetPublic:
    from pipecast.targets import parse_target

    goal = parse_target(target, source="target")
    return TargetPublic(target=str(goal), first_year=goal.first_year, last_year=goal.last_year, low=goal.low,
                        high=goal.high)
