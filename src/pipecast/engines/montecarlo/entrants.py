"""New candidates from funding programmes: a Poisson process of entries into a phase.

By the marking theorem the approvals they yield in each year are independent Poisson counts whose
means are computed exactly on a daily grid (`entrant_year_means`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipecast.domain import Phase
from pipecast.engines.exact import year_windows
from pipecast.engines.timing import sum_of_durations
from pipecast.errors import InputError
from pipecast.rates import RateRow, RateSet


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


def _approval_masses(rows: Sequence[RateRow], horizon: int) -> np.ndarray:
    """Daily masses of the time from entry to approval, with the exact engine's day conventions.

    The entered phase ends on day floor(D) (as for a candidate seen on its first day), each later
    phase adds round(D'): the same rounding as `timing.approval_year_probabilities` with elapsed 0.
    """
    survival = rows[0].duration.survival_days(np.arange(horizon + 1, dtype=float))
    first = survival[:-1] - survival[1:]
    later = sum_of_durations([r.duration for r in rows[1:]], horizon)
    return np.convolve(first, later)[:horizon]


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
        masses = _approval_masses(rows, horizon)
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
