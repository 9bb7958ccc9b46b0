"""Deals and funding events (the store's `deals` and `funding_events` tables, `pipecast.store.money`).

Reads for every reader, with filters, sorting and pages like the other lists; a deal or funding event is
found by its `key`. Writes append (never edit: a known key with other values is a 422, the same values again
add nothing, 200 `"added": false`), for admins and for an editor of an organisation the row is about (a
deal's licensor or licensee, a funding event's recipient, or the sponsor of the row's candidate). The audit
row is written in the write's own transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from pipecast.api.auditing import record_in
from pipecast.api.deps import ReaderDep, StateDep, WriterDep
from pipecast.api.errors import ApiError, not_found
from pipecast.api.schemas import SHORT, TEXT, Strict
from pipecast.api.security import Principal, owns_asset, owns_entity
from pipecast.domain import normalise_name
from pipecast.store import money
from pipecast.store.facts import parse_fact_date

router = APIRouter(tags=["deals and funding"])
MAX_LIMIT = 500
_R = TypeVar("_R", bound=money.DealRecord | money.FundingRecord)
Amount = Annotated[float | None, Field(default=None, ge=0, le=1e9, description="Millions of `currency`")]


class DealPublic(BaseModel):
    key: str
    licensor: str
    licensee: str
    currency: str
    date_text: str
    source_title: str
    source_url: str
    candidate: str
    asset: str
    date: dt.date | None
    upfront: float | None
    development_milestones: float | None
    sales_milestones: float | None
    headline: float | None
    royalties: str
    territory: str
    status: str
    terms: dict[str, Any] | None
    source_date: dt.date | None
    note: str


class FundingPublic(BaseModel):
    key: str
    kind: str
    recipient: str
    currency: str
    date_text: str
    source_title: str
    source_url: str
    candidate: str
    funder: str
    date: dt.date | None
    amount: float | None
    amount_text: str
    rate: float | None
    term_months: float | None
    collateral: str
    round: str
    programme: str
    projects: int | None
    source_date: dt.date | None
    note: str


class DealPage(BaseModel):
    items: list[DealPublic]
    total: int
    limit: int
    offset: int


class FundingPage(BaseModel):
    items: list[FundingPublic]
    total: int
    limit: int
    offset: int


class _SourcedCreate(Strict):
    key: str = Field(min_length=1, max_length=SHORT, pattern=r"^[^\s/\\]+$")
    currency: str = Field(default="", max_length=10)
    date_text: str = Field(min_length=1, max_length=SHORT, examples=["2025-06-04", "2025-06", "unknown"])
    source_title: str = Field(min_length=1, max_length=TEXT)
    source_url: str = Field(min_length=1, max_length=TEXT)
    candidate: str = Field(default="", max_length=SHORT, description="A candidate id in the store, or empty")
    source_date: dt.date | None = None
    note: str = Field(default="", max_length=TEXT)


class DealCreate(_SourcedCreate):
    """A licence as published (amounts in millions; leave out what the sources do not give)."""

    licensor: str = Field(min_length=1, max_length=500)
    licensee: str = Field(min_length=1, max_length=500)
    asset: str = Field(default="", max_length=TEXT)
    upfront: Amount = None
    development_milestones: Amount = None
    sales_milestones: Amount = None
    headline: Amount = None
    royalties: str = Field(default="", max_length=TEXT)
    territory: str = Field(default="", max_length=TEXT)
    status: str = Field(default="", max_length=TEXT)
    terms: dict[str, Any] | None = Field(default=None, description="The deal's structure (as in DEAL.yaml)")


class FundingCreate(_SourcedCreate):
    """A loan, grant, subsidy, reward, equity round, fund or agreed investment, as its source states it."""

    kind: Literal["loan", "grant", "subsidy", "reward", "equity", "fund", "investment"]
    recipient: str = Field(min_length=1, max_length=500)
    funder: str = Field(default="", max_length=500)
    amount: Amount = None
    amount_text: str = Field(default="", max_length=TEXT)
    rate: float | None = Field(default=None, gt=-0.5, lt=1, description="A loan's annual rate, e.g. 0.035")
    term_months: float | None = Field(default=None, ge=0, le=1200)
    collateral: str = Field(default="", max_length=TEXT)
    round: str = Field(default="", max_length=SHORT)
    programme: str = Field(default="", max_length=TEXT)
    projects: int | None = Field(default=None, ge=1)


class DealCreated(BaseModel):
    added: bool
    deal: DealPublic


class FundingCreated(BaseModel):
    added: bool
    funding: FundingPublic


# ------------------------------------------------------------------------------------------------ reading


def _page(records: Sequence[_R], sort: str, limit: int, offset: int) -> tuple[list[_R], int]:
    """Sorted on `sort` (`-field` descending), rows without a value last whatever the direction; one page."""
    field = sort.lstrip("-")

    def value(r: money.DealRecord | money.FundingRecord) -> Any:
        found = getattr(r, field)
        return found.casefold() if isinstance(found, str) else found

    present = [r for r in records if value(r) is not None]
    present.sort(key=lambda r: r.key)
    present.sort(key=value, reverse=sort.startswith("-"))  # stable: ties stay in key order
    missing = sorted((r for r in records if value(r) is None), key=lambda r: r.key)
    ordered = [*present, *missing]
    return ordered[offset: offset + limit], len(ordered)


def _folded_in(query: str | None, *texts: str) -> bool:
    if query is None or not normalise_name(query):
        return True
    folded = normalise_name(query)
    return any(folded in normalise_name(t) for t in texts if t)


def _deal_public(record: money.DealRecord) -> DealPublic:
    return DealPublic.model_validate(record.as_dict())


def _funding_public(record: money.FundingRecord) -> FundingPublic:
    return FundingPublic.model_validate(record.as_dict())


DealSort = Literal["date", "-date", "key", "-key", "headline", "-headline", "upfront", "-upfront"]
FundingSort = Literal["date", "-date", "key", "-key", "amount", "-amount", "kind", "-kind"]


@router.get("/deals", response_model=DealPage, summary="Licensing deals as published")
def list_deals(
    state: StateDep, who: ReaderDep,
    q: Annotated[str | None, Query(max_length=200, description="Text in the key, parties or asset")] = None,
    party: Annotated[str | None, Query(max_length=500, description="Text in the licensor or licensee")] = None,
    candidate: Annotated[str | None, Query(max_length=200)] = None,
    currency: Annotated[str | None, Query(max_length=10)] = None,
    as_of: Annotated[dt.date | None, Query(description="Only deals dated on or before (undated left out)")] = None,
    sort: DealSort = "-date",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> DealPage:
    found = [d for d in money.deals(state.store, as_of=as_of, candidate=candidate or None)
             if _folded_in(q, d.key, d.licensor, d.licensee, d.asset, d.candidate)
             and _folded_in(party, d.licensor, d.licensee)
             and (currency is None or d.currency.upper() == currency.upper())]
    page, total = _page(found, sort, limit, offset)
    return DealPage(items=[_deal_public(d) for d in page], total=total, limit=limit, offset=offset)


@router.get("/deals/{key}", response_model=DealPublic, summary="One deal, by its key")
def get_deal(state: StateDep, who: ReaderDep, key: str) -> DealPublic:
    found = next((d for d in money.deals(state.store) if d.key == key), None)
    if found is None:
        raise not_found("deal", key, "key")
    return _deal_public(found)


@router.get("/funding", response_model=FundingPage, summary="Loans, grants, subsidies, rewards, equity, funds")
def list_funding(
    state: StateDep, who: ReaderDep,
    kind: Literal["loan", "grant", "subsidy", "reward", "equity", "fund", "investment"] | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in the key, recipient, funder or "
                                                               "programme")] = None,
    recipient: Annotated[str | None, Query(max_length=500)] = None,
    candidate: Annotated[str | None, Query(max_length=200)] = None,
    as_of: Annotated[dt.date | None, Query(description="Only events dated on or before (undated left out)")] = None,
    sort: FundingSort = "-date",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FundingPage:
    found = [f for f in money.funding(state.store, as_of=as_of, kind=kind, candidate=candidate or None)
             if _folded_in(q, f.key, f.recipient, f.funder, f.programme) and _folded_in(recipient, f.recipient)]
    page, total = _page(found, sort, limit, offset)
    return FundingPage(items=[_funding_public(f) for f in page], total=total, limit=limit, offset=offset)


@router.get("/funding/{key}", response_model=FundingPublic, summary="One funding event, by its key")
def get_funding(state: StateDep, who: ReaderDep, key: str) -> FundingPublic:
    found = next((f for f in money.funding(state.store) if f.key == key), None)
    if found is None:
        raise not_found("funding event", key, "key")
    return _funding_public(found)


# ------------------------------------------------------------------------------------------------ writing


def _may_write(state: StateDep, who: Principal, parties: Sequence[str], candidate: str) -> bool:
    """An admin; an editor of one of the parties (id, name or alias), or of the sponsor of `candidate`."""
    orgs = state.views.organisations()
    if any(owns_entity(who, p, orgs) for p in parties if p):
        return True
    if candidate:
        asset = next((a for a in state.views.assets(None) if a.id == candidate), None)
        return asset is not None and owns_asset(who, asset, orgs)
    return False


def _date(text: str) -> dt.date | None:
    try:
        return parse_fact_date(text)[0]
    except ValueError:
        raise ApiError(422, "invalid", f"{text!r} is not a date", "date_text") from None


def _append(request: Request, state: StateDep, who: Principal, record: _R, action: str,
            model: Callable[..., Any], source: str) -> bool:
    """Validate and append one record with its audit row in one transaction; whether it was new."""
    if record.candidate and all(a.id != record.candidate for a in state.views.assets(None)):
        raise ApiError(422, "invalid", f"unknown candidate {record.candidate!r}", "candidate")
    money.validate(record)
    what = "deal" if isinstance(record, money.DealRecord) else "funding"

    def work(session: Session) -> bool:
        added = money._add(session, model, [record], what) > 0
        record_in(session, request, who, action=action, resource=record.key, status=201 if added else 200,
                  changes={what: record.as_dict(), "added": added}, source=source,
                  message="" if added else f"{what} already recorded")
        return added

    added = state.store._write(work)
    request.state.audited = True
    state.store.changed()  # after the commit: the alert scan (a failure is logged, the record stands)
    return added


def _refused(who: Principal, what: str) -> ApiError:
    return ApiError(403, "forbidden", f"{who.name} may not record this {what}: an editor writes only for its own "
                    "organisation (a party to it, or the sponsor of its candidate)")


@router.post("/deals", response_model=DealCreated, status_code=201, summary="Append a deal (never edits one)")
def create_deal(request: Request, response: Response, state: StateDep, who: WriterDep,
                deal: DealCreate) -> DealCreated:
    if not _may_write(state, who, (deal.licensor, deal.licensee), deal.candidate):
        raise _refused(who, "deal")
    values = deal.model_dump(exclude={"terms"})
    terms = "" if deal.terms is None else json.dumps(deal.terms, ensure_ascii=False, sort_keys=True)
    record = money.DealRecord(**values, terms=terms, date=_date(deal.date_text))
    added = _append(request, state, who, record, "deals.post", money.DealRow,
                    " ".join((deal.source_title, deal.source_url)))
    response.status_code = 201 if added else 200
    return DealCreated(added=added, deal=_deal_public(record))


@router.post("/funding", response_model=FundingCreated, status_code=201,
             summary="Append a funding event (never edits one)")
def create_funding(request: Request, response: Response, state: StateDep, who: WriterDep,
                   funding: FundingCreate) -> FundingCreated:
    if not _may_write(state, who, (funding.recipient,), funding.candidate):
        raise _refused(who, "funding event")
    record = money.FundingRecord(**funding.model_dump(), date=_date(funding.date_text))
    added = _append(request, state, who, record, "funding.post", money.FundingEventRow,
                    " ".join((funding.source_title, funding.source_url)))
    response.status_code = 201 if added else 200
    return FundingCreated(added=added, funding=_funding_public(record))
