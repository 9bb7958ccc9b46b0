"""The simulation plan: per-candidate threshold tables, groups, cohorts and the target to tally.

A candidate of one (a "slot") succeeds on a path iff its uniform u < C[last], in the first forecast
bin b with u < C[b], where C is the cumulative sum of the exact engine's year probabilities over the
calendar years from the as-of year to the last forecast year, one table per review-shock level. A
cohort of n identical candidates is not expanded: per path its bin counts are one multinomial draw
(see `streams.cohort_counts`), so its cost does not grow with n.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipecast.domain import Asset, Phase, Portfolio
from pipecast.engines.exact import candidate_year_matrix, check_years
from pipecast.engines.montecarlo.correlation import Correlation
from pipecast.engines.montecarlo.entrants import Entrants, entrant_year_means
from pipecast.errors import InputError
from pipecast.rates import RateSet
from pipecast.targets import Target

#: Paths per counter-based random block. Part of the stream's definition: changing it changes results.
BLOCK_PATHS = 64
#: The engine every other is checked against (same numbers for the same seed); the settings table's
#: `engine` default is this name (a test keeps them equal).
REFERENCE_ENGINE = "numpy"
BLOCK_SHIFT = 6
_TWO32 = float(2**32)


@dataclass(frozen=True)
class Group:
    """One copula factor: its weight sqrt(rho), the group number of every slot and how many groups."""

    weight: float
    index: np.ndarray
    count: int


@dataclass
class Plan:
    """Everything a chunk needs; plain arrays so it pickles cheaply to workers."""

    seed: int
    paths: int
    n_slots: int  # one per asset row (a cohort is one slot)
    n_years: int
    thresholds: np.ndarray  # (L, N, Yb) uint32 cumulative thresholds; certain and cohort slots hold 0
    last: np.ndarray  # (N, L) uint32: thresholds[:, :, -1].T
    z: np.ndarray | None  # (L, N, Yb) float32 Phi^-1(C) when the copula is on
    z_last: np.ndarray | None  # (N, L) float32
    bin_year: np.ndarray  # (Yb + 1,) forecast-year index of each bin, -1 outside (last: no approval)
    certain: np.ndarray  # (Y,) approvals on record, added to every path
    groups: list[Group]
    residual: float  # sqrt(1 - sum rho)
    sponsor: np.ndarray  # (N,) sponsor index per slot (-1: never stops)
    n_sponsors: int
    sponsor_stop: float
    entrant_mu: np.ndarray  # (L, Y) Poisson means of entrant approvals per level and year
    cohort_slot: np.ndarray  # (C,) slot of each cohort
    cohort_size: np.ndarray  # (C,) its number of candidates
    cohort_cumulative: np.ndarray  # (L, C, Yb) float64 cumulative year probabilities
    target_cols: np.ndarray  # forecast-year indices of the target years
    target_low: int
    target_high: int | None
    keep_paths: bool

    @property
    def levels(self) -> int:
        return int(self.thresholds.shape[0])

    @property
    def n_blocks(self) -> int:
        return -(-self.paths // BLOCK_PATHS)

    @property
    def copula(self) -> bool:
        return self.z is not None


@dataclass(frozen=True)
class PlanMeta:
    """What turns tallies into a forecast (kept by the caller, not sent to workers)."""

    as_of: dt.date
    assets: list[Asset]
    years: list[int]
    q: np.ndarray  # (N,) P(ever approved)
    counts: np.ndarray  # (N,) candidates per row
    approved: np.ndarray  # (N,) bool: already approved
    exact: np.ndarray  # (N, Y) exact-engine year probabilities, averaged over shock levels
    stop: np.ndarray  # (N,) probability the row's sponsor stops it


def group_index(values: Sequence[str]) -> tuple[np.ndarray, int]:
    """Group number per slot in order of first appearance; an empty value is a group of its own."""
    seen: dict[str, int] = {}
    index = np.empty(len(values), dtype=np.int64)
    for i, value in enumerate(values):
        key = " ".join(value.casefold().split())
        if not key:
            key = f"\x00{i}"
        index[i] = seen.setdefault(key, len(seen))
    return index, len(seen)


def _attribute(asset: Asset, kind: str) -> str:
    return "all" if kind == "all" else str(getattr(asset, kind))


def _check_arguments(years: Sequence[int], paths: int, seed: int) -> None:
    if not years:
        raise InputError("no forecast years", field="years", expected="at least one year")
    if paths < 1:
        raise InputError(f"paths = {paths}", field="paths", expected="a positive number of paths")
    if not 0 <= seed < 2**63:
        raise InputError(f"seed = {seed}", field="seed", expected="an integer between 0 and 2^63-1")


def _level_rates(rates: RateSet, multiplier: float) -> RateSet:
    return rates if multiplier == 1.0 else rates.adjusted(duration_multiplier={Phase.FILED: float(multiplier)})


def _exact_tables(
    assets: Sequence[Asset], rates: RateSet, as_of: dt.date, span: list[int], years: list[int], levels: np.ndarray
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Per shock level the exact year probabilities over `span`; q; and the level-averaged forecast years."""
    tables = []
    q = np.zeros(len(assets))
    exact = np.zeros((len(assets), len(years)))
    for m in levels:
        probs, q = candidate_year_matrix(assets, _level_rates(rates, float(m)), as_of, span)
        tables.append(probs)
        exact += probs[:, [span.index(y) for y in years]] / len(levels)
    return tables, q, exact


def _copula(
    assets: Sequence[Asset], rho: dict[str, float], cumulative: np.ndarray
) -> tuple[np.ndarray | None, np.ndarray | None, list[Group]]:
    """Phi^-1 of the cumulative tables and the group factors, when any rho is set."""
    if not rho:
        return None, None, []
    from scipy import special

    z = special.ndtri(cumulative).astype(np.float32)
    groups = []
    for kind, value in rho.items():
        index, n_groups = group_index([_attribute(a, kind) for a in assets])
        groups.append(Group(math.sqrt(value), index, n_groups))
    return z, np.ascontiguousarray(z[:, :, -1].T), groups


def _sponsors(assets: Sequence[Asset], approved: np.ndarray, stop: float) -> tuple[np.ndarray, int]:
    """Sponsor number per slot (-1: never stops: approved, or no stops at all) and how many sponsors."""
    if stop <= 0:
        return np.full(len(assets), -1), 0
    sponsor, n_sponsors = group_index([a.sponsor or f"\x00{a.id}" for a in assets])
    return np.where(approved, -1, sponsor), n_sponsors


def build_plan(
    portfolio: Portfolio,
    rates: RateSet,
    years: Sequence[int],
    *,
    paths: int,
    seed: int,
    correlation: Correlation,
    target: Target | None,
    entrants: Sequence[Entrants] = (),
    keep_paths: bool = False,
) -> tuple[Plan, PlanMeta]:
    """The per-slot threshold tables and the bookkeeping to turn tallies into a forecast."""
    years = list(years)
    _check_arguments(years, paths, seed)
    as_of = portfolio.as_of
    check_years(as_of, years)
    assets = list(portfolio.assets)
    span = list(range(min(min(years), as_of.year), max(years) + 1))
    multipliers = correlation.levels()
    tables, q, exact = _exact_tables(assets, rates, as_of, span, years, multipliers)
    counts = np.array([a.count for a in assets], dtype=np.int64)
    approved = np.array([a.phase is Phase.APPROVED for a in assets], dtype=bool)
    cohort = ~approved & (counts > 1)
    cumulative = np.stack([np.minimum(np.cumsum(t, axis=1), 1.0) for t in tables])  # (L, N, Yb)
    cohort_cumulative = np.ascontiguousarray(cumulative[:, cohort, :])
    cumulative[:, approved | cohort, :] = 0.0  # only single candidates draw against thresholds
    thresholds = np.minimum(np.floor(cumulative * _TWO32), _TWO32 - 1).astype(np.uint32)
    rho = correlation.active_rho
    z, z_last, groups = _copula(assets, rho, cumulative)
    sponsor, n_sponsors = _sponsors(assets, approved, correlation.sponsor_stop)
    entrant_mu = np.zeros((len(multipliers), len(years)))
    if entrants:
        for k, m in enumerate(multipliers):
            entrant_mu[k] = entrant_year_means(entrants, _level_rates(rates, float(m)), as_of, years)
    cols = np.array([years.index(y) for y in target.years if y in years] if target else [], dtype=np.int64)
    plan = Plan(
        seed=int(seed),
        paths=int(paths),
        n_slots=len(assets),
        n_years=len(years),
        thresholds=thresholds,
        last=np.ascontiguousarray(thresholds[:, :, -1].T),
        z=z,
        z_last=z_last,
        bin_year=np.array([years.index(y) if y in years else -1 for y in span] + [-1]),
        certain=(exact * counts[:, None])[approved].sum(axis=0).round().astype(np.int64),
        groups=groups,
        residual=math.sqrt(max(0.0, 1.0 - sum(rho.values()))),
        sponsor=sponsor,
        n_sponsors=n_sponsors,
        sponsor_stop=correlation.sponsor_stop,
        entrant_mu=entrant_mu,
        cohort_slot=np.flatnonzero(cohort),
        cohort_size=counts[cohort],
        cohort_cumulative=cohort_cumulative,
        target_cols=cols,
        target_low=target.low if target else 0,
        target_high=target.high if target else None,
        keep_paths=keep_paths,
    )
    stop = np.where(approved, 0.0, correlation.sponsor_stop)
    return plan, PlanMeta(as_of, assets, years, q, counts, approved, exact, stop)
