"""Exact joint probabilities across several years, under independence.

Each candidate is approved at most once, in at most one year. A dynamic programme over candidates
whose state is the vector of per-year counts, each capped at `cap` (counts above the target's upper
bound are all alike for the question asked), is exact: for "1-3 in each of 2027-2030" the state
space is 5^4 = 625. A cohort of more than COHORT_EXPAND identical candidates enters in one step: the
capped distribution of its count vector is built by repeated squaring of one member's (a capped
convolution, by FFT, is associative), so it costs O(log n) convolutions, not n steps.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipecast.engines.poibin import COHORT_EXPAND
from pipecast.errors import EngineError

#: Above this many states the exact joint computation is refused in favour of Monte Carlo.
MAX_STATES = 4_000_000


def joint_count_distribution(year_probs: np.ndarray, counts: np.ndarray, cap: int) -> np.ndarray:
    """Array of shape (cap+1,)*years: P(per-year counts = state), counts >= cap folded into cap."""
    unique, _, multiplicity = _distinct_rows(year_probs, counts, cap)
    dist = _start(unique.shape[1], cap)
    for row, times in zip(unique, multiplicity, strict=True):
        dist = _add_rows(dist, row, int(times), cap)
    return dist


def leave_one_out_in_band(year_probs: np.ndarray, counts: np.ndarray, rows: Sequence[int], low: int,
                          high: int | None, extra_means: np.ndarray | None = None) -> list[float]:
    """For each row i in `rows`, P(low <= count_y <= high in every year) with one copy of row i taken out.

    One DP forwards and one backwards over the distinct rows; row i's value joins the two at its place
    (a capped convolution) and adds its other copies, rather than a whole new DP per row.
    """
    cap = (high + 1) if high is not None else max(low, 1)
    unique, inverse, multiplicity = _distinct_rows(year_probs, counts, cap)
    start = _start(unique.shape[1], cap)
    before = [start]
    for row, times in zip(unique, multiplicity, strict=True):
        before.append(_add_rows(before[-1], row, int(times), cap))
    after = [start] * (len(unique) + 1)
    for k in range(len(unique) - 1, -1, -1):
        after[k] = _add_rows(after[k + 1], unique[k], int(multiplicity[k]), cap)
    mask = _band_mask(unique.shape[1], cap, low, high)
    out = []
    for i in rows:
        u = int(inverse[i])
        head, tail = before[u], after[u + 1]
        rest = tail if head is start else head if tail is start else _capped_convolution(head, tail, cap)
        rest = _add_rows(rest, unique[u], int(multiplicity[u]) - 1, cap)
        out.append(float(with_poisson(rest, extra_means, cap)[mask].sum()))
    return out


def with_poisson(dist: np.ndarray, means: np.ndarray | None, cap: int) -> np.ndarray:
    """The capped joint distribution plus an independent Poisson count per year (mean `means[y]`), e.g.
    approvals from arrivals; `dist` unchanged when `means` is None or all zero."""
    if means is None or not np.any(np.asarray(means) > 0):
        return dist
    from math import exp, lgamma, log

    out = dist
    for axis, mean in enumerate(np.asarray(means, dtype=float)):
        if mean <= 0:
            continue
        pmf = np.array([exp(k * log(mean) - mean - lgamma(k + 1)) for k in range(cap)])
        pmf = np.append(pmf, max(1.0 - pmf.sum(), 0.0))  # P(count >= cap)
        moved = np.moveaxis(out, axis, -1)
        new = np.zeros_like(moved)
        for k in range(cap + 1):
            shifted = np.zeros_like(moved)
            shifted[..., min(k, cap):] = moved[..., : cap + 1 - min(k, cap)]
            shifted[..., cap] += moved[..., cap + 1 - min(k, cap):].sum(axis=-1) if k else 0.0
            new += pmf[k] * shifted
        out = np.moveaxis(new, -1, axis)
    return out


def _distinct_rows(year_probs: np.ndarray, counts: np.ndarray, cap: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(distinct rows, each row's index among them, copies of each): identical rows (cohorts, candidates
    sharing a profile and date) are applied together. EngineError when the state space is too large."""
    probs = np.asarray(year_probs, dtype=float)
    n_years = probs.shape[1]
    states = (cap + 1) ** n_years
    if states > MAX_STATES:
        raise EngineError(
            f"the exact joint distribution over {n_years} years with counts up to {cap} needs "
            f"{states:,} states; use --method montecarlo for this target"
        )
    unique, inverse = np.unique(probs, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    multiplicity = np.bincount(inverse, weights=counts, minlength=len(unique)).astype(int)
    return unique, inverse, multiplicity


def _start(n_years: int, cap: int) -> np.ndarray:
    dist = np.zeros((cap + 1,) * n_years)
    dist[(0,) * n_years] = 1.0
    return dist


def _add_rows(dist: np.ndarray, row: np.ndarray, times: int, cap: int) -> np.ndarray:
    """The DP steps for `times` candidates with year probabilities `row` (a large cohort in one step)."""
    if times <= 0 or not row.any():
        return dist
    if times > COHORT_EXPAND:
        return _capped_convolution(dist, _cohort_distribution(row, times, cap), cap)
    for _ in range(times):
        dist = _add_one(dist, row, cap)
    return dist


def _band_mask(n_years: int, cap: int, low: int, high: int | None) -> np.ndarray:
    ok = np.arange(cap + 1) >= low
    if high is not None:
        ok &= np.arange(cap + 1) <= high
    mask = ok
    for _ in range(n_years - 1):
        mask = np.multiply.outer(mask, ok)
    return mask


def _add_one(dist: np.ndarray, row: np.ndarray, cap: int) -> np.ndarray:
    """The DP step for one candidate approved in year y with probability row[y].

    In place of `new += _shift(dist, year, cap) * row[year]`, with the same floating-point operations and so
    the same result to the last bit, without building the shifted array.
    """
    new = dist * max(1.0 - float(row.sum()), 0.0)
    for year in range(dist.ndim):
        p = row[year]
        if p != 0:
            below, above, top, under = ([slice(None)] * dist.ndim for _ in range(4))
            below[year], above[year] = slice(0, cap - 1), slice(1, cap)
            top[year], under[year] = slice(cap, cap + 1), slice(cap - 1, cap)
            new[tuple(above)] += dist[tuple(below)] * p
            new[tuple(top)] += (dist[tuple(under)] + dist[tuple(top)]) * p
    return new


def _cohort_distribution(row: np.ndarray, times: int, cap: int) -> np.ndarray:
    """Capped count-vector distribution of `times` independent candidates with year probabilities `row`."""
    n_years = len(row)
    if (2 * cap + 1) ** n_years > 4 * MAX_STATES:
        raise EngineError(
            f"the exact joint distribution for a cohort of {times:,} over {n_years} years is too large; "
            "use --method montecarlo for this target"
        )
    one = np.zeros((cap + 1,) * n_years)
    one[(0,) * n_years] = 1.0
    power = _add_one(one, row, cap)
    result = one
    while times:
        if times & 1:
            result = _capped_convolution(result, power, cap)
        times >>= 1
        if times:
            power = _capped_convolution(power, power, cap)
    return result


def _capped_convolution(a: np.ndarray, b: np.ndarray, cap: int) -> np.ndarray:
    """Distribution of min(X + Y, cap) per year for independent count vectors X ~ a, Y ~ b."""
    shape = (2 * cap + 1,) * a.ndim
    axes = tuple(range(a.ndim))
    full = np.fft.irfftn(np.fft.rfftn(a, shape, axes) * np.fft.rfftn(b, shape, axes), shape, axes)
    for axis in range(a.ndim):
        head = np.take(full, np.arange(cap), axis=axis)
        top = np.take(full, np.arange(cap, 2 * cap + 1), axis=axis).sum(axis=axis, keepdims=True)
        full = np.concatenate([head, top], axis=axis)
    full = np.clip(full, 0.0, None)
    # Squaring doubles a relative error in the total mass; both inputs are distributions (mass 1).
    return np.asarray(full / full.sum())


def _shift(dist: np.ndarray, axis: int, cap: int) -> np.ndarray:
    """Add one approval in year `axis`, folding the top into the cap."""
    out = np.zeros_like(dist)
    src = [slice(None)] * dist.ndim
    dst = [slice(None)] * dist.ndim
    src[axis] = slice(0, cap)
    dst[axis] = slice(1, cap + 1)
    out[tuple(dst)] = dist[tuple(src)]
    top = [slice(None)] * dist.ndim
    top[axis] = slice(cap, cap + 1)
    out[tuple(top)] += dist[tuple(top)]
    return out


def probability_all_years_in_band(year_probs: np.ndarray, counts: np.ndarray, low: int, high: int | None,
                                  extra_means: np.ndarray | None = None) -> float:
    """P(low <= count_y <= high in every year); high None means no upper bound. `extra_means`: an
    independent Poisson count added to each year (approvals from arrivals)."""
    cap = (high + 1) if high is not None else max(low, 1)
    dist = with_poisson(joint_count_distribution(year_probs, counts, cap), extra_means, cap)
    return float(dist[_band_mask(dist.ndim, cap, low, high)].sum())


def probability_at_least_one_each_year(year_probs: np.ndarray, counts: np.ndarray) -> float:
    """Inclusion-exclusion check: P(no year of R empty) = sum_S (-1)^|S| prod_i (1 - sum_{y in S} p_iy)^n_i."""
    probs = np.asarray(year_probs, dtype=float)
    n_years = probs.shape[1]
    total = 0.0
    for mask in range(1 << n_years):
        years = [y for y in range(n_years) if mask >> y & 1]
        none = np.prod((1.0 - probs[:, years].sum(axis=1)) ** counts)
        total += (-1) ** len(years) * none
    return float(total)
