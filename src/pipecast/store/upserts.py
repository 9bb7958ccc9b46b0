"""Import upserts: add candidates, their events, aliases, facts and organisations; history only appended.

"Upsert" here means: insert what is new, update a candidate's attributes in place, append events not yet
recorded. It never merges two candidates (that is entity resolution, `pipecast.store.resolution`).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipecast.domain import Asset, Organisation, PhaseEvent, normalise_name
from pipecast.errors import InputError
from pipecast.store.convert import chunks, event_matches, fact_key, fact_row_key
from pipecast.store.identity import Identity, events_of, identity
from pipecast.store.models import AliasRow, AssetRow, FactRow, ImportBatch, OrganisationRow, PhaseEventRow, utcnow
from pipecast.store.records import Fact, WriteResult

#: Asset attributes that an import may update in place (history is never updated).
ASSET_ATTRIBUTES = (
    "name", "sponsor", "modality", "therapeutic_area", "indication", "target", "nmpa_class",
    "jurisdiction", "count", "note",
)
#: Candidates (or facts) per round of query, insert and flush: what one round holds in memory.
CHUNK = 500
_T = TypeVar("_T")


def batched(items: Iterable[_T], size: int = CHUNK) -> Iterator[list[_T]]:
    """`items` in lists of `size` (the last may be shorter), read lazily."""
    it = iter(items)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, or of a folder's data files (names and contents, in name order)."""
    path = Path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if child.is_file() and child.suffix.lower() in (".csv", ".xlsx", ".xlsm"):
                digest.update(child.name.encode() + b"\0")
                digest.update(child.read_bytes())
        return digest.hexdigest()
    if path.is_file():
        digest.update(path.read_bytes())
        return digest.hexdigest()
    return ""


# --------------------------------------------------------------------------------------------- the batch

#: The values of a phase event row and of a fact row as `BatchRows` holds them, in this order.
EVENT_COLUMNS = ("asset_id", "phase", "date", "indication", "source_title", "source_url", "source_date", "recorded",
                 "recorded_at")
FACT_COLUMNS = ("entity", "field", "value", "unit", "as_of", "as_of_text", "source_title", "source_url",
                "source_date", "note", "recorded_at")


@dataclass
class BatchRows:
    """The rows of one import that point at its batch row, waiting for it.

    The batch row is inserted once, last, with its final counts: the application's database role may insert
    into import_batches but never update it (docs/database.md). Until then the event and fact rows wait here
    as plain tuples (a few hundred bytes each, not ORM objects), and follow the batch row chunk by chunk.
    """

    events: list[tuple[Any, ...]] = field(default_factory=list)
    facts: list[tuple[Any, ...]] = field(default_factory=list)

    def write(self, session: Session, row: ImportBatch) -> ImportBatch:
        session.add(row)
        session.flush()
        for model, columns, pending in ((PhaseEventRow, EVENT_COLUMNS, self.events),
                                        (FactRow, FACT_COLUMNS, self.facts)):
            for chunk in batched(pending):
                session.add_all([model(**dict(zip(columns, values, strict=True)), batch=row) for values in chunk])
                session.flush()
            pending.clear()
        return row


# --------------------------------------------------------------------------------------------- sponsors


@dataclass
class SponsorSpellings:
    """Which organisation a sponsor text names (through the stored organisations' names and aliases), and how
    many candidates use each spelling, so an import does not split a sponsor group by respelling it."""

    keys: dict[str, list[str]]  # organisation id -> folded name and aliases (3+ characters)
    uses: Counter[str] = field(default_factory=Counter)

    @classmethod
    def load(cls, session: Session, incoming: Iterable[Asset] = ()) -> SponsorSpellings:
        """The stored organisations and spellings; `incoming` (and later `count`) add an import's own."""
        keys = {
            row.id: [k for k in map(normalise_name, (row.name, *row.aliases.split("|"))) if len(k) >= 3]
            for row in session.scalars(select(OrganisationRow))
        }
        uses: Counter[str] = Counter()
        for sponsor, n in session.execute(select(AssetRow.sponsor, func.count()).group_by(AssetRow.sponsor)):
            uses[sponsor] += int(n)
        spellings = cls(keys, uses)
        spellings.count(incoming)
        return spellings

    def count(self, incoming: Iterable[Asset]) -> None:
        """Count the sponsor spellings of incoming candidates (a streamed import: chunk by chunk)."""
        self.uses.update(a.sponsor for a in incoming if a.sponsor)

    def organisations(self, text: str) -> set[str]:
        folded = normalise_name(text)
        return {org for org, keys in self.keys.items() if folded and any(k in folded for k in keys)}

    def keep_stored(self, stored: str, new: str) -> bool:
        """Whether `stored` should stay: both name the same organisation and more candidates spell it so."""
        if not stored or not new or stored == new:
            return False
        if not self.organisations(stored) & self.organisations(new):
            return False
        return self.uses[stored] >= self.uses[new]


def attribute_changes(row: AssetRow, asset: Asset, sponsors: SponsorSpellings) -> dict[str, tuple[Any, Any]]:
    diffs: dict[str, tuple[Any, Any]] = {}
    for attr in ASSET_ATTRIBUTES:
        old, new = getattr(row, attr), getattr(asset, attr)
        if old == new:
            continue
        if isinstance(new, str) and not new:
            continue  # a blank never erases a stored value
        if attr == "name" and new == asset.id and old:
            continue  # loaders fill a missing name with the id
        if attr == "sponsor" and sponsors.keep_stored(old, new):
            continue  # the same organisation, spelled as its other candidates spell it
        diffs[attr] = (old, new)
    return diffs


# --------------------------------------------------------------------------------------------- assets


@dataclass
class _Known:
    """What the store already holds for the incoming ids: rows, their events and alias keys."""

    rows: dict[str, AssetRow] = field(default_factory=dict)
    events: dict[str, list[PhaseEventRow]] = field(default_factory=lambda: defaultdict(list))
    alias_norms: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _known(session: Session, ids: list[str]) -> _Known:
    known = _Known()
    for chunk in chunks(ids):
        for found in session.scalars(select(AssetRow).where(AssetRow.id.in_(chunk))):
            known.rows[found.id] = found
        for stored in session.scalars(select(PhaseEventRow).where(PhaseEventRow.asset_id.in_(chunk))):
            known.events[stored.asset_id].append(stored)
        for al in session.scalars(select(AliasRow).where(AliasRow.asset_id.in_(chunk))):
            known.alias_norms[al.asset_id].add(al.norm)
    ident = identity(session)
    if ident.redirects or ident.moved:
        _fold_resolutions(session, ident, ids, known)
    return known


def _fold_resolutions(session: Session, ident: Identity, ids: list[str], known: _Known) -> None:
    """An event is already known if the id's own rows (even those split away) or the candidate it now
    resolves to (merges and splits applied) record it: re-imports stay idempotent. Names a candidate has
    only through a merge are not stored as its own aliases: undoing the merge must take them away again."""
    named: dict[str, list[str]] = defaultdict(list)  # canonical id -> the ids given that resolve to it
    for i in ids:
        named[ident.canonical(i)].append(i)
    for chunk in chunks(sorted(named)):
        for owner, rows in events_of(session, ident, chunk).items():
            for i in named[owner]:
                held = {r.id for r in known.events[i]}
                known.events[i].extend(r for r in rows if r.id not in held)
    merged = [m for m in ident.redirects if ident.canonical(m) in named]
    for chunk in chunks(merged):
        for merged_id, name in session.execute(select(AssetRow.id, AssetRow.name).where(AssetRow.id.in_(chunk))):
            for i in named[ident.canonical(merged_id)]:
                known.alias_norms[i].add(normalise_name(name))
        for al in session.scalars(select(AliasRow).where(AliasRow.asset_id.in_(chunk))):
            for i in named[ident.canonical(al.asset_id)]:
                known.alias_norms[i].add(al.norm)


def upsert_assets(session: Session, assets: list[Asset], batch: BatchRows, summary: WriteResult,
                  sponsors: SponsorSpellings | None = None) -> None:
    """Insert new candidates, update changed attributes, add new aliases, append events not yet recorded.

    `sponsors` carries the spellings counted so far in a streamed import (default: these assets only).
    """
    known = _known(session, [a.id for a in assets])
    if sponsors is None:
        sponsors = SponsorSpellings.load(session, assets)
    for asset in assets:
        _upsert_row(session, asset, known, sponsors, summary)
        _add_aliases(session, asset, known.alias_norms[asset.id], summary)
        _append_events(session, asset, known.events[asset.id], batch, summary)


def _upsert_row(session: Session, asset: Asset, known: _Known, sponsors: SponsorSpellings,
                summary: WriteResult) -> None:
    now = utcnow()
    row = known.rows.get(asset.id)
    if row is None:
        row = AssetRow(id=asset.id, created_at=now, updated_at=now, **{a: getattr(asset, a) for a in ASSET_ATTRIBUTES})
        session.add(row)
        known.rows[asset.id] = row
        summary.assets_added += 1
        summary.record(f"+ asset {asset.id} {asset.name!r} ({asset.phase.value} since {asset.phase_start})", asset.id)
        return
    diffs = attribute_changes(row, asset, sponsors)
    if not diffs:
        return
    for attr, (_, new) in diffs.items():
        setattr(row, attr, new)
    row.updated_at = now
    summary.assets_updated += 1
    summary.record(
        f"~ asset {asset.id}: " + "; ".join(f"{a} {old!r} -> {new!r}" for a, (old, new) in diffs.items()), asset.id
    )


def _add_aliases(session: Session, asset: Asset, norms: set[str], summary: WriteResult) -> None:
    for alias in asset.aliases:
        norm = normalise_name(alias)
        if not norm or norm in norms:
            continue
        norms.add(norm)
        session.add(AliasRow(asset_id=asset.id, alias=alias, norm=norm))
        summary.aliases_added += 1
        summary.record(f"+ alias {alias!r} for {asset.id}", asset.id)


def _append_events(session: Session, asset: Asset, known: list[PhaseEventRow], batch: BatchRows,
                   summary: WriteResult) -> None:
    now = utcnow()
    for ev in asset.history:
        if any(event_matches(r, ev) for r in known):
            summary.events_known += 1
            continue
        _warn_redated(asset.id, ev, known, summary)
        source = ev.source
        values = (asset.id, ev.phase.value, ev.date, ev.indication, source.title if source else "",
                  source.url if source else "", source.date if source else None, ev.recorded, now)
        batch.events.append(values)
        known.append(PhaseEventRow(**dict(zip(EVENT_COLUMNS, values, strict=True))))  # transient: for matching
        summary.events_added += 1
        where = f" [{source.title}]" if source else ""
        summary.record(f"+ event {asset.id}: {ev.phase.value} on {ev.date}{where}", asset.id)


def _warn_redated(asset_id: str, ev: PhaseEvent, known: Sequence[PhaseEventRow], summary: WriteResult) -> None:
    """An event for a phase (and indication) already recorded on another date: both are kept; say so."""
    other = sorted({r.date for r in known if r.phase == ev.phase.value and r.indication == ev.indication
                    and r.date != ev.date})
    if other:
        dates = ", ".join(d.isoformat() for d in other)
        summary.warnings.append(
            f"{asset_id}: {ev.phase.value} dated {ev.date}, already recorded on {dates}; both are kept "
            "(`pipecast check` reports the conflict)"
        )


# --------------------------------------------------------------------------------------------- facts, orgs


def upsert_facts(session: Session, facts: Iterable[Fact], batch: BatchRows, summary: WriteResult) -> None:
    """Queue the facts not yet recorded (only the recorded facts' keys are held for the check)."""
    known = {fact_row_key(r) for r in session.scalars(select(FactRow))}
    now = utcnow()
    for fact in facts:
        summary.rows += 1
        key = fact_key(fact)
        if key in known:
            summary.facts_known += 1
            continue
        known.add(key)
        source = fact.source
        batch.facts.append((fact.entity, fact.field, fact.value, fact.unit, fact.as_of, fact.as_of_text,
                            source.title if source else "", source.url if source else "",
                            source.date if source else None, fact.note, now))
        summary.facts_added += 1
        when = fact.as_of_text or (fact.as_of.isoformat() if fact.as_of else "an unknown date")
        unit = f" {fact.unit}" if fact.unit else ""
        summary.record(f"+ fact {fact.entity} | {fact.field} = {fact.value}{unit} ({when})")


def upsert_organisations(session: Session, orgs: Iterable[Organisation]) -> int:
    """Insert or update organisations; returns how many rows were added or changed."""
    changed = 0
    now = utcnow()
    for org in orgs:
        values = {"name": org.name, "kind": org.kind.value, "city": org.city, "parent_id": org.parent_id,
                  "aliases": "|".join(org.aliases)}
        row = session.get(OrganisationRow, org.id)
        if row is None:
            session.add(OrganisationRow(id=org.id, created_at=now, updated_at=now, **values))
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = now
            changed += 1
    session.flush()  # the sponsor spellings of this import's assets read them
    return changed


def import_work(session: Session, assets: Iterable[Asset], facts: Iterable[Fact], orgs: Sequence[Organisation],
                summary: WriteResult, kind: str, progress: Callable[[int], None] | None = None) -> WriteResult:
    """One import's writes (the caller runs them in one transaction); the batch row only if something changed.

    `assets` and `facts` may be streams: they are written CHUNK at a time (query what is known, insert,
    flush), holding only the ids seen so far for the duplicate check; `progress(candidates written)` after
    each chunk. A duplicate id is an InputError naming every duplicate, raised once the stream is read
    (the caller rolls back: nothing is written).
    """
    batch = BatchRows()
    if orgs:
        summary.organisations_changed = upsert_organisations(session, orgs)
    _upsert_asset_stream(session, assets, batch, summary, progress)
    upsert_facts(session, facts, batch, summary)
    if summary.changed:
        row = batch.write(session, ImportBatch(
            file=summary.file, sha256=summary.sha256, imported_at=utcnow(), kind=kind, rows=summary.rows,
            assets_added=summary.assets_added, assets_updated=summary.assets_updated,
            events_added=summary.events_added, facts_added=summary.facts_added))
        if not summary.dry_run:
            summary.batch_id = row.id
    return summary


def _upsert_asset_stream(session: Session, assets: Iterable[Asset], batch: BatchRows, summary: WriteResult,
                         progress: Callable[[int], None] | None) -> None:
    seen: set[str] = set()
    dupes: list[str] = []
    sponsors: SponsorSpellings | None = None
    for chunk in batched(assets):
        summary.rows += len(chunk)
        fresh = []
        for asset in chunk:
            if asset.id in seen:
                dupes.append(asset.id)
            else:
                seen.add(asset.id)
                fresh.append(asset)
        if dupes:
            continue  # the import fails once the stream is read; read on only to name every duplicate
        if sponsors is None:
            sponsors = SponsorSpellings.load(session)
        sponsors.count(fresh)
        upsert_assets(session, fresh, batch, summary, sponsors)
        session.flush()
        if progress is not None:
            progress(len(seen))
    if dupes:
        raise InputError(f"duplicate asset id(s) {', '.join(sorted(set(dupes)))}", file=summary.file, field="id",
                         expected="unique ids")
