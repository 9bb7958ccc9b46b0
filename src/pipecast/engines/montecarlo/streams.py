"""Counter-based random numbers: block k of BLOCK_PATHS paths draws from numpy's Philox keyed by
(seed, 16 k + stream), so every number depends only on the seed, the block and a candidate's position.

Results are therefore identical for any chunking, number of workers or backend, and scenarios that
append candidates keep common random numbers for the others. Candidate uniforms are 32-bit integers
k, u = k / 2^32, compared with integer thresholds floor(C * 2^32), candidate-major.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipecast.engines.montecarlo.plan import BLOCK_PATHS, Plan

#: Random streams per block (stream ids inside a block's key).
STREAMS = 16
S_CAND, S_LEVEL, S_STOP, S_ENTRANTS, S_GROUP0 = 0, 1, 2, 3, 4
S_COHORT = 15


@dataclass
class Draws:
    """A block's random numbers (always drawn with numpy Philox, whatever the backend)."""

    width: int  # paths used from this block (BLOCK_PATHS except in the last block)
    u: np.ndarray  # (N, width) uint32
    level: np.ndarray  # (width,) int shock level per path
    latent: np.ndarray | None  # (N, width) float32: sum_k sqrt(rho_k) Z_k (copula only)
    stopped: np.ndarray | None  # (n_sponsors, width) bool
    entrants: np.ndarray  # (width, Y) int32
    cohorts: np.ndarray  # (C, width, Y) int64 approvals of each cohort per path and forecast year


def generator(plan: Plan, block: int, stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.Philox(key=[plan.seed, block * STREAMS + stream]))


def draw_block(plan: Plan, block: int) -> Draws:
    width = min(BLOCK_PATHS, plan.paths - block * BLOCK_PATHS)
    n = plan.n_slots
    raw = np.random.Philox(key=[plan.seed, block * STREAMS + S_CAND]).random_raw(-(-n * BLOCK_PATHS // 2))
    u = raw.view(np.uint32)[: n * BLOCK_PATHS].reshape(n, BLOCK_PATHS)
    if width < BLOCK_PATHS:
        u = np.ascontiguousarray(u[:, :width])
    if plan.levels > 1:
        w = generator(plan, block, S_LEVEL).random(BLOCK_PATHS)[:width]
        level = np.minimum((w * plan.levels).astype(np.int64), plan.levels - 1)
    else:
        level = np.zeros(width, dtype=np.int64)
    latent = None
    if plan.groups:
        latent = np.zeros((n, width), dtype=np.float32)
        for k, group in enumerate(plan.groups):
            z = generator(plan, block, S_GROUP0 + k).standard_normal((group.count, BLOCK_PATHS), dtype=np.float32)
            latent += np.float32(group.weight) * z[:, :width][group.index]
    stopped = None
    if plan.sponsor_stop > 0 and plan.n_sponsors:
        draws = generator(plan, block, S_STOP).random((plan.n_sponsors, BLOCK_PATHS))
        stopped = (draws < plan.sponsor_stop)[:, :width]
    entrants = np.zeros((width, plan.n_years), dtype=np.int32)
    if plan.entrant_mu.any():
        from scipy import stats

        v = generator(plan, block, S_ENTRANTS).random((BLOCK_PATHS, plan.n_years))[:width]
        mu = plan.entrant_mu[level]  # (width, Y)
        positive = mu > 0
        entrants[positive] = stats.poisson.ppf(v[positive], mu[positive]).astype(np.int32)
    cohorts = cohort_counts(plan, block, width, level, latent, stopped)
    return Draws(width, u, level, latent, stopped, entrants, cohorts)


def cohort_counts(
    plan: Plan,
    block: int,
    width: int,
    level: np.ndarray,
    latent: np.ndarray | None,
    stopped: np.ndarray | None,
) -> np.ndarray:
    """Approvals per cohort, path and forecast year: one multinomial draw over the bins per path.

    Given the path's shock level and group factors the cohort's members are independent and alike:
    a member with latent factor value l is approved by bin b with probability
    Phi((Phi^-1(C_b) - l) / residual) under the copula (C_b without it), so the bin counts are
    multinomial with those differences, and a stopped sponsor's cohort counts nothing.
    """
    out = np.zeros((len(plan.cohort_slot), width, plan.n_years), dtype=np.int64)
    if not len(plan.cohort_slot):
        return out
    rng = generator(plan, block, S_COHORT)
    keep = plan.bin_year[:-1] >= 0
    for c, slot in enumerate(plan.cohort_slot):
        cumulative = plan.cohort_cumulative[level, c, :]  # (width, Yb)
        if latent is not None:
            cumulative = _conditional(cumulative, latent[slot].astype(np.float64), plan.residual)
        edges = np.concatenate([np.zeros((width, 1)), cumulative, np.ones((width, 1))], axis=1)
        pvals = np.clip(np.diff(edges, axis=1), 0.0, None)
        pvals /= pvals.sum(axis=1, keepdims=True)
        bins = rng.multinomial(int(plan.cohort_size[c]), pvals)[:, :-1]  # (width, Yb); last column: not approved
        if stopped is not None and plan.sponsor[slot] >= 0:
            bins[stopped[plan.sponsor[slot]]] = 0
        np.add.at(out[c].T, plan.bin_year[:-1][keep], bins[:, keep].T)
    return out


def _conditional(cumulative: np.ndarray, latent: np.ndarray, residual: float) -> np.ndarray:
    from scipy import special

    with np.errstate(divide="ignore"):
        z = special.ndtri(cumulative)
    if residual == 0:
        return np.asarray((latent[:, None] < z).astype(np.float64))
    return np.asarray(special.ndtr((z - latent[:, None]) / residual))


def normal_from_bits(u: np.ndarray) -> np.ndarray:
    """eps = Phi^-1 of the 24 high bits of each draw (float32, never 0 or 1)."""
    from scipy import special

    v = ((u >> np.uint32(8)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-24)
    return np.asarray(special.ndtri(v))
