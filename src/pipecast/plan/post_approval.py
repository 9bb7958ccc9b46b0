"""Life after approval (pure): NRDL listing, provinces covered, hospitals, patients reached.

Each `PostApprovalFact` is dated and sourced. `summarise` gives the funnel's last stage as the data knew it
on a date (facts dated later are not seen): every approved candidate with its NRDL listing (the earliest
dated listing) and its latest published provinces, hospitals and patients figures, or None where nothing is
published; and counts over the stage (approved, listed in the NRDL, with a coverage figure).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pipecast.domain import Asset, Phase
from pipecast.errors import InputError

KINDS = ("nrdl", "provinces", "hospitals", "patients")
#: The kinds that are counts: their value must be a whole number of 0 or more.
COUNTED = ("provinces", "hospitals", "patients")


@dataclass(frozen=True, slots=True)
class PostApprovalFact:
    candidate: str
    kind: str
    value: str
    date: dt.date
    source_title: str
    source_url: str
    date_text: str = ""
    unit: str = ""
    source_date: dt.date | None = None
    quote: str = ""
    confidence: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown kind {self.kind!r}", field="kind", expected="one of " + ", ".join(KINDS))
        if self.kind in COUNTED and not self.count_value().is_integer():
            raise InputError(f"{self.value!r} is not a whole number", field="value",
                             expected=f"a count of {self.kind} (a lower bound such as 10000 for 'over 10,000')")

    def count_value(self) -> float:
        try:
            number = float(self.value.replace(",", "").lstrip(">+ "))
        except ValueError:
            raise InputError(f"{self.value!r} is not a number", field="value",
                             expected=f"a count of {self.kind}") from None
        if number < 0:
            raise InputError(f"{self.value!r} is below 0", field="value", expected="a count of 0 or more")
        return number

    def as_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate, "kind": self.kind, "value": self.value, "unit": self.unit,
                "date": self.date.isoformat(), "date_text": self.date_text, "source_title": self.source_title,
                "source_url": self.source_url,
                "source_date": self.source_date.isoformat() if self.source_date else None, "quote": self.quote,
                "confidence": self.confidence, "note": self.note}


def facts_for(facts: Iterable[PostApprovalFact], candidate: str,
              as_of: dt.date | None = None) -> list[PostApprovalFact]:
    """One candidate's facts known on `as_of` (all without it), oldest first."""
    return sorted((f for f in facts if f.candidate == candidate and (as_of is None or f.date <= as_of)),
                  key=lambda f: (f.date, f.kind))


def _candidate_summary(asset: Asset, mine: Sequence[PostApprovalFact]) -> dict[str, Any]:
    listed = [f for f in mine if f.kind == "nrdl"]
    out: dict[str, Any] = {"candidate": asset.id, "name": asset.name, "approved_on": asset.phase_start.isoformat(),
                           "nrdl": listed[0].date.isoformat() if listed else None}
    for kind in COUNTED:
        found = [f for f in mine if f.kind == kind]
        out[kind] = int(found[-1].count_value()) if found else None
    out["sources"] = sorted({f.source_url for f in mine})
    return out


def summarise(assets: Sequence[Asset], facts: Sequence[PostApprovalFact], as_of: dt.date) -> dict[str, Any]:
    """The funnel's last stage on `as_of`: approved candidates and what is published of their life after it."""
    approved = [a for a in assets if a.phase == Phase.APPROVED and a.phase_start <= as_of]
    rows = [_candidate_summary(a, facts_for(facts, a.id, as_of)) for a in sorted(approved, key=lambda a: a.id)]
    return {
        "as_of": as_of.isoformat(),
        "approved": sum(a.count for a in approved),
        "nrdl_listed": sum(1 for r in rows if r["nrdl"]),
        **{f"with_{kind}": sum(1 for r in rows if r[kind] is not None) for kind in COUNTED},
        "patients_reached": sum(r["patients"] or 0 for r in rows),
        "candidates": rows,
    }
