"""Candidates: search (names and aliases in any script), one candidate with its sourced events, and appending
an event (201; history is never edited in place)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from pipecast.api.auditing import audit_hook
from pipecast.api.deps import ReaderDep, StateDep, WriterDep
from pipecast.api.errors import ApiError, not_found
from pipecast.api.schemas import CandidateDetail, CandidatePage, CandidatePublic, EventCreate, EventCreated, EventPublic
from pipecast.api.security import owns_asset
from pipecast.domain import Asset, Phase, PhaseEvent, Source, normalise_name, parse_phase
from pipecast.errors import InputError, UnknownPhaseError
from pipecast.store import WriteResult

router = APIRouter(prefix="/candidates", tags=["candidates"])

SORTS = ("id", "name", "phase", "phase_start", "sponsor")
SortParam = Literal["id", "-id", "name", "-name", "phase", "-phase", "phase_start", "-phase_start", "sponsor",
                    "-sponsor"]
MAX_LIMIT = 500


def candidate_public(asset: Asset) -> CandidatePublic:
    return CandidatePublic(id=asset.id, name=asset.name, aliases=list(asset.aliases), sponsor=asset.sponsor,
                           phase=asset.phase.value, phase_start=asset.phase_start, modality=asset.modality,
                           therapeutic_area=asset.therapeutic_area, count=asset.count)


def event_public(event: PhaseEvent) -> EventPublic:
    source = None
    if event.source is not None:
        source = {"title": event.source.title, "url": event.source.url, "date": event.source.date}
    return EventPublic.model_validate({"phase": event.phase.value, "date": event.date, "indication": event.indication,
                                       "recorded": event.recorded, "source": source})


def matches(asset: Asset, folded_query: str) -> bool:
    """Whether the folded query occurs in the candidate's id, name or any alias (folded the same way)."""
    return any(folded_query in normalise_name(n) for n in (asset.id, asset.name, *asset.aliases))


def _phase(text: str | None, field: str) -> Phase | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_phase(text)
    except UnknownPhaseError:
        raise ApiError(422, "invalid", f"unknown phase {text!r}; expected one of "
                       + ", ".join(p.value for p in Phase), field) from None


def _sort_key(field: str):  # type: ignore[no-untyped-def]
    if field == "phase":
        return lambda a: (a.phase.order, a.id)
    if field == "phase_start":
        return lambda a: (a.phase_start, a.id)
    return lambda a: (str(getattr(a, field)).casefold(), a.id)


@router.get("", response_model=CandidatePage, summary="Search candidates")
def list_candidates(
    state: StateDep,
    who: ReaderDep,
    q: Annotated[str | None, Query(max_length=200, description="Text in a name or alias, any script")] = None,
    phase: Annotated[str | None, Query(max_length=50)] = None,
    sponsor: Annotated[str | None, Query(max_length=200)] = None,
    as_of: dt.date | None = None,
    sort: SortParam = "id",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CandidatePage:
    assets = state.views.assets(as_of)
    wanted = _phase(phase, "phase")
    if wanted is not None:
        assets = [a for a in assets if a.phase is wanted]
    if q is not None and normalise_name(q):
        folded = normalise_name(q)
        assets = [a for a in assets if matches(a, folded)]
    if sponsor is not None and normalise_name(sponsor):
        folded_sponsor = normalise_name(sponsor)
        assets = [a for a in assets if folded_sponsor in normalise_name(a.sponsor)]
    ordered = sorted(assets, key=_sort_key(sort.lstrip("-")), reverse=sort.startswith("-"))
    page = ordered[offset: offset + limit]
    return CandidatePage(items=[candidate_public(a) for a in page], total=len(ordered), limit=limit, offset=offset)


def _resolve(state: StateDep, candidate_id: str) -> str:
    try:
        return state.store.resolve(candidate_id)
    except InputError:
        raise not_found("candidate", candidate_id, "id") from None


@router.get("/{candidate_id}", response_model=CandidateDetail, summary="One candidate with its sourced events")
def get_candidate(state: StateDep, who: ReaderDep, candidate_id: str, as_of: dt.date | None = None) -> CandidateDetail:
    asset_id = _resolve(state, candidate_id)
    found = [a for a in state.views.assets(as_of) if a.id == asset_id]
    if not found:
        raise ApiError(404, "not_found", f"candidate {asset_id!r} was not yet known on {as_of}", "as_of")
    asset = found[0]
    public = candidate_public(asset)
    return CandidateDetail(**public.model_dump(), indication=asset.indication, target=asset.target,
                           nmpa_class=asset.nmpa_class, jurisdiction=asset.jurisdiction, note=asset.note,
                           approval_date=asset.approval_date, as_of=as_of,
                           events=[event_public(e) for e in asset.history])


@router.post("/{candidate_id}/events", response_model=EventCreated, status_code=201,
             summary="Append a phase event (never edits history)")
def add_event(request: Request, response: Response, state: StateDep, who: WriterDep, candidate_id: str,
              event: EventCreate) -> EventCreated:
    asset_id = _resolve(state, candidate_id)
    current = next((a for a in state.store.assets() if a.id == asset_id), None)
    if current is None:
        raise not_found("candidate", candidate_id, "id")
    if not owns_asset(who, current, state.views.organisations()):
        raise ApiError(403, "forbidden", f"{who.name} may not write for {asset_id!r} (sponsor "
                       f"{current.sponsor!r}): an editor writes only for its own organisation")
    if not (event.source_url or event.source_title):
        raise ApiError(422, "invalid", "an event needs its source: source_url or source_title", "source_url")
    phase = _phase(event.phase, "phase")
    assert phase is not None
    if event.date > state_today():
        raise ApiError(422, "invalid", f"date {event.date} is in the future", "date")
    new = PhaseEvent(phase, event.date, Source(event.source_title or event.source_url, event.source_url,
                                               event.source_date), event.indication)
    incoming = replace(current, history=(new,), aliases=())
    source = " ".join(p for p in (event.source_title, event.source_url) if p)
    changes = {"event": event.model_dump(mode="json")}

    def describe(done: WriteResult) -> tuple[int, dict[str, object], str]:
        added = done.events_added > 0
        return (201 if added else 200), {**changes, "added": added}, "" if added else "event already recorded"

    hook = audit_hook(request, who, action="candidates.events.post", resource=asset_id, describe=describe,
                      source=source)
    summary = state.store.import_data(assets=[incoming], kind="api", also=hook)
    request.state.audited = True
    added = summary.events_added > 0
    response.status_code = 201 if added else 200
    return EventCreated(candidate_id=asset_id, added=added, event=event_public(new), batch_id=summary.batch_id)


def state_today() -> dt.date:
    from pipecast.clock import today

    return today()
