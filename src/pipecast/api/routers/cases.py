"""Support cases (`/api/v1/cases`) and alerts (`/api/v1/alerts`).

Rights: an admin sees and edits every case. A user with an organisation sees the cases of its department
(when the organisation is a department) and the cases about itself (a company: cases naming it or one of the
candidates it sponsors). An editor of a department opens cases for its department and moves the cases its
department is responsible for; a company's editor reads its cases but does not move them. Users without an
organisation (viewers) see no case. `GET /alerts` gives the caller's own digests.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from pipecast.api.auditing import record_in
from pipecast.api.deps import AdminDep, ReaderDep, StateDep, WriterDep
from pipecast.api.errors import ApiError
from pipecast.api.security import Principal, owns_asset
from pipecast.cases import Case, CaseEvent, ordered, overdue_days
from pipecast.domain import OrgKind

router = APIRouter(tags=["cases"])
CaseId = Annotated[int, Path(ge=1, le=2**62, description="The case id.")]
CaseType = Literal["review_approval", "trial_alignment", "market_access", "financing", "talent", "other"]


class CaseCreate(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    type: CaseType
    candidate: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    departments: list[str] = Field(min_length=1, max_length=21)
    target_date: dt.date | None = None
    opened_on: dt.date | None = None
    note: str = Field(default="", max_length=2000)


class CaseMove(BaseModel):
    status: Literal["open", "in_progress", "blocked", "resolved"]
    on: dt.date | None = None
    note: str = Field(default="", max_length=2000)
    outcome: str = Field(default="", max_length=2000)
    money_rmb_m: float | None = Field(default=None, ge=0)
    days_moved: float | None = Field(default=None, ge=0)


class CasePublic(BaseModel):
    id: int
    title: str
    type: str
    subject_kind: str
    subject_id: str
    departments: list[str]
    status: str
    opened_on: dt.date
    status_since: dt.date | None
    target_date: dt.date | None
    resolved_on: dt.date | None
    outcome: str
    money_rmb_m: float | None
    days_moved: float | None
    overdue_days: int = 0
    events: list[dict[str, Any]] | None = None


class CasePage(BaseModel):
    items: list[CasePublic]
    total: int


class DigestPublic(BaseModel):
    id: int
    user: str
    language: str
    subject: str
    body: str
    created_at: dt.datetime
    deliveries: list[dict[str, Any]]


class DigestPage(BaseModel):
    items: list[DigestPublic]
    total: int


def _public(case: Case, today: dt.date, events: list[CaseEvent] | None = None) -> CasePublic:
    data = case.as_dict()
    return CasePublic(**data, overdue_days=overdue_days(case, today),
                      events=None if events is None else [e.as_dict() for e in events])


def may_see(who: Principal, case: Case, state: StateDep) -> bool:
    """Whether `who` may read the case (see the module's rules)."""
    if who.is_admin:
        return True
    if not who.org_id:
        return False
    if who.org_id in case.departments:
        return True
    if case.subject_kind == "company":
        return case.subject_id == who.org_id
    asset = next((a for a in state.views.assets(None) if a.id == case.subject_id), None)
    editor = Principal(who.name, "editor", who.org_id)
    return asset is not None and owns_asset(editor, asset, state.views.organisations())


def may_edit(who: Principal, case: Case) -> bool:
    return who.is_admin or (who.role == "editor" and bool(who.org_id) and who.org_id in case.departments)


def _today() -> dt.date:
    from pipecast import clock

    return clock.today()


@router.get("/cases", response_model=CasePage, summary="Support cases the caller may see, overdue first")
def list_cases(state: StateDep, who: ReaderDep,
               department: Annotated[str | None, Query(max_length=200)] = None,
               status: Literal["open", "in_progress", "blocked", "resolved"] | None = None) -> CasePage:
    from pipecast.store.cases import list_cases as stored

    today = _today()
    found = [c for c in stored(state.store, department) if may_see(who, c, state)]
    if status is not None:
        found = [c for c in found if c.status == status]
    items = [_public(c, today) for c in ordered(found, today)]
    return CasePage(items=items, total=len(items))


@router.get("/cases/{case_id}", response_model=CasePublic, summary="One case with its events")
def get_case(state: StateDep, who: ReaderDep, case_id: CaseId) -> CasePublic:
    from pipecast.errors import InputError
    from pipecast.store.cases import get_case as stored

    try:
        case, events = stored(state.store, case_id)
    except InputError:
        raise ApiError(404, "not_found", f"no case {case_id}", "case_id") from None
    if not may_see(who, case, state):
        raise ApiError(404, "not_found", f"no case {case_id}", "case_id")
    return _public(case, _today(), events)


def _audit(request: Request, who: Principal, action: str, status: int) -> Any:
    def hook(session: Session, case: Case) -> None:
        record_in(session, request, who, action=action, resource=f"case:{case.id}", status=status,
                  changes={"case": case.as_dict()})

    return hook


@router.post("/cases", response_model=CasePublic, status_code=201, summary="Open a case (a department's editor)")
def create_case(request: Request, state: StateDep, who: WriterDep, body: CaseCreate) -> CasePublic:
    from pipecast.store.cases import add_case

    if (body.candidate is None) == (body.company is None):
        raise ApiError(422, "invalid", "give exactly one of candidate and company", "candidate")
    if not who.is_admin:
        org = next((o for o in state.store.organisations() if o.id == who.org_id), None)
        if org is None or org.kind != OrgKind.DEPARTMENT or who.org_id not in body.departments:
            raise ApiError(403, "forbidden", f"{who.name} may not open this case: a department's editor opens "
                           "cases its own department is responsible for", "departments")
    kind, subject = ("candidate", body.candidate) if body.candidate is not None else ("company", body.company or "")
    today = _today()
    draft = Case(0, body.title, body.type, kind, subject, tuple(body.departments), body.opened_on or today,
                 target_date=body.target_date)
    case = add_case(state.store, draft, actor=who.name, note=body.note, also=_audit(request, who, "cases.post", 201))
    request.state.audited = True
    return _public(case, today)


@router.post("/cases/{case_id}/moves", response_model=CasePublic, summary="Move a case along its workflow")
def move_case(request: Request, state: StateDep, who: WriterDep, case_id: CaseId, body: CaseMove) -> CasePublic:
    from pipecast.store.cases import move_case as stored_move

    def check(case: Case) -> None:
        if not may_edit(who, case):
            raise ApiError(403, "forbidden", f"{who.name} may not change case {case_id}: only the editors of its "
                           "departments may", "case_id")

    today = _today()
    case = stored_move(state.store, case_id, body.status, body.on or today, actor=who.name, note=body.note,
                       outcome=body.outcome, money_rmb_m=body.money_rmb_m, days_moved=body.days_moved, check=check,
                       also=_audit(request, who, "cases.move", 200))
    request.state.audited = True
    return _public(case, today)


@router.get("/alerts", response_model=DigestPage, summary="The caller's alert digests, newest first", tags=["alerts"])
def list_alerts(state: StateDep, who: ReaderDep,
                limit: Annotated[int, Query(ge=1, le=500)] = 50) -> DigestPage:
    from pipecast.store.alerts import digests

    if who.is_anonymous:
        return DigestPage(items=[], total=0)
    found = digests(state.store, who.name)
    items = [DigestPublic(**d.as_dict()) for d in found[:limit]]
    return DigestPage(items=items, total=len(found))


class WatchBody(BaseModel):
    kind: Literal["candidate", "company", "region", "target"]
    target: str = Field(min_length=1, max_length=200)


class WatchPage(BaseModel):
    items: list[WatchBody]


def _signed_in(who: Principal) -> None:
    if who.is_anonymous:
        raise ApiError(401, "unauthorized", "log in to have a watch list", "Authorization")


@router.get("/alerts/watches", response_model=WatchPage, summary="The caller's watch list", tags=["alerts"])
def list_watches(state: StateDep, who: ReaderDep) -> WatchPage:
    from pipecast.store.alerts import watches

    _signed_in(who)
    return WatchPage(items=[WatchBody(kind=w.kind, target=w.target) for w in watches(state.store, who.name)])  # type: ignore[arg-type]


@router.post("/alerts/watches", response_model=WatchPage, status_code=201, summary="Watch something",
             tags=["alerts"])
def add_watch(state: StateDep, who: ReaderDep, body: WatchBody) -> WatchPage:
    from pipecast.alerting import ensure_baseline
    from pipecast.alerts import Watch
    from pipecast.store.alerts import add_watch as stored_add

    _signed_in(who)
    stored_add(state.store, Watch(who.name, body.kind, body.target.strip()))
    ensure_baseline(state.store)
    return list_watches(state, who)


@router.post("/alerts/scan", summary="Find what changed since the last scan; write watchers' digests (admin)",
             tags=["alerts"])
def scan_now(state: StateDep, who: AdminDep, targets: bool = True) -> dict[str, int]:
    from pipecast.alerting import scan_registry

    changes, made = scan_registry(state.store, _today(), targets=targets)
    return {"changes": changes, "digests": made}
