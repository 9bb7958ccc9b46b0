"""The registry: candidates, their append-only dated phase history, and dated facts, in SQL.

SQLite by default (one file), PostgreSQL by URL; the same code runs on both. Opening a store brings
its schema up to date with the Alembic migrations shipped in `pipecast/store/migrations`.

Every write is one transaction: it all happens or nothing does. Re-adding what is already known adds
nothing, so imports are idempotent; history rows are only ever inserted, so `assets(as_of=D)`
rebuilds the pipeline as the data knew it on D.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, func, select
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
from pipecast.store.models import (
    AliasRow,
    AssetRow,
    Base,
    FactRow,
    ImportBatch,
    OrganisationRow,
    PhaseEventRow,
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
    batch_id: int | None = None
    dry_run: bool = False
    changes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.assets_added or self.assets_updated or self.events_added or self.aliases_added
                    or self.facts_added)

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
        head = f"{self.file}: " if self.file else ""
        if not self.changed:
            return f"{head}nothing new ({self.events_known} event(s), {self.facts_known} fact(s) already known)"
        return head + f"{verb} " + ", ".join(parts)


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
        source_file: str | os.PathLike[str] | None = None,
        kind: str = "",
        dry_run: bool = False,
    ) -> ImportSummary:
        """Assets and facts together, in ONE transaction (a data set folder with facts.csv)."""
        asset_list = list(assets)
        fact_list = list(facts)
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

        def work(session: Session) -> int:
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

        return self._write(work, dry_run=dry_run)

    # ---- reading

    def assets(self, as_of: dt.date | None = None) -> list[Asset]:
        """All candidates, ordered by id; with `as_of`, as the data knew them on that date (no look-ahead)."""
        return self._read(lambda s: self._load_assets(s, None, as_of))

    def _load_assets(self, session: Session, ids: Sequence[str] | None, as_of: dt.date | None) -> list[Asset]:
        query = select(AssetRow).order_by(AssetRow.id)
        ev_query = select(PhaseEventRow).order_by(PhaseEventRow.id)
        al_query = select(AliasRow).order_by(AliasRow.id)
        if ids is not None:
            query = query.where(AssetRow.id.in_(ids))
            ev_query = ev_query.where(PhaseEventRow.asset_id.in_(ids))
            al_query = al_query.where(AliasRow.asset_id.in_(ids))
        if as_of is not None:
            ev_query = ev_query.where(PhaseEventRow.date <= as_of)
        events: dict[str, list[PhaseEventRow]] = defaultdict(list)
        for ev in session.scalars(ev_query):
            events[ev.asset_id].append(ev)
        aliases: dict[str, list[str]] = defaultdict(list)
        for al in session.scalars(al_query):
            aliases[al.asset_id].append(al.alias)
        result = []
        for row in session.scalars(query):
            history = _dedupe(events.get(row.id, ()))
            if not history:
                continue
            full = Asset(
                id=row.id, history=tuple(history), aliases=tuple(aliases.get(row.id, ())),
                **{a: getattr(row, a) for a in ASSET_ATTRIBUTES},
            )
            view = full.as_of(as_of) if as_of is not None else full
            if view is not None:
                result.append(view)
        return result

    def resolve(self, id_or_alias: str) -> str:
        """The asset id for an id, alias or name (case-, width- and punctuation-insensitive)."""

        def work(session: Session) -> str:
            key = id_or_alias.strip()
            if key and session.get(AssetRow, key) is not None:
                return key
            norm = normalise_name(key)
            found: set[str] = set()
            if norm:
                found.update(session.scalars(select(AliasRow.asset_id).where(AliasRow.norm == norm)))
                for asset_id, name in session.execute(select(AssetRow.id, AssetRow.name)):
                    if normalise_name(asset_id) == norm or normalise_name(name) == norm:
                        found.add(asset_id)
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
        """Every stored event row of a candidate, oldest first, with the import that wrote it."""
        asset_id = self.resolve(id_or_alias)

        def work(session: Session) -> list[EventRecord]:
            query = (select(PhaseEventRow, ImportBatch.file)
                     .outerjoin(ImportBatch, PhaseEventRow.import_batch_id == ImportBatch.id)
                     .where(PhaseEventRow.asset_id == asset_id))
            records = [
                EventRecord(row.id, row.asset_id, _to_event(row), _aware(row.recorded_at), row.import_batch_id,
                            file or "")
                for row, file in session.execute(query)
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
                                              ImportBatch)
            return {
                m.__tablename__: int(session.scalar(select(func.count()).select_from(m)) or 0) for m in models
            }

        return self._read(work)


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
