"""Expectations over uncertain peak sales: annual net sales S_n = peak * share_n, peak lognormal (or fixed).

Tiered royalties are sums of call spreads on S_n, and a sales milestone ("first year net sales exceed X")
is paid in the first year n with peak * max(share_1..share_n) > X, so both have closed forms under a
lognormal peak: E[max(S - K, 0)] = E[S] Phi(d1) - K Phi(d2), d2 = ln(median / K) / sigma, d1 = d2 + sigma.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@dataclass(frozen=True, slots=True)
class PeakSales:
    """Annual peak net sales: lognormal with this median and log-sd (sigma 0: exactly the median)."""

    median: float
    sigma: float = 0.0

    @property
    def mean(self) -> float:
        return self.median * math.exp(self.sigma**2 / 2)

    def survival(self, threshold: float) -> float:
        """P(peak > threshold)."""
        if threshold <= 0:
            return 1.0 if self.median > 0 else 0.0
        if self.median <= 0:
            return 0.0
        if self.sigma == 0:
            return 1.0 if self.median > threshold else 0.0
        return _phi(math.log(self.median / threshold) / self.sigma)

    def expected_excess(self, share: float, strike: float) -> float:
        """E[max(peak * share - strike, 0)]."""
        median = self.median * share
        if median <= 0:
            return 0.0
        if strike <= 0:
            return self.mean * share - strike
        if self.sigma == 0:
            return max(median - strike, 0.0)
        d2 = math.log(median / strike) / self.sigma
        return self.mean * share * _phi(d2 + self.sigma) - strike * _phi(d2)


@dataclass(frozen=True, slots=True)
class RoyaltyTier:
    """`rate` on the part of annual net sales above `above` (up to the next tier's `above`)."""

    above: float
    rate: float


def expected_royalty(peak: PeakSales, share: float, tiers: Sequence[RoyaltyTier]) -> float:
    """E[royalty on annual sales peak * share] for ascending tiers."""
    total, previous = 0.0, 0.0
    for tier in tiers:
        total += (tier.rate - previous) * peak.expected_excess(share, tier.above)
        previous = tier.rate
    return total


def royalty_on(sales: float, tiers: Sequence[RoyaltyTier]) -> float:
    """The royalty on `sales` in one year (for checks and Monte Carlo)."""
    total = 0.0
    for i, tier in enumerate(tiers):
        top = tiers[i + 1].above if i + 1 < len(tiers) else math.inf
        total += tier.rate * max(min(sales, top) - tier.above, 0.0)
    return total


def first_year_above(peak: PeakSales, profile: Sequence[float], threshold: float) -> list[float]:
    """P(launch year n is the first with net sales above `threshold`), n = 1..len(profile)."""
    out: list[float] = []
    running, previous_survival = 0.0, 0.0
    for share in profile:
        running = max(running, share)
        survival = peak.survival(threshold / running) if running > 0 else 0.0
        out.append(max(survival - previous_survival, 0.0))
        previous_survival = max(previous_survival, survival)
    return out
