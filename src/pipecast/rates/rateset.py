"""Rate sets: per-phase success probability and lognormal duration, general or specific.

A rate set is a table. A row may be general (no therapeutic area, no modality) or specific to
one or both; the most specific row that matches a candidate wins. Every general phase must be
present, so a candidate never falls through to a silent default.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipecast.domain import PIPELINE_PHASES, Phase
from pipecast.errors import RateSetError

DAYS_PER_MONTH = 365.25 / 12
#: z such that Phi(z) = 0.9: links a lognormal's median and 90th percentile.
Z90 = 1.2815515655446004

#: math.erfc(x) is exactly 2.0 at and below this x and exactly 0.0 (underflow) at and above the next.
ERFC_TWO_BELOW, ERFC_ZERO_ABOVE = -6.0, 27.3
_ERFC = np.frompyfunc(math.erfc, 1, 1)

#: Bundled rate sets: name -> (file, one-line description).
BUNDLED_RATE_SETS: dict[str, tuple[str, str]] = {
    "global": ("global.csv", "BIO/Informa/QLS 2011-2020 phase transitions (BIO 2006-2015 where only verified there)"),
    "china": ("china.csv", "global success rates with NMPA review times for the filed stage (China)"),
    "china_calibrated": (
        "china_calibrated.csv",
        "China success rates and durations from published China figures (Yaozh 2025, CDE 2023, Acta Pharm Sin B 2022)",
    ),
}


@dataclass(frozen=True, slots=True)
class Duration:
    """A phase duration: a lognormal given by its median and 90th percentile in months, or a mixture.

    A mixture (`components`: (weight, lognormal) pairs, weights summing to 1; e.g. priority and
    standard review clocks plus a resubmission tail) has survival sum_i w_i S_i(t); its
    `median_months` and `p90_months` are then the mixture's own quantiles (`Duration.mixture`), and
    `mu`/`sigma` describe the single lognormal through them (a summary, not the distribution).
    """

    median_months: float
    p90_months: float
    components: tuple[tuple[float, Duration], ...] = ()

    @classmethod
    def mixture(cls, weights: Sequence[float], medians: Sequence[float], p90s: Sequence[float]) -> Duration:
        """A mixture of lognormals; one component is a plain Duration. Weights must be positive and sum to 1."""
        if not (len(weights) == len(medians) == len(p90s)) or not weights:
            raise RateSetError("mixture lists have different lengths", field="mix_weights",
                               expected="as many weights as medians and p90s")
        if any(w <= 0 for w in weights) or abs(sum(weights) - 1.0) > 1e-6:
            raise RateSetError(f"mixture weights {';'.join(f'{w:g}' for w in weights)}", field="mix_weights",
                               expected="positive weights that sum to 1")
        parts = tuple((float(w), cls(float(m), float(q))) for w, m, q in zip(weights, medians, p90s, strict=True))
        if len(parts) == 1:
            return parts[0][1]
        probe = cls(1.0, 1.0, parts)
        return cls(probe.quantile_months(0.5), probe.quantile_months(0.9), parts)

    def quantile_months(self, q: float) -> float:
        """The q-quantile in months (bisection on the survival for a mixture)."""
        if not self.components:
            return float(math.exp(self.mu + self.sigma * _normal_quantile(q)) / DAYS_PER_MONTH)
        lo = min(c.quantile_months(q) for _, c in self.components)
        hi = max(c.quantile_months(q) for _, c in self.components)
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if float(self.survival_days(np.array([mid * DAYS_PER_MONTH]))[0]) > 1.0 - q:
                lo = mid
            else:
                hi = mid
            if hi - lo < 1e-10 * hi:
                break
        return 0.5 * (lo + hi)

    @property
    def mu(self) -> float:
        """Log-scale location, in log-days."""
        return math.log(self.median_months * DAYS_PER_MONTH)

    @property
    def sigma(self) -> float:
        return (math.log(self.p90_months) - math.log(self.median_months)) / Z90

    def survival_days(self, days: np.ndarray) -> np.ndarray:
        """P(duration > t) for t in days; exact in the far tail (no 1 - CDF cancellation).

        0.5 erfc(z / sqrt 2) with the C library's erfc (`math.erfc`), so a forecast needs no SciPy: where
        erfc is 2 or 0 to the last bit (x <= ERFC_TWO_BELOW, x >= ERFC_ZERO_ABOVE) it is not called.
        A mixture's survival is the weighted sum of its components'.
        """
        if self.components:
            t = np.asarray(days, dtype=float)
            total = np.zeros_like(t)
            for weight, component in self.components:
                total += weight * component.survival_days(t)
            return np.asarray(np.minimum(total, 1.0))
        t = np.asarray(days, dtype=float)
        out = np.ones_like(t)
        positive = t > 0
        if self.sigma == 0:
            out[positive] = (t[positive] < math.exp(self.mu)).astype(float)
            return out
        x = (np.log(t[positive]) - self.mu) / self.sigma / math.sqrt(2.0)
        values = np.where(x <= ERFC_TWO_BELOW, 2.0, 0.0)
        middle = (x > ERFC_TWO_BELOW) & (x < ERFC_ZERO_ABOVE)
        values[middle] = _ERFC(x[middle])
        out[positive] = 0.5 * values
        return out

    def scaled(self, factor: float) -> Duration:
        parts = tuple((w, c.scaled(factor)) for w, c in self.components)
        return Duration(self.median_months * factor, self.p90_months * factor, parts)


def _normal_quantile(q: float) -> float:
    """Phi^-1(q) without SciPy (statistics.NormalDist)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(q)


@dataclass(frozen=True, slots=True)
class RateRow:
    phase: Phase
    p_success: float
    duration: Duration
    therapeutic_area: str = ""
    modality: str = ""
    source: str = ""
    note: str = ""
    #: Log-sd of a shared review-pace factor (filed rows only; 0: independence). See RateSet.factor_sigma.
    factor_sigma: float = 0.0

    @property
    def specificity(self) -> int:
        return (2 if self.therapeutic_area else 0) + (1 if self.modality else 0)


def rate_key(text: str) -> str:
    """How area and modality names are compared: case- and space-insensitive."""
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class RateSet:
    """A validated table of rate rows with the name and origin users see in reports."""

    name: str
    rows: tuple[RateRow, ...]
    origin: str = ""
    _index: dict[tuple[Phase, str, str], RateRow] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        index: dict[tuple[Phase, str, str], RateRow] = {}
        for row in self.rows:
            index[(row.phase, rate_key(row.therapeutic_area), rate_key(row.modality))] = row
        object.__setattr__(self, "_index", index)
        missing = [p for p in PIPELINE_PHASES if (p, "", "") not in index]
        if missing:
            raise RateSetError(
                f"rate set has no general row for phase {', '.join(p.value for p in missing)}",
                file=self.origin or self.name,
                field="phase",
                expected="one row without therapeutic_area and modality for each of "
                + ", ".join(p.value for p in PIPELINE_PHASES),
            )

    def row(self, phase: Phase, therapeutic_area: str = "", modality: str = "") -> RateRow:
        """The most specific row for this phase: area+modality, then area, then modality, then general."""
        area, mod = rate_key(therapeutic_area), rate_key(modality)
        for key in ((area, mod), (area, ""), ("", mod), ("", "")):
            found = self._index.get((phase, *key))
            if found is not None:
                return found
        raise RateSetError(f"no rate for phase {phase.value}", file=self.origin or self.name)

    def profile(self, phase: Phase, therapeutic_area: str = "", modality: str = "") -> tuple[RateRow, ...]:
        """Rows for the current phase and every later one up to approval."""
        if not phase.is_active:
            return ()
        start = PIPELINE_PHASES.index(phase)
        return tuple(self.row(p, therapeutic_area, modality) for p in PIPELINE_PHASES[start:])

    @property
    def factor_sigma(self) -> float:
        """Log-sd of the set's shared review-pace factor: one lognormal multiplier M (median 1) of the filed
        stage's duration, common to every candidate of a forecast (agency workload, policy). 0 (a plain rate
        file): candidates are independent. Given by the `factor_sigma` column of the filed rows."""
        return max((r.factor_sigma for r in self.rows if r.phase is Phase.FILED), default=0.0)

    def sources(self) -> list[str]:
        return sorted({r.source for r in self.rows if r.source})

    def adjusted(self, *, duration_multiplier: dict[Phase, float], name: str | None = None) -> RateSet:
        """A copy with every row's duration for the named phases scaled (e.g. a faster review)."""
        rows = tuple(
            RateRow(
                row.phase,
                row.p_success,
                row.duration.scaled(duration_multiplier.get(row.phase, 1.0)),
                row.therapeutic_area,
                row.modality,
                row.source,
                row.note,
                row.factor_sigma,
            )
            for row in self.rows
        )
        return RateSet(name or self.name, rows, self.origin)
