"""When a candidate enters each later phase and is approved: daily distributions from the forecast's model.

The model is the exact engine's: a candidate in phase k, `elapsed` days after entering it, finishes the
phase after the rest R of its lognormal duration conditioned on exceeding `elapsed` (cut to whole days,
as a calendar does), then takes each later phase's lognormal duration (rounded to the nearest day). It
reaches phase j with the product of the success probabilities of the phases before j, and the time it
takes does not depend on success. So the day it enters phase j is R + D(k+1) + ... + D(j-1), a sum of
independent terms whose daily masses are convolved here (by FFT), and its approval year probabilities
agree with `pipecast.engines.exact.candidate_year_matrix` (a test checks this).

Discounting a payment due on such a day: E[(1 + r) ** -(T / 365.25)], summed over the daily masses.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from pipecast.domain import PIPELINE_PHASES, Asset, Phase
from pipecast.engines.timing import daily_masses
from pipecast.rates import Duration, RateSet

DAYS_PER_YEAR = 365.25
#: Days a timing distribution covers from the as-of date; mass beyond is dropped (as in the engine).
DEFAULT_HORIZON_DAYS = int(60 * DAYS_PER_YEAR)


def discount_factors(rate: float, days: np.ndarray) -> np.ndarray:
    """(1 + rate) ** -(days / 365.25)."""
    return np.exp(-math.log1p(rate) * np.asarray(days, dtype=float) / DAYS_PER_YEAR)


def rest_of_phase_masses(duration: Duration, elapsed_days: int, n_days: int) -> np.ndarray:
    """P(floor(D) - elapsed = r | D > elapsed), r = 0..n_days-1: the rest of the current phase."""
    survival = duration.survival_days(np.arange(elapsed_days, elapsed_days + n_days + 1, dtype=float))
    masses = survival[:-1] - survival[1:]
    if survival[0] <= 0:  # beyond the last float the phase is certainly over: it ends now
        out = np.zeros(n_days)
        out[0] = 1.0
        return out
    return np.asarray(masses / survival[0])


def convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Daily masses of the sum of two independent day counts, truncated to len(a)."""
    n = len(a)
    size = 1 << (2 * n - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(a, size) * np.fft.rfft(b, size), size)[:n]
    return np.asarray(np.clip(out, 0.0, None))


@dataclass(frozen=True)
class EventTiming:
    """An event that happens with `probability`, on day t after the as-of date with mass `pmf[t]` given that
    it happens. A certain past event has probability 1 and `past_date` set."""

    probability: float
    pmf: np.ndarray
    past_date: dt.date | None = None

    @property
    def is_past(self) -> bool:
        return self.past_date is not None

    def expected_discount(self, rate: float, offset_days: float = 0.0) -> float:
        """E[(1 + rate) ** -((T + offset) / 365.25)] given that the event happens (T = its day)."""
        if self.is_past:
            return 1.0
        days = np.arange(len(self.pmf), dtype=float) + offset_days
        return float(np.dot(self.pmf, discount_factors(rate, days)))

    def mean_days(self) -> float:
        total = float(self.pmf.sum())
        if total <= 0:
            return math.nan
        return float(np.dot(self.pmf, np.arange(len(self.pmf)))) / total

    def expected_date(self, as_of: dt.date, offset_days: float = 0.0) -> dt.date | None:
        if self.past_date is not None:
            return self.past_date
        if self.probability <= 0:
            return None
        return as_of + dt.timedelta(days=round(self.mean_days() + offset_days))

    def probability_between(self, as_of: dt.date, start: dt.date, end: dt.date) -> float:
        """P(the event happens on a day in [start, end]) (an unconditional probability)."""
        if self.past_date is not None:
            return 1.0 if start <= self.past_date <= end else 0.0
        lo = max((start - as_of).days, 0)
        hi = min((end - as_of).days + 1, len(self.pmf))
        if hi <= lo:
            return 0.0
        return self.probability * float(self.pmf[lo:hi].sum())

    def yearly(self, as_of: dt.date, years: list[int]) -> list[float]:
        """P(happens in each calendar year), unconditional."""
        return [self.probability_between(as_of, dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in years]


@dataclass(frozen=True)
class PhaseSpan:
    """A phase the candidate still has to go through: when it starts (timing) and its duration masses.

    For the current phase `elapsed_days` > 0 may be spent already and `rest` holds the rest's masses."""

    phase: Phase
    start: EventTiming
    duration: np.ndarray  # masses of the whole phase's length in days (for later phases)
    rest: np.ndarray | None = None  # masses of what is left of the current phase
    elapsed_days: int = 0


@dataclass(frozen=True)
class Timeline:
    """Entry timings for each later phase and approval, and the spans still to be gone through."""

    as_of: dt.date
    entries: dict[Phase, EventTiming]
    spans: tuple[PhaseSpan, ...]
    current: Phase
    #: Phases the history dates (a phase passed without an event was skipped, e.g. filing on phase 2 data).
    dated: frozenset[Phase] = frozenset()

    def skipped(self, phase: Phase) -> bool:
        """Passed without an event although an earlier phase is dated (a phase before the history is unknown)."""
        earlier_dated = any(p.order < phase.order for p in self.dated)
        return phase.order < self.current.order and phase not in self.dated and earlier_dated

    @property
    def approval(self) -> EventTiming:
        return self.entries[Phase.APPROVED]

    @property
    def p_approval(self) -> float:
        return self.approval.probability


def _never(n_days: int) -> EventTiming:
    return EventTiming(0.0, np.zeros(n_days))


def candidate_timeline(
    asset: Asset, rates: RateSet, as_of: dt.date, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> Timeline:
    """Timing of every later phase entry and of approval for one candidate seen on `as_of`.

    Phases the candidate has already entered are past events dated from its history (the phase start if a
    stage was skipped: it counts as passed on reaching a later phase); a discontinued or suspended
    candidate reaches nothing more."""
    n = horizon_days
    phase = asset.phase
    entries: dict[Phase, EventTiming] = {}
    dated: dict[Phase, dt.date] = {}
    for event in asset.history:  # the first time each phase was reached
        dated.setdefault(event.phase, event.date)
    stages = (*PIPELINE_PHASES, Phase.APPROVED)
    if phase is Phase.APPROVED or phase.is_active:
        for stage in stages:
            if stage.order <= phase.order:
                reached = [d for p, d in dated.items() if p.order >= stage.order]
                entries[stage] = EventTiming(1.0, np.zeros(n), past_date=dated.get(stage, min(reached)))
    if not phase.is_active:
        for stage in stages:
            entries.setdefault(stage, _never(n))
        return Timeline(as_of, entries, (), phase, frozenset(dated))
    rows = rates.profile(phase, asset.therapeutic_area, asset.modality)
    elapsed = max((as_of - asset.phase_start).days, 0)
    rest = rest_of_phase_masses(rows[0].duration, elapsed, n)
    start_now = np.zeros(n)
    start_now[0] = 1.0
    spans = [PhaseSpan(phase, EventTiming(1.0, start_now), np.zeros(n), rest, elapsed)]
    probability, pmf = rows[0].p_success, rest
    for row in rows[1:]:
        timing = EventTiming(probability, pmf)
        entries[row.phase] = timing
        masses = daily_masses(row.duration, n)
        spans.append(PhaseSpan(row.phase, timing, masses))
        probability *= row.p_success
        pmf = convolve(pmf, masses)
    entries[Phase.APPROVED] = EventTiming(probability, pmf)
    return Timeline(as_of, entries, tuple(spans), phase, frozenset(dated))
