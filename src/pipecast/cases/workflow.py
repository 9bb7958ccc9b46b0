"""The case workflow: open -> in_progress -> (blocked <-> in_progress) -> resolved, and the hash of an event.

A change that skips the workflow (open -> resolved, blocked -> resolved, anything out of resolved) is an
`InputError` naming both statuses and what may follow. Every change is a `CaseEvent`; events of one case
form a hash chain (`event_hash` of the previous event's hash and this event's canonical content).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, replace
from typing import Any

from pipecast.errors import InputError

CASE_TYPES = ("review_approval", "trial_alignment", "market_access", "financing", "talent", "other")
SUBJECT_KINDS = ("candidate", "company")
STATUSES = ("open", "in_progress", "blocked", "resolved")
#: status -> the statuses it may move to.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("in_progress",),
    "in_progress": ("blocked", "resolved"),
    "blocked": ("in_progress",),
    "resolved": (),
}


@dataclass(frozen=True, slots=True)
class Case:
    """A support case as it stands now (its history is its events)."""

    id: int
    title: str
    type: str
    subject_kind: str
    subject_id: str
    departments: tuple[str, ...]
    opened_on: dt.date
    status: str = "open"
    target_date: dt.date | None = None
    resolved_on: dt.date | None = None
    outcome: str = ""
    money_rmb_m: float | None = None  # millions of RMB the case moved (a loan arranged, a grant)
    days_moved: float | None = None  # days the case saved (a review brought forward)
    status_since: dt.date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "type": self.type, "subject_kind": self.subject_kind,
            "subject_id": self.subject_id, "departments": list(self.departments), "status": self.status,
            "opened_on": self.opened_on.isoformat(), "status_since": _iso(self.status_since),
            "target_date": _iso(self.target_date), "resolved_on": _iso(self.resolved_on), "outcome": self.outcome,
            "money_rmb_m": self.money_rmb_m, "days_moved": self.days_moved,
        }


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One change of a case: `action` open, move or edit; `changes` the fields it set (JSON-able)."""

    case_id: int
    seq: int
    on: dt.date
    action: str
    actor: str
    changes: dict[str, Any]
    note: str = ""
    prev_hash: str = ""
    hash: str = ""

    def content(self) -> str:
        body = {"case_id": self.case_id, "seq": self.seq, "on": self.on.isoformat(), "action": self.action,
                "actor": self.actor, "changes": self.changes, "note": self.note}
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    def as_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "seq": self.seq, "on": self.on.isoformat(), "action": self.action,
                "actor": self.actor, "changes": self.changes, "note": self.note, "prev_hash": self.prev_hash,
                "hash": self.hash}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def event_hash(prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{prev_hash}\ncase_events\n{content}".encode()).hexdigest()


def check_move(current: str, new: str) -> None:
    """InputError unless `current -> new` is a step of the workflow."""
    if new not in STATUSES:
        raise InputError(f"unknown status {new!r}", field="STATUS", expected="one of " + ", ".join(STATUSES))
    allowed = TRANSITIONS[current]
    if new not in allowed:
        after = ", ".join(allowed) if allowed else "nothing (a resolved case is closed)"
        raise InputError(f"a case cannot move from {current} to {new} (that skips the workflow)", field="STATUS",
                         expected=f"after {current}: {after}")


def _amount(name: str, value: float | None) -> None:
    if value is not None and (not math.isfinite(value) or value < 0):
        raise InputError(f"{value:g} is not 0 or more", field=name, expected="a number of 0 or more, or nothing")


def check_case(case: Case) -> None:
    """InputError for a bad type, subject kind, title, department list, dates or amounts."""
    if case.type not in CASE_TYPES:
        raise InputError(f"unknown case type {case.type!r}", field="--type", expected="one of " + ", ".join(CASE_TYPES))
    if case.subject_kind not in SUBJECT_KINDS:
        raise InputError(f"unknown subject kind {case.subject_kind!r}", field="subject_kind",
                         expected="candidate or company")
    if not case.title.strip():
        raise InputError("the title is empty", field="--title", expected="a short description of the request")
    if not case.departments or any(not d.strip() for d in case.departments):
        raise InputError("no responsible department", field="--department",
                         expected="one or more department ids (organisations of kind department)")
    if case.target_date is not None and case.target_date < case.opened_on:
        raise InputError(f"target date {case.target_date} is before the case was opened ({case.opened_on})",
                         field="--target-date", expected=f"{case.opened_on} or later")
    _amount("--money", case.money_rmb_m)
    _amount("--days", case.days_moved)


def moved(case: Case, new: str, on: dt.date, *, outcome: str = "", money_rmb_m: float | None = None,
          days_moved: float | None = None) -> tuple[Case, dict[str, Any]]:
    """The case after moving to `new` on `on`, and the fields that changed (for its event)."""
    check_move(case.status, new)
    since = case.status_since or case.opened_on
    if on < since:
        raise InputError(f"{on} is before the case's last change ({since})", field="--on",
                         expected=f"{since} or later")
    _amount("--money", money_rmb_m)
    _amount("--days", days_moved)
    changes: dict[str, Any] = {"status": [case.status, new]}
    updated = replace(case, status=new, status_since=on)
    if new == "resolved":
        updated = replace(updated, resolved_on=on, outcome=outcome or case.outcome,
                          money_rmb_m=case.money_rmb_m if money_rmb_m is None else money_rmb_m,
                          days_moved=case.days_moved if days_moved is None else days_moved)
        changes |= {"resolved_on": on.isoformat(), "outcome": updated.outcome, "money_rmb_m": updated.money_rmb_m,
                    "days_moved": updated.days_moved}
    elif outcome or money_rmb_m is not None or days_moved is not None:
        raise InputError("an outcome, money or days are recorded when the case is resolved", field="--outcome",
                         expected="give them with `move ID resolved`")
    return updated, changes
