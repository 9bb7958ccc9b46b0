"""What a chunk of paths returns: integer tallies, so chunks add up in any order.

Memory does not grow with the number of paths: a chunk returns histograms of the yearly counts,
per-candidate tallies and, for the target given to `simulate`, joint tallies. Per-path counts are
kept only on request (`keep_paths=True`, int32 paths x years).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from pipecast.engines.montecarlo.plan import BLOCK_PATHS, BLOCK_SHIFT, Plan
from pipecast.engines.montecarlo.streams import Draws, draw_block, normal_from_bits

#: path, slot and forecast-year index of each counted approval of a single candidate, and counts (width, Y).
Hits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
TallyKernel = Callable[[Plan, Draws], Hits]


#: Histograms start at count 0 unless every path's count is at least this (very large cohorts).
OFFSET_FROM = 4096


@dataclass
class Histogram:
    """Number of paths with each count, for counts low, low + 1, ... (low is 0 unless counts are huge)."""

    low: int = 0
    paths: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def of(cls, values: np.ndarray) -> Histogram:
        low = int(values.min()) if len(values) else 0
        low = low if low >= OFFSET_FROM else 0
        return cls(low, np.bincount(values - low).astype(np.int64))

    def __add__(self, other: Histogram) -> Histogram:
        if not len(other.paths):
            return Histogram(self.low, self.paths.copy())
        if not len(self.paths):
            return Histogram(other.low, other.paths.copy())
        low = min(self.low, other.low)
        high = max(self.low + len(self.paths), other.low + len(other.paths))
        out = np.zeros(high - low, dtype=np.int64)
        out[self.low - low : self.low - low + len(self.paths)] += self.paths
        out[other.low - low : other.low - low + len(other.paths)] += other.paths
        return Histogram(low, out)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Histogram) and self.low == other.low and np.array_equal(self.paths, other.paths)
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def values(self) -> np.ndarray:
        return np.arange(self.low, self.low + len(self.paths))


@dataclass
class Tallies:
    """Summed over a chunk's paths (all integers)."""

    paths: int
    first_block: int
    slot_years: np.ndarray  # (N, Y) approvals of each row in each year, summed over paths
    hist: list[Histogram]  # per year
    target_in_band: np.ndarray  # (T,) paths with the count in band, per target year
    target_floor: np.ndarray  # (T,) paths with at least `low`, per target year
    all_in_band: int
    all_floor: int
    contrib: np.ndarray  # (N,) paths on which losing one of the row's candidates loses the target floor
    path_counts: np.ndarray | None = None  # (paths, Y) int32 when kept

    def __add__(self, other: Tallies) -> Tallies:
        kept = [t.path_counts for t in sorted((self, other), key=lambda t: t.first_block) if t.path_counts is not None]
        return Tallies(
            paths=self.paths + other.paths,
            first_block=min(self.first_block, other.first_block),
            slot_years=self.slot_years + other.slot_years,
            hist=[a + b for a, b in zip(self.hist, other.hist, strict=True)],
            target_in_band=self.target_in_band + other.target_in_band,
            target_floor=self.target_floor + other.target_floor,
            all_in_band=self.all_in_band + other.all_in_band,
            all_floor=self.all_floor + other.all_floor,
            contrib=self.contrib + other.contrib,
            path_counts=np.concatenate(kept) if kept else None,
        )


def tally_numpy(plan: Plan, d: Draws) -> Hits:
    """A block's counted approvals of single candidates (see `Hits`)."""
    width = d.width
    if plan.z is None:
        limit_u = plan.last[:, :1] if plan.levels == 1 else plan.last[:, d.level]
        flat = np.flatnonzero(d.u < limit_u)
        value: np.ndarray = d.u.ravel()[flat]
        tables = plan.thresholds
    else:
        assert plan.z_last is not None
        assert d.latent is not None
        x = normal_from_bits(d.u)
        x *= np.float32(plan.residual)
        x += d.latent
        limit_z = plan.z_last[:, :1] if plan.levels == 1 else plan.z_last[:, d.level]
        flat = np.flatnonzero(x < limit_z)
        value = x.ravel()[flat]
        tables = plan.z
    if width == BLOCK_PATHS:
        slot, path = flat >> BLOCK_SHIFT, flat & (BLOCK_PATHS - 1)
    else:
        slot, path = np.divmod(flat, width)
    # bins = how many cumulative thresholds the draw is at or above: the approval year's bin
    bins = np.zeros(len(flat), dtype=np.int64)
    level = d.level[path] if plan.levels > 1 else None
    for k in range(tables.shape[2] - 1):
        column = tables[:, :, k]
        bins += value >= (column[level, slot] if level is not None else column[0][slot])
    return finish_hits(plan, d, path, slot, plan.bin_year[bins])


def finish_hits(plan: Plan, d: Draws, path: np.ndarray, slot: np.ndarray, year: np.ndarray) -> Hits:
    """Drop hits outside the forecast years or of stopped sponsors; count per path and year."""
    if d.stopped is not None:
        sponsor = plan.sponsor[slot]
        alive = (sponsor < 0) | ~d.stopped[np.maximum(sponsor, 0), path]
        year = np.where(alive, year, -1)
    keep = year >= 0
    path, slot, year = path[keep], slot[keep], year[keep]
    counts = np.bincount(path * plan.n_years + year, minlength=d.width * plan.n_years)
    return path, slot, year, counts.reshape(d.width, plan.n_years)


def _empty(plan: Plan, first: int) -> Tallies:
    n, n_years, t = plan.n_slots, plan.n_years, len(plan.target_cols)
    return Tallies(
        paths=0,
        first_block=first,
        slot_years=np.zeros((n, n_years), dtype=np.int64),
        hist=[Histogram() for _ in range(n_years)],
        target_in_band=np.zeros(t, dtype=np.int64),
        target_floor=np.zeros(t, dtype=np.int64),
        all_in_band=0,
        all_floor=0,
        contrib=np.zeros(n, dtype=np.int64),
    )


def run_blocks(plan: Plan, first: int, stop: int, tally: TallyKernel | None = None) -> Tallies:
    """Simulate blocks first..stop-1 and return their summed tallies."""
    out = _empty(plan, first)
    kept: list[np.ndarray] = []
    for block in range(first, stop):
        d = draw_block(plan, block)
        path, slot, year, counts = (tally or tally_numpy)(plan, d)
        counts = counts + d.entrants + plan.certain[None, :] + d.cohorts.sum(axis=0)
        out.paths += d.width
        hits = np.bincount(slot * plan.n_years + year, minlength=plan.n_slots * plan.n_years)
        out.slot_years += hits.reshape(plan.n_slots, plan.n_years)
        if len(plan.cohort_slot):
            out.slot_years[plan.cohort_slot] += d.cohorts.sum(axis=1)
        if len(plan.target_cols):
            _tally_target(plan, out, d, counts, path, slot, year)
        kept.append(counts)
    if kept:
        every = np.concatenate(kept)
        out.hist = [Histogram.of(every[:, j]) for j in range(plan.n_years)]
        out.path_counts = every.astype(np.int32) if plan.keep_paths else None
    return out


def _tally_target(
    plan: Plan, out: Tallies, d: Draws, counts: np.ndarray, path: np.ndarray, slot: np.ndarray, year: np.ndarray
) -> None:
    cols = plan.target_cols
    sub = counts[:, cols]
    ok_low = sub >= plan.target_low
    ok_band = ok_low if plan.target_high is None else ok_low & (sub <= plan.target_high)
    out.target_in_band += ok_band.sum(axis=0)
    out.target_floor += ok_low.sum(axis=0)
    met_floor = np.asarray(ok_low.all(axis=1))
    out.all_in_band += int(ok_band.all(axis=1).sum())
    out.all_floor += int(met_floor.sum())
    # Leave-one-out on the same paths: the target (at least `low` in every year) is lost without one
    # candidate exactly when it is met, the candidate is approved in a target year, and that year's
    # count is exactly `low`. A cohort member is one of its k_y approvals in that year.
    out.contrib += critical_approvals(plan, d, counts, met_floor, path, slot, year)


def critical_approvals(
    plan: Plan, d: Draws, counts: np.ndarray, met: np.ndarray, path: np.ndarray, slot: np.ndarray, year: np.ndarray
) -> np.ndarray:
    """Per row: approvals in a target year whose loss would lose the target floor on a path where it is met."""
    cols = plan.target_cols
    position = np.full(plan.n_years, -1)
    position[cols] = np.arange(len(cols))
    in_target = position[year] >= 0
    p, s, y = path[in_target], slot[in_target], year[in_target]
    critical = met[p] & (counts[p, y] == plan.target_low)
    out = np.bincount(s[critical], minlength=plan.n_slots).astype(np.int64)
    if len(plan.cohort_slot):
        critical_years = met[:, None] & (counts[:, cols] == plan.target_low)  # (width, T)
        out[plan.cohort_slot] += (d.cohorts[:, :, cols] * critical_years[None]).sum(axis=(1, 2))
    return out


def merge_tallies(parts: Sequence[Tallies]) -> Tallies:
    """Sum chunk tallies (integer sums; kept paths in block order)."""
    ordered = sorted(parts, key=lambda t: t.first_block)
    total = ordered[0]
    for part in ordered[1:]:
        total = total + part
    return total
