"""Rate sets from files: a user's RATES.csv/.xlsx, or one of the bundled tables (package data)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

from pipecast.domain import PIPELINE_PHASES, Phase, parse_phase
from pipecast.errors import RateSetError, UnknownPhaseError
from pipecast.rates.rateset import BUNDLED_RATE_SETS, Duration, RateRow, RateSet, rate_key
from pipecast.tabular import Row, read_table

REQUIRED_COLUMNS = ("phase", "p_success", "median_months", "p90_months")
OPTIONAL_COLUMNS = ("therapeutic_area", "modality", "source", "note", "rate_set", "version", "factor_sigma",
                    "mix_weights", "mix_medians", "mix_p90s")
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
        _duration(row, median, p90),
        row.get("therapeutic_area"),
        row.get("modality"),
        row.get("source"),
        row.get("note"),
        factor,
    )


#: How far a mixture row's median_months/p90_months may be from the mixture's own quantiles (relative).
MIXTURE_QUANTILE_TOLERANCE = 0.02
MIX_COLUMNS = ("mix_weights", "mix_medians", "mix_p90s")


def _mix_list(row: Row, column: str) -> list[float]:
    text = row.get(column)
    try:
        values = [float(part) for part in text.split(";")]
    except ValueError:
        raise RateSetError(f"{column} {text!r} is not a ';'-separated list of numbers", file=row.file,
                           row=row.number, field=column,
                           expected="numbers separated by ';', e.g. 0.3;0.6;0.1") from None
    if any(not math.isfinite(v) or v <= 0 for v in values):
        raise RateSetError(f"{column} {text!r} has a value that is not positive", file=row.file, row=row.number,
                           field=column, expected="positive numbers separated by ';'")
    return values


def _duration(row: Row, median: float, p90: float) -> Duration:
    """A plain lognormal, or a mixture of lognormals when the mix_* columns are filled (all three or none)."""
    filled = [c for c in MIX_COLUMNS if row.get(c)]
    if not filled:
        return Duration(median, p90)
    if len(filled) < len(MIX_COLUMNS):
        missing = next(c for c in MIX_COLUMNS if c not in filled)
        raise RateSetError(f"{missing} is blank while {filled[0]} is filled", file=row.file, row=row.number,
                           field=missing, expected="mix_weights, mix_medians and mix_p90s all filled, or all blank")
    weights, medians, p90s = (_mix_list(row, c) for c in MIX_COLUMNS)
    if not len(weights) == len(medians) == len(p90s):
        raise RateSetError(f"mixture lists have {len(weights)}, {len(medians)} and {len(p90s)} entries",
                           file=row.file, row=row.number, field="mix_medians",
                           expected="as many medians and p90s as weights")
    if abs(sum(weights) - 1.0) > 1e-3:
        raise RateSetError(f"mix_weights sum to {sum(weights):g}", file=row.file, row=row.number, field="mix_weights",
                           expected="weights that sum to 1")
    for i, (m, q) in enumerate(zip(medians, p90s, strict=True), start=1):
        if q < m:
            raise RateSetError(f"mixture component {i}: p90 {q:g} is below median {m:g}", file=row.file,
                               row=row.number, field="mix_p90s", expected="each p90 at least its median")
    total = sum(weights)
    duration = Duration.mixture([w / total for w in weights], medians, p90s)
    for column, given, own in (("median_months", median, duration.median_months),
                               ("p90_months", p90, duration.p90_months)):
        if abs(given - own) > MIXTURE_QUANTILE_TOLERANCE * own:
            raise RateSetError(f"{column} {given:g} is not the mixture's ({own:.2f})", file=row.file, row=row.number,
                               field=column, expected=f"the mixture's own value, {own:.2f} months (within 2%)")
    return duration


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
