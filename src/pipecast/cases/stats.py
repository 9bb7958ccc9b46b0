"""Department statistics: overdue cases first, share closed in time, median time to close.

* **Overdue** on `today`: not resolved and its target date is before `today`.
* **Closed in time**: resolved on or before its target date. The share is taken over the cases whose
  timeliness is already known: resolved cases with a target date, and unresolved cases already overdue.
  Cases with no target date, and open cases not yet due, do not count either way.
* **Time to close**: days from opening to resolution; the median over the department's resolved cases.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from pipecast.cases.workflow import Case


def overdue_days(case: Case, today: dt.date) -> int:
    """Days past the target date (0 when resolved, not due yet or without a target)."""
    if case.status == "resolved" or case.target_date is None or case.target_date >= today:
        return 0
    return (today - case.target_date).days


def ordered(cases: Iterable[Case], today: dt.date) -> list[Case]:
    """Overdue first (most overdue first), then open cases by target date (none last), then resolved ones."""
    def key(c: Case) -> tuple[int, int, dt.date, int]:
        late = overdue_days(c, today)
        if late:
            return (0, -late, dt.date.min, c.id)
        if c.status != "resolved":
            return (1, 0, c.target_date or dt.date.max, c.id)
        return (2, 0, c.resolved_on or dt.date.min, c.id)

    return sorted(cases, key=key)


@dataclass(frozen=True, slots=True)
class DepartmentStats:
    department: str
    cases: int
    unresolved: int
    overdue: int
    resolved: int
    judged: int  # cases whose timeliness is known (the share's denominator)
    closed_in_time: int
    median_days_to_close: float | None

    @property
    def share_in_time(self) -> float | None:
        return self.closed_in_time / self.judged if self.judged else None

    def as_dict(self) -> dict[str, object]:
        return {"department": self.department, "cases": self.cases, "unresolved": self.unresolved,
                "overdue": self.overdue, "resolved": self.resolved, "judged": self.judged,
                "closed_in_time": self.closed_in_time, "share_in_time": self.share_in_time,
                "median_days_to_close": self.median_days_to_close}


def _in_time(case: Case) -> bool:
    return (case.resolved_on is not None and case.target_date is not None
            and case.resolved_on <= case.target_date)


def department_stats(cases: Iterable[Case], today: dt.date, departments: Iterable[str] = ()) -> list[DepartmentStats]:
    """One row per department (those given, and every one a case names), in id order."""
    by_dept: dict[str, list[Case]] = {d: [] for d in departments}
    for case in cases:
        for dept in case.departments:
            by_dept.setdefault(dept, []).append(case)
    out = []
    for dept in sorted(by_dept):
        mine = by_dept[dept]
        resolved = [c for c in mine if c.status == "resolved"]
        overdue = [c for c in mine if overdue_days(c, today)]
        judged = [c for c in resolved if c.target_date is not None] + overdue
        days = [(c.resolved_on - c.opened_on).days for c in resolved if c.resolved_on is not None]
        out.append(DepartmentStats(
            department=dept, cases=len(mine), unresolved=len(mine) - len(resolved), overdue=len(overdue),
            resolved=len(resolved), judged=len(judged), closed_in_time=sum(_in_time(c) for c in judged),
            median_days_to_close=float(statistics.median(days)) if days else None,
        ))
    return out
