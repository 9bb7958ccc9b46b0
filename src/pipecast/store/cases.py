"""Support cases in the store (migration 0007): the case as it stands, and its append-only, hash-chained events.

`support_cases` holds each case's current state (status, dates, outcome); `case_events` holds every change
(opened, moved, with who and when), append-only (the ORM refuses UPDATE and DELETE; migration 0007 adds
triggers that do the same) and chained: each event stores the hash of the event before it (over all cases)
and `sha256(prev_hash, "case_events", content)`. `verify_cases` recomputes the chain and replays the events
against each case's stored state; a changed or removed event, or a case row edited behind the store's back,
shows as a problem naming the case.

A case names a candidate (an id, alias or name the store resolves) or a company (an organisation), and one
or more departments (organisations of kind `department`). An unknown one is a one-line InputError and
nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Date, DateTime, Float, ForeignKey, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pipecast.cases import Case, CaseEvent, check_case, event_hash, moved
from pipecast.domain import Organisation, OrgKind, normalise_name
from pipecast.errors import AppendOnlyError, InputError
from pipecast.store import views
from pipecast.store.models import Base, utcnow

if TYPE_CHECKING:
    from pipecast.store.store import Store

STATUS_CHECK = "status IN ('open', 'in_progress', 'blocked', 'resolved')"


class SupportCaseRow(Base):
    """A support case as it stands now; its history is in `case_events`."""

    __tablename__ = "support_cases"
    __table_args__ = (CheckConstraint(STATUS_CHECK, name="status_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(30))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str] = mapped_column(String(200), index=True)
    departments: Mapped[str] = mapped_column(Text)  # "|"-joined department ids
    status: Mapped[str] = mapped_column(String(20), default="open")
    opened_on: Mapped[dt.date] = mapped_column(Date)
    status_since: Mapped[dt.date] = mapped_column(Date)
    target_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    resolved_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    outcome: Mapped[str] = mapped_column(Text, default="")
    money_rmb_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    days_moved: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CaseEventRow(Base):
    """One change of a case: opened, moved. Append-only and hash-chained."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_cases.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    on: Mapped[dt.date] = mapped_column(Date)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    changes: Mapped[str] = mapped_column(Text)  # JSON
    note: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _refuse(verb: str) -> Any:
    def listener(mapper: Any, connection: Any, target: Any) -> None:
        raise AppendOnlyError(f"{target.__tablename__} is append-only: cannot {verb} row {target.id}")

    return listener


event.listen(CaseEventRow, "before_update", _refuse("update"))
event.listen(CaseEventRow, "before_delete", _refuse("delete"))


# ------------------------------------------------------------------------------------------------ conversion


def _case(row: SupportCaseRow) -> Case:
    return Case(id=row.id, title=row.title, type=row.type, subject_kind=row.subject_kind, subject_id=row.subject_id,
                departments=tuple(d for d in row.departments.split("|") if d), opened_on=row.opened_on,
                status=row.status, target_date=row.target_date, resolved_on=row.resolved_on, outcome=row.outcome,
                money_rmb_m=row.money_rmb_m, days_moved=row.days_moved, status_since=row.status_since)


def _event(row: CaseEventRow) -> CaseEvent:
    return CaseEvent(case_id=row.case_id, seq=row.seq, on=row.on, action=row.action, actor=row.actor,
                     changes=json.loads(row.changes), note=row.note, prev_hash=row.prev_hash, hash=row.hash)


def _append_event(session: Session, case_id: int, on: dt.date, action: str, actor: str, changes: dict[str, Any],
                  note: str) -> CaseEvent:
    last = session.scalars(select(CaseEventRow).order_by(CaseEventRow.id.desc()).limit(1)).first()
    seq = 1 + (session.scalars(select(CaseEventRow.seq).where(CaseEventRow.case_id == case_id)
                               .order_by(CaseEventRow.seq.desc()).limit(1)).first() or 0)
    draft = CaseEvent(case_id, seq, on, action, actor, changes, note, last.hash if last else "")
    done = replace(draft, hash=event_hash(draft.prev_hash, draft.content()))
    session.add(CaseEventRow(case_id=case_id, seq=seq, on=on, action=action, actor=actor,
                             changes=json.dumps(changes, sort_keys=True, ensure_ascii=False), note=note,
                             prev_hash=done.prev_hash, hash=done.hash))
    return done


# ------------------------------------------------------------------------------------------------ checks


def departments(orgs: Sequence[Organisation]) -> list[Organisation]:
    return [o for o in orgs if o.kind == OrgKind.DEPARTMENT]


def _check_departments(wanted: Sequence[str], orgs: Sequence[Organisation]) -> tuple[str, ...]:
    known = {o.id for o in departments(orgs)}
    for dept in wanted:
        if dept not in known:
            shown = ", ".join(sorted(known)[:6]) + (" ..." if len(known) > 6 else "")
            raise InputError(f"unknown department {dept!r}", field="--department",
                             expected="an organisation of kind department "
                                      f"({shown or 'none yet: add one with `pipecast cases add-department`'})")
    return tuple(dict.fromkeys(wanted))


def _subject(session: Session, kind: str, given: str, orgs: Sequence[Organisation]) -> str:
    if kind == "candidate":
        return views.resolve_id(session, given)
    folded = normalise_name(given)
    for org in orgs:
        if org.kind != OrgKind.DEPARTMENT and folded in {normalise_name(n) for n in (org.id, org.name, *org.aliases)}:
            return org.id
    raise InputError(f"unknown company {given!r}", field="--company",
                     expected="an organisation id from `pipecast orgs`")


# ------------------------------------------------------------------------------------------------ writing


Also = Callable[[Session, Case], object] | None


def add_case(store: Store, case: Case, *, actor: str, note: str = "", dry_run: bool = False, also: Also = None) -> Case:
    """Open a case (its id is assigned here); InputError, nothing written, for an unknown subject or department.

    `also(session, case)` runs last in the same transaction (the API writes its audit row there)."""
    check_case(case)

    def work(session: Session) -> Case:
        orgs = views.organisations(session)
        depts = _check_departments(case.departments, orgs)
        subject = _subject(session, case.subject_kind, case.subject_id, orgs)
        row = SupportCaseRow(title=case.title.strip(), type=case.type, subject_kind=case.subject_kind,
                             subject_id=subject, departments="|".join(depts), status="open", opened_on=case.opened_on,
                             status_since=case.opened_on, target_date=case.target_date, outcome=case.outcome,
                             money_rmb_m=case.money_rmb_m, days_moved=case.days_moved)
        session.add(row)
        session.flush()
        opened = _case(row)
        changes = {k: v for k, v in opened.as_dict().items() if k not in ("id", "resolved_on", "status_since")}
        _append_event(session, row.id, case.opened_on, "open", actor, changes, note)
        if also is not None:
            also(session, opened)
        return opened

    return store._write(work, dry_run=dry_run)


def _row(session: Session, case_id: int) -> SupportCaseRow:
    row = session.get(SupportCaseRow, case_id)
    if row is None:
        raise InputError(f"unknown case {case_id}", field="CASE", expected="a case id from `pipecast cases list`")
    return row


def move_case(store: Store, case_id: int, status: str, on: dt.date, *, actor: str, note: str = "",
              outcome: str = "", money_rmb_m: float | None = None, days_moved: float | None = None,
              dry_run: bool = False, also: Also = None, check: Callable[[Case], object] | None = None) -> Case:
    """Move a case along the workflow; InputError (nothing written) for a step that skips it.

    `check(case)` runs first (the API checks rights there); `also(session, case)` runs last."""
    def work(session: Session) -> Case:
        row = _row(session, case_id)
        if check is not None:
            check(_case(row))
        updated, changes = moved(_case(row), status, on, outcome=outcome, money_rmb_m=money_rmb_m,
                                 days_moved=days_moved)
        row.status, row.status_since = updated.status, on
        row.resolved_on, row.outcome = updated.resolved_on, updated.outcome
        row.money_rmb_m, row.days_moved = updated.money_rmb_m, updated.days_moved
        _append_event(session, case_id, on, "move", actor, changes, note)
        if also is not None:
            also(session, updated)
        return updated

    return store._changing(store._write(work, dry_run=dry_run), dry_run)


# ------------------------------------------------------------------------------------------------ reading


def list_cases(store: Store, department: str | None = None, subjects: Sequence[str] | None = None) -> list[Case]:
    """Every case (or those of one department, or about the given subject ids), by id."""
    def work(session: Session) -> list[Case]:
        found = [_case(r) for r in session.scalars(select(SupportCaseRow).order_by(SupportCaseRow.id))]
        if department is not None:
            found = [c for c in found if department in c.departments]
        if subjects is not None:
            found = [c for c in found if c.subject_id in subjects]
        return found

    return store._read(work)


def get_case(store: Store, case_id: int) -> tuple[Case, list[CaseEvent]]:
    def work(session: Session) -> tuple[Case, list[CaseEvent]]:
        row = _row(session, case_id)
        events = session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.id))
        return _case(row), [_event(e) for e in events]

    return store._read(work)


def _replay(events: Sequence[CaseEvent]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for ev in events:
        for key, value in ev.changes.items():
            state[key] = value[1] if key == "status" and isinstance(value, list) else value
    return state


def verify_cases(store: Store) -> list[str]:
    """Problems found: a broken link of the events' hash chain, or a case whose row differs from its events."""
    def work(session: Session) -> list[str]:
        problems: list[str] = []
        prev = ""
        by_case: dict[int, list[CaseEvent]] = {}
        for row in session.scalars(select(CaseEventRow).order_by(CaseEventRow.id)):
            ev = _event(row)
            if ev.prev_hash != prev or event_hash(prev, ev.content()) != ev.hash:
                problems.append(f"case {ev.case_id}: event {ev.seq} does not match the hash chain (changed, or an "
                                "event before it was removed)")
                return problems
            prev = ev.hash
            by_case.setdefault(ev.case_id, []).append(ev)
        for case_row in session.scalars(select(SupportCaseRow).order_by(SupportCaseRow.id)):
            state = _replay(by_case.get(case_row.id, []))
            now = {k: v for k, v in _case(case_row).as_dict().items() if k in state}
            if not state or now != state:
                diff = sorted(k for k in state if now.get(k) != state[k]) or ["no events"]
                problems.append(f"case {case_row.id}: stored state differs from its events ({', '.join(diff)})")
        return problems

    return store._read(work)
