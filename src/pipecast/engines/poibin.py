"""The number of successes among independent trials with different probabilities (Poisson-binomial).

Exact up to float rounding. The product of the generating polynomials (1 - p_i + p_i z) is formed as
a balanced tree, every level of every year at once with batched real FFTs, so 20,000 candidates over
ten years take milliseconds. Small cohorts enter as repeated probabilities; a cohort of more than
COHORT_EXPAND identical candidates enters `count_distributions` as one binomial block (its pmf over
the counts that carry more than 1e-17 of tail each side, convolved in), so its cost does not grow
with its size.
"""

from __future__ import annotations

import math

import numpy as np

#: Below this many probabilities a plain dynamic programme is as fast and needs no FFT.
DIRECT_LIMIT = 64
#: Cohorts up to this size are expanded into copies (exactly what copies give); larger ones are binomials.
COHORT_EXPAND = 64
#: Tail mass dropped on each side of a cohort's binomial and of a shifted pmf.
TAIL = 1e-17


def poisson_binomial(probabilities: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """pmf[k] = P(exactly k successes); `probabilities` may be (n,) or (n, years) -> (years, n+1)."""
    p = np.asarray(probabilities, dtype=float)
    single = p.ndim == 1
    if single:
        p = p[:, None]
    if counts is not None:
        p = np.repeat(p, np.asarray(counts, dtype=np.int64), axis=0)
    p = np.clip(p, 0.0, 1.0)
    pmf = _direct(p) if len(p) <= DIRECT_LIMIT else _tree(p)
    return pmf[0] if single else pmf


def _direct(p: np.ndarray) -> np.ndarray:
    n, years = p.shape
    pmf = np.zeros((years, n + 1))
    pmf[:, 0] = 1.0
    for i in range(n):
        q = p[i][:, None]
        shifted = np.zeros_like(pmf)
        shifted[:, 1:] = pmf[:, :-1]
        pmf = pmf * (1.0 - q) + shifted * q
    return pmf


def _tree(p: np.ndarray) -> np.ndarray:
    n, years = p.shape
    size = 1 << (n - 1).bit_length()
    # polys[year, i, :] are the coefficients of polynomial i; padding polynomials are 1 (p = 0).
    polys = np.zeros((years, size, 2))
    polys[:, :, 0] = 1.0
    polys[:, :n, 0] = (1.0 - p).T
    polys[:, :n, 1] = p.T
    while polys.shape[1] > 1:
        length = polys.shape[2]
        out_length = 2 * length - 1
        if length <= 16:
            left, right = polys[:, 0::2, :], polys[:, 1::2, :]
            product = np.zeros((years, polys.shape[1] // 2, out_length))
            for j in range(length):
                product[:, :, j : j + length] += left[:, :, j : j + 1] * right
        else:
            fft_length = 1 << (out_length - 1).bit_length()
            spectrum = np.fft.rfft(polys, n=fft_length, axis=2)
            product = np.fft.irfft(spectrum[:, 0::2] * spectrum[:, 1::2], n=fft_length, axis=2)
            product = product[:, :, :out_length]
        polys = product
    pmf = np.clip(polys[:, 0, : n + 1], 0.0, None)
    return np.asarray(pmf / pmf.sum(axis=1, keepdims=True))


def count_distributions(probabilities: np.ndarray, counts: np.ndarray | None = None) -> list[tuple[int, np.ndarray]]:
    """Per year (column), (offset, pmf) with pmf[k] = P(count = offset + k), for (n, years) probabilities.

    Rows with at most COHORT_EXPAND copies go through `poisson_binomial` (offset 0); each larger
    cohort is convolved in as a binomial block, and the result is trimmed where less than TAIL lies
    beyond, so a cohort of 10^8 costs what its few thousand likely counts cost.
    """
    p = np.clip(np.asarray(probabilities, dtype=float), 0.0, 1.0)
    n = np.ones(len(p), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    small = n <= COHORT_EXPAND
    base = poisson_binomial(p[small], n[small])
    big = np.flatnonzero(~small)
    out = []
    for j in range(p.shape[1]):
        offset, pmf = 0, base[j]
        for i in big:
            low, block = binomial_block(int(n[i]), float(p[i, j]))
            offset, pmf = _trim(offset + low, _convolve(pmf, block))
        out.append((offset, pmf))
    return out


def binomial_block(n: int, p: float) -> tuple[int, np.ndarray]:
    """(low, pmf) of Binomial(n, p) over the counts low.. that hold all but 2 * TAIL of it."""
    if p <= 0.0:
        return 0, np.ones(1)
    if p >= 1.0:
        return n, np.ones(1)
    from scipy import stats

    # Bernstein's inequality bounds both tails: P(|X - np| >= t) <= 2 exp(-t^2 / (2 (np(1-p) + t/3))).
    log_tail = math.log(2.0 / TAIL)
    t = log_tail / 3 + math.sqrt((log_tail / 3) ** 2 + 2 * log_tail * n * p * (1 - p))
    low = max(math.floor(n * p - t), 0)
    high = min(math.ceil(n * p + t), n)
    return low, np.asarray(stats.binom.pmf(np.arange(low, high + 1), n, p))


def _convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if min(len(a), len(b)) <= DIRECT_LIMIT:
        return np.convolve(a, b)
    size = len(a) + len(b) - 1
    fft_length = 1 << (size - 1).bit_length()
    product = np.fft.irfft(np.fft.rfft(a, fft_length) * np.fft.rfft(b, fft_length), fft_length)[:size]
    return np.clip(product, 0.0, None)


def _trim(offset: int, pmf: np.ndarray) -> tuple[int, np.ndarray]:
    """Drop the counts at either end that together hold less than TAIL."""
    cumulative = np.cumsum(pmf)
    first = int(np.searchsorted(cumulative, TAIL, side="right"))
    tail = np.cumsum(pmf[::-1])
    last = len(pmf) - int(np.searchsorted(tail, TAIL, side="right"))
    first = min(first, max(last - 1, 0))
    return offset + first, pmf[first:max(last, first + 1)]


def poisson_pmf(mean: float) -> np.ndarray:
    """Poisson(mean) pmf from 0 to 12 standard deviations (and 20) above the mean, renormalised."""
    if mean <= 0:
        return np.ones(1)
    k = np.arange(int(mean + 12 * math.sqrt(mean + 1) + 20) + 1)
    log_pmf = k * math.log(mean) - mean - np.array([math.lgamma(float(x) + 1) for x in k])
    pmf: np.ndarray = np.exp(log_pmf)
    normalised: np.ndarray = pmf / pmf.sum()
    return normalised
