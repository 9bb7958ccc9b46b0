"""Run scenarios on the same random numbers and report differences with their Monte Carlo errors.

Common random numbers: every scenario runs with the same seed, and a candidate's draws depend only on
(seed, block, its position), so a candidate present in two scenarios gets the same uniforms in both
(in-licensed candidates are appended after the portfolio; discontinued ones keep their place). The
difference of two probabilities is then estimated path by path, and its standard error,
sd(I_a - I_b) / sqrt(paths), is usually far smaller than either figure's own error.
A scenario with another as-of date sees a different set of candidates, which weakens the pairing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipecast.domain import Asset
from pipecast.engines.montecarlo import REFERENCE_ENGINE, MonteCarloForecast, simulate
from pipecast.errors import InputError
from pipecast.rates import RateSet
from pipecast.scenarios.levers import Scenario, apply
from pipecast.targets import Target


def as_scenario(value: Scenario | None, name: str = "base") -> Scenario:
    """The scenario, or an empty one (the pipeline as it is) called `name`."""
    return Scenario(name=name) if value is None else value


def forecast_years(target: Target, as_of: dt.date) -> list[int]:
    return list(range(min(as_of.year, target.first_year), target.last_year + 1))


def run_scenario(
    scenario: Scenario,
    assets: Sequence[Asset],
    target: Target,
    *,
    rates: RateSet,
    as_of: dt.date,
    paths: int,
    seed: int,
    engine: str = REFERENCE_ENGINE,
    scheduler: Any = None,
    keep_paths: bool = True,
) -> MonteCarloForecast:
    when = scenario.as_of or as_of
    years = forecast_years(target, when)
    portfolio, rate_set, entrants, correlation = apply(scenario, assets, rates, when, years[-1])
    return simulate(
        portfolio,
        rate_set,
        years,
        paths=paths,
        seed=seed,
        correlation=correlation,
        engine=engine,
        target=target,
        scheduler=scheduler,
        entrants=entrants,
        keep_paths=keep_paths,
    )


def path_indicators(forecast: MonteCarloForecast, target: Target) -> dict[str, np.ndarray]:
    """Per path: target met (band, floor) and the total count over the target years."""
    if forecast.path_counts is None:
        raise InputError("scenario comparison needs per-path counts", expected="keep_paths=True")
    cols = [forecast.years.index(y) for y in target.years]
    sub = forecast.path_counts[:, cols].astype(np.int64)
    floor = (sub >= target.low).all(axis=1)
    band = floor if target.high is None else floor & (sub <= target.high).all(axis=1)
    return {"all_years_in_band": band.astype(float), "all_years_at_least_low": floor.astype(float),
            "expected_total": sub.sum(axis=1).astype(float)}


@dataclass
class ScenarioOutcome:
    name: str
    file: str
    forecast: MonteCarloForecast
    figures: dict[str, float]
    errors: dict[str, float]
    difference: dict[str, float] = field(default_factory=dict)  # minus base
    difference_error: dict[str, float] = field(default_factory=dict)


@dataclass
class Comparison:
    target: Target
    paths: int
    seed: int
    outcomes: list[ScenarioOutcome]  # base first

    def to_json(self) -> dict[str, Any]:
        return {
            "target": str(self.target),
            "paths": self.paths,
            "seed": self.seed,
            "common_random_numbers": True,
            "scenarios": [
                {
                    "name": o.name,
                    "file": o.file,
                    "figures": o.figures,
                    "mc_error": o.errors,
                    "difference_vs_base": o.difference,
                    "difference_mc_error": o.difference_error,
                    "expected_by_year": {str(y.year): y.expected for y in o.forecast.outlooks},
                }
                for o in self.outcomes
            ],
        }


def compare(
    base: Scenario | None,
    others: Sequence[Scenario],
    target: Target,
    *,
    paths: int,
    seed: int,
    assets: Sequence[Asset],
    rates: RateSet,
    as_of: dt.date,
    engine: str = REFERENCE_ENGINE,
    scheduler: Any = None,
) -> Comparison:
    """Each scenario's P(target) and expected approvals, and its difference from the base (paired)."""
    scenarios = [as_scenario(base)] + [as_scenario(o) for o in others]
    outcomes: list[ScenarioOutcome] = []
    base_paths: dict[str, np.ndarray] | None = None
    for scenario in scenarios:
        forecast = run_scenario(
            scenario, assets, target, rates=rates, as_of=as_of, paths=paths, seed=seed,
            engine=engine, scheduler=scheduler,
        )
        per_path = path_indicators(forecast, target)
        figures = {k: float(v.mean()) for k, v in per_path.items()}
        errors = {k: float(v.std() / math.sqrt(paths)) for k, v in per_path.items()}
        outcome = ScenarioOutcome(scenario.name, scenario.file, forecast, figures, errors)
        if base_paths is None:
            base_paths = per_path
        else:
            for key, values in per_path.items():
                diff = values - base_paths[key]
                outcome.difference[key] = float(diff.mean())
                outcome.difference_error[key] = float(diff.std() / math.sqrt(paths))
        outcomes.append(outcome)
    return Comparison(target, paths, seed, outcomes)
