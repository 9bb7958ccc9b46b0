"""Rate sets from files: a user's RATES.csv/.xlsx, or one of the bundled tables (package data)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

from pipecast.domain import PIPELINE_PHASES, Phase, parse_phase
from pipecast.errors import RateSetError, UnknownPhaseError
from pipecast.rates.rateset import BUNDLED_RATE_SETS, Duration, RateRow, RateSet, rate_key
from pipecast.tabular import Row, read_table

REQUIRED_COLUMNS = ("phase", "p_success", "median_months", "p90_months")
OPTIONAL_COLUMNS = ("therapeutic_area", "modality", "source", "note", "rate_set", "version", "factor_sigma")
#: The largest review-pace factor log-sd a rate file may give (a multiplier's 90% range of about 1/27-27).
MAX_FACTOR_SIGMA = 2.0


def rate_rows_from_table(rows: Iterable[Row], origin: str) -> list[RateRow]:
    """Validated rate rows; every problem names the file, row and column."""
    parsed = [_rate_row(row) for row in rows]
    if not parsed:
        raise RateSetError("rate set has no rows", file=origin, expected="one row per phase")
    return parsed


def _rate_row(row: Row) -> RateRow:
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
    factor = row.number_in("factor_sigma", 0.0, MAX_FACTOR_SIGMA,
                           f"a log-sd between 0 and {MAX_FACTOR_SIGMA:g} (blank: no shared factor)", default=0.0)
    if factor and phase is not Phase.FILED:
        raise RateSetError(
            f"factor_sigma {factor:g} on phase {phase.value}",
            file=row.file, row=row.number, field="factor_sigma",
            expected="a review-pace factor on filed rows only (blank elsewhere)",
        )
    return RateRow(
        phase,
        p,
        Duration(median, p90),
        row.get("therapeutic_area"),
        row.get("modality"),
        row.get("source"),
        row.get("note"),
        factor,
    )


def _check_duplicates(rows: Sequence[RateRow], origin: str) -> None:
    seen: set[tuple[Phase, str, str]] = set()
    for row in rows:
        key = (row.phase, rate_key(row.therapeutic_area), rate_key(row.modality))
        if key in seen:
            raise RateSetError(
                f"two rows for phase {row.phase.value}, area {row.therapeutic_area or '(any)'}, "
                f"modality {row.modality or '(any)'}",
                file=origin,
                field="phase",
                expected="one row per phase, area and modality",
            )
        seen.add(key)


def load_rate_set(path: str | Path, name: str | None = None) -> RateSet:
    """Read a user's RATES.csv (or .xlsx): phase,p_success,median_months,p90_months[,area,modality]."""
    table = read_table(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    rows = rate_rows_from_table(table, str(path))
    _check_duplicates(rows, str(path))
    factors = {r.factor_sigma for r in rows if r.phase is Phase.FILED}
    if len(factors) > 1:
        raise RateSetError(
            f"filed rows give different factor_sigma values ({', '.join(f'{f:g}' for f in sorted(factors))})",
            file=str(path), field="factor_sigma", expected="one review-pace factor per rate set: the same value "
            "on every filed row",
        )
    return RateSet(name or Path(path).stem, tuple(rows), str(path))


def bundled_rate_set(name: str = "global") -> RateSet:
    """One of the rate sets shipped with pipecast, each number with its source in the file."""
    if name not in BUNDLED_RATE_SETS:
        raise RateSetError(f"unknown bundled rate set {name!r}", expected="one of " + ", ".join(BUNDLED_RATE_SETS))
    file_name, _ = BUNDLED_RATE_SETS[name]
    ref = resources.files("pipecast.rates") / "data" / file_name
    with resources.as_file(ref) as path:
        return load_rate_set(path, name)


def resolve_rate_set(value: str | Path | RateSet) -> RateSet:
    """A RateSet as given, a bundled one by name, or a rate file by path."""
    if isinstance(value, RateSet):
        return value
    name = str(value)
    return bundled_rate_set(name) if name in BUNDLED_RATE_SETS else load_rate_set(name)
