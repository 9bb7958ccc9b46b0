"""A plan's target, such as "1-3 approvals a year from 2027 to 2030", parsed from text (files: pipecast.loading)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipecast.errors import TargetError

TARGET_FORM = "YEARS:COUNT, e.g. 2027-2030:1-3, 2027:2, 2027-2030:1+ or 2027-2030:>=1"
_TARGET_RE = re.compile(
    r"^\s*(?P<y1>\d{4})(?:\s*-\s*(?P<y2>\d{4}))?\s*:\s*"
    r"(?:(?P<lo>\d+)\s*(?:-\s*(?P<hi>\d+)|(?P<plus>\+))?|>=\s*(?P<ge>\d+))\s*$"
)


@dataclass(frozen=True, slots=True)
class Target:
    first_year: int
    last_year: int
    low: int
    high: int | None  # None: no upper bound
    label: str = ""

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    def band(self) -> str:
        return f"{self.low}+" if self.high is None else f"{self.low}-{self.high}"

    def __str__(self) -> str:
        span = str(self.first_year) if self.first_year == self.last_year else f"{self.first_year}-{self.last_year}"
        return f"{span}:{self.band()}"

    def met_by(self, count: int) -> bool:
        return count >= self.low and (self.high is None or count <= self.high)


def parse_target(text: str, *, source: str = "--target") -> Target:
    match = _TARGET_RE.match(text or "")
    if not match:
        raise TargetError(f"cannot read target {text!r}", file=source, expected=TARGET_FORM)
    y1 = int(match["y1"])
    y2 = int(match["y2"] or y1)
    if match["ge"] is not None:
        low, high = int(match["ge"]), None
    else:
        low = int(match["lo"])
        high = None if match["plus"] else int(match["hi"] or low)
    if y2 < y1:
        raise TargetError(f"years run backwards in {text!r}", file=source, expected=TARGET_FORM)
    if not 1900 <= y1 <= 2200 or not 1900 <= y2 <= 2200:
        raise TargetError(f"implausible year in {text!r}", file=source, expected=TARGET_FORM)
    if high is not None and high < low:
        raise TargetError(f"count range runs backwards in {text!r}", file=source, expected=TARGET_FORM)
    return Target(y1, y2, low, high, text.strip())


def parse_years(text: str, *, source: str = "--years") -> list[int]:
    match = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*", text or "")
    if not match:
        raise TargetError(f"cannot read years {text!r}", file=source, expected="YEAR or FIRST-LAST, e.g. 2025-2031")
    first, last = int(match[1]), int(match[2] or match[1])
    if last < first or last - first > 60:
        raise TargetError(f"bad year range {text!r}", file=source, expected="FIRST-LAST with at most 60 years")
    return list(range(first, last + 1))
