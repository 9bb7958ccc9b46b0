"""Scores for forecasts of a count (approvals in a year) and for per-candidate probabilities.

Every function takes plain data (sequences of floats and ints) and returns plain numbers, so a
backtest of any engine can be scored the same way. A pmf is a sequence whose k-th entry is the
forecast probability of exactly k; mass beyond its end is taken as zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipecast.errors import InputError

#: Floor for ln P(observed): a count the forecast gave no mass at all scores ln(1e-300) ~ -690.8, not -inf.
LOG_FLOOR = 1e-300

#: z for a two-sided 95% interval (Wilson interval of a coverage share).
Z95 = 1.959963984540054


def _pmf(pmf: Sequence[float]) -> np.ndarray:
    p = np.asarray(pmf, dtype=float)
    if p.ndim != 1 or len(p) == 0:
        raise InputError("a pmf must not be empty", field="pmf", expected="a non-empty sequence of probabilities")
    if (p < -1e-12).any():
        raise InputError("a pmf has a negative entry", field="pmf", expected="probabilities >= 0")
    out: np.ndarray = np.clip(p, 0.0, None)
    return out


def log_score(pmf: Sequence[float], observed: int) -> float:
    """ln P(observed) under the forecast (higher is better)."""
    p = _pmf(pmf)
    mass = float(p[observed]) if 0 <= observed < len(p) else 0.0
    return math.log(max(mass, LOG_FLOOR))


def ranked_probability_score(pmf: Sequence[float], observed: int) -> float:
    """Discrete CRPS: sum over k of (F(k) - 1{observed <= k})^2 (lower is better)."""
    p = _pmf(pmf)
    length = max(len(p), observed + 1)
    cdf = np.cumsum(np.concatenate((p, np.zeros(length - len(p)))))
    step = (np.arange(length) >= observed).astype(float)
    return float(np.sum((cdf - step) ** 2))


def randomised_pit(pmf: Sequence[float], observed: int, v: float) -> float:
    """u = F(observed - 1) + v * P(observed) for a uniform draw v in [0, 1]; uniform when calibrated."""
    p = _pmf(pmf)
    below = float(p[: max(observed, 0)].sum())
    mass = float(p[observed]) if 0 <= observed < len(p) else 0.0
    return min(1.0, below + v * mass)


def randomised_pits(pmfs: Sequence[Sequence[float]], observed: Sequence[int], seed: int) -> list[float]:
    """Randomised PIT values for several forecasts, one uniform draw each from numpy's PCG64(seed)."""
    draws = np.random.default_rng(seed).uniform(size=len(observed))
    return [randomised_pit(p, int(o), float(v)) for p, o, v in zip(pmfs, observed, draws, strict=True)]


def expected_value(pmf: Sequence[float]) -> float:
    p = _pmf(pmf)
    return float(np.dot(np.arange(len(p)), p))


def central_interval(pmf: Sequence[float], level: float) -> tuple[int, int]:
    """(lo, hi): lo the smallest k with F(k) >= (1 - level)/2, hi the smallest k with F(k) >= (1 + level)/2."""
    if not 0.0 < level < 1.0:
        raise InputError(f"level {level} is out of range", field="level", expected="strictly between 0 and 1")
    cdf = np.cumsum(_pmf(pmf))
    cdf = cdf / cdf[-1]
    lo = int(np.searchsorted(cdf, (1.0 - level) / 2.0 - 1e-12))
    hi = int(np.searchsorted(cdf, (1.0 + level) / 2.0 - 1e-12))
    return lo, min(hi, len(cdf) - 1)


@dataclass(frozen=True)
class Coverage:
    """Share of forecasts whose central interval held the observed count, with a Wilson 95% interval."""

    level: float
    hits: int
    total: int

    @property
    def share(self) -> float:
        return self.hits / self.total if self.total else math.nan

    @property
    def wilson(self) -> tuple[float, float]:
        return wilson_interval(self.hits, self.total)

    def as_dict(self) -> dict[str, float | int]:
        lo, hi = self.wilson
        return {"level": self.level, "hits": self.hits, "years": self.total, "share": self.share,
                "wilson95_low": lo, "wilson95_high": hi}


def wilson_interval(hits: int, total: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial share hits/total."""
    if total == 0:
        return (math.nan, math.nan)
    share = hits / total
    denominator = 1.0 + z * z / total
    centre = (share + z * z / (2 * total)) / denominator
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def coverage(pmfs: Sequence[Sequence[float]], observed: Sequence[int], level: float) -> Coverage:
    hits = 0
    for pmf, obs in zip(pmfs, observed, strict=True):
        lo, hi = central_interval(pmf, level)
        hits += int(lo <= obs <= hi)
    return Coverage(level, hits, len(observed))


def bias(pmfs: Sequence[Sequence[float]], observed: Sequence[int]) -> float:
    """Mean of observed minus expected (positive: the forecast runs low)."""
    if not observed:
        return math.nan
    return float(np.mean([o - expected_value(p) for p, o in zip(pmfs, observed, strict=True)]))


def brier_score(probabilities: Sequence[float], outcomes: Sequence[bool]) -> float:
    """Mean squared difference between forecast probabilities and 0/1 outcomes (lower is better)."""
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(outcomes, dtype=float)
    if len(p) != len(y) or len(p) == 0:
        raise InputError(f"{len(p)} probabilities and {len(y)} outcomes", field="outcomes",
                         expected="one outcome per probability, at least one")
    return float(np.mean((p - y) ** 2))


def auc(probabilities: Sequence[float], outcomes: Sequence[bool]) -> float:
    """P(a random positive is ranked above a random negative), ties counting one half; nan without both."""
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(outcomes, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    i = 0
    while i < len(p):  # average ranks over ties (1-based)
        j = i
        while j + 1 < len(p) and sorted_p[j + 1] == sorted_p[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def summarise(
    pmfs: Sequence[Sequence[float]], observed: Sequence[int], *, seed: int = 0,
    levels: Sequence[float] = (0.5, 0.8, 0.95),
) -> dict[str, Any]:
    """All count scores of one forecaster over several years, as a JSON-ready dict ({"years": 0} if none)."""
    if not observed:
        return {"years": 0}
    logs = [log_score(p, o) for p, o in zip(pmfs, observed, strict=True)]
    rps = [ranked_probability_score(p, o) for p, o in zip(pmfs, observed, strict=True)]
    return {
        "years": len(observed),
        "mean_log_score": float(np.mean(logs)),
        "mean_crps": float(np.mean(rps)),
        "bias": bias(pmfs, observed),
        "coverage": {f"{round(level * 100)}%": coverage(pmfs, observed, level).as_dict() for level in levels},
        "pit": randomised_pits(pmfs, observed, seed),
    }
