"""Support cases of a plan's task force (pure: no database, files or terminal).

A case is a request for help tied to a candidate or a company, owned by one or more responsible
departments; its status follows a workflow (`workflow`), and departments are judged by the share of cases
closed in time and the median time to close (`stats`).
"""

from __future__ import annotations

from pipecast.cases.stats import DepartmentStats, department_stats, ordered, overdue_days
from pipecast.cases.workflow import (
    CASE_TYPES,
    STATUSES,
    SUBJECT_KINDS,
    TRANSITIONS,
    Case,
    CaseEvent,
    check_case,
    check_move,
    event_hash,
    moved,
)

__all__ = [
    "CASE_TYPES", "STATUSES", "SUBJECT_KINDS", "TRANSITIONS", "Case", "CaseEvent", "DepartmentStats", "check_case",
    "check_move", "department_stats", "event_hash", "moved", "ordered", "overdue_days",
]
