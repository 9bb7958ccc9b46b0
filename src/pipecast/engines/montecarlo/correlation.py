"""How candidates move together in the Monte Carlo engine (the default is the exact engine's independence)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipecast.errors import InputError

#: Group kinds the copula understands (asset attributes, or one group for everything).
GROUP_KINDS = ("sponsor", "therapeutic_area", "modality", "target", "all")


@dataclass(frozen=True)
class Correlation:
    """Copula correlations per group kind, a shared review-pace shock and sponsor-wide stops.

    - rho: group kind -> share of the latent variance the group's factor carries (sum at most 1);
    - review_sigma: sd of the log of a per-path multiplier of the filed stage's duration, discretised
      into `review_levels` equiprobable levels;
    - sponsor_stop: per path and sponsor, the probability that all its candidates stop.
    """

    rho: dict[str, float] = field(default_factory=dict)
    review_sigma: float = 0.0
    review_levels: int = 16
    sponsor_stop: float = 0.0

    def __post_init__(self) -> None:
        for kind, rho in self.rho.items():
            if kind not in GROUP_KINDS:
                raise InputError(
                    f"unknown correlation group {kind!r}", field="rho", expected="one of " + ", ".join(GROUP_KINDS)
                )
            if not 0.0 <= rho <= 1.0 or not math.isfinite(rho):
                raise InputError(f"rho for {kind} is {rho}", field="rho", expected="a number between 0 and 1")
        if sum(self.rho.values()) > 1.0 + 1e-12:
            raise InputError(
                f"correlations add up to {sum(self.rho.values()):g}",
                field="rho",
                expected="rho values whose sum is at most 1 (each is a share of the latent variance)",
            )
        if not 0.0 <= self.review_sigma <= 5.0:
            raise InputError(
                f"review_sigma is {self.review_sigma}", field="review_sigma", expected="a number between 0 and 5"
            )
        if not 1 <= self.review_levels <= 1024:
            raise InputError(
                f"review_levels is {self.review_levels}", field="review_levels", expected="an integer 1-1024"
            )
        if not 0.0 <= self.sponsor_stop <= 1.0:
            raise InputError(
                f"sponsor_stop is {self.sponsor_stop}", field="sponsor_stop", expected="a probability between 0 and 1"
            )

    @property
    def active_rho(self) -> dict[str, float]:
        return {k: v for k, v in self.rho.items() if v > 0}

    def levels(self) -> np.ndarray:
        """Review-time multipliers, one per equiprobable level (the midpoints of equal-probability strata)."""
        if self.review_sigma == 0:
            return np.ones(1)
        from scipy import special

        mid = (np.arange(self.review_levels) + 0.5) / self.review_levels
        return np.asarray(np.exp(self.review_sigma * special.ndtri(mid)))

    def describe(self) -> dict[str, Any]:
        return {
            "rho": dict(self.rho),
            "review_sigma": self.review_sigma,
            "review_levels": self.review_levels,
            "sponsor_stop": self.sponsor_stop,
        }
