"""A Monte Carlo forecast: count distributions and target figures from simulated paths, with errors."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from pipecast.engines.montecarlo.correlation import Correlation
from pipecast.engines.montecarlo.plan import BLOCK_PATHS
from pipecast.engines.montecarlo.tallies import Histogram
from pipecast.engines.result import TOP_CONTRIBUTORS, Contribution, Forecast, TargetCheck, YearOutlook
from pipecast.errors import EngineError
from pipecast.targets import Target


def standard_error(p: np.ndarray | float, n: int) -> np.ndarray:
    """sqrt(p (1 - p) / n): the standard error of a share estimated from n paths."""
    q = np.asarray(p, dtype=float)
    return np.asarray(np.sqrt(np.clip(q * (1 - q), 0.0, None) / n))


@dataclass(frozen=True)
class TargetTallies:
    """Paths meeting the target, per target year and over all of them, and leave-one-out shares."""

    in_band: np.ndarray
    floor: np.ndarray
    all_in_band: int
    all_floor: int
    contrib: np.ndarray | None  # (N,) P(target floor lost without one of the row's candidates)


@dataclass
class MonteCarloForecast(Forecast):
    """A Forecast whose count distributions and target figures come from simulated paths."""

    paths: int = field(kw_only=True)
    seed: int = field(kw_only=True)
    engine: str = field(kw_only=True)
    correlation: Correlation = field(default_factory=Correlation)
    simulated_target: Target | None = None
    histograms: list[Histogram] = field(default_factory=list)  # per year: number of paths with count k
    target_tallies: TargetTallies | None = None
    path_counts: np.ndarray | None = None  # (paths, years) int32 when kept
    entrant_expected: np.ndarray | None = None  # (years,) exact mean approvals from programmes

    @cached_property
    def outlooks(self) -> list[YearOutlook]:
        result = []
        observed = ((self.probabilities == 1.0) * self.counts[:, None]).sum(axis=0)
        for j, year in enumerate(self.years):
            h = self.histograms[j]
            expected = float((h.values * h.paths).sum() / self.paths)
            pmf = (h.paths / self.paths).tolist()
            result.append(YearOutlook(year, expected, pmf, int(observed[j]), offset=h.low))
        return result

    def _same_target(self, target: Target) -> bool:
        t = self.simulated_target
        return t is not None and (t.first_year, t.last_year, t.low, t.high) == (
            target.first_year,
            target.last_year,
            target.low,
            target.high,
        )

    def target_probabilities(self, target: Target) -> TargetTallies:
        """Path-based target figures: per-year tallies, joint tallies and leave-one-out counts."""
        cols = self._columns(target)
        if self._same_target(target) and self.target_tallies is not None:
            return self.target_tallies
        if self.path_counts is None:
            raise EngineError(
                f"this Monte Carlo run was simulated for target {self.simulated_target}; "
                f"simulate again with target {target} (or keep_paths=True) to check it"
            )
        sub = self.path_counts[:, cols].astype(np.int64)
        ok_low = sub >= target.low
        ok_band = ok_low if target.high is None else ok_low & (sub <= target.high)
        return TargetTallies(
            in_band=ok_band.sum(axis=0),
            floor=ok_low.sum(axis=0),
            all_in_band=int(ok_band.all(axis=1).sum()) if cols else 0,
            all_floor=int(ok_low.all(axis=1).sum()) if cols else 0,
            contrib=None,
        )

    def check(self, target: Target, top: int = TOP_CONTRIBUTORS) -> TargetCheck:
        cols = self._columns(target)
        missing = [y for y in target.years if y not in self.years]
        tallies = self.target_probabilities(target)
        n = self.paths
        in_band = {self.years[c]: float(tallies.in_band[k]) / n for k, c in enumerate(cols)}
        at_least = {self.years[c]: float(tallies.floor[k]) / n for k, c in enumerate(cols)}
        both = tallies.all_in_band / n if cols else 0.0
        floor = tallies.all_floor / n if cols else 0.0
        contributors: list[Contribution] = []
        if tallies.contrib is not None and cols:
            expected = self.probabilities[:, cols].sum(axis=1)
            for i in np.argsort(-expected)[:top]:
                if expected[i] <= 0:
                    continue
                asset = self.assets[i]
                contributors.append(
                    Contribution(asset.id, asset.name, asset.phase.value, float(expected[i]), float(tallies.contrib[i]))
                )
            contributors.sort(key=lambda c: -c.delta_probability)
        return TargetCheck(target, in_band, at_least, float(both), float(floor), contributors, missing)

    def target_error(self, target: Target) -> dict[str, Any]:
        check = self.check(target, top=0)
        n = self.paths
        return {
            "per_year_in_band": {str(k): float(standard_error(v, n)) for k, v in check.per_year_in_band.items()},
            "per_year_at_least_low": {
                str(k): float(standard_error(v, n)) for k, v in check.per_year_at_least_low.items()
            },
            "all_years_in_band": float(standard_error(check.all_years_in_band, n)),
            "all_years_at_least_low": float(standard_error(check.all_years_at_least_low, n)),
        }

    def error_estimates(self, target: Target | None) -> dict[str, Any]:
        """Monte Carlo standard errors of each year's mean and pmf (and of the target figures)."""
        n = self.paths
        years = []
        for h in self.histograms:
            k = h.values.astype(float)
            mean = (k * h.paths).sum() / n
            var = max(float((k * k * h.paths).sum() / n - mean * mean), 0.0)
            years.append({"expected": math.sqrt(var / n), "pmf": standard_error(h.paths / n, n).tolist()})
        out: dict[str, Any] = {"years": years, "paths": n}
        if target is not None:
            out["target"] = self.target_error(target)
        return out

    def to_json(self, target: Target | None = None) -> dict[str, Any]:
        data = super().to_json(target)
        data["montecarlo"] = {
            "paths": self.paths,
            "seed": self.seed,
            "engine": self.engine,
            "block_paths": BLOCK_PATHS,
            "correlation": self.correlation.describe(),
        }
        if target is not None:
            data["target"]["mc_error"] = self.target_error(target)
        return data
