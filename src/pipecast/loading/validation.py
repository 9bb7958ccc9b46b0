"""Which backtest applies to a rate set, and how its intervals scored (`rates/data/validation.csv`).

Every row of the bundled table was printed by the command in its `command` column (docs/validation.md
has the tables; `tests/test_validation_table.py` recomputes rows from the backtest code, so the table
cannot drift). Only a bundled rate set, unchanged row for row, is validated: a user's RATES.csv, or a
bundled set with any row changed, is "not validated".
"""

from __future__ import annotations

import csv
from functools import lru_cache
from importlib import resources
from typing import Any

from pipecast.rates import RateSet
from pipecast.rates.rateset import BUNDLED_RATE_SETS

NOT_VALIDATED = "not validated: no backtest applies to this rate set"


@lru_cache(maxsize=1)
def validation_rows() -> tuple[dict[str, str], ...]:
    """The bundled validation table, one dict per row."""
    ref = resources.files("pipecast.rates") / "data" / "validation.csv"
    with resources.as_file(ref) as path, path.open(encoding="utf-8", newline="") as handle:
        return tuple(dict(row) for row in csv.DictReader(handle))


def _is_bundled(rate_set: RateSet) -> bool:
    if rate_set.name not in BUNDLED_RATE_SETS:
        return False
    from pipecast.loading.rates import bundled_rate_set

    return rate_set.rows == bundled_rate_set(rate_set.name).rows


def sentence(row: dict[str, Any]) -> str:
    """One line a reader can quote: "FDA filings ..., one year ahead: 80% intervals held 1 of 10 years"."""
    return (f"{row['what']}, {row['horizon']}: 80% intervals held {row['held_80']} of {row['scored']} years; "
            f"mean log score {row['mean_log_score']:.3f} against {row['baseline']} {row['baseline_log_score']:.3f}")


def validation_for(rate_set: RateSet) -> dict[str, Any] | None:
    """The backtests that scored this rate set (JSON-ready), or None when none applies."""
    if not _is_bundled(rate_set):
        return None
    found = []
    for row in validation_rows():
        if row["rate_set"] != rate_set.name:
            continue
        item: dict[str, Any] = {
            "backtest": row["backtest"], "what": row["what"], "horizon": row["horizon"], "years": row["years"],
            "held_80": int(row["held_80"]), "scored": int(row["scored"]),
            "mean_log_score": float(row["mean_log_score"]), "baseline": row["baseline"],
            "baseline_log_score": float(row["baseline_log_score"]), "computed": row["computed"],
            "command": row["command"], "source": row["source"],
        }
        item["summary"] = sentence(item)
        found.append(item)
    if not found:
        return None
    return {"rate_set": rate_set.name, "backtests": found, "details": "docs/validation.md"}


def validation_lines(validation: dict[str, Any] | None) -> list[str]:
    """What the terminal and the report print: one line per backtest, or the "not validated" line."""
    if validation is None:
        return [NOT_VALIDATED]
    return [str(item["summary"]) for item in validation["backtests"]]
