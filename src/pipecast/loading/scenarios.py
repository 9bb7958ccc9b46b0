"""Scenario files: safe YAML into `pipecast.scenarios.Scenario`, with the rate set a scenario names.

`compare` and `solve` here take scenario files and rate-set names as the command line gives them,
load them, and call the pure `pipecast.scenarios` functions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipecast.domain import Asset
from pipecast.engines.montecarlo import REFERENCE_ENGINE
from pipecast.loading.rates import resolve_rate_set
from pipecast.loading.yaml_safe import load_yaml
from pipecast.rates import BUNDLED_RATE_SETS, RateSet
from pipecast.scenarios import compare as compare_core
from pipecast.scenarios import solve as solve_core
from pipecast.scenarios.compare import Comparison
from pipecast.scenarios.levers import Scenario, parse_scenario
from pipecast.scenarios.solve import Solution
from pipecast.targets import Target

SCENARIO_EXPECTED = "a YAML scenario mapping (name, levers, correlation, ...)"


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; a `rates:` it names is loaded (a path is relative to the file)."""
    file = Path(path)
    raw = load_yaml(file, what=SCENARIO_EXPECTED, file=str(path))
    scenario = parse_scenario(raw, file=str(path))
    if scenario.rates is None:
        return scenario
    rates = scenario.rates
    if rates not in BUNDLED_RATE_SETS and not Path(rates).is_absolute():
        rates = str(file.parent / rates)
    return dataclasses.replace(scenario, rates=rates, rate_set=resolve_rate_set(rates))


def as_scenario(value: Scenario | str | Path | None) -> Scenario | None:
    """A Scenario as given, read from a file, or None (the pipeline as it is)."""
    if value is None or isinstance(value, Scenario):
        return value
    return load_scenario(value)


def compare(
    base: Scenario | str | Path | None,
    others: Sequence[Scenario | str | Path],
    target: Target,
    *,
    paths: int,
    seed: int,
    assets: Sequence[Asset],
    rates: RateSet | str | Path,
    as_of: dt.date,
    engine: str = REFERENCE_ENGINE,
    scheduler: Any = None,
) -> Comparison:
    """`pipecast.scenarios.compare` for scenario files and a rate-set name or file."""
    loaded = [s for s in (as_scenario(o) for o in others) if s is not None]
    return compare_core(
        as_scenario(base), loaded, target, paths=paths, seed=seed, assets=assets, rates=resolve_rate_set(rates),
        as_of=as_of, engine=engine, scheduler=scheduler,
    )


def solve(
    target: Target,
    prob: float = 0.8,
    lever: str = "new_phase2_per_year",
    bounds: tuple[float, float] | None = None,
    *,
    assets: Sequence[Asset],
    as_of: dt.date,
    base: Scenario | str | Path | None = None,
    rates: RateSet | str | Path,
    **options: Any,
) -> Solution:
    """`pipecast.scenarios.solve` for a scenario file and a rate-set name or file."""
    return solve_core(
        target, prob, lever, bounds, assets=assets, as_of=as_of, base=as_scenario(base),
        rates=resolve_rate_set(rates), **options,
    )
