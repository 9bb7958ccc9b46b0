"""Arrivals: candidates not yet known, entering the pipeline after the as-of date (pure).

New phase entries per phase per year are fitted on what was known at the as-of date only: each
candidate's first dated phase entry (its entry into the pipeline as the data knew it then), counted
per phase and year over the last `window` complete years before the as-of year. The fit is a Poisson
rate per phase (the mean of those yearly counts, cohort copies counted).

Arrivals form a Poisson process in time (rate lambda_P per year, uniform within each year), each
arrival going through the same rate profile from its phase, from elapsed 0. A thinned Poisson process
is Poisson in every forecast year and independent across years, so the arrivals' approvals are one
independent Poisson count per year with mean
    m_y = sum_P lambda_P * p_P * integral over the arrival time a of P(a + T_P in year y) da
(T_P the sum of the profile's durations), computed here on a daily grid.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipecast.domain import PIPELINE_PHASES, Asset, Phase
from pipecast.engines.timing import Profile, sum_of_durations
from pipecast.rates import RateSet

#: Complete years before the as-of year whose entries set the arrival rate.
DEFAULT_WINDOW = 5


@dataclass(frozen=True, slots=True)
class ArrivalFit:
    """Yearly rate of new pipeline entries per phase, and the years and counts it was fitted on."""

    rates: Mapping[str, float]
    first_year: int
    last_year: int
    counts: Mapping[str, Sequence[int]]

    @property
    def total(self) -> float:
        return float(sum(self.rates.values()))

    def to_json(self) -> dict[str, object]:
        return {"per_year": dict(self.rates), "fitted_on": f"{self.first_year}-{self.last_year}",
                "counts": {k: list(v) for k, v in self.counts.items()},
                "model": "Poisson on yearly counts of first phase entries known at the as-of date"}


def first_entry(asset: Asset) -> tuple[Phase, dt.date] | None:
    """The candidate's first dated phase entry (phase, date), or None without a dated active phase."""
    entries = sorted((e.date, PIPELINE_PHASES.index(e.phase), e.phase) for e in asset.history
                     if e.phase in PIPELINE_PHASES)
    if not entries:
        return None
    return entries[0][2], entries[0][0]


def fit_arrivals(assets: Sequence[Asset], as_of: dt.date, window: int = DEFAULT_WINDOW) -> ArrivalFit:
    """Poisson rates of first phase entries per phase, on the `window` complete years before `as_of`.

    Only what was known at `as_of` counts: each candidate's history is cut to events dated and recorded
    by then (`Asset.as_of`), so a candidate first published later adds nothing.
    """
    last = as_of.year - 1
    first = last - window + 1
    counts = {p.value: [0] * window for p in PIPELINE_PHASES}
    for asset in assets:
        seen = asset.as_of(as_of)
        entry = first_entry(seen) if seen is not None else None
        if entry is not None and first <= entry[1].year <= last:
            counts[entry[0].value][entry[1].year - first] += asset.count
    rates = {phase: sum(values) / window for phase, values in counts.items()}
    return ArrivalFit(rates, first, last, counts)


def arrival_year_means(fit: ArrivalFit, rates: RateSet, as_of: dt.date, years: Sequence[int]) -> np.ndarray:
    """Expected approvals per forecast year from arrivals after `as_of` up to the end of the last year."""
    means = np.zeros(len(years))
    if not len(years):
        return means
    end = (dt.date(max(years) + 1, 1, 1) - as_of).days
    if end <= 1:
        return means
    starts = np.array([max((dt.date(y, 1, 1) - as_of).days, 0) for y in years])
    ends = np.array([max((dt.date(y + 1, 1, 1) - as_of).days, 0) for y in years])
    arrival_days = np.arange(1, end)  # arrivals on days 1..end-1 after the as-of date
    for phase in PIPELINE_PHASES:
        rate = fit.rates.get(phase.value, 0.0)
        if rate <= 0:
            continue
        profile = Profile(rates.profile(phase))
        if profile.p_approval == 0:
            continue
        masses = sum_of_durations([r.duration for r in profile.rows], end)
        cumulative = np.concatenate(([0.0], np.cumsum(masses)))  # cumulative[x] = P(T < x)
        # Each arrival day carries rate / 365.25 arrivals; approval on day a + T in [start, end).
        hi = np.clip(ends[None, :] - arrival_days[:, None], 0, end)
        lo = np.clip(starts[None, :] - arrival_days[:, None], 0, end)
        inside = cumulative[hi] - cumulative[lo]
        means += rate / 365.25 * profile.p_approval * inside.sum(axis=0)
    return means
