"""What the registry counts as of a date (pure): approvals per year, approvals in total, candidates in clinic.

Every count uses each candidate as the data knew it on that date (`Asset.as_of`: no look-ahead), and a
cohort counts as its number of candidates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pipecast.domain import Asset, Phase

#: Stages counted as "in clinical trials": the city's own count includes filed candidates.
CLINIC_PHASES = frozenset({Phase.PHASE1, Phase.PHASE2, Phase.PHASE3, Phase.FILED})


def _views(assets: Sequence[Asset], when: dt.date) -> list[Asset]:
    return [v for v in (a.as_of(when) for a in assets) if v is not None]


def approvals_in_year(assets: Sequence[Asset], year: int, as_of: dt.date) -> int:
    """Candidates approved in `year`, as known on `as_of` (approvals after `as_of` are not yet known)."""
    total = 0
    for view in _views(assets, as_of):
        approved = view.approval_date
        if approved is not None and approved.year == year and approved <= as_of:
            total += view.count
    return total


def approvals_total(assets: Sequence[Asset], when: dt.date, counted_from: dt.date | None = None) -> int:
    """Candidates approved on or before `when` (and on or after `counted_from`), as known on `when`."""
    total = 0
    for view in _views(assets, when):
        approved = view.approval_date
        if approved is not None and approved <= when and (counted_from is None or approved >= counted_from):
            total += view.count
    return total


def in_clinic(assets: Sequence[Asset], when: dt.date) -> int:
    """Candidates in phase 1, 2, 3 or filed on `when`."""
    return sum(v.count for v in _views(assets, when) if v.phase in CLINIC_PHASES)


def year_ends(first_year: int, as_of: dt.date) -> list[dt.date]:
    """31 December of each year from `first_year` before the as-of year, then the as-of date itself."""
    dates = [dt.date(y, 12, 31) for y in range(first_year, as_of.year) if dt.date(y, 12, 31) < as_of]
    return [*dates, as_of]
