"""The registry: candidates, their append-only dated phase history, and dated facts, in SQL.

SQLite by default (one file), PostgreSQL by URL; the same code runs on both. Opening a store brings
its schema up to date with the Alembic migrations shipped in `pipecast/store/migrations`.

Every write is one transaction: it all happens or nothing does. Re-adding what is already known adds
nothing, so imports are idempotent; history rows are only ever inserted, so `assets(as_of=D)`
rebuilds the pipeline as the data knew it on D.

Entity resolution is explicit and audited, never silent: `merge`, `split` and `undo` each write one
`resolution_actions` row (reason, actor, time) plus append-only mapping rows, and never rewrite or
delete a phase event. The views (`assets`, `asset`, `history`, `resolve`) apply the actions that are not
undone: a merged candidate's events and aliases (and its name, as an alias) fold into the survivor, and
a split's events count for the new candidate. `review_matches` only *suggests* merges, with scores.

View rule: a resolution applies to every view, `assets(as_of=D)` included, whenever it was made. A
merge or split corrects identity ("these records were always one drug"), not what was known about
the drug, so an as-of view still sees only events known by D but counts that drug once; otherwise a
backtest would double-count exactly the candidates someone took care to merge. Each action records
`created_at`, so the audit log (`actions`) says when identities changed, and `undo` reverses one.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, func, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from pipecast.domain import (
    ACCEPTED_PHASE_HELP,
    Asset,
    Organisation,
    OrgKind,
    Phase,
    PhaseEvent,
    Portfolio,
    Source,
    UnknownPhaseError,
    normalise_name,
    parse_phase,
    unique_ids,
)
from pipecast.errors import InputError, PipecastError, StoreError
from pipecast.ingest.resolve import AliasTable, Match, match_candidates
from pipecast.store.models import (
    AliasRow,
    AssetRedirectRow,
    AssetRow,
    Base,
    EventReassignmentRow,
    FactRow,
    ImportBatch,
    OrganisationRow,
    PhaseEventRow,
    ResolutionActionRow,
    utcnow,
)
from pipecast.tabular import EARLIEST_PLAUSIBLE_DATE, parse_date, read_table

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DB_FILE_NAME = "pipecast.sqlite"

#: Asset attributes that an import may update in place (history is never updated).
ASSET_ATTRIBUTES = (
    "name", "sponsor", "modality", "therapeutic_area", "indication", "target", "nmpa_class",
    "jurisdiction", "count", "note",
)

FACT_COLUMNS = ("entity", "field", "value")
FACT_DATE_COLUMNS = ("as_of", "as_of_date", "date")
FACT_OPTIONAL = (*FACT_DATE_COLUMNS, "unit", "source_title", "source_url", "source_date", "note")

_T = TypeVar("_T")


def default_db_path() -> Path:
    """`pipecast.sqlite` in the user's data directory (created when the store is first opened)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("pipecast", appauthor=False)) / DB_FILE_NAME


def default_db_url() -> str:
    return sqlite_url(default_db_path())


def sqlite_url(path: str | os.PathLike[str]) -> str:
    return "sqlite:///" + Path(path).expanduser().resolve().as_posix()


def resolve_url(url_or_path: str | os.PathLike[str] | None) -> str:
    """None -> the default SQLite file; a plain path -> SQLite at that path; a URL -> as is.

    `postgresql://` and `postgres://` URLs without a driver get psycopg 3, the driver pipecast ships with.
    """
    if url_or_path is None or str(url_or_path).strip() == "":
        return default_db_url()
    text = os.fspath(url_or_path).strip()
    if "://" not in text:
        return sqlite_url(text)
    scheme, rest = text.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + rest
    return text


# --------------------------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Fact:
    """A dated, sourced figure: a deal, a funding round, a published count ("42 in clinical trials").

    `as_of` is the latest day the published date can mean (None if unknown); `as_of_text` keeps the
    wording when it was looser than a day ("2025-11", "before 2024-08-20").
    """

    entity: str
    field: str
    value: str
    as_of: dt.date | None
    unit: str = ""
    source: Source | None = None
    note: str = ""
    as_of_text: str = ""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored phase event with its provenance: which import wrote it, and when."""

    id: int
    asset_id: str
    event: PhaseEvent
    recorded_at: dt.datetime
    batch_id: int | None
    batch_file: str
    stored_asset_id: str = ""  # the candidate the row was imported under, when a merge or split moved it


@dataclass(frozen=True, slots=True)
class BatchRecord:
    id: int
    file: str
    sha256: str
    imported_at: dt.datetime
    kind: str
    rows: int
    assets_added: int
    assets_updated: int
    events_added: int
    facts_added: int


@dataclass
class ImportSummary:
    """What an import added (or, for a dry run, would add)."""

    file: str = ""
    sha256: str = ""
    rows: int = 0
    assets_added: int = 0
    assets_updated: int = 0
    events_added: int = 0
    events_known: int = 0
    aliases_added: int = 0
    facts_added: int = 0
    facts_known: int = 0
    organisations_changed: int = 0
    batch_id: int | None = None
    dry_run: bool = False
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.assets_added or self.assets_updated or self.events_added or self.aliases_added
                    or self.facts_added or self.organisations_changed)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"changed": self.changed}

    def describe(self) -> str:
        verb = "would add" if self.dry_run else "added"
        parts = [
            f"{self.assets_added} new asset(s)",
            f"{self.assets_updated} updated",
            f"{self.events_added} new event(s) ({self.events_known} already known)",
        ]
        if self.aliases_added:
            parts.append(f"{self.aliases_added} alias(es)")
        if self.facts_added or self.facts_known:
            parts.append(f"{self.facts_added} new fact(s) ({self.facts_known} already known)")
        if self.organisations_changed:
            parts.append(f"{self.organisations_changed} organisation(s) added or changed")
        head = f"{self.file}: " if self.file else ""
        if not self.changed:
            return f"{head}nothing new ({self.events_known} event(s), {self.facts_known} fact(s) already known)"
        return head + f"{verb} " + ", ".join(parts)


class ResolutionError(InputError):
    """A merge, split or undo that cannot be done as asked (unknown id, into itself, undone twice...).

    Raised before anything is committed: the action's transaction writes nothing.
    """


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One entry of the entity-resolution audit log."""

    id: int
    action: str  # merge | split | undo
    target_id: str
    details: dict[str, Any]
    reason: str
    actor: str
    created_at: dt.datetime
    undoes_id: int | None = None
    undone_by: int | None = None

    @property
    def undone(self) -> bool:
        return self.undone_by is not None

    def describe(self) -> str:
        d = self.details
        if self.action == "merge":
            text = f"merged {', '.join(d.get('from', []))} into {self.target_id}"
        elif self.action == "split":
            events = ", ".join(str(e) for e in d.get("events", []))
            text = f"split event(s) {events} of {self.target_id} into {d.get('new_id', '?')}"
        else:
            text = f"undid action {self.undoes_id} ({d.get('action', '?')} of {self.target_id})"
        return text + (f"; undone by action {self.undone_by}" if self.undone_by is not None else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "action": self.action, "target_id": self.target_id, "details": self.details,
            "reason": self.reason, "actor": self.actor, "created_at": self.created_at.isoformat(),
            "undoes": self.undoes_id, "undone_by": self.undone_by, "summary": self.describe(),
        }


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """An unresolved candidate and the known candidates it may be, best first; for a person to decide."""

    asset_id: str
    name: str
    note: str
    matches: tuple[Match, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.asset_id, "name": self.name, "note": self.note,
            "matches": [{"id": m.asset_id, "score": m.score, "reason": m.reason, "alias": m.alias}
                        for m in self.matches],
        }


@dataclass
class _Identity:
    """The resolutions in force: merged id -> surviving id, and event -> asset after splits."""

    redirects: dict[str, tuple[str, int]]  # merged id -> (id merged into, action id)
    moved: dict[int, tuple[str, int]]  # event id -> (asset id, action id): the latest split in force
    undone: dict[int, int]  # action id -> the undo action's id

    def canonical(self, asset_id: str) -> str:
        seen: set[str] = set()
        while asset_id in self.redirects and asset_id not in seen:
            seen.add(asset_id)
            asset_id = self.redirects[asset_id][0]
        return asset_id

    def owner(self, event_id: int, stored_asset_id: str) -> str:
        moved = self.moved.get(event_id)
        return self.canonical(moved[0] if moved is not None else stored_asset_id)

    def merged_into(self, ids: Iterable[str]) -> list[str]:
        """The given ids and every id merged (directly or in a chain) into one of them, merge order."""
        wanted = set(ids)
        return [*wanted, *(m for m in self.redirects if self.canonical(m) in wanted)]

    def moved_into(self, ids: Iterable[str]) -> list[int]:
        wanted = set(ids)
        return [e for e, (a, _) in self.moved.items() if self.canonical(a) in wanted]


def _identity(session: Session) -> _Identity:
    undone: dict[int, int] = {}
    for by, undoes in session.execute(
        select(ResolutionActionRow.id, ResolutionActionRow.undoes_id).where(ResolutionActionRow.undoes_id.is_not(None))
    ):
        if undoes is not None:
            undone[undoes] = by
    redirects: dict[str, tuple[str, int]] = {}
    for r in session.scalars(select(AssetRedirectRow).order_by(AssetRedirectRow.id)):
        if r.action_id not in undone:
            redirects[r.from_id] = (r.into_id, r.action_id)
    moved: dict[int, tuple[str, int]] = {}
    for m in session.scalars(select(EventReassignmentRow).order_by(EventReassignmentRow.id)):
        if m.action_id not in undone:
            moved[m.event_id] = (m.to_asset_id, m.action_id)
    return _Identity(redirects, moved, undone)


def _events_of(session: Session, ident: _Identity, ids: Sequence[str] | None,
               as_of: dt.date | None = None) -> dict[str, list[PhaseEventRow]]:
    """Phase event rows by the candidate they belong to once merges and splits are applied."""
    query = select(PhaseEventRow).order_by(PhaseEventRow.id)
    if ids is not None:
        raw = ident.merged_into(ids)
        moved = ident.moved_into(ids)
        where = PhaseEventRow.asset_id.in_(raw)
        query = query.where(or_(where, PhaseEventRow.id.in_(moved)) if moved else where)
    if as_of is not None:
        query = query.where(PhaseEventRow.date <= as_of)
    wanted = None if ids is None else set(ids)
    events: dict[str, list[PhaseEventRow]] = defaultdict(list)
    for ev in session.scalars(query):
        owner = ident.owner(ev.id, ev.asset_id)
        if wanted is None or owner in wanted:
            events[owner].append(ev)
    return events


def _actor(actor: str | None) -> str:
    if actor is not None and actor.strip():
        return actor.strip()[:200]
    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER
        return os.environ.get("USER") or "unknown"


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ResolutionError("a reason is required", field="--reason",
                              expected="why, e.g. 'same INN in the CDE notice'")
    return text


_ID_HELP = "an id listed by `pipecast assets list` or `pipecast review`"


# --------------------------------------------------------------------------------------------- helpers


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _source_key(source: Source | None) -> tuple[str, str, dt.date | None] | None:
    return None if source is None else (source.title, source.url, source.date)


def _row_source(title: str, url: str, date: dt.date | None) -> Source | None:
    if not (title or url):
        return None
    return Source(title or url, url, date)


def _event_matches(row: PhaseEventRow, event_: PhaseEvent) -> bool:
    """Is `event_` already recorded by `row`? A missing source or indication matches any."""
    if row.phase != event_.phase.value or row.date != event_.date:
        return False
    if event_.indication and event_.indication != row.indication:
        return False
    if event_.source is None:
        return True
    return (row.source_title, row.source_url, row.source_date) == _source_key(event_.source)


def _to_event(row: PhaseEventRow) -> PhaseEvent:
    return PhaseEvent(
        Phase(row.phase),
        row.date,
        _row_source(row.source_title, row.source_url, row.source_date),
        row.indication,
        row.recorded,
    )


def _dedupe(events: Sequence[PhaseEventRow]) -> list[PhaseEvent]:
    """One domain event per (phase, date, indication): the earliest-known record (corroborations fold in)."""
    best: dict[tuple[str, dt.date, str], PhaseEventRow] = {}
    for row in events:
        key = (row.phase, row.date, row.indication)
        held = best.get(key)
        if held is None or (row.recorded or row.date, row.id) < (held.recorded or held.date, held.id):
            best[key] = row
    return [_to_event(r) for r in best.values()]


def _fact_key(fact: Fact) -> tuple[Any, ...]:
    return (fact.entity, fact.field, fact.value, fact.unit, fact.as_of, fact.as_of_text, _source_key(fact.source))


def _fact_row_key(row: FactRow) -> tuple[Any, ...]:
    source = _row_source(row.source_title, row.source_url, row.source_date)
    return (row.entity, row.field, row.value, row.unit, row.as_of, row.as_of_text, _source_key(source))


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


def _chunks(items: Sequence[_T], size: int = 500) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _one_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


# --------------------------------------------------------------------------------------------- the store


class Store:
    """A pipecast registry in one SQL database."""

    def __init__(self, engine: Engine, *, display_url: str = "") -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.display_url = display_url or engine.url.render_as_string(hide_password=True)

    # ---- opening

    @classmethod
    def open(cls, url_or_path: str | os.PathLike[str] | None = None, *, migrate: bool = True) -> Store:
        """Open (creating if needed) the store at a SQLite path or SQLAlchemy URL; None means the default file.

        Brings the schema up to date (`alembic upgrade head`) unless `migrate` is False.
        """
        url = resolve_url(url_or_path)
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise StoreError(
                f"cannot parse database URL {url!r} (expected a SQLite file path or a URL such as "
                "postgresql+psycopg://user@host/db)"
            ) from None
        shown = parsed.render_as_string(hide_password=True)
        kwargs: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            database = parsed.database or ""
            if database in ("", ":memory:") or database.startswith("file::memory:"):
                kwargs |= {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
            else:
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create the folder for database {database}: {exc}") from None
        try:
            engine = create_engine(url, **kwargs)
        except (ArgumentError, ImportError, SQLAlchemyError) as exc:
            raise StoreError(f"cannot use database {shown}: {_one_line(exc)}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        store = cls(engine, display_url=shown)
        if migrate:
            try:
                store.upgrade()
            except BaseException:
                engine.dispose()
                raise
        return store

    def upgrade(self) -> None:
        """Run the packaged Alembic migrations up to head."""
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        config = _alembic_config()
        script = ScriptDirectory.from_config(config)
        known = {s.revision for s in script.walk_revisions()}
        try:
            with self._engine.begin() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                if current is not None and current not in known:
                    raise StoreError(
                        f"database {self.display_url} is at schema version {current!r}, which this "
                        "version of pipecast does not know (upgrade pipecast)"
                    )
                if current != script.get_current_head():
                    config.attributes["connection"] = conn
                    command.upgrade(config, "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open database {self.display_url}: {_one_line(exc)}") from None

    def schema_version(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self._engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.display_url!r})"

    # ---- transactions

    def _read(self, work: Callable[[Session], _T]) -> _T:
        try:
            with self._sessions() as session:
                return work(session)
        except SQLAlchemyError as exc:
            raise StoreError(f"database {self.display_url}: {_one_line(exc)}") from None

    def _write(self, work: Callable[[Session], _T], *, dry_run: bool = False) -> _T:
        """Run `work` in one transaction: commit (or, for a dry run, roll back) all of it, or none on error."""
        session = self._sessions()
        try:
            result = work(session)
            session.flush()
            if dry_run:
                session.rollback()
            else:
                session.commit()
            return result
        except PipecastError:
            session.rollback()
            raise
        except SQLAlchemyError as exc:
            session.rollback()
            raise StoreError(f"database {self.display_url}: nothing written: {_one_line(exc)}") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # ---- writing

    def add_assets(
        self,
        assets: Iterable[Asset],
        *,
        source_file: str | os.PathLike[str] | None = None,
        dry_run: bool = False,
    ) -> ImportSummary:
        """Add candidates and their history in one transaction; idempotent; history is only appended.

        A new asset is inserted; a known id gets its changed attributes updated (a blank value never
        erases a stored one) and any events not yet recorded appended. Aliases are added, never removed.
        """
        return self.import_data(assets=assets, source_file=source_file, dry_run=dry_run)

    def add_facts(
        self,
        facts: Iterable[Fact],
        *,
        source_file: str | os.PathLike[str] | None = None,
        dry_run: bool = False,
    ) -> ImportSummary:
        """Append dated facts in one transaction; a fact already recorded (same values and source) is skipped."""
        return self.import_data(facts=facts, source_file=source_file, dry_run=dry_run, kind="facts")

    def import_data(
        self,
        *,
        assets: Iterable[Asset] = (),
        facts: Iterable[Fact] = (),
        organisations: Iterable[Organisation] = (),
        source_file: str | os.PathLike[str] | None = None,
        kind: str = "",
        dry_run: bool = False,
    ) -> ImportSummary:
        """Assets, facts and organisations together, in ONE transaction (a data set folder)."""
        asset_list = list(assets)
        fact_list = list(facts)
        org_list = list(organisations)
        dupes = unique_ids(asset_list)
        if dupes:
            raise InputError(f"duplicate asset id(s) {', '.join(sorted(set(dupes)))}",
                             file=str(source_file or ""), field="id", expected="unique ids")
        summary = ImportSummary(
            file=os.fspath(source_file) if source_file is not None else "",
            sha256=file_sha256(source_file) if source_file is not None else "",
            rows=len(asset_list) + len(fact_list),
            dry_run=dry_run,
        )
        if not kind:
            path = Path(summary.file) if summary.file else None
            kind = "dataset" if path is not None and path.is_dir() else ("facts" if not asset_list else "assets")

        def work(session: Session) -> ImportSummary:
            batch = ImportBatch(file=summary.file, sha256=summary.sha256, imported_at=utcnow(), kind=kind,
                                rows=summary.rows, assets_added=0, assets_updated=0, events_added=0,
                                facts_added=0)
            if asset_list:
                self._merge_assets(session, asset_list, batch, summary)
            if fact_list:
                self._merge_facts(session, fact_list, batch, summary)
            if org_list:
                summary.organisations_changed = self._merge_organisations(session, org_list)
            if summary.changed:
                batch.assets_added = summary.assets_added
                batch.assets_updated = summary.assets_updated
                batch.events_added = summary.events_added
                batch.facts_added = summary.facts_added
                session.add(batch)
                session.flush()
                if not dry_run:
                    summary.batch_id = batch.id
            return summary

        return self._write(work, dry_run=dry_run)

    def _merge_assets(
        self, session: Session, assets: list[Asset], batch: ImportBatch, summary: ImportSummary
    ) -> None:
        ids = [a.id for a in assets]
        existing: dict[str, AssetRow] = {}
        events: dict[str, list[PhaseEventRow]] = defaultdict(list)
        alias_norms: dict[str, set[str]] = defaultdict(set)
        for chunk in _chunks(ids):
            for found in session.scalars(select(AssetRow).where(AssetRow.id.in_(chunk))):
                existing[found.id] = found
            for stored in session.scalars(select(PhaseEventRow).where(PhaseEventRow.asset_id.in_(chunk))):
                events[stored.asset_id].append(stored)
            for al in session.scalars(select(AliasRow).where(AliasRow.asset_id.in_(chunk))):
                alias_norms[al.asset_id].add(al.norm)
        ident = _identity(session)
        if ident.redirects or ident.moved:
            # An event is already known if the id's own rows (even those split away) or the candidate it
            # now resolves to (merges and splits applied) record it: re-imports stay idempotent.
            named: dict[str, list[str]] = defaultdict(list)  # canonical id -> the ids given that resolve to it
            for i in ids:
                named[ident.canonical(i)].append(i)
            for chunk in _chunks(sorted(named)):
                for owner, rows in _events_of(session, ident, chunk).items():
                    for i in named[owner]:
                        held = {r.id for r in events[i]}
                        events[i].extend(r for r in rows if r.id not in held)
            # Names and aliases a candidate has only through a merge (the views fold them in) are not
            # stored as its own aliases: undoing the merge must take them away again.
            merged = [m for m in ident.redirects if ident.canonical(m) in named]
            for chunk in _chunks(merged):
                for merged_id, name in session.execute(
                    select(AssetRow.id, AssetRow.name).where(AssetRow.id.in_(chunk))
                ):
                    for i in named[ident.canonical(merged_id)]:
                        alias_norms[i].add(normalise_name(name))
                for al in session.scalars(select(AliasRow).where(AliasRow.asset_id.in_(chunk))):
                    for i in named[ident.canonical(al.asset_id)]:
                        alias_norms[i].add(al.norm)
        now = utcnow()
        for asset in assets:
            row = existing.get(asset.id)
            if row is None:
                row = AssetRow(id=asset.id, created_at=now, updated_at=now,
                               **{a: getattr(asset, a) for a in ASSET_ATTRIBUTES})
                session.add(row)
                existing[asset.id] = row
                summary.assets_added += 1
                summary.changes.append(
                    f"+ asset {asset.id} {asset.name!r} ({asset.phase.value} since {asset.phase_start})"
                )
            else:
                diffs = _attribute_changes(row, asset)
                if diffs:
                    for attr, (_, new) in diffs.items():
                        setattr(row, attr, new)
                    row.updated_at = now
                    summary.assets_updated += 1
                    summary.changes.append(
                        f"~ asset {asset.id}: "
                        + "; ".join(f"{a} {old!r} -> {new!r}" for a, (old, new) in diffs.items())
                    )
            for alias in asset.aliases:
                norm = normalise_name(alias)
                if not norm or norm in alias_norms[asset.id]:
                    continue
                alias_norms[asset.id].add(norm)
                session.add(AliasRow(asset_id=asset.id, alias=alias, norm=norm))
                summary.aliases_added += 1
                summary.changes.append(f"+ alias {alias!r} for {asset.id}")
            known = events[asset.id]
            for ev in asset.history:
                if any(_event_matches(r, ev) for r in known):
                    summary.events_known += 1
                    continue
                source = ev.source
                new = PhaseEventRow(
                    asset_id=asset.id,
                    phase=ev.phase.value,
                    date=ev.date,
                    indication=ev.indication,
                    source_title=source.title if source else "",
                    source_url=source.url if source else "",
                    source_date=source.date if source else None,
                    recorded=ev.recorded,
                    recorded_at=now,
                    batch=batch,
                )
                session.add(new)
                known.append(new)
                summary.events_added += 1
                where = f" [{source.title}]" if source else ""
                summary.changes.append(f"+ event {asset.id}: {ev.phase.value} on {ev.date}{where}")

    def _merge_facts(self, session: Session, facts: list[Fact], batch: ImportBatch, summary: ImportSummary) -> None:
        known = {_fact_row_key(r) for r in session.scalars(select(FactRow))}
        now = utcnow()
        for fact in facts:
            key = _fact_key(fact)
            if key in known:
                summary.facts_known += 1
                continue
            known.add(key)
            source = fact.source
            session.add(FactRow(
                entity=fact.entity, field=fact.field, value=fact.value, unit=fact.unit, as_of=fact.as_of,
                as_of_text=fact.as_of_text,
                source_title=source.title if source else "", source_url=source.url if source else "",
                source_date=source.date if source else None, note=fact.note, recorded_at=now, batch=batch,
            ))
            summary.facts_added += 1
            when = fact.as_of_text or (fact.as_of.isoformat() if fact.as_of else "an unknown date")
            unit = f" {fact.unit}" if fact.unit else ""
            summary.changes.append(f"+ fact {fact.entity} | {fact.field} = {fact.value}{unit} ({when})")

    def add_organisations(self, organisations: Iterable[Organisation], *, dry_run: bool = False) -> int:
        """Insert or update organisations; returns how many rows were added or changed."""
        orgs = list(organisations)
        return self._write(lambda session: self._merge_organisations(session, orgs), dry_run=dry_run)

    @staticmethod
    def _merge_organisations(session: Session, orgs: list[Organisation]) -> int:
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
        return changed

    # ---- reading

    def assets(self, as_of: dt.date | None = None) -> list[Asset]:
        """All candidates, ordered by id; with `as_of`, as the data knew them on that date (no look-ahead)."""
        return self._read(lambda s: self._load_assets(s, None, as_of))

    def _load_assets(self, session: Session, ids: Sequence[str] | None, as_of: dt.date | None) -> list[Asset]:
        """Candidates (all, or the given canonical ids) with merges and splits in force applied.

        A merged candidate is not listed: its events count for the survivor (corroborations fold in as
        usual) and its name and aliases follow the survivor's own aliases. Event rows are never changed.
        """
        ident = _identity(session)
        query = select(AssetRow).order_by(AssetRow.id)
        al_query = select(AliasRow).order_by(AliasRow.id)
        if ids is not None:
            raw = ident.merged_into(ids)
            query = query.where(AssetRow.id.in_(raw))
            al_query = al_query.where(AliasRow.asset_id.in_(raw))
        events = _events_of(session, ident, ids, as_of)
        aliases: dict[str, list[str]] = defaultdict(list)
        for al in session.scalars(al_query):
            aliases[al.asset_id].append(al.alias)
        rows = {row.id: row for row in session.scalars(query)}
        folded: dict[str, list[str]] = defaultdict(list)  # survivor -> merged ids, in merge order
        for merged in ident.redirects:
            if merged in rows:
                folded[ident.canonical(merged)].append(merged)
        result = []
        for row in rows.values():
            if row.id in ident.redirects or (ids is not None and row.id not in ids):
                continue
            history = _dedupe(events.get(row.id, ()))
            if not history:
                continue
            names = list(aliases.get(row.id, ()))
            if folded.get(row.id):
                seen = {normalise_name(n) for n in (row.id, row.name, *names)}
                for merged in folded[row.id]:
                    for name in (rows[merged].name, *aliases.get(merged, ())):
                        norm = normalise_name(name)
                        if norm and norm not in seen:
                            seen.add(norm)
                            names.append(name)
            full = Asset(
                id=row.id, history=tuple(history), aliases=tuple(names),
                **{a: getattr(row, a) for a in ASSET_ATTRIBUTES},
            )
            view = full.as_of(as_of) if as_of is not None else full
            if view is not None:
                result.append(view)
        return result

    def resolve(self, id_or_alias: str) -> str:
        """The asset id for an id, alias or name (case-, width- and punctuation-insensitive).

        A merged candidate's id, name or alias gives the candidate it was merged into.
        """

        def work(session: Session) -> str:
            ident = _identity(session)
            key = id_or_alias.strip()
            if key and session.get(AssetRow, key) is not None:
                return ident.canonical(key)
            norm = normalise_name(key)
            found: set[str] = set()
            if norm:
                found.update(ident.canonical(a)
                             for a in session.scalars(select(AliasRow.asset_id).where(AliasRow.norm == norm)))
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

        return self._read(work)

    def asset(self, id_or_alias: str, as_of: dt.date | None = None) -> Asset:
        """One candidate by id, alias or name; raises InputError if unknown, ambiguous, or unknown on `as_of`."""
        asset_id = self.resolve(id_or_alias)
        found = self._read(lambda s: self._load_assets(s, [asset_id], as_of))
        if not found:
            raise InputError(f"asset {asset_id!r} was not yet known on {as_of}", field="--as-of",
                             expected="a later date")
        return found[0]

    def history(self, id_or_alias: str) -> list[EventRecord]:
        """Every stored event row of a candidate, oldest first, with the import that wrote it.

        Rows of candidates merged into it, and rows split into it, are included (see `stored_asset_id`).
        """
        asset_id = self.resolve(id_or_alias)

        def work(session: Session) -> list[EventRecord]:
            ident = _identity(session)
            rows = _events_of(session, ident, [asset_id]).get(asset_id, [])
            batch_ids = {r.import_batch_id for r in rows if r.import_batch_id is not None}
            files: dict[int, str] = {
                batch_id: file
                for batch_id, file in session.execute(
                    select(ImportBatch.id, ImportBatch.file).where(ImportBatch.id.in_(batch_ids))
                )
            }
            records = [
                EventRecord(row.id, asset_id, _to_event(row), _aware(row.recorded_at), row.import_batch_id,
                            files.get(row.import_batch_id, "") if row.import_batch_id is not None else "",
                            row.asset_id if row.asset_id != asset_id else "")
                for row in rows
            ]
            return sorted(records, key=lambda r: (r.event.date, r.event.phase.order, r.id))

        return self._read(work)

    def portfolio(self, as_of: dt.date | None = None, label: str = "") -> Portfolio:
        """The candidates as known on `as_of` (default today), ready for a forecast."""
        when = as_of or dt.date.today()
        return Portfolio.of(self.assets(when), when, label or self.display_url)

    def counts(self, as_of: dt.date | None = None) -> dict[Phase, int]:
        """Candidates by phase on `as_of` (default today), cohorts counted by their size; every phase present."""
        return self.portfolio(as_of).by_phase()

    def facts(
        self, entity: str | None = None, field: str | None = None, as_of: dt.date | None = None
    ) -> list[Fact]:
        """Recorded facts, optionally for one entity/field and only those known on `as_of` (dated on or
        before it; facts with an unknown date are left out of an as-of view)."""

        def work(session: Session) -> list[Fact]:
            query = select(FactRow).order_by(
                FactRow.entity, FactRow.field, FactRow.as_of.is_(None), FactRow.as_of, FactRow.id
            )
            if entity is not None:
                query = query.where(FactRow.entity == entity)
            if field is not None:
                query = query.where(FactRow.field == field)
            if as_of is not None:
                query = query.where(FactRow.as_of <= as_of)
            return [
                Fact(r.entity, r.field, r.value, r.as_of, r.unit,
                     _row_source(r.source_title, r.source_url, r.source_date), r.note, r.as_of_text)
                for r in session.scalars(query)
            ]

        return self._read(work)

    def organisations(self) -> list[Organisation]:
        def work(session: Session) -> list[Organisation]:
            return [
                Organisation(r.id, r.name, OrgKind(r.kind), tuple(a for a in r.aliases.split("|") if a), r.city,
                             r.parent_id)
                for r in session.scalars(select(OrganisationRow).order_by(OrganisationRow.id))
            ]

        return self._read(work)

    def batches(self) -> list[BatchRecord]:
        """Every import that changed something, oldest first."""

        def work(session: Session) -> list[BatchRecord]:
            return [
                BatchRecord(b.id, b.file, b.sha256, _aware(b.imported_at), b.kind, b.rows, b.assets_added,
                            b.assets_updated, b.events_added, b.facts_added)
                for b in session.scalars(select(ImportBatch).order_by(ImportBatch.id))
            ]

        return self._read(work)

    def table_counts(self) -> dict[str, int]:
        """Rows per table, for status lines and tests."""

        def work(session: Session) -> dict[str, int]:
            models: tuple[type[Base], ...] = (AssetRow, AliasRow, OrganisationRow, PhaseEventRow, FactRow,
                                              ImportBatch, ResolutionActionRow, AssetRedirectRow,
                                              EventReassignmentRow)
            return {
                m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0) for m in models
            }

        return self._read(work)

    # ---- entity resolution: explicit, audited, undoable; never a silent merge

    def merge(
        self, into_id: str, from_ids: Iterable[str], *, reason: str, actor: str | None = None,
        dry_run: bool = False,
    ) -> int:
        """Record that the candidates `from_ids` are `into_id`; returns the action id.

        Nothing is rewritten: the views fold the merged candidates' events and aliases into `into_id`,
        and `resolve` of a merged id gives `into_id`. `undo(action_id)` reverses it. ResolutionError
        (nothing written) for an unknown or already merged id, a cohort, or merging a candidate into itself.
        """
        why, who = _reason(reason), _actor(actor)
        sources = list(from_ids)
        return self._write(lambda s: self._merge(s, into_id, sources, why, who), dry_run=dry_run)

    def plan_merge(self, into_id: str, from_ids: Iterable[str], *, reason: str = "preview",
                   actor: str | None = None) -> Asset | None:
        """The surviving candidate as it would read after `merge` (checked the same way); writes nothing."""
        sources = list(from_ids)

        def work(session: Session) -> Asset | None:
            self._merge(session, into_id, sources, _reason(reason), _actor(actor))
            session.flush()
            found = self._load_assets(session, [into_id.strip()], None)
            return found[0] if found else None

        return self._write(work, dry_run=True)

    def _merge(self, session: Session, into_id: str, from_ids: list[str], reason: str, actor: str) -> int:
        ident = _identity(session)
        into = _mergeable(session, ident, into_id, "INTO")
        if not from_ids:
            raise ResolutionError("nothing to merge", field="FROM", expected="one or more candidate ids")
        sources: list[AssetRow] = []
        for from_id in from_ids:
            row = _mergeable(session, ident, from_id, "FROM")
            if row.id == into.id:
                raise ResolutionError(f"cannot merge {row.id!r} into itself", field="FROM",
                                      expected="ids other than INTO")
            if any(r.id == row.id for r in sources):
                raise ResolutionError(f"{row.id!r} is named twice", field="FROM", expected="each id once")
            sources.append(row)
        details = {"into": into.id, "from": [r.id for r in sources], "names": {r.id: r.name for r in sources}}
        action = ResolutionActionRow(action="merge", target_id=into.id, details=json.dumps(details, ensure_ascii=False),
                                     reason=reason, actor=actor, created_at=utcnow())
        session.add(action)
        session.flush()
        for row in sources:
            session.add(AssetRedirectRow(action_id=action.id, from_id=row.id, into_id=into.id))
        session.flush()
        return int(action.id)

    def split(
        self, asset_id: str, *, new_id: str, event_ids: Iterable[int] = (), source: str | None = None,
        name: str | None = None, reason: str, actor: str | None = None, dry_run: bool = False,
    ) -> int:
        """Move chosen events of a candidate to a new candidate `new_id`; returns the action id.

        Events are chosen by id (`history` / `pipecast assets show --json` lists them) and/or by `source`
        (text found in the event's source title or URL). Nothing is rewritten: an event -> asset
        reassignment is recorded and the views apply it. The new candidate copies the old one's
        attributes, named `name` (default: `new_id`). ResolutionError (nothing written) for an unknown or
        merged id, an existing `new_id`, events that are not the candidate's, or moving all of them.
        """
        why, who = _reason(reason), _actor(actor)
        chosen_ids = list(event_ids)

        def work(session: Session) -> int:
            ident = _identity(session)
            row = _mergeable(session, ident, asset_id, "ID", cohorts=True)
            new = new_id.strip()
            if not new:
                raise ResolutionError("the new candidate needs an id", field="--new-id", expected="a new id")
            if new == row.id:
                raise ResolutionError(f"cannot split {row.id!r} into itself", field="--new-id",
                                      expected="an id not yet in the registry")
            existing = session.get(AssetRow, new)
            if existing is not None and (new in ident.redirects or _events_of(session, ident, [new]).get(new)):
                raise ResolutionError(f"{new!r} is already a candidate", field="--new-id",
                                      expected="an id not yet in the registry (to join a known one, split "
                                               "into a new id, then merge)")
            own = {ev.id: ev for ev in _events_of(session, ident, [row.id]).get(row.id, [])}
            chosen: list[int] = []
            for event_id in chosen_ids:
                if event_id not in own:
                    raise ResolutionError(
                        f"event {event_id} does not belong to {row.id!r}", field="--events",
                        expected=f"ids of its events: {', '.join(str(e) for e in sorted(own)) or '(none)'}")
                if event_id not in chosen:
                    chosen.append(event_id)
            if source is not None and source.strip():
                needle = source.strip().casefold()
                matching = [e for e, ev in own.items()
                            if needle in ev.source_title.casefold() or needle in ev.source_url.casefold()]
                if not matching:
                    raise ResolutionError(f"no event of {row.id!r} has a source matching {source!r}",
                                          field="--source", expected="text from a source title or URL")
                chosen.extend(e for e in matching if e not in chosen)
            if not chosen:
                raise ResolutionError("no events chosen", field="--events",
                                      expected="event ids (--events 12,13) or --source TEXT")
            if len(chosen) == len(own):
                raise ResolutionError(f"that would move every event of {row.id!r}", field="--events",
                                      expected=f"fewer events (to rename or join candidates, merge {row.id})")
            details = {"from": row.id, "new_id": new, "events": sorted(chosen),
                       "new_candidate": existing is None}
            action = ResolutionActionRow(action="split", target_id=row.id,
                                         details=json.dumps(details, ensure_ascii=False),
                                         reason=why, actor=who, created_at=utcnow())
            session.add(action)
            session.flush()
            if existing is None:
                now = utcnow()
                attributes = {a: getattr(row, a) for a in ASSET_ATTRIBUTES if a not in ("name", "count", "note")}
                session.add(AssetRow(id=new, name=(name or "").strip() or new, count=1, created_at=now,
                                     updated_at=now, note=f"split from {row.id} by action {action.id}",
                                     **attributes))
                session.flush()
            for event_id in sorted(chosen):
                session.add(EventReassignmentRow(action_id=action.id, event_id=event_id, from_asset_id=row.id,
                                                 to_asset_id=new))
            session.flush()
            return int(action.id)

        return self._write(work, dry_run=dry_run)

    def undo(self, action_id: int, *, reason: str, actor: str | None = None, dry_run: bool = False) -> int:
        """Reverse a merge or split; recorded as a new `undo` action (returned), the original kept, marked undone.

        ResolutionError (nothing written) for an unknown action, an undo, an action already undone, or a
        split whose events a later split moved again (undo that one first).
        """
        why, who = _reason(reason), _actor(actor)

        def work(session: Session) -> int:
            ident = _identity(session)
            original = session.get(ResolutionActionRow, action_id)
            if original is None:
                raise ResolutionError(f"no action {action_id}", field="ACTION_ID",
                                      expected="an id listed by `pipecast actions`")
            if original.action == "undo":
                raise ResolutionError(f"action {action_id} is itself an undo", field="ACTION_ID",
                                      expected="a merge or split (to redo, merge or split again)")
            if original.id in ident.undone:
                raise ResolutionError(f"action {action_id} was already undone by action {ident.undone[original.id]}",
                                      field="ACTION_ID", expected="an action that is still in force")
            if original.action == "split":
                moves = session.scalars(select(EventReassignmentRow).where(
                    EventReassignmentRow.action_id == original.id).order_by(EventReassignmentRow.id))
                for move in moves:
                    latest = ident.moved.get(move.event_id)
                    if latest is not None and latest[1] != original.id:
                        raise ResolutionError(f"event {move.event_id} was moved again by action {latest[1]}",
                                              field="ACTION_ID", expected=f"undo action {latest[1]} first")
            details = {"undoes": original.id, "action": original.action,
                       "original": json.loads(original.details or "{}")}
            action = ResolutionActionRow(action="undo", target_id=original.target_id,
                                         details=json.dumps(details, ensure_ascii=False), reason=why, actor=who,
                                         created_at=utcnow(), undoes_id=original.id)
            session.add(action)
            session.flush()
            return int(action.id)

        return self._write(work, dry_run=dry_run)

    def actions(self) -> list[ActionRecord]:
        """The entity-resolution audit log, oldest first, each marked with the undo that reversed it."""

        def work(session: Session) -> list[ActionRecord]:
            rows = list(session.scalars(select(ResolutionActionRow).order_by(ResolutionActionRow.id)))
            undone = {r.undoes_id: r.id for r in rows if r.undoes_id is not None}
            return [
                ActionRecord(r.id, r.action, r.target_id, json.loads(r.details or "{}"), r.reason, r.actor,
                             _aware(r.created_at), r.undoes_id, undone.get(r.id))
                for r in rows
            ]

        return self._read(work)

    def review_matches(self, threshold: float = 0.0) -> list[ReviewItem]:
        """Unresolved candidates (registry-prefixed ids such as `ctr:`, or noted as unresolved) with the
        candidates they may be, scored by `pipecast.ingest.resolve.match_candidates`, best first.

        Suggestions only: nothing is merged; a person decides and runs `merge`.
        """
        from pipecast.ingest.registry_import import UNRESOLVED_NOTE, UNRESOLVED_PREFIXES

        assets = [a for a in self.assets() if not a.is_cohort]

        def unresolved(asset: Asset) -> bool:
            return asset.id.startswith(UNRESOLVED_PREFIXES) or UNRESOLVED_NOTE in asset.note

        pending = [a for a in assets if unresolved(a)]
        table = AliasTable()
        # known candidates first, so that a name both share is filed under the known one
        for asset in [a for a in assets if not unresolved(a)] + pending:
            for alias in dict.fromkeys((asset.id, asset.name, *asset.aliases)):
                if not alias.strip():
                    continue
                try:
                    table.add(alias, "drug", asset.id, source="store")
                except InputError:
                    continue
        items = []
        for asset in pending:
            best: dict[str, Match] = {}
            for alias in dict.fromkeys((asset.name, *asset.aliases)):
                for match in match_candidates(alias, table):
                    if match.asset_id == asset.id or match.score < threshold:
                        continue
                    if match.score > best.get(match.asset_id, Match(-1.0, "", "")).score:
                        best[match.asset_id] = match
            ranked = tuple(sorted(best.values(), key=lambda m: (-m.score, m.asset_id)))
            items.append(ReviewItem(asset.id, asset.name, asset.note, ranked))
        return items


def _mergeable(session: Session, ident: _Identity, asset_id: str, role: str, *, cohorts: bool = False) -> AssetRow:
    """The stored candidate `asset_id`, which must not itself be merged away (nor, unless allowed, a cohort)."""
    key = (asset_id or "").strip()
    row = session.get(AssetRow, key) if key else None
    if row is None:
        raise ResolutionError(f"no candidate with id {asset_id!r}", field=role, expected=_ID_HELP)
    if key in ident.redirects:
        action = ident.redirects[key][1]
        survivor = ident.canonical(key)
        raise ResolutionError(f"{key!r} was merged into {survivor!r} by action {action}", field=role,
                              expected=f"{survivor!r} itself, or `pipecast undo {action}` first")
    if not cohorts and (row.count > 1 or key.startswith("cohort:")):
        raise ResolutionError(f"{key!r} is a cohort of {row.count}, not one candidate", field=role,
                              expected="single candidates (cohorts cannot be merged)")
    return row


def _attribute_changes(row: AssetRow, asset: Asset) -> dict[str, tuple[Any, Any]]:
    diffs: dict[str, tuple[Any, Any]] = {}
    for attr in ASSET_ATTRIBUTES:
        old, new = getattr(row, attr), getattr(asset, attr)
        if old == new:
            continue
        if isinstance(new, str) and not new:
            continue  # a blank never erases a stored value
        if attr == "name" and new == asset.id and old:
            continue  # loaders fill a missing name with the id
        diffs[attr] = (old, new)
    return diffs


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _alembic_config():  # -> alembic.config.Config
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


# --------------------------------------------------------------------------------------------- facts.csv


_LOOSE_DATE = re.compile(
    r"(?<!\d)(\d{4})(?:\s*[-/.年]\s*(\d{1,2})(?!\d)(?:\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?)?\s*月?)?(?!\d)"
)


def parse_fact_date(text: str, *, today: dt.date | None = None) -> tuple[dt.date | None, str]:
    """A published date, exact or loose, as (latest day it can mean, wording kept if loose).

    "2024-08-20" -> that day; "2025-11" -> 2025-11-30; "2024" -> 2024-12-31; "before 2024-08-20" ->
    2024-08-20; "c.2020-2021" -> 2021-12-31 (the last date named wins); "unknown" or "" -> None.
    A loose date's end is capped at `today`. Raises ValueError for text with digits but no usable date.
    """
    today = today or dt.date.today()
    text = text.strip()
    if not text:
        return None, ""
    try:
        return parse_date(text), ""
    except ValueError:
        pass
    matches = list(_LOOSE_DATE.finditer(text))
    if not matches:
        if any(ch.isdigit() for ch in text):
            raise ValueError(text)
        return None, text
    year_text, month_text, day_text = matches[-1].groups()
    year = int(year_text)
    if day_text:
        when = dt.date(year, int(month_text), int(day_text))
    elif month_text:
        month = int(month_text)
        if not 1 <= month <= 12:
            raise ValueError(text)
        when = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    else:
        when = dt.date(year, 12, 31)
    if not day_text and when > today and dt.date(year, int(month_text or 1), 1) <= today:
        when = today  # a period that has begun: known by today at the latest
    return when, text


def load_facts(path: str | os.PathLike[str], *, today: dt.date | None = None) -> list[Fact]:
    """Read facts.csv/.xlsx: `entity,field,value,as_of[,unit,source_title,source_url,source_date,note]`.

    The date column may also be called `as_of_date` or `date`, and may be loose (see `parse_fact_date`).
    """
    today = today or dt.date.today()
    rows = read_table(Path(path), FACT_COLUMNS, FACT_OPTIONAL)
    facts = []
    for row in rows:
        date_column = next((c for c in FACT_DATE_COLUMNS if c in row.values), "")
        if not date_column:
            raise InputError("missing column(s) as_of", file=row.file, row=1,
                             expected="a header with " + ", ".join(FACT_COLUMNS) + ", as_of")
        raw = row.get(date_column)
        try:
            when, wording = parse_fact_date(raw, today=today)
        except ValueError:
            raise row.error(date_column, f"{raw!r} is not a date",
                            "a date such as 2024-08-20, 2024-08 or 2024, or a word such as 'unknown'") from None
        if when is not None and when < EARLIEST_PLAUSIBLE_DATE:
            raise row.error(date_column, f"{when} is before {EARLIEST_PLAUSIBLE_DATE}", "a plausible date")
        if when is not None and when > today:
            raise row.error(date_column, f"{when} is in the future (after {today})", f"a date on or before {today}")
        title, url = row.get("source_title"), row.get("source_url")
        source = Source(title or url, url, row.date("source_date", not_after=today, required=False)) \
            if (title or url) else None
        facts.append(Fact(
            entity=row.required("entity", "what the figure is about, e.g. a company or 'Chongqing'"),
            field=row.required("field", "what is measured, e.g. clinical_trials or funding_cny"),
            value=row.required("value", "the figure"),
            as_of=when,
            unit=row.get("unit"),
            source=source,
            note=row.get("note"),
            as_of_text=wording,
        ))
    return facts


def phase_argument(text: str, option: str = "--phase") -> Phase:
    """Parse a phase given on the command line, as an InputError naming the option."""
    try:
        return parse_phase(text)
    except UnknownPhaseError:
        raise InputError(f"unknown phase {text!r}", field=option, expected=ACCEPTED_PHASE_HELP) from None
