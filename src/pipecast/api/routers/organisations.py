"""Organisations (companies, institutes, parks, clusters) with the candidates each sponsors; facts about them
(deals, funding rounds, published figures), appended by admins or the organisation's own editors."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from pipecast.api.auditing import audit_hook
from pipecast.api.deps import AdminDep, ReaderDep, StateDep, WriterDep
from pipecast.api.errors import ApiError, not_found
from pipecast.api.schemas import (
    FactCreate,
    FactPage,
    FactPublic,
    OrganisationCreate,
    OrganisationPage,
    OrganisationPublic,
    SourcePublic,
)
from pipecast.api.security import owns_entity
from pipecast.domain import Organisation, OrgKind, Source, normalise_name, sponsors
from pipecast.store import Fact

router = APIRouter(tags=["organisations"])
MAX_LIMIT = 500


def _public(org: Organisation, state: StateDep) -> OrganisationPublic:
    sponsored = [a.id for a in state.views.assets(None) if sponsors(org, a)]
    return OrganisationPublic(id=org.id, name=org.name, kind=org.kind.value, city=org.city, parent_id=org.parent_id,
                              aliases=list(org.aliases), candidates=sponsored)


@router.get("/organisations", response_model=OrganisationPage, summary="Organisations and their candidates")
def list_organisations(
    state: StateDep, who: ReaderDep,
    q: Annotated[str | None, Query(max_length=200)] = None,
    kind: Literal["company", "institute", "park", "cluster"] | None = None,
    sort: Literal["id", "-id", "name", "-name"] = "id",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OrganisationPage:
    orgs = state.views.organisations()
    if kind is not None:
        orgs = [o for o in orgs if o.kind.value == kind]
    if q is not None and normalise_name(q):
        folded = normalise_name(q)
        orgs = [o for o in orgs if any(folded in normalise_name(n) for n in (o.id, o.name, *o.aliases))]
    field = sort.lstrip("-")
    orgs = sorted(orgs, key=lambda o: (str(getattr(o, field)).casefold(), o.id), reverse=sort.startswith("-"))
    page = orgs[offset: offset + limit]
    return OrganisationPage(items=[_public(o, state) for o in page], total=len(orgs), limit=limit, offset=offset)


@router.get("/organisations/{org_id}", response_model=OrganisationPublic, summary="One organisation")
def get_organisation(state: StateDep, who: ReaderDep, org_id: str) -> OrganisationPublic:
    org = next((o for o in state.views.organisations() if o.id == org_id), None)
    if org is None:
        raise not_found("organisation", org_id, "org_id")
    return _public(org, state)


@router.post("/organisations", response_model=OrganisationPublic, status_code=201,
             summary="Add an organisation (admin)")
def create_organisation(request: Request, state: StateDep, who: AdminDep,
                        org: OrganisationCreate) -> OrganisationPublic:
    if any(o.id == org.id for o in state.store.organisations()):
        raise ApiError(409, "conflict", f"organisation {org.id!r} exists already", "id")
    new = Organisation(org.id, org.name, OrgKind(org.kind), tuple(a for a in org.aliases if a.strip()), org.city,
                       org.parent_id)
    hook = audit_hook(request, who, action="organisations.post", resource=org.id,
                      describe=lambda done: (201, {"organisation": org.model_dump(mode="json")}, ""))
    state.store.import_data(organisations=[new], kind="api", also=hook)
    request.state.audited = True
    return _public(new, state)


def _fact_public(fact: Fact) -> FactPublic:
    source = None if fact.source is None else SourcePublic(title=fact.source.title, url=fact.source.url,
                                                           date=fact.source.date)
    return FactPublic(entity=fact.entity, field=fact.field, value=fact.value, unit=fact.unit, as_of=fact.as_of,
                      as_of_text=fact.as_of_text, note=fact.note, source=source)


@router.get("/facts", response_model=FactPage, summary="Deals, funding events and other dated facts",
            tags=["facts"])
def list_facts(
    state: StateDep, who: ReaderDep,
    entity: Annotated[str | None, Query(max_length=500)] = None,
    field: Annotated[str | None, Query(max_length=200)] = None,
    as_of: dt.date | None = None,
    sort: Literal["as_of", "-as_of", "entity", "-entity"] = "-as_of",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FactPage:
    facts = state.store.facts(entity=entity, field=field, as_of=as_of)
    if sort.lstrip("-") == "as_of":
        facts = sorted(facts, key=lambda f: (f.as_of or dt.date.min, f.entity), reverse=sort.startswith("-"))
    else:
        facts = sorted(facts, key=lambda f: (f.entity.casefold(), f.as_of or dt.date.min), reverse=sort.startswith("-"))
    page = facts[offset: offset + limit]
    return FactPage(items=[_fact_public(f) for f in page], total=len(facts), limit=limit, offset=offset)


@router.post("/facts", response_model=FactPublic, status_code=201, summary="Append a dated fact", tags=["facts"])
def create_fact(request: Request, state: StateDep, who: WriterDep, fact: FactCreate) -> FactPublic:
    if not owns_entity(who, fact.entity, state.views.organisations()):
        raise ApiError(403, "forbidden", f"{who.name} may not record facts about {fact.entity!r}: an editor writes "
                       "only for its own organisation", "entity")
    if not (fact.source_url or fact.source_title):
        raise ApiError(422, "invalid", "a fact needs its source: source_url or source_title", "source_url")
    new = Fact(fact.entity, fact.field, fact.value, fact.as_of, fact.unit,
               Source(fact.source_title or fact.source_url, fact.source_url), fact.note, fact.as_of.isoformat())
    changes = {"fact": fact.model_dump(mode="json")}
    hook = audit_hook(request, who, action="facts.post", resource=fact.entity,
                      describe=lambda done: (201, {**changes, "added": done.facts_added}, ""),
                      source=" ".join(p for p in (fact.source_title, fact.source_url) if p))
    state.store.import_data(facts=[new], kind="facts", also=hook)
    request.state.audited = True
    return _fact_public(new)
