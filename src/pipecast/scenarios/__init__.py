"""Scenarios (pure): levers, compared on common random numbers, and solved for a target."""

from pipecast.scenarios.compare import Comparison, compare, run_scenario
from pipecast.scenarios.levers import LEVERS, Scenario, apply, parse_scenario
from pipecast.scenarios.solve import Solution, solve

__all__ = [
    "LEVERS",
    "Comparison",
    "Scenario",
    "Solution",
    "apply",
    "compare",
    "parse_scenario",
    "run_scenario",
    "solve",
]
