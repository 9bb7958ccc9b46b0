"""Find the smallest value of a lever at which P(target) reaches a probability (bisection, CRN).

Levers: `new_<phase>_per_year` (a funding programme's arrival rate at that phase, e.g.
new_phase2_per_year) and `success_multiplier` (every phase's success probability scaled, capped
at 1). Every evaluation uses the same seed, so the estimated P(target) moves only through the lever,
not through fresh noise: for a target of the form "at least L a year" it is monotone in these levers
path by path (programme counts are drawn by inverting a Poisson CDF with a fixed uniform). For a band
with an upper limit ("1-3") more is not always better; the solver then reports when the probabilities
it saw were not monotone.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipecast.domain import Asset, Phase
from pipecast.engines.montecarlo import REFERENCE_ENGINE
from pipecast.errors import InputError
from pipecast.rates import RateSet
from pipecast.scenarios.compare import as_scenario, path_indicators, run_scenario
from pipecast.scenarios.levers import Scenario
from pipecast.targets import Target

LEVER_FORM = "new_<phase>_per_year (e.g. new_phase2_per_year) or success_multiplier"
_ENTRANT_LEVER = re.compile(r"^new_(preclinical|phase1|phase2|phase3|filed)_per_year$")
DEFAULT_BOUNDS: dict[str, tuple[float, float]] = {"success_multiplier": (0.5, 2.0)}
ENTRANT_BOUNDS = (0.0, 50.0)


@dataclass
class Solution:
    lever: str
    target: Target
    probability: float  # the probability asked for
    reached: bool
    value: float | None  # smallest lever value found reaching it (None if none within bounds)
    achieved: float  # P(target) at `value` (or at the upper bound when not reached)
    achieved_error: float
    bounds: tuple[float, float]
    evaluations: list[tuple[float, float]] = field(default_factory=list)
    monotone: bool = True
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "lever": self.lever,
            "target": str(self.target),
            "probability": self.probability,
            "reached": self.reached,
            "value": self.value,
            "achieved": self.achieved,
            "achieved_mc_error": self.achieved_error,
            "bounds": list(self.bounds),
            "evaluations": [{"value": v, "p": p} for v, p in self.evaluations],
            "monotone": self.monotone,
            "message": self.message,
        }


def lever_setter(lever: str) -> Any:
    match = _ENTRANT_LEVER.match(lever)
    if match:
        phase = Phase(match[1])
        return lambda scenario, value: scenario.with_entrant_rate(phase, value)
    if lever == "success_multiplier":
        return lambda scenario, value: scenario.with_success_all(value)
    raise InputError(f"unknown lever {lever!r}", field="--lever", expected=LEVER_FORM)


def _check(prob: float, lever: str, bounds: tuple[float, float] | None) -> tuple[float, float]:
    """The lever's bounds (given or default), after checking them and the probability asked for."""
    if not 0 < prob < 1:
        raise InputError(f"probability {prob}", field="--prob", expected="a probability strictly between 0 and 1")
    low, high = bounds or DEFAULT_BOUNDS.get(lever, ENTRANT_BOUNDS)
    if not low < high:
        raise InputError(f"bounds {low}..{high}", field="--bounds", expected="LOW < HIGH")
    if lever == "success_multiplier" and low <= 0:
        raise InputError(f"bounds {low}..{high}", field="--bounds", expected="multipliers greater than 0")
    if lever != "success_multiplier" and low < 0:
        raise InputError(f"bounds {low}..{high}", field="--bounds", expected="non-negative rates")
    return low, high


def solve(
    target: Target,
    prob: float = 0.8,
    lever: str = "new_phase2_per_year",
    bounds: tuple[float, float] | None = None,
    *,
    assets: Sequence[Asset],
    as_of: dt.date,
    base: Scenario | None = None,
    rates: RateSet,
    paths: int,
    seed: int,
    engine: str = REFERENCE_ENGINE,
    scheduler: Any = None,
    tolerance: float | None = None,
    max_evaluations: int = 24,
) -> Solution:
    """Bisection for the smallest lever value with P(all target years in band) >= prob."""
    setter = lever_setter(lever)
    low, high = _check(prob, lever, bounds)
    tol = tolerance if tolerance is not None else (high - low) / 1000
    scenario = as_scenario(base)
    evaluations: list[tuple[float, float]] = []

    def evaluate(value: float) -> tuple[float, float]:
        forecast = run_scenario(
            setter(scenario, value), assets, target, rates=rates, as_of=as_of, paths=paths, seed=seed,
            engine=engine, scheduler=scheduler, keep_paths=True,
        )
        met = path_indicators(forecast, target)["all_years_in_band"]
        p = float(met.mean())
        evaluations.append((value, p))
        return p, float(met.std() / max(paths, 1) ** 0.5)

    p_high, se_high = evaluate(high)
    if p_high < prob:
        return Solution(
            lever, target, prob, False, None, p_high, se_high, (low, high), evaluations,
            message=(
                f"no value of {lever} within {low:g}..{high:g} reaches P(target {target}) >= {prob:.0%}: "
                f"at {high:g} it is {p_high:.1%} (±{se_high:.1%})"
            ),
        )
    p_low, se_low = evaluate(low)
    if p_low >= prob:
        return Solution(
            lever, target, prob, True, low, p_low, se_low, (low, high), evaluations,
            message=f"already met at the lower bound {lever} = {low:g}: P = {p_low:.1%}",
        )
    best, p_best, se_best = high, p_high, se_high
    lo, hi = low, high
    while hi - lo > tol and len(evaluations) < max_evaluations:
        mid = (lo + hi) / 2
        p_mid, se_mid = evaluate(mid)
        if p_mid >= prob:
            hi, best, p_best, se_best = mid, mid, p_mid, se_mid
        else:
            lo = mid
    ordered = sorted(evaluations)
    monotone = all(b[1] >= a[1] for a, b in itertools.pairwise(ordered))
    note = "" if monotone else " (P(target) was not monotone in the lever; the answer may not be the smallest)"
    return Solution(
        lever, target, prob, True, best, p_best, se_best, (low, high), evaluations, monotone,
        message=f"{lever} = {best:.4g} gives P(target {target}) = {p_best:.1%} (±{se_best:.1%}){note}",
    )
