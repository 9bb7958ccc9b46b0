"""What a forecast returns: per-candidate year probabilities and everything derived from them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from pipecast.domain import Asset, Phase
from pipecast.engines.joint import leave_one_out_in_band, probability_all_years_in_band
from pipecast.engines.poibin import count_distributions, poisson_pmf
from pipecast.errors import EngineError
from pipecast.rates import RateSet
from pipecast.targets import Target

#: Quantiles drawn in the fan chart.
FAN_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: How many candidates get an exact leave-one-out contribution to the target probability.
TOP_CONTRIBUTORS = 15


@dataclass
class YearOutlook:
    """One year's count distribution: pmf[k] = P(count = offset + k).

    `offset` is 0 unless a very large cohort makes every count below it less likely than 1e-15
    together (then the pmf starts there rather than holding millions of zeros).
    """

    year: int
    expected: float
    pmf: list[float]
    observed: int  # approvals already on record (certain)
    offset: int = 0
    #: Of `expected`, the part from candidates not yet known (arrivals); 0 without arrivals.
    from_arrivals: float = 0.0

    @property
    def from_pipeline(self) -> float:
        """Of `expected`, the part from today's pipeline (the candidates known at the as-of date)."""
        return self.expected - self.from_arrivals

    def p(self, count: int) -> float:
        """P(count = `count`)."""
        k = count - self.offset
        return float(self.pmf[k]) if 0 <= k < len(self.pmf) else 0.0

    def p_between(self, low: int, high: int | None) -> float:
        start = max(low - self.offset, 0)
        top = len(self.pmf) if high is None else min(high + 1 - self.offset, len(self.pmf))
        return float(sum(self.pmf[start:top])) if top > start else 0.0

    def quantile(self, q: float) -> int:
        return self.offset + int(np.searchsorted(np.cumsum(self.pmf), q - 1e-12))


@dataclass
class FactorNode:
    """One quadrature node of a shared factor: its weight, the multiplier, and everything conditional on it."""

    weight: float
    multiplier: float
    probabilities: np.ndarray  # (N, Y) given the factor's value
    arrival_means: np.ndarray | None = None  # (Y,) given the factor's value; None without arrivals


@dataclass
class Contribution:
    asset_id: str
    name: str
    phase: str
    expected_in_range: float
    delta_probability: float  # P(target met) minus P(target met without this candidate)


@dataclass
class TargetCheck:
    target: Target
    per_year_in_band: dict[int, float]
    per_year_at_least_low: dict[int, float]
    all_years_in_band: float
    all_years_at_least_low: float
    contributors: list[Contribution]
    missing_years: list[int] = field(default_factory=list)


@dataclass
class Forecast:
    as_of: dt.date
    years: list[int]
    assets: list[Asset]
    probabilities: np.ndarray  # (N, Y): P(candidate i first approved in year j)
    p_approval: np.ndarray  # (N,): P(candidate i is ever approved)
    counts: np.ndarray  # (N,): copies per row (cohorts)
    rate_set: RateSet
    method: str = "exact"
    mc_error: dict[str, Any] | None = None
    #: Latest dated event or fact the forecast used (filled in by the facade).
    data_as_of: dt.date | None = None
    #: Plain-text warnings for the reader (stale data, ...); empty when none.
    warnings: tuple[str, ...] = ()
    #: Candidates that `check` flags as stale.
    stale_ids: frozenset[str] = frozenset()
    #: P(target met) minus P(target met) without the stale candidates (filled by the facade with a target).
    stale_share: float | None = None
    #: Expected approvals per forecast year from candidates not yet known (an independent Poisson count per
    #: year, `engines.arrivals`); None: no arrivals (a forecast of today's pipeline only).
    arrival_means: np.ndarray | None = None
    #: How the arrivals were fitted (`ArrivalFit.to_json()`), shown in the JSON; None without arrivals.
    arrival_fit: dict[str, Any] | None = None
    #: The backtest that applies to the rate set in use and how its intervals scored (`loading.validation`);
    #: None: not validated (e.g. a user's rate file).
    validation: dict[str, Any] | None = None
    #: A shared factor's quadrature nodes (`engines.factors`): candidates are independent given the factor,
    #: and every count and joint probability is mixed over the nodes. None: independence. `probabilities`
    #: and `arrival_means` then hold the marginal (weighted mean) values.
    factor_nodes: list[FactorNode] | None = None
    factor_sigma: float = 0.0
    #: With a factor: the probabilities at the factor's median (M = 1), i.e. under independence.
    base_probabilities: np.ndarray | None = None

    def _nodes(self) -> list[FactorNode]:
        if self.factor_nodes:
            return self.factor_nodes
        return [FactorNode(1.0, 1.0, self.probabilities, self.arrival_means)]

    def _mixed(self, cols: list[int], compute: Callable[[np.ndarray, np.ndarray | None], float]) -> float:
        """sum_j w_j compute(probabilities_j[:, cols], arrivals_j[cols]) over the factor's nodes."""
        if not self.factor_nodes:
            return compute(self.probabilities[:, cols], self._arrivals_in(cols))
        total = 0.0
        for node in self.factor_nodes:
            extra = None if node.arrival_means is None else node.arrival_means[cols]
            total += node.weight * compute(node.probabilities[:, cols], extra)
        return total

    def _year_pmfs(self) -> list[tuple[int, np.ndarray]]:
        """Each year's count pmf (offset, values), with arrivals, mixed over the factor's nodes if any."""
        per_node = []
        for node in self._nodes():
            pmfs = count_distributions(node.probabilities, self.counts)
            if node.arrival_means is not None:
                pmfs = [(offset, np.convolve(row, poisson_pmf(float(m))) if m > 0 else row)
                        for (offset, row), m in zip(pmfs, node.arrival_means, strict=True)]
            per_node.append(pmfs)
        if len(per_node) == 1:
            return per_node[0]
        from pipecast.engines.factors import mix_pmfs

        weights = [node.weight for node in self._nodes()]
        return [mix_pmfs(weights, [pmfs[j] for pmfs in per_node]) for j in range(len(self.years))]

    @cached_property
    def outlooks(self) -> list[YearOutlook]:
        pmfs = self._year_pmfs()
        observed = ((self.probabilities == 1.0) * self.counts[:, None]).sum(axis=0)
        expected = (self.probabilities * self.counts[:, None]).sum(axis=0)
        arrivals = self.arrival_means if self.arrival_means is not None else np.zeros(len(self.years))
        result = []
        for j, year in enumerate(self.years):
            offset, row = pmfs[j]
            last = int(np.flatnonzero(row > 1e-12).max()) + 1 if row.any() else 1
            pmf = [float(x) for x in row[:last]]
            result.append(YearOutlook(year, float(expected[j] + arrivals[j]), pmf, int(observed[j]), offset,
                                      float(arrivals[j])))
        return result

    def _arrivals_in(self, cols: list[int]) -> np.ndarray | None:
        return None if self.arrival_means is None else self.arrival_means[cols]

    def outlook(self, year: int) -> YearOutlook:
        return self.outlooks[self.years.index(year)]

    def fan(self) -> dict[str, list[float]]:
        return {
            f"q{int(q * 100):02d}": [float(o.quantile(q)) for o in self.outlooks] for q in FAN_QUANTILES
        } | {"expected": [o.expected for o in self.outlooks]}

    def funnel(self) -> dict[str, int]:
        counts = {p.value: 0 for p in Phase}
        for asset in self.assets:
            counts[asset.phase.value] += asset.count
        return counts

    def _columns(self, target: Target) -> list[int]:
        """Forecast-year columns of the target's years; a target is never judged on a subset of them."""
        missing = [y for y in target.years if y not in self.years]
        if missing:
            raise EngineError(
                f"target {target} has years outside this forecast ({', '.join(map(str, missing))}); "
                f"forecast {target.first_year}-{target.last_year} at least"
            )
        return [self.years.index(y) for y in target.years]

    def check(self, target: Target, top: int = TOP_CONTRIBUTORS) -> TargetCheck:
        """Probability that the target is met each year and over its whole range, with who carries it."""
        cols = self._columns(target)
        missing = [y for y in target.years if y not in self.years]
        sub = self.probabilities[:, cols]
        in_band = {self.years[c]: self.outlooks[c].p_between(target.low, target.high) for c in cols}
        at_least = {self.years[c]: self.outlooks[c].p_between(target.low, None) for c in cols}
        counts, low, high = self.counts, target.low, target.high
        both = self._mixed(cols, lambda p, e: probability_all_years_in_band(p, counts, low, high, e)) if cols else 0.0
        floor = self._mixed(cols, lambda p, e: probability_all_years_in_band(p, counts, low, None, e)) if cols else 0.0
        expected = (sub * self.counts[:, None]).sum(axis=1)
        order = [int(i) for i in np.argsort(-expected / np.maximum(self.counts, 1))[:top] if expected[i] > 0]
        withouts = self._leave_one_out(cols, order, target.low) if order else []
        contributors = []
        for i, without in zip(order, withouts, strict=True):
            asset = self.assets[i]
            contributors.append(
                Contribution(
                    asset.id,
                    asset.name,
                    asset.phase.value,
                    float(expected[i] / asset.count),
                    float(floor - without),
                )
            )
        contributors.sort(key=lambda c: -c.delta_probability)
        return TargetCheck(target, in_band, at_least, both, floor, contributors, missing)

    def _leave_one_out(self, cols: list[int], order: list[int], low: int) -> list[float]:
        if not self.factor_nodes:
            return leave_one_out_in_band(self.probabilities[:, cols], self.counts, order, low, None,
                                         self._arrivals_in(cols))
        out = np.zeros(len(order))
        for node in self.factor_nodes:
            extra = None if node.arrival_means is None else node.arrival_means[cols]
            out += node.weight * np.array(
                leave_one_out_in_band(node.probabilities[:, cols], self.counts, order, low, None, extra))
        return [float(x) for x in out]

    def probability_met(self, target: Target, *, without: Collection[str] = (), pipeline_only: bool = False) -> float:
        """P(target met in every one of its years) (`check(target).all_years_in_band`), with the candidates
        whose ids are in `without` taken out of the joint distribution. Each candidate's year probabilities do
        not depend on the others', so taking some out needs no new timing: their rows count zero times."""
        cols = self._columns(target)
        counts = self.counts
        if without:
            counts = np.where([a.id in without for a in self.assets], 0, counts)
        low, high = target.low, target.high
        if pipeline_only:  # today's pipeline alone, candidates independent: no arrivals, no shared factor
            base = self.base_probabilities if self.base_probabilities is not None else self.probabilities
            return probability_all_years_in_band(base[:, cols], counts, low, high)
        return self._mixed(cols, lambda p, e: probability_all_years_in_band(p, counts, low, high, e))

    def without_one(self, sub: np.ndarray, i: int, low: int) -> float:
        """P(at least `low` in every year of `sub`'s columns) with one candidate of row i removed."""
        counts = self.counts.copy()
        counts[i] -= 1
        return probability_all_years_in_band(sub, counts, low, None)

    def candidate_rows(self) -> list[dict[str, Any]]:
        rows = []
        for i, asset in enumerate(self.assets):
            rows.append(
                {
                    "id": asset.id,
                    "name": asset.name,
                    "sponsor": asset.sponsor,
                    "phase": asset.phase.value,
                    "phase_start": asset.phase_start.isoformat(),
                    "count": int(asset.count),
                    "p_approval": float(self.p_approval[i]),
                    "stale": asset.id in self.stale_ids,
                    "by_year": {str(y): float(self.probabilities[i, j]) for j, y in enumerate(self.years)},
                }
            )
        return rows

    def to_json(self, target: Target | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "as_of": self.as_of.isoformat(),
            "data_as_of": self.data_as_of.isoformat() if self.data_as_of is not None else None,
            "warnings": list(self.warnings),
            "stale_ids": sorted(self.stale_ids),
            "method": self.method,
            "rate_set": {
                "name": self.rate_set.name,
                "origin": self.rate_set.origin,
                "sources": self.rate_set.sources(),
            },
            "candidates": int(self.counts.sum()),
            "rows": len(self.assets),
            "years": [
                {
                    "year": o.year,
                    "expected": o.expected,
                    "expected_pipeline": o.from_pipeline,
                    "expected_arrivals": o.from_arrivals,
                    "pmf": o.pmf,
                    "pmf_offset": o.offset,
                    "observed": o.observed,
                    "p_at_least_1": o.p_between(1, None),
                }
                | ({"mc_error": self.mc_error["years"][k]} if self.mc_error else {})
                for k, o in enumerate(self.outlooks)
            ],
            "fan": self.fan(),
            "funnel": self.funnel(),
            "arrivals": self.arrival_fit,
            "factor": ({"kind": "review pace: a shared lognormal multiplier (median 1) of the filed stage's "
                                "duration", "log_sd": self.factor_sigma, "nodes": len(self.factor_nodes)}
                       if self.factor_nodes else None),
            "validation": self.validation,
        }
        if target is not None:
            check = self.check(target)
            data["target"] = {
                "target": str(target),
                "per_year_in_band": {str(k): v for k, v in check.per_year_in_band.items()},
                "per_year_at_least_low": {str(k): v for k, v in check.per_year_at_least_low.items()},
                "all_years_in_band": check.all_years_in_band,
                "all_years_at_least_low": check.all_years_at_least_low,
                "years_outside_forecast": check.missing_years,
                "stale_share": self.stale_share,
                "all_years_in_band_pipeline_only": (
                    self.probability_met(target, pipeline_only=True)
                    if self.arrival_means is not None or self.factor_nodes else check.all_years_in_band),
                "contributors": [c.__dict__ for c in check.contributors],
            }
        return data
