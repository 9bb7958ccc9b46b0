"""Economics tables from files: the bundled sourced defaults (`pipecast/value/data/economics.csv`) or a
user's ECONOMICS.csv with the same columns (parameter,value[,therapeutic_area,modality,unit,source,...])."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from pipecast.tabular import Row, read_table
from pipecast.value.economics import PARAMETERS, EconomicsRow, EconomicsTable, check_parameter

REQUIRED_COLUMNS = ("parameter", "value")
OPTIONAL_COLUMNS = (
    "therapeutic_area",
    "modality",
    "unit",
    "note",
    "derivation",
    "source",
    "source_url",
    "published",
    "evidence_quote",
    "confidence",
    "shared_row",
)
BUNDLED_ECONOMICS = "economics.csv"


def _row(row: Row) -> EconomicsRow:
    parameter = row.required("parameter", "one of " + ", ".join(PARAMETERS))
    if parameter not in PARAMETERS:
        raise row.error("parameter", f"unknown parameter {parameter!r}", "one of " + ", ".join(PARAMETERS))
    value = row.number_in("value", -1e12, 1e12, "a number")
    try:
        check_parameter(parameter, value, row.file)
    except Exception as exc:  # re-raised with the row number
        raise row.error("value", str(exc).split(": ", 1)[-1], PARAMETERS[parameter]) from None
    return EconomicsRow(
        parameter,
        value,
        row.get("therapeutic_area").casefold(),
        row.get("modality").casefold(),
        row.get("unit"),
        row.get("source"),
        row.get("source_url"),
        row.get("published"),
        row.get("note") or row.get("derivation"),
    )


def load_economics(path: str | Path, currency: str = "USD") -> EconomicsTable:
    """A user's economics table (money in millions of `currency`)."""
    rows = [_row(row) for row in read_table(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)]
    return EconomicsTable(tuple(rows), currency, str(path))


def bundled_economics() -> EconomicsTable:
    """The sourced default economics (USD million), every number with its source in the same row."""
    ref = resources.files("pipecast.value") / "data" / BUNDLED_ECONOMICS
    with resources.as_file(ref) as path:
        return load_economics(path, "USD")
