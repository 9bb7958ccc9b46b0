"""Rate sets: per-phase success probability and lognormal duration, general or specific.

A rate set is a table. A row may be general (no therapeutic area, no modality) or specific to
one or both; the most specific row that matches a candidate wins. Every general phase must be
present, so a candidate never falls through to a silent default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import special

from pipecast.domain import PIPELINE_PHASES, Phase, UnknownPhaseError, parse_phase
from pipecast.errors import RateSetError
from pipecast.tabular import read_table

DAYS_PER_MONTH = 365.25 / 12
#: z such that Phi(z) = 0.9: links a lognormal's median and 90th percentile.
Z90 = 1.2815515655446004

REQUIRED_COLUMNS = ("phase", "p_success", "median_months", "p90_months")
OPTIONAL_COLUMNS = ("therapeutic_area", "modality", "source", "note", "rate_set", "version")

#: Bundled rate sets: name -> (file, one-line description).
BUNDLED_RATE_SETS: dict[str, tuple[str, str]] = {
    "global": ("global.csv", "BIO/Informa/QLS 2011-2020 phase transitions (BIO 2006-2015 where only verified there)"),
    "china": ("china.csv", "global success rates with NMPA review times for the filed stage (China)"),
}


@dataclass(frozen=True, slots=True)
class Duration:
    """A lognormal phase duration given by its median and 90th percentile in months."""

    median_months: float
    p90_months: float

    @property
    def mu(self) -> float:
        """Log-scale location, in log-days."""
        return math.log(self.median_months * DAYS_PER_MONTH)

    @property
    def sigma(self) -> float:
        return (math.log(self.p90_months) - math.log(self.median_months)) / Z90

    def survival_days(self, days: np.ndarray) -> np.ndarray:
        """P(duration > t) for t in days; exact in the far tail (no 1 - CDF cancellation)."""
        t = np.asarray(days, dtype=float)
        out = np.ones_like(t)
        positive = t > 0
        if self.sigma == 0:
            out[positive] = (t[positive] < math.exp(self.mu)).astype(float)
            return out
        z = (np.log(t[positive]) - self.mu) / self.sigma
        out[positive] = 0.5 * special.erfc(z / math.sqrt(2.0))
        return out

    def quantile_days(self, q: float) -> float:
        return math.exp(self.mu + self.sigma * math.sqrt(2.0) * special.erfinv(2 * q - 1))

    def scaled(self, factor: float) -> Duration:
        return Duration(self.median_months * factor, self.p90_months * factor)


@dataclass(frozen=True, slots=True)
class RateRow:
    phase: Phase
    p_success: float
    duration: Duration
    therapeutic_area: str = ""
    modality: str = ""
    source: str = ""
    note: str = ""

    @property
    def specificity(self) -> int:
        return (2 if self.therapeutic_area else 0) + (1 if self.modality else 0)


def _key(text: str) -> str:
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
            index[(row.phase, _key(row.therapeutic_area), _key(row.modality))] = row
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
        area, mod = _key(therapeutic_area), _key(modality)
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
            )
            for row in self.rows
        )
        return RateSet(name or self.name, rows, self.origin)


def rate_rows_from_table(rows: Iterable, origin: str) -> list[RateRow]:
    parsed: list[RateRow] = []
    for row in rows:
        try:
            phase = parse_phase(row.required("phase", "a phase name"))
        except UnknownPhaseError as exc:
            raise RateSetError(str(exc), file=row.file, row=row.number, field="phase") from None
        if not phase.is_active:
            raise RateSetError(
                f"phase {phase.value} takes no rate",
                file=row.file,
                row=row.number,
                field="phase",
                expected="one of " + ", ".join(p.value for p in PIPELINE_PHASES),
            )
        p = row.number_in("p_success", 0.0, 1.0, "a probability between 0 and 1")
        median = row.number_in("median_months", 1e-6, 1200.0, "a positive number of months")
        p90 = row.number_in("p90_months", 1e-6, 2400.0, "a positive number of months")
        if p90 < median:
            raise RateSetError(
                f"p90_months {p90:g} is below median_months {median:g}",
                file=row.file,
                row=row.number,
                field="p90_months",
                expected="a 90th percentile at least as large as the median",
            )
        parsed.append(
            RateRow(
                phase,
                p,
                Duration(median, p90),
                row.get("therapeutic_area"),
                row.get("modality"),
                row.get("source"),
                row.get("note"),
            )
        )
    if not parsed:
        raise RateSetError("rate set has no rows", file=origin, expected="one row per phase")
    return parsed


def load_rate_set(path: str | Path, name: str | None = None) -> RateSet:
    """Read a user's RATES.csv (or .xlsx): phase,p_success,median_months,p90_months[,area,modality]."""
    table = read_table(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    rows = rate_rows_from_table(table, str(path))
    _check_duplicates(rows, str(path))
    return RateSet(name or Path(path).stem, tuple(rows), str(path))


def _check_duplicates(rows: Sequence[RateRow], origin: str) -> None:
    seen: set[tuple[Phase, str, str]] = set()
    for row in rows:
        key = (row.phase, _key(row.therapeutic_area), _key(row.modality))
        if key in seen:
            raise RateSetError(
                f"two rows for phase {row.phase.value}, area {row.therapeutic_area or '(any)'}, "
                f"modality {row.modality or '(any)'}",
                file=origin,
                field="phase",
                expected="one row per phase, area and modality",
            )
        seen.add(key)


def bundled_rate_set(name: str = "global") -> RateSet:
    """One of the rate sets shipped with pipecast, each number with its source in the file."""
    if name not in BUNDLED_RATE_SETS:
        raise RateSetError(
            f"unknown bundled rate set {name!r}", expected="one of " + ", ".join(BUNDLED_RATE_SETS)
        )
    file_name, _ = BUNDLED_RATE_SETS[name]
    ref = resources.files("pipecast.rates") / "data" / file_name
    with resources.as_file(ref) as path:
        return load_rate_set(path, name)
