"""Approval-time distributions on a daily grid.

A candidate in phase k, seen `elapsed` days after it entered that phase, is approved at
    as_of + R + L
where R is the rest of phase k (its duration conditioned on exceeding `elapsed`) and L is the sum
of the later phases' durations. The approval date is as_of + floor(R) + round(L): R is cut to whole
days the way a calendar does, each later phase is rounded to the nearest day, so the error is under
a day and has mean near zero, far below the year boundaries we care about.

L's distribution depends only on the rate profile, not on the candidate, so it is computed once per
profile; per candidate only a window of the current phase's daily masses is needed (see
DESIGN-NOTES "Exact per-candidate year probabilities").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pipecast.rates import Duration, RateRow


def daily_masses(duration: Duration, n_days: int) -> np.ndarray:
    """P(duration rounds to day t) for t = 0..n_days-1, from survival values (accurate in the tail)."""
    edges = np.arange(n_days, dtype=float) + 0.5
    survival = duration.survival_days(edges)
    masses = np.empty(n_days)
    masses[0] = 1.0 - survival[0]
    masses[1:] = survival[:-1] - survival[1:]
    return masses


def sum_of_durations(durations: list[Duration], n_days: int) -> np.ndarray:
    """Daily masses of the sum of independent durations, truncated to n_days (mass beyond is dropped)."""
    total = np.zeros(n_days)
    total[0] = 1.0
    for duration in durations:
        total = np.convolve(total, daily_masses(duration, n_days))[:n_days]
    return total


@dataclass(frozen=True)
class Profile:
    """The rate rows from a candidate's current phase to approval."""

    rows: tuple[RateRow, ...]

    @property
    def p_approval(self) -> float:
        return math.prod(r.p_success for r in self.rows)

    @property
    def current(self) -> Duration:
        return self.rows[0].duration

    @property
    def later(self) -> list[Duration]:
        return [r.duration for r in self.rows[1:]]


class YearWindows:
    """Day offsets (from the as-of date) of each forecast year, clipped at the as-of date."""

    def __init__(self, starts: np.ndarray, ends: np.ndarray) -> None:
        self.starts = np.maximum(starts, 0)
        self.ends = np.maximum(ends, 0)
        self.horizon = int(self.ends.max()) if len(self.ends) else 0

    def window_matrix(self, later_masses: np.ndarray) -> np.ndarray:
        """W[r, y] = P(r + L falls in year y) for rest-of-phase r = 0..horizon-1."""
        n = self.horizon
        cumulative = np.concatenate(([0.0], np.cumsum(later_masses[:n])))  # cumulative[x] = P(L < x)
        r = np.arange(n)[:, None]
        hi = np.clip(self.ends[None, :] - r, 0, n)
        lo = np.clip(self.starts[None, :] - r, 0, n)
        return np.asarray(cumulative[hi] - cumulative[lo])


def approval_year_probabilities(
    profile: Profile, elapsed_days: np.ndarray, windows: YearWindows, chunk: int = 2048
) -> np.ndarray:
    """P(approved in each year) for candidates of one profile, one row per elapsed-days value.

    Rows are conditioned on the current phase lasting longer than the time already spent in it and
    multiplied by the probability of succeeding in every remaining phase.
    """
    elapsed = np.asarray(elapsed_days, dtype=np.int64)
    n_years = len(windows.starts)
    out = np.zeros((len(elapsed), n_years))
    horizon = windows.horizon
    if horizon == 0 or len(elapsed) == 0 or profile.p_approval == 0:
        return out
    weights = windows.window_matrix(sum_of_durations(profile.later, horizon))
    unique, inverse = np.unique(elapsed, return_inverse=True)
    length = int(unique.max()) + horizon
    # The current phase ends on day floor(D): mass S(t) - S(t + 1). Conditioned on D > e, the rest
    # ends on day r with mass (S(e + r) - S(e + r + 1)) / S(e): a window of the same masses.
    survival = profile.current.survival_days(np.arange(length + 1, dtype=float))
    masses = survival[:-1] - survival[1:]
    survival_at_elapsed = survival[unique]
    windows_view = np.lib.stride_tricks.sliding_window_view(masses, horizon)
    result = np.zeros((len(unique), n_years))
    for begin in range(0, len(unique), chunk):
        e = unique[begin : begin + chunk]
        result[begin : begin + chunk] = windows_view[e] @ weights
    denominator = survival_at_elapsed
    alive = denominator > 0
    result[alive] /= denominator[alive, None]
    # Beyond the last float the duration is certain to be over: approval due at once if it succeeds.
    if not alive.all():
        result[~alive] = weights[0]
    out[:] = result[inverse] * profile.p_approval
    return out
