"""Monte Carlo of the exact engine's model, with the correlations the exact engine cannot express.

One uniform per candidate-path (DESIGN-NOTES "Monte Carlo with one draw per candidate-path"): with
q_i the probability of approval and F_i the approval-time CDF given approval, the candidate is
approved iff u < q_i, at time F_i^-1(u / q_i). Every figure we report is per calendar year, so the
inversion only ever needs F_i at year boundaries: the table for candidate i is the cumulative sum of
the exact engine's year probabilities, C_i[b] = P(approved by the end of year b), over the calendar
years from the as-of year to the last forecast year, and the approval year is the first b with
u < C_i[b]. This is the same inversion with no grid error beyond the exact engine's own daily
rounding. A failure (u >= C_i[last]) costs one comparison.

Random numbers are counter-based: block k of BLOCK_PATHS paths draws from numpy's Philox keyed by
(seed, 16 k + stream), candidate-major, so a candidate's draws depend only on the seed, the block and
its position in the portfolio (cohort copies take consecutive positions). Results are therefore
identical for any chunking, number of workers or backend, and scenarios that append candidates keep
common random numbers for the others. The uniforms are 32-bit integers k, u = k / 2^32, compared
with integer thresholds floor(C * 2^32).

Correlation (all optional, see `Correlation`):
- one-factor Gaussian copula per group kind: x = sum_k sqrt(rho_k) Z_{k, group_k(i)} + sqrt(1 - sum
  rho_k) eps, u = Phi(x). It moves success and timing together (a "good" draw is an early success),
  and keeps every candidate's marginal distribution. The comparison is made in normal space against
  Phi^-1(C); eps = Phi^-1 of the 24 high bits of the candidate's draw.
- a regulatory-speed shock: a per-path multiplier M of the filed stage's duration, lognormal with
  median 1 and the given sigma, discretised into `review_levels` equiprobable levels (the midpoints
  of equal-probability strata); tables are built per level with the exact engine.
- sponsor discontinuation: per path and sponsor, with probability q all of that sponsor's
  candidates stop (approvals already on record stand).

Approvals already on record are certain and added to every path; new entrants from funding
programmes (`Entrants`) enter as a Poisson process, so by the marking theorem the approvals they
yield in each year are independent Poisson counts (given the path's shock level) whose means are
computed exactly on a daily grid; they are drawn by inversion so that the count is monotone in the
rate for a fixed seed (useful for the scenario solver).

Memory does not grow with the number of paths: each chunk returns histograms of the yearly counts,
per-candidate tallies and, for the target given to `simulate`, joint tallies. Per-path arrays are
kept only on request (`keep_paths=True`, int16 paths x years), which lets `check()` answer other
targets afterwards and lets scenario comparisons compute paired errors.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy import special, stats

from pipecast.domain import Asset, Phase, Portfolio, parse_phase
from pipecast.errors import EngineError, InputError
from pipecast.engines.exact import candidate_year_matrix, year_windows
from pipecast.engines.result import (
    TOP_CONTRIBUTORS,
    Contribution,
    Forecast,
    TargetCheck,
    YearOutlook,
)
from pipecast.engines.timing import sum_of_durations
from pipecast.rates import RateSet
from pipecast.targets import Target

#: Paths per counter-based random block. Part of the stream's definition: changing it changes results.
BLOCK_PATHS = 64
_BLOCK_SHIFT = 6
#: Random streams per block (stream ids inside a block's key).
_STREAMS = 16
_S_CAND, _S_LEVEL, _S_STOP, _S_ENTRANTS, _S_GROUP0 = 0, 1, 2, 3, 4
#: Group kinds the copula understands (asset attributes, or one group for everything).
GROUP_KINDS = ("sponsor", "therapeutic_area", "modality", "target", "all")
_TWO32 = float(2**32)
DEFAULT_CHUNK_PATHS = 4096


@dataclass(frozen=True)
class Correlation:
    """How candidates move together; the default is independence (the exact engine's model)."""

    rho: dict[str, float] = field(default_factory=dict)  # group kind -> copula correlation
    review_sigma: float = 0.0  # sd of log review-time multiplier per path (filed stage)
    review_levels: int = 16
    sponsor_stop: float = 0.0  # per path and sponsor: probability that all its candidates stop

    def __post_init__(self) -> None:
        for kind, rho in self.rho.items():
            if kind not in GROUP_KINDS:
                raise InputError(
                    f"unknown correlation group {kind!r}", field="rho", expected="one of " + ", ".join(GROUP_KINDS)
                )
            if not 0.0 <= rho <= 1.0 or not math.isfinite(rho):
                raise InputError(f"rho for {kind} is {rho}", field="rho", expected="a number between 0 and 1")
        if sum(self.rho.values()) > 1.0 + 1e-12:
            raise InputError(
                f"correlations add up to {sum(self.rho.values()):g}",
                field="rho",
                expected="rho values whose sum is at most 1 (each is a share of the latent variance)",
            )
        if not 0.0 <= self.review_sigma <= 5.0:
            raise InputError(
                f"review_sigma is {self.review_sigma}", field="review_sigma", expected="a number between 0 and 5"
            )
        if not 1 <= self.review_levels <= 1024:
            raise InputError(
                f"review_levels is {self.review_levels}", field="review_levels", expected="an integer 1-1024"
            )
        if not 0.0 <= self.sponsor_stop <= 1.0:
            raise InputError(
                f"sponsor_stop is {self.sponsor_stop}", field="sponsor_stop", expected="a probability between 0 and 1"
            )

    @property
    def active_rho(self) -> dict[str, float]:
        return {k: v for k, v in self.rho.items() if v > 0}

    @property
    def is_independent(self) -> bool:
        return not self.active_rho and self.review_sigma == 0 and self.sponsor_stop == 0

    def levels(self) -> np.ndarray:
        """Review-time multipliers, one per equiprobable level (just 1.0 without a shock)."""
        if self.review_sigma == 0:
            return np.ones(1)
        mid = (np.arange(self.review_levels) + 0.5) / self.review_levels
        return np.exp(self.review_sigma * special.ndtri(mid))

    def describe(self) -> dict[str, Any]:
        return {
            "rho": dict(self.rho),
            "review_sigma": self.review_sigma,
            "review_levels": self.review_levels,
            "sponsor_stop": self.sponsor_stop,
        }


@dataclass(frozen=True)
class Entrants:
    """New candidates entering `phase` as a Poisson process at `per_year` a year between two dates."""

    phase: Phase
    per_year: float
    start: dt.date
    end: dt.date
    therapeutic_area: str = ""
    modality: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if not self.phase.is_active:
            raise InputError(f"entrants cannot enter phase {self.phase.value}", field="phase")
        if not (self.per_year >= 0 and math.isfinite(self.per_year)):
            raise InputError(f"rate {self.per_year}", field="per_year", expected="a non-negative number a year")
        if self.end < self.start:
            raise InputError("entry window ends before it starts", field="until", expected="a date after 'from'")


def entrant_year_means(
    entrants: Sequence[Entrants], rates: RateSet, as_of: dt.date, years: Sequence[int]
) -> np.ndarray:
    """Expected approvals in each year from the programmes (exact on a daily grid)."""
    windows = year_windows(as_of, years)
    horizon = windows.horizon
    mu = np.zeros(len(years))
    if horizon == 0:
        return mu
    for item in entrants:
        if item.per_year == 0:
            continue
        rows = rates.profile(item.phase, item.therapeutic_area, item.modality)
        q = math.prod(r.p_success for r in rows)
        masses = sum_of_durations([r.duration for r in rows], horizon)
        first = max((item.start - as_of).days, 0)
        last = min((item.end - as_of).days + 1, horizon)  # entry days first..last-1
        if last <= first:
            continue
        entry = np.zeros(horizon)
        entry[first:last] = item.per_year / 365.25
        approval = np.convolve(entry, masses)[:horizon] * q
        cumulative = np.concatenate(([0.0], np.cumsum(approval)))
        mu += cumulative[windows.ends] - cumulative[windows.starts]
    return mu


@dataclass
class Plan:
    """Everything a chunk needs; plain arrays so it pickles cheaply to workers."""

    seed: int
    paths: int
    n_slots: int
    n_years: int
    thresholds: np.ndarray  # (L, N, Yb) uint32 cumulative thresholds; certain slots hold 0
    last: np.ndarray  # (N, L) uint32: thresholds[:, :, -1].T
    z: np.ndarray | None  # (L, N, Yb) float32 Phi^-1(C) when the copula is on
    z_last: np.ndarray | None  # (N, L) float32
    bin_year: np.ndarray  # (Yb + 1,) forecast-year index of each bin, -1 outside (last: no approval)
    certain: np.ndarray  # (Y,) approvals on record, added to every path
    groups: list[tuple[float, np.ndarray, int]]  # (sqrt rho, group of each slot, number of groups)
    residual: float  # sqrt(1 - sum rho)
    sponsor: np.ndarray  # (N,) sponsor index per slot (-1: never stops)
    n_sponsors: int
    sponsor_stop: float
    entrant_mu: np.ndarray  # (L, Y) Poisson means of entrant approvals per level and year
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


@dataclass
class Draws:
    """A block's random numbers (always drawn with numpy Philox, whatever the backend)."""

    width: int  # paths used from this block (BLOCK_PATHS except in the last block)
    u: np.ndarray  # (N, width) uint32
    level: np.ndarray  # (width,) int shock level per path
    latent: np.ndarray | None  # (N, width) float32: sum_k sqrt(rho_k) Z_k (copula only)
    stopped: np.ndarray | None  # (n_sponsors, width) bool
    entrants: np.ndarray  # (width, Y) int32


def _gen(plan: Plan, block: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.Philox(key=[plan.seed, block * _STREAMS + stream]))


def draw_block(plan: Plan, block: int) -> Draws:
    width = min(BLOCK_PATHS, plan.paths - block * BLOCK_PATHS)
    n = plan.n_slots
    raw = np.random.Philox(key=[plan.seed, block * _STREAMS + _S_CAND]).random_raw(-(-n * BLOCK_PATHS // 2))
    u = raw.view(np.uint32)[: n * BLOCK_PATHS].reshape(n, BLOCK_PATHS)
    if width < BLOCK_PATHS:
        u = np.ascontiguousarray(u[:, :width])
    if plan.levels > 1:
        w = _gen(plan, block, _S_LEVEL).random(BLOCK_PATHS)[:width]
        level = np.minimum((w * plan.levels).astype(np.int64), plan.levels - 1)
    else:
        level = np.zeros(width, dtype=np.int64)
    latent = None
    if plan.groups:
        latent = np.zeros((n, width), dtype=np.float32)
        for k, (weight, index, n_groups) in enumerate(plan.groups):
            z = _gen(plan, block, _S_GROUP0 + k).standard_normal((n_groups, BLOCK_PATHS), dtype=np.float32)
            latent += np.float32(weight) * z[:, :width][index]
    stopped = None
    if plan.sponsor_stop > 0 and plan.n_sponsors:
        stopped = (_gen(plan, block, _S_STOP).random((plan.n_sponsors, BLOCK_PATHS)) < plan.sponsor_stop)[:, :width]
    entrants = np.zeros((width, plan.n_years), dtype=np.int32)
    if plan.entrant_mu.any():
        v = _gen(plan, block, _S_ENTRANTS).random((BLOCK_PATHS, plan.n_years))[:width]
        mu = plan.entrant_mu[level]  # (width, Y)
        positive = mu > 0
        entrants[positive] = stats.poisson.ppf(v[positive], mu[positive]).astype(np.int32)
    return Draws(width, u, level, latent, stopped, entrants)


def normal_from_bits(u: np.ndarray) -> np.ndarray:
    """eps = Phi^-1 of the 24 high bits of each draw (float32, never 0 or 1)."""
    v = ((u >> np.uint32(8)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-24)
    return special.ndtri(v)


def tally_numpy(plan: Plan, d: Draws) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A block's counted approvals: path, slot and forecast-year index of each, and counts (width, Y)."""
    width = d.width
    if plan.z is None:
        limit_u = plan.last[:, :1] if plan.levels == 1 else plan.last[:, d.level]
        flat = np.flatnonzero(d.u < limit_u)
        value: np.ndarray = d.u.ravel()[flat]
        tables = plan.thresholds
    else:
        assert plan.z_last is not None and plan.z is not None and d.latent is not None
        x = normal_from_bits(d.u)
        x *= np.float32(plan.residual)
        x += d.latent
        limit_z = plan.z_last[:, :1] if plan.levels == 1 else plan.z_last[:, d.level]
        flat = np.flatnonzero(x < limit_z)
        value = x.ravel()[flat]
        tables = plan.z
    if width == BLOCK_PATHS:
        slot, path = flat >> _BLOCK_SHIFT, flat & (BLOCK_PATHS - 1)
    else:
        slot, path = np.divmod(flat, width)
    # bins = how many cumulative thresholds the draw is at or above: the approval year's bin
    bins = np.zeros(len(flat), dtype=np.int64)
    level = d.level[path] if plan.levels > 1 else None
    for k in range(tables.shape[2] - 1):
        column = tables[:, :, k]
        bins += value >= (column[level, slot] if level is not None else column[0][slot])
    return finish_hits(plan, d, path, slot, plan.bin_year[bins])


def finish_hits(
    plan: Plan, d: Draws, path: np.ndarray, slot: np.ndarray, year: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Drop hits outside the forecast years or of stopped sponsors; count per path and year."""
    if d.stopped is not None:
        sponsor = plan.sponsor[slot]
        alive = (sponsor < 0) | ~d.stopped[np.maximum(sponsor, 0), path]
        year = np.where(alive, year, -1)
    keep = year >= 0
    path, slot, year = path[keep], slot[keep], year[keep]
    counts = np.bincount(path * plan.n_years + year, minlength=d.width * plan.n_years)
    return path, slot, year, counts.reshape(d.width, plan.n_years)


def run_blocks(plan: Plan, first: int, stop: int, tally: Callable[..., Any] | None = None) -> dict[str, Any]:
    """Simulate blocks first..stop-1 and return their summed tallies (see `merge_tallies`)."""
    n, n_years = plan.n_slots, plan.n_years
    slot_years = np.zeros(n * n_years, dtype=np.int64)
    contrib = np.zeros(n, dtype=np.int64)
    hist: list[np.ndarray] = [np.zeros(1, dtype=np.int64) for _ in range(n_years)]
    cols = plan.target_cols
    tally_in = np.zeros(len(cols), dtype=np.int64)
    tally_floor = np.zeros(len(cols), dtype=np.int64)
    both = floor_all = 0
    kept: list[np.ndarray] = []
    for block in range(first, stop):
        d = draw_block(plan, block)
        path, slot, year, counts = (tally or tally_numpy)(plan, d)
        counts = counts + d.entrants + plan.certain[None, :]
        slot_years += np.bincount(slot * n_years + year, minlength=n * n_years)
        for j in range(n_years):
            h = np.bincount(counts[:, j])
            if len(h) > len(hist[j]):
                h[: len(hist[j])] += hist[j]
                hist[j] = h
            else:
                hist[j][: len(h)] += h
        if len(cols):
            sub = counts[:, cols]
            ok_low = sub >= plan.target_low
            ok_band = ok_low if plan.target_high is None else ok_low & (sub <= plan.target_high)
            tally_in += ok_band.sum(axis=0)
            tally_floor += ok_low.sum(axis=0)
            met_band = ok_band.all(axis=1)
            met_floor = ok_low.all(axis=1)
            both += int(met_band.sum())
            floor_all += int(met_floor.sum())
            # Leave-one-out on the same paths: the target (at least `low` in every year) is lost
            # without candidate i exactly when it is met, i is approved in a target year, and that
            # year's count is exactly `low`.
            position = np.full(n_years, -1)
            position[cols] = np.arange(len(cols))
            in_target = position[year] >= 0
            p, s, y = path[in_target], slot[in_target], year[in_target]
            critical = met_floor[p] & (counts[p, y] == plan.target_low)
            contrib += np.bincount(s[critical], minlength=n)
        if plan.keep_paths:
            kept.append(counts.astype(np.int16))
    return {
        "paths": sum(min(BLOCK_PATHS, plan.paths - b * BLOCK_PATHS) for b in range(first, stop)),
        "slot_years": slot_years.reshape(n, n_years),
        "hist": hist,
        "target_in_band": tally_in,
        "target_floor": tally_floor,
        "all_in_band": both,
        "all_floor": floor_all,
        "contrib": contrib,
        "path_counts": np.concatenate(kept) if kept else None,
        "first_block": first,
    }


def merge_tallies(parts: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Sum chunk tallies (integer sums: the order of chunks does not matter)."""
    parts = sorted(parts, key=lambda p: p["first_block"])
    out = dict(parts[0])
    out["hist"] = [h.copy() for h in parts[0]["hist"]]
    for part in parts[1:]:
        for key in ("paths", "slot_years", "target_in_band", "target_floor", "all_in_band", "all_floor", "contrib"):
            out[key] = out[key] + part[key]
        for j, h in enumerate(part["hist"]):
            a = out["hist"][j]
            if len(h) > len(a):
                h = h.copy()
                h[: len(a)] += a
                out["hist"][j] = h
            else:
                a[: len(h)] += h
    kept = [p["path_counts"] for p in parts if p["path_counts"] is not None]
    out["path_counts"] = np.concatenate(kept) if kept else None
    return out


def _group_index(values: Sequence[str]) -> tuple[np.ndarray, int]:
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
) -> tuple[Plan, dict[str, Any]]:
    """The per-slot threshold tables and the bookkeeping to turn tallies into a forecast."""
    years = list(years)
    if not years:
        raise InputError("no forecast years", field="years", expected="at least one year")
    if paths < 1:
        raise InputError(f"paths = {paths}", field="paths", expected="a positive number of paths")
    if not 0 <= seed < 2**63:
        raise InputError(f"seed = {seed}", field="seed", expected="an integer between 0 and 2^63-1")
    as_of = portfolio.as_of
    assets = list(portfolio.assets)
    span = list(range(min(min(years), as_of.year), max(years) + 1))
    multipliers = correlation.levels()
    tables = []
    q = np.zeros(len(assets))
    exact = np.zeros((len(assets), len(years)))
    for m in multipliers:
        level_rates = rates if m == 1.0 else rates.adjusted(duration_multiplier={Phase.FILED: float(m)})
        probs, q = candidate_year_matrix(assets, level_rates, as_of, span)
        tables.append(probs)
        exact += probs[:, [span.index(y) for y in years]] / len(multipliers)
    counts = np.array([a.count for a in assets], dtype=np.int64)
    slot_asset = np.repeat(np.arange(len(assets)), counts)
    approved = np.array([a.phase is Phase.APPROVED for a in assets], dtype=bool)
    certain = (exact * counts[:, None])[approved].sum(axis=0).round().astype(np.int64)
    stochastic = ~approved[slot_asset]
    cumulative = np.stack([np.minimum(np.cumsum(t, axis=1), 1.0)[slot_asset] for t in tables])  # (L, N, Yb)
    cumulative[:, ~stochastic, :] = 0.0
    thresholds = np.minimum(np.floor(cumulative * _TWO32), _TWO32 - 1).astype(np.uint32)
    z = z_last = None
    groups: list[tuple[float, np.ndarray, int]] = []
    rho = correlation.active_rho
    slot_assets = [assets[i] for i in slot_asset]
    if rho:
        z = special.ndtri(cumulative).astype(np.float32)
        z_last = np.ascontiguousarray(z[:, :, -1].T)
        for kind, value in rho.items():
            index, n_groups = _group_index([_attribute(a, kind) for a in slot_assets])
            groups.append((math.sqrt(value), index, n_groups))
    if correlation.sponsor_stop > 0:
        sponsor, n_sponsors = _group_index([a.sponsor or f"\x00{a.id}" for a in slot_assets])
        sponsor = np.where(stochastic, sponsor, -1)
    else:
        sponsor, n_sponsors = np.full(len(slot_asset), -1), 0
    bin_year = np.array([years.index(y) if y in years else -1 for y in span] + [-1])
    entrant_mu = np.zeros((len(multipliers), len(years)))
    if entrants:
        for k, m in enumerate(multipliers):
            level_rates = rates if m == 1.0 else rates.adjusted(duration_multiplier={Phase.FILED: float(m)})
            entrant_mu[k] = entrant_year_means(entrants, level_rates, as_of, years)
    cols = np.array([years.index(y) for y in target.years if y in years] if target else [], dtype=np.int64)
    plan = Plan(
        seed=int(seed),
        paths=int(paths),
        n_slots=len(slot_asset),
        n_years=len(years),
        thresholds=thresholds,
        last=np.ascontiguousarray(thresholds[:, :, -1].T),
        z=z,
        z_last=z_last,
        bin_year=bin_year,
        certain=certain,
        groups=groups,
        residual=math.sqrt(max(0.0, 1.0 - sum(rho.values()))),
        sponsor=sponsor,
        n_sponsors=n_sponsors,
        sponsor_stop=correlation.sponsor_stop,
        entrant_mu=entrant_mu,
        target_cols=cols,
        target_low=target.low if target else 0,
        target_high=target.high if target else None,
        keep_paths=keep_paths,
    )
    meta = {
        "as_of": as_of,
        "assets": assets,
        "years": years,
        "q": q,
        "counts": counts,
        "slot_asset": slot_asset,
        "approved": approved,
        "certain": certain,
        "exact": exact,
        "stop": np.where(approved, 0.0, correlation.sponsor_stop),
    }
    return plan, meta


def _se(p: np.ndarray | float, n: int) -> Any:
    p = np.asarray(p, dtype=float)
    return np.sqrt(np.clip(p * (1 - p), 0.0, None) / n)


@dataclass
class MonteCarloForecast(Forecast):
    """A Forecast whose count distributions and target figures come from simulated paths."""

    paths: int = 0
    seed: int = 0
    engine: str = "numpy"
    correlation: Correlation = field(default_factory=Correlation)
    simulated_target: Target | None = None
    histograms: list[np.ndarray] = field(default_factory=list)  # per year: number of paths with count k
    target_tallies: dict[str, Any] = field(default_factory=dict)
    path_counts: np.ndarray | None = None  # (paths, years) int16 when kept
    entrant_expected: np.ndarray | None = None  # (years,) exact mean approvals from programmes
    slot_asset: np.ndarray | None = None

    @cached_property
    def outlooks(self) -> list[YearOutlook]:
        result = []
        observed = ((self.probabilities == 1.0) * self.counts[:, None]).sum(axis=0)
        for j, year in enumerate(self.years):
            h = self.histograms[j]
            pmf = h / self.paths
            expected = float((np.arange(len(h)) * h).sum() / self.paths)
            result.append(YearOutlook(year, expected, [float(x) for x in pmf], int(observed[j])))
        return result

    def _same_target(self, target: Target) -> bool:
        t = self.simulated_target
        return t is not None and (t.first_year, t.last_year, t.low, t.high) == (
            target.first_year,
            target.last_year,
            target.low,
            target.high,
        )

    def target_probabilities(self, target: Target) -> dict[str, Any]:
        """Path-based target figures: per-year tallies, joint tallies and leave-one-out counts."""
        cols = self._columns(target)
        if self._same_target(target):
            return self.target_tallies
        if self.path_counts is None:
            raise EngineError(
                f"this Monte Carlo run was simulated for target {self.simulated_target}; "
                f"simulate again with target {target} (or keep_paths=True) to check it"
            )
        sub = self.path_counts[:, cols].astype(np.int64)
        ok_low = sub >= target.low
        ok_band = ok_low if target.high is None else ok_low & (sub <= target.high)
        return {
            "target_in_band": ok_band.sum(axis=0),
            "target_floor": ok_low.sum(axis=0),
            "all_in_band": int(ok_band.all(axis=1).sum()) if cols else 0,
            "all_floor": int(ok_low.all(axis=1).sum()) if cols else 0,
            "contrib": None,
        }

    def check(self, target: Target, top: int = TOP_CONTRIBUTORS) -> TargetCheck:
        cols = self._columns(target)
        missing = [y for y in target.years if y not in self.years]
        tallies = self.target_probabilities(target)
        n = self.paths
        in_band = {self.years[c]: float(tallies["target_in_band"][k]) / n for k, c in enumerate(cols)}
        at_least = {self.years[c]: float(tallies["target_floor"][k]) / n for k, c in enumerate(cols)}
        both = tallies["all_in_band"] / n if cols else 0.0
        floor = tallies["all_floor"] / n if cols else 0.0
        contributors: list[Contribution] = []
        contrib = tallies.get("contrib")
        if contrib is not None and cols:
            sub = self.probabilities[:, cols]
            expected = sub.sum(axis=1)
            order = np.argsort(-expected)[:top]
            for i in order:
                if expected[i] <= 0:
                    continue
                asset = self.assets[i]
                contributors.append(
                    Contribution(asset.id, asset.name, asset.phase.value, float(expected[i]), float(contrib[i]))
                )
            contributors.sort(key=lambda c: -c.delta_probability)
        return TargetCheck(target, in_band, at_least, float(both), float(floor), contributors, missing)

    def target_error(self, target: Target) -> dict[str, Any]:
        check = self.check(target, top=0)
        n = self.paths
        return {
            "per_year_in_band": {str(k): float(_se(v, n)) for k, v in check.per_year_in_band.items()},
            "per_year_at_least_low": {str(k): float(_se(v, n)) for k, v in check.per_year_at_least_low.items()},
            "all_years_in_band": float(_se(check.all_years_in_band, n)),
            "all_years_at_least_low": float(_se(check.all_years_at_least_low, n)),
        }

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


def _errors(forecast: MonteCarloForecast, target: Target | None) -> dict[str, Any]:
    n = forecast.paths
    years = []
    for h in forecast.histograms:
        k = np.arange(len(h))
        mean = (k * h).sum() / n
        var = max(float((k * k * h).sum() / n - mean * mean), 0.0)
        years.append({"expected": math.sqrt(var / n), "pmf": [float(x) for x in _se(h / n, n)]})
    out: dict[str, Any] = {"years": years, "paths": n}
    if target is not None:
        out["target"] = forecast.target_error(target)
    return out


def simulate(
    portfolio: Portfolio,
    rates: RateSet,
    years: Sequence[int],
    *,
    paths: int = 10_000,
    seed: int = 0,
    correlation: Correlation | None = None,
    engine: str = "numpy",
    chunk_paths: int = DEFAULT_CHUNK_PATHS,
    target: Target | None = None,
    scheduler: Any = None,
    entrants: Sequence[Entrants] = (),
    keep_paths: bool | None = None,
) -> MonteCarloForecast:
    """Monte Carlo forecast: same numbers for the same seed whatever the engine or chunking.

    `target` is tallied during the simulation (memory stays flat in `paths`); without one, per-path
    yearly counts are kept (int16, paths x years) so that `check()` works for any target afterwards.
    `engine` is "numpy", "dask" (scheduler: None for a LocalCluster, "tcp://host:port", or a
    distributed Client) or "jax".
    """
    from pipecast.engines.backends import get_backend

    corr = correlation or Correlation()
    keep = (target is None) if keep_paths is None else keep_paths
    plan, meta = build_plan(
        portfolio, rates, years, paths=paths, seed=seed, correlation=corr, target=target,
        entrants=entrants, keep_paths=keep,
    )
    if chunk_paths < 1:
        raise InputError(f"chunk_paths = {chunk_paths}", field="chunk_paths", expected="a positive integer")
    per_chunk = -(-chunk_paths // BLOCK_PATHS)
    chunks = [(b, min(b + per_chunk, plan.n_blocks)) for b in range(0, plan.n_blocks, per_chunk)]
    backend = get_backend(engine, scheduler=scheduler)
    tallies = merge_tallies(backend.run(plan, chunks))
    return _assemble(plan, meta, tallies, rates, corr, target, backend.name, seed)


def _assemble(
    plan: Plan,
    meta: dict[str, Any],
    tallies: dict[str, Any],
    rates: RateSet,
    corr: Correlation,
    target: Target | None,
    engine: str,
    seed: int,
) -> MonteCarloForecast:
    assets: list[Asset] = meta["assets"]
    counts = meta["counts"]
    n_years = plan.n_years
    n = plan.paths
    slot_asset = meta["slot_asset"]
    per_asset = np.zeros((len(assets), n_years))
    np.add.at(per_asset, slot_asset, tallies["slot_years"])
    probabilities = per_asset / n / np.maximum(counts, 1)[:, None]
    approved = meta["approved"]
    probabilities[approved] = meta["exact"][approved]
    contrib = None
    if target is not None:
        contrib = np.zeros(len(assets))
        np.add.at(contrib, slot_asset, tallies["contrib"])
        contrib = contrib / n / np.maximum(counts, 1)
    forecast = MonteCarloForecast(
        as_of=meta["as_of"],
        years=list(meta["years"]),
        assets=assets,
        probabilities=probabilities,
        p_approval=meta["q"] * (1.0 - meta["stop"]),
        counts=counts,
        rate_set=rates,
        method="montecarlo",
        paths=n,
        seed=seed,
        engine=engine,
        correlation=corr,
        simulated_target=target,
        histograms=[h.astype(np.int64) for h in tallies["hist"]],
        target_tallies={
            "target_in_band": tallies["target_in_band"],
            "target_floor": tallies["target_floor"],
            "all_in_band": tallies["all_in_band"],
            "all_floor": tallies["all_floor"],
            "contrib": contrib,
        },
        path_counts=tallies["path_counts"],
        entrant_expected=plan.entrant_mu.mean(axis=0),
        slot_asset=slot_asset,
    )
    forecast.mc_error = _errors(forecast, target)
    return forecast


def parse_group_rho(items: dict[str, float] | Sequence[str] | None) -> dict[str, float]:
    """{'sponsor': 0.2} from a mapping or from CLI strings such as 'sponsor=0.2'."""
    if not items:
        return {}
    if isinstance(items, dict):
        return {str(k): float(v) for k, v in items.items()}
    out: dict[str, float] = {}
    for text in items:
        kind, _, value = str(text).partition("=")
        try:
            out[kind.strip()] = float(value)
        except ValueError:
            raise InputError(
                f"cannot read correlation {text!r}", field="--rho", expected="GROUP=RHO, e.g. sponsor=0.2"
            ) from None
    return out


__all__ = [
    "BLOCK_PATHS",
    "GROUP_KINDS",
    "Correlation",
    "Entrants",
    "MonteCarloForecast",
    "entrant_year_means",
    "parse_group_rho",
    "parse_phase",
    "simulate",
]
