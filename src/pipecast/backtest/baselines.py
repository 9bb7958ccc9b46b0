"""Naive forecasts of next year's count that a pipeline model has to beat.

- Poisson with last year's count as its mean.
- Negative binomial on past yearly totals: mean of the recent years, variance of a longer window;
  where that window is under-dispersed (variance <= mean) it falls back to Poisson.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from pipecast.errors import InputError

#: Years whose mean sets the negative binomial's mean, and the longer window for its variance.
RECENT_YEARS = 3
VARIANCE_YEARS = 10


def poisson_pmf(mean: float, length: int | None = None) -> np.ndarray:
    """pmf of Poisson(mean) on 0..length-1 (default: far enough that the tail is below 1e-12)."""
    if mean < 0:
        raise InputError(f"Poisson mean {mean} is negative", field="mean", expected="a mean >= 0")
    n = length if length is not None else int(mean + 12 * math.sqrt(mean + 1) + 20)
    k = np.arange(n)
    if mean == 0:
        out = np.zeros(n)
        out[0] = 1.0
        return out
    from scipy import special

    pmf: np.ndarray = np.exp(k * math.log(mean) - mean - special.gammaln(k + 1))
    return pmf


def negative_binomial_pmf(mean: float, variance: float, length: int | None = None) -> np.ndarray:
    """pmf with this mean and variance; Poisson when variance <= mean."""
    if variance <= mean or mean <= 0:
        return poisson_pmf(mean, length)
    from scipy import special

    shape = mean * mean / (variance - mean)  # r: variance = mean + mean^2 / r
    p = shape / (shape + mean)
    n = length if length is not None else int(mean + 12 * math.sqrt(variance) + 20)
    k = np.arange(n)
    log_pmf = (special.gammaln(k + shape) - special.gammaln(shape) - special.gammaln(k + 1)
               + shape * math.log(p) + k * math.log1p(-p))
    out: np.ndarray = np.exp(log_pmf)
    return out


def _history(counts: Mapping[int, int], year: int, span: int) -> list[int]:
    return [counts[y] for y in range(year - span, year) if y in counts]


def poisson_last_year(counts: Mapping[int, int], year: int) -> np.ndarray:
    """Poisson with the previous year's count as mean (needs that year)."""
    if year - 1 not in counts:
        raise InputError(f"no count for {year - 1}", field="counts", expected=f"the count of {year - 1}")
    return poisson_pmf(float(counts[year - 1]))


def negative_binomial_history(
    counts: Mapping[int, int], year: int, recent: int = RECENT_YEARS, window: int = VARIANCE_YEARS
) -> np.ndarray:
    """Negative binomial: mean of the `recent` years before `year`, variance of the `window` years before it."""
    recent_counts = _history(counts, year, recent)
    long_counts = _history(counts, year, window)
    if not recent_counts:
        raise InputError(f"no counts before {year}", field="counts", expected=f"counts of years before {year}")
    mean = float(np.mean(recent_counts))
    variance = float(np.var(long_counts, ddof=1)) if len(long_counts) > 1 else mean
    return negative_binomial_pmf(mean, variance)
