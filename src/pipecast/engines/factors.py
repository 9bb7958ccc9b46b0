"""Shared factors without giving up exactness: mixtures of Poisson-binomials over quadrature nodes.

Conditional on a shared factor z (e.g. a year's approval pace), candidates are independent, so the
count is a Poisson-binomial with probabilities min(1, z * p_i). Integrating over z with K quadrature
nodes gives the count's exact distribution up to the quadrature error (see DESIGN-NOTES, "Shared
shocks without giving up exactness"):
    P(N = k) = sum_j w_j * PoiBin(k; min(1, z_j p_1), ..., min(1, z_j p_n))  [* an extra count | z_j]
The factor here is lognormal with mean 1: z = exp(sigma * x - sigma^2 / 2), x standard normal,
integrated with Gauss-Hermite nodes. An extra count (e.g. approvals from filings not yet received)
can join as a Poisson or negative binomial whose mean is scaled by the same z.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pipecast.engines.poibin import poisson_binomial

#: Gauss-Hermite nodes used by default; 16 integrate a lognormal with sigma <= 0.6 to ~1e-10.
DEFAULT_NODES = 16


def lognormal_nodes(sigma: float, n_nodes: int = DEFAULT_NODES) -> tuple[np.ndarray, np.ndarray]:
    """(multipliers z_j, weights w_j) for a mean-one lognormal factor with log-sd sigma."""
    if sigma < 0:
        raise ValueError("sigma is not negative")
    if sigma == 0:
        return np.ones(1), np.ones(1)
    x, w = np.polynomial.hermite.hermgauss(n_nodes)
    z = np.exp(sigma * math.sqrt(2.0) * x - sigma * sigma / 2.0)
    weights = w / math.sqrt(math.pi)
    return z, weights / weights.sum()


def _extra_pmf(mean: float, shape: float | None, length: int) -> np.ndarray:
    from scipy import special

    k = np.arange(length)
    if mean <= 0:
        out = np.zeros(length)
        out[0] = 1.0
        return out
    if shape is None or not math.isfinite(shape):
        log_pmf = k * math.log(mean) - mean - special.gammaln(k + 1)
    else:
        p = shape / (shape + mean)
        log_pmf = (special.gammaln(k + shape) - special.gammaln(shape) - special.gammaln(k + 1)
                   + shape * math.log(p) + k * math.log1p(-p))
    result: np.ndarray = np.exp(log_pmf)
    return result


def mixture_count_pmf(
    probabilities: Sequence[float] | np.ndarray,
    multipliers: np.ndarray,
    weights: np.ndarray,
    *,
    extra_mean: float = 0.0,
    extra_shape: float | None = None,
    length: int | None = None,
) -> np.ndarray:
    """pmf of sum_i Bernoulli(min(1, z p_i)) + Extra(z * extra_mean), mixed over nodes (z_j, w_j).

    Extra is Poisson, or negative binomial with shape `extra_shape` (variance mean + mean^2/shape).
    The pmf runs to `length` (default: far enough for the largest node), renormalised.
    """
    p = np.clip(np.asarray(probabilities, dtype=float), 0.0, 1.0)
    z_max = float(np.max(multipliers))
    if length is None:
        extra_top = z_max * extra_mean
        spread = extra_top + (extra_top * extra_top / extra_shape if extra_shape else 0.0)
        length = len(p) + 1 + int(extra_top + 12 * math.sqrt(spread + 1) + 20)
    total = np.zeros(length)
    for z, w in zip(multipliers, weights, strict=True):
        pmf = poisson_binomial(np.minimum(p * z, 1.0)) if len(p) else np.ones(1)
        if extra_mean > 0:
            pmf = np.convolve(pmf, _extra_pmf(float(z) * extra_mean, extra_shape, length))
        pmf = pmf[:length]
        total[: len(pmf)] += w * pmf
    total = np.clip(total, 0.0, None)
    normalised: np.ndarray = total / total.sum()
    return normalised


def median_one_nodes(sigma: float, n_nodes: int = DEFAULT_NODES) -> tuple[np.ndarray, np.ndarray]:
    """(multipliers M_j, weights w_j) for a lognormal factor with median 1 and log-sd sigma (Gauss-Hermite):
    E[g(M)] ~ sum_j w_j g(M_j), exact for g(exp(sigma x)) polynomial in x up to degree 2 n_nodes - 1."""
    if sigma < 0:
        raise ValueError("sigma is not negative")
    if sigma == 0:
        return np.ones(1), np.ones(1)
    x, w = np.polynomial.hermite.hermgauss(n_nodes)
    weights = w / math.sqrt(math.pi)
    return np.exp(sigma * math.sqrt(2.0) * x), weights / weights.sum()


def mix_pmfs(weights: Sequence[float] | np.ndarray, pmfs: Sequence[tuple[int, np.ndarray]]) -> tuple[int, np.ndarray]:
    """sum_j w_j pmf_j for pmfs given as (offset, values): the mixture, as (offset, values)."""
    start = min(offset for offset, _ in pmfs)
    end = max(offset + len(values) for offset, values in pmfs)
    total = np.zeros(end - start)
    for w, (offset, values) in zip(weights, pmfs, strict=True):
        total[offset - start: offset - start + len(values)] += w * values
    return start, total
