"""Read views: candidates as the data knew them on a date, one candidate by id or alias, its stored history,
facts, organisations, imports and row counts. Merges and splits in force apply to every view.

View rule: a resolution applies to every view, `assets(as_of=D)` included, whenever it was made. A merge
or split corrects identity ("these records were always one drug"), not what was known about the drug, so
an as-of view still sees only events known by D but counts that drug once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipecast.domain import Asset, Organisation, OrgKind, normalise_name
from pipecast.errors import InputError
from pipecast.store.assembly import assemble_assets
from pipecast.store.convert import aware, row_source, to_event
from pipecast.store.identity import events_of, identity
from pipecast.store.models import (
    AliasRow,
    AssetRedirectRow,
    AssetRow,
    Base,
    EventReassignmentRow,
    FactRow,
    HistoryChainRow,
    ImportBatch,
    OrganisationRow,
    PhaseEventRow,
    ResolutionActionRow,
)
from pipecast.store.records import BatchRecord, EventRecord, Fact


def load_assets(session: Session, ids: Sequence[str] | None, as_of: dt.date | None) -> list[Asset]:
    """Candidates (all, or the given canonical ids) with merges and splits in force applied
    (`assembly.assemble_assets`)."""
    ident = identity(session)
    query = select(AssetRow).order_by(AssetRow.id)
    al_query = select(AliasRow).order_by(AliasRow.id)
    if ids is not None:
        raw = ident.merged_into(ids)
        query = query.where(AssetRow.id.in_(raw))
        al_query = al_query.where(AliasRow.asset_id.in_(raw))
    events = events_of(session, ident, ids, as_of)
    aliases: dict[str, list[str]] = defaultdict(list)
    for al in session.scalars(al_query):
        aliases[al.asset_id].append(al.alias)
    rows = {row.id: row for row in session.scalars(query)}
    return assemble_assets(rows, aliases, events, ident, ids, as_of)


def resolve_id(session: Session, id_or_alias: str) -> str:
    """The asset id for an id, alias or name (case-, width- and punctuation-insensitive); merged ids give the
    candidate they were merged into. InputError when unknown or ambiguous."""
    ident = identity(session)
    key = id_or_alias.strip()
    if key and session.get(AssetRow, key) is not None:
        return ident.canonical(key)
    norm = normalise_name(key)
    found: set[str] = set()
    if norm:
        aliased = session.scalars(select(AliasRow.asset_id).where(AliasRow.norm == norm))
        found.update(ident.canonical(a) for a in aliased)
        for asset_id, name in session.execute(select(AssetRow.id, AssetRow.name)):
            if normalise_name(asset_id) == norm or normalise_name(name) == norm:
                found.add(ident.canonical(asset_id))
    if len(found) == 1:
        return found.pop()
    if found:
        raise InputError(f"{id_or_alias!r} is ambiguous: it names {', '.join(sorted(found))}",
                         expected="one of those ids")
    raise InputError(f"no asset with id, alias or name {id_or_alias!r}",
                     expected="an id or alias listed by `pipecast assets list`")


def history(session: Session, asset_id: str) -> list[EventRecord]:
    """Every stored event row of a candidate (merged and split rows included), with the import that wrote it."""
    rows = events_of(session, identity(session), [asset_id]).get(asset_id, [])
    batch_ids = {r.import_batch_id for r in rows if r.import_batch_id is not None}
    query = select(ImportBatch.id, ImportBatch.file).where(ImportBatch.id.in_(batch_ids))
    files: dict[int, str] = {batch_id: file for batch_id, file in session.execute(query)}
    records = [
        EventRecord(row.id, asset_id, to_event(row), aware(row.recorded_at), row.import_batch_id,
                    files.get(row.import_batch_id, "") if row.import_batch_id is not None else "",
                    row.asset_id if row.asset_id != asset_id else "")
        for row in rows
    ]
    return sorted(records, key=lambda r: (r.event.date, r.event.phase.order, r.id))


def facts(session: Session, entity: str | None, field: str | None, as_of: dt.date | None) -> list[Fact]:
    query = select(FactRow).order_by(FactRow.entity, FactRow.field, FactRow.as_of.is_(None), FactRow.as_of, FactRow.id)
    if entity is not None:
        query = query.where(FactRow.entity == entity)
    if field is not None:
        query = query.where(FactRow.field == field)
    if as_of is not None:
        query = query.where(FactRow.as_of <= as_of)
    return [
        Fact(r.entity, r.field, r.value, r.as_of, r.unit, row_source(r.source_title, r.source_url, r.source_date),
             r.note, r.as_of_text)
        for r in session.scalars(query)
    ]


def organisations(session: Session) -> list[Organisation]:
    return [
        Organisation(r.id, r.name, OrgKind(r.kind), tuple(a for a in r.aliases.split("|") if a), r.city, r.parent_id)
        for r in session.scalars(select(OrganisationRow).order_by(OrganisationRow.id))
    ]


def batches(session: Session) -> list[BatchRecord]:
    return [
        BatchRecord(b.id, b.file, b.sha256, aware(b.imported_at), b.kind, b.rows, b.assets_added, b.assets_updated,
                    b.events_added, b.facts_added)
        for b in session.scalars(select(ImportBatch).order_by(ImportBatch.id))
    ]


#: The tables `table_counts` reports.
COUNTED: tuple[type[Base], ...] = (AssetRow, AliasRow, OrganisationRow, PhaseEventRow, FactRow, ImportBatch,
                                   ResolutionActionRow, AssetRedirectRow, EventReassignmentRow, HistoryChainRow)


def table_counts(session: Session) -> dict[str, int]:
    return {m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0) for m in COUNTED}
