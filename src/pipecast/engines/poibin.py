"""The number of successes among independent trials with different probabilities (Poisson-binomial).

Exact up to float rounding. The product of the generating polynomials (1 - p_i + p_i z) is formed as
a balanced tree, every level of every year at once with batched real FFTs, so 20,000 candidates over
ten years take milliseconds. Cohorts enter as repeated probabilities.
"""

from __future__ import annotations

import numpy as np

#: Below this many probabilities a plain dynamic programme is as fast and needs no FFT.
DIRECT_LIMIT = 64


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
    return pmf / pmf.sum(axis=1, keepdims=True)
