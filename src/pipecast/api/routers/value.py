"""rNPV, deals and support programmes (`pipecast.valuation`, the figures of `pipecast value ... --json`).

Readers may ask. Candidates come from the store as known on `as_of` (default: today); the answers are the
same JSON as the CLI's on the same store. A deal or programme is a bundled name (`gr1803`,
`chongqing-2025`) or a mapping with the keys of DEAL.yaml / PROGRAMME.yaml.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field

from pipecast.api.deps import ReaderDep, StateDep
from pipecast.api.errors import ApiError
from pipecast.api.schemas import Strict

router = APIRouter(prefix="/value", tags=["value"])
RatesQuery = Annotated[str | None, Query(max_length=40, description="A bundled rate set (default: the setting)")]
AsOfQuery = Annotated[dt.date | None, Query(description="The date to value on (default: today)")]
PathsQuery = Annotated[int | None, Query(ge=100, description="Monte Carlo paths (default: the setting)")]
SeedQuery = Annotated[int | None, Query(description="Monte Carlo seed (default: the setting)")]
CurrencyQuery = Annotated[str, Query(max_length=10, description="USD or CNY (millions)")]
RhoQuery = Annotated[list[str] | None, Query(max_length=5, description="Copula correlation, e.g. sponsor=0.2 "
                                                                       "(as the forecast's --rho)")]
ReviewSigmaQuery = Annotated[float | None, Query(ge=0, le=5, description="Review-time shock (log sd)")]


class DealRequest(Strict):
    deal: str | dict[str, Any] = Field(description="A bundled deal's name (gr1803) or DEAL.yaml's keys")
    as_of: dt.date | None = None
    rates: str | None = Field(default=None, max_length=40)


class ProgrammeRequest(Strict):
    programme: str | dict[str, Any] = Field(description="A bundled programme (chongqing-2025) or its keys")
    as_of: dt.date | None = None
    rates: str | None = Field(default=None, max_length=40)
    scenarios: list[dict[str, Any]] = Field(
        default_factory=list, max_length=20,
        description="Scenario mappings (the keys of SCENARIO.yaml; `rates:` a bundled rate set)")


def _rates(name: str | None) -> Any:
    from pipecast.facade import resolve_rates
    from pipecast.rates import BUNDLED_RATE_SETS

    if name is not None and name not in BUNDLED_RATE_SETS:
        raise ApiError(422, "invalid", f"unknown rate set {name!r}; expected one of "
                       + ", ".join(sorted(BUNDLED_RATE_SETS)), "rates")
    return resolve_rates(name)


def _when_and_assets(state: StateDep, as_of: dt.date | None) -> tuple[dt.date, list[Any]]:
    from pipecast.domain import Portfolio
    from pipecast.facade import resolve_as_of

    when = resolve_as_of(as_of)
    return when, list(Portfolio.of(state.views.assets(when), when).assets)


def _monte_carlo(state: StateDep, paths: int | None, seed: int | None) -> tuple[int, int]:
    from pipecast.settings import int_value

    chosen = int_value("paths", paths)
    if chosen > state.settings.max_paths:
        raise ApiError(422, "invalid", f"paths: at most {state.settings.max_paths}", "paths")
    return chosen, int_value("seed", seed)


@router.post("/deal", summary="A deal's headline against its risk-adjusted value (as `pipecast value deal`)")
def value_deal(state: StateDep, who: ReaderDep, request: DealRequest) -> dict[str, Any]:
    from pipecast.loading.deals import BUNDLED_DEALS, bundled_deal_path, deal_from_terms, load_deal
    from pipecast.valuation import deal_json

    if isinstance(request.deal, str):
        if request.deal not in BUNDLED_DEALS:
            raise ApiError(422, "invalid", f"unknown deal {request.deal!r}; expected one of "
                           + ", ".join(sorted(BUNDLED_DEALS)) + " or a mapping with DEAL.yaml's keys", "deal")
        with bundled_deal_path(request.deal) as path:
            the_deal = load_deal(path)
    else:
        the_deal = deal_from_terms(request.deal, "deal")
    rates = _rates(request.rates)
    when, assets = _when_and_assets(state, request.as_of)
    return deal_json(the_deal, request.deal if isinstance(request.deal, str) else "deal", assets, rates, None, when)


@router.get("/candidates/{candidate_id}", summary="A candidate's rNPV, Monte Carlo and tornado")
def value_candidate(state: StateDep, who: ReaderDep, candidate_id: str, as_of: AsOfQuery = None,
                    rates: RatesQuery = None, currency: CurrencyQuery = "USD", paths: PathsQuery = None,
                    seed: SeedQuery = None, rho: RhoQuery = None,
                    review_sigma: ReviewSigmaQuery = None) -> dict[str, Any]:
    from pipecast.valuation import candidate_json, correlation_from

    rate_set = _rates(rates)
    n_paths, n_seed = _monte_carlo(state, paths, seed)
    when, assets = _when_and_assets(state, as_of)
    if all(a.id != candidate_id for a in assets):
        raise ApiError(404, "not_found", f"no candidate {candidate_id!r} known on {when}", "candidate_id")
    return candidate_json(assets, candidate_id, rate_set, None, currency, when, paths=n_paths, seed=n_seed,
                          correlation=correlation_from(rho, review_sigma, rate_set))


@router.get("/pipeline", summary="The pipeline's rNPV with its Monte Carlo P10/P50/P90")
def value_pipeline(state: StateDep, who: ReaderDep, as_of: AsOfQuery = None, rates: RatesQuery = None,
                   currency: CurrencyQuery = "USD", paths: PathsQuery = None,
                   seed: SeedQuery = None, rho: RhoQuery = None,
                   review_sigma: ReviewSigmaQuery = None) -> dict[str, Any]:
    from pipecast.valuation import correlation_from, pipeline_json

    rate_set = _rates(rates)
    n_paths, n_seed = _monte_carlo(state, paths, seed)
    when, assets = _when_and_assets(state, as_of)
    if not assets:
        raise ApiError(422, "cannot_compute", f"no candidates known on {when}", "as_of")
    return pipeline_json(assets, rate_set, None, currency, when, paths=n_paths, seed=n_seed,
                         correlation=correlation_from(rho, review_sigma, rate_set))


def _scenario(item: dict[str, Any], index: int) -> tuple[Any, str]:
    """A scenario mapping (SCENARIO.yaml's keys); a `rates:` it names must be a bundled rate set."""
    import dataclasses

    from pipecast.scenarios.levers import parse_scenario

    label = f"scenarios[{index}]"
    scenario = parse_scenario(item, file=label)
    if scenario.rates is None:
        return scenario, label
    return dataclasses.replace(scenario, rate_set=_rates(scenario.rates)), label


@router.post("/programme", summary="A support programme's outlay and cost per expected approval")
def value_programme(state: StateDep, who: ReaderDep, request: ProgrammeRequest) -> dict[str, Any]:
    from pipecast.loading.deals import (
        BUNDLED_PROGRAMMES,
        bundled_programme_path,
        load_programme,
        programme_from_mapping,
    )
    from pipecast.valuation import programme_json

    if isinstance(request.programme, str):
        if request.programme not in BUNDLED_PROGRAMMES:
            raise ApiError(422, "invalid", f"unknown programme {request.programme!r}; expected one of "
                           + ", ".join(sorted(BUNDLED_PROGRAMMES)) + " or a mapping with PROGRAMME.yaml's keys",
                           "programme")
        with bundled_programme_path(request.programme) as path:
            the_programme = load_programme(path)
    else:
        the_programme = programme_from_mapping(request.programme, "programme")
    scenarios = [_scenario(item, i) for i, item in enumerate(request.scenarios)]
    rates = _rates(request.rates)
    when, assets = _when_and_assets(state, request.as_of)
    return programme_json(the_programme, assets, rates, None, when, scenarios)
