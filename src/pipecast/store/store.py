"""The registry: candidates, their append-only dated phase history, and dated facts, in SQL.

`Store` is a thin facade over modules that each hold one concept:

    urls        where a store lives; engines; the write lock       schema      the schema version, Alembic
    records     what views and writes return                       upserts     import upserts
    views       reads (assets as of D, history, counts...)         resolution  merge, split, undo, review
    chain       the hash chain over the history, and verify        facts       facts.csv parsing

SQLite by default (one file), PostgreSQL by URL; the same code runs on both. Every write is one transaction
that holds the store's write lock (so concurrent writers run one after the other): it all happens or nothing
does, and every history row it inserted is chained (`verify`). Re-adding what is already known adds nothing,
so imports are idempotent; history rows are only ever inserted, so `assets(as_of=D)` rebuilds the pipeline as
the data knew it on D. Entity resolution is explicit and audited, never silent (see `resolution`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from pipecast import changes, clock
from pipecast.domain import Asset, Organisation, Phase, Portfolio
from pipecast.errors import InputError, PipecastError, StoreError
from pipecast.store import alerts as _alerts  # noqa: F401  (registers migration 0007's tables on Base.metadata)
from pipecast.store import cases as _cases  # noqa: F401
from pipecast.store import chain, resolution, schema, upserts, views
from pipecast.store import regions as _regions  # noqa: F401  (migration 0008's tables)
from pipecast.store.facts import load_facts, parse_fact_date
from pipecast.store.records import (
    CHANGES_LISTED,
    ActionRecord,
    BatchRecord,
    EventRecord,
    Fact,
    ImportSummary,
    ResolutionError,
    ReviewItem,
    VerifyReport,
    WriteResult,
)
from pipecast.store.schema import MIGRATIONS_DIR
from pipecast.store.upserts import ASSET_ATTRIBUTES, file_sha256
from pipecast.store.urls import (
    WRITE_OPTION,
    default_db_path,
    default_db_url,
    make_engine,
    one_line,
    resolve_url,
    write_lock,
)

__all__ = [
    "ASSET_ATTRIBUTES", "CHANGES_LISTED", "MIGRATIONS_DIR", "ActionRecord", "BatchRecord", "EventRecord", "Fact",
    "ImportSummary", "ResolutionError", "ReviewItem", "Store", "VerifyReport", "WriteResult", "default_db_path",
    "default_db_url", "file_sha256", "load_facts", "parse_fact_date", "resolve_url",
]

_T = TypeVar("_T")
_log = logging.getLogger("pipecast.alerts")


class Store:
    """A pipecast registry in one SQL database."""

    def __init__(self, engine: Engine, *, display_url: str = "") -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        event.listen(self._sessions, "after_flush", chain.collect_new_rows)
        self.display_url = display_url or engine.url.render_as_string(hide_password=True)
        #: Run by `changed()` after a committed write that can change what watchers watch (the API sets the
        #: alert scan here); None: the hooks active in this process (`pipecast.changes.active`).
        self.after_change: Callable[[Store], object] | None = None

    # ---- opening

    @classmethod
    def open(cls, url_or_path: str | os.PathLike[str] | None = None, *, create: bool = True,
             migrate: bool = True) -> Store:
        """Open the store at a SQLite path or SQLAlchemy URL; None means the default file.

        With `create` (writers: import, load-bundled, ingest) a missing SQLite file, its folder and the schema
        are created; without it (readers) a store that does not exist is a StoreError naming the path, and
        nothing is created. The schema is brought up to date unless `migrate` is False.
        """
        engine, shown = make_engine(resolve_url(url_or_path), create=create)
        store = cls(engine, display_url=shown)
        if migrate:
            try:
                schema.ensure_current(engine, shown, create=create)
            except BaseException:
                engine.dispose()
                raise
        return store

    def upgrade(self) -> None:
        """Run the packaged Alembic migrations up to head (a no-op when the schema is current)."""
        schema.ensure_current(self._engine, self.display_url, create=True)

    def schema_version(self) -> str | None:
        with self._engine.connect() as conn:
            return schema.current_revision(conn)

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
            raise StoreError(f"database {self.display_url}: {one_line(exc)}") from None

    def _write(self, work: Callable[[Session], _T], *, dry_run: bool = False) -> _T:
        """Run `work` in one transaction holding the write lock: commit (or, for a dry run, roll back) all of
        it, chaining the history rows it inserted; on any error, none of it."""
        session = self._sessions()
        try:
            write_lock(session.connection(execution_options={WRITE_OPTION: True}))
            result = work(session)
            session.flush()
            if dry_run:
                session.rollback()
            else:
                chain.seal(session)
                session.commit()
            return result
        except PipecastError:
            session.rollback()
            raise
        except SQLAlchemyError as exc:
            session.rollback()
            raise StoreError(self._write_failure(exc)) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def changed(self) -> None:
        """After a committed change-making write (an import, an edit, a merge, split or undo, a deal, a case
        move): run the after-change hooks (the alert scan). Never inside the write's transaction; a failing
        hook is logged and the write stands (the next scan finds the change)."""
        hooks = (self.after_change,) if self.after_change is not None else changes.hooks()
        for hook in hooks:
            try:
                hook(self)
            except Exception as exc:  # a scan must never fail the write that committed
                _log.warning("alert scan after a write to %s failed (left for the next scan): %s",
                             self.display_url, " ".join(str(exc).split()) or type(exc).__name__)

    def _write_failure(self, exc: SQLAlchemyError) -> str:
        text = one_line(exc)
        if isinstance(exc, OperationalError) and "locked" in text:
            return (f"database {self.display_url} is busy: another write held it too long; nothing written, "
                    "try again")
        if isinstance(exc, IntegrityError) and ("UNIQUE" in text or "duplicate key" in text):
            return (f"database {self.display_url}: nothing written: the same rows were written at the same time "
                    f"by another import (run it again: it will add what is still new) ({text})")
        return f"database {self.display_url}: nothing written: {text}"

    def _changing(self, result: _T, dry_run: bool) -> _T:
        """`result` of a committed write, after running the after-change hooks (not for a dry run)."""
        if not dry_run:
            self.changed()
        return result

    # ---- writing

    def add_assets(self, assets: Iterable[Asset], *, source_file: str | os.PathLike[str] | None = None,
                   dry_run: bool = False) -> WriteResult:
        """Add candidates and their history in one transaction; idempotent; history is only appended.

        A new asset is inserted; a known id gets its changed attributes updated (a blank value never
        erases a stored one) and any events not yet recorded appended. Aliases are added, never removed.
        """
        return self.import_data(assets=assets, source_file=source_file, dry_run=dry_run)

    def add_facts(self, facts: Iterable[Fact], *, source_file: str | os.PathLike[str] | None = None,
                  dry_run: bool = False) -> WriteResult:
        """Append dated facts in one transaction; a fact already recorded (same values and source) is skipped."""
        return self.import_data(facts=facts, source_file=source_file, dry_run=dry_run, kind="facts")

    def import_data(
        self,
        *,
        assets: Iterable[Asset] = (),
        facts: Iterable[Fact] = (),
        organisations: Iterable[Organisation] = (),
        source_file: str | os.PathLike[str] | None = None,
        source_name: str | None = None,
        kind: str = "",
        dry_run: bool = False,
        also: Callable[[Session, WriteResult], object] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> WriteResult:
        """Assets, facts and organisations together, in ONE transaction (a data set folder).

        `assets` and `facts` may be iterators: they are written in chunks (query, insert, flush per chunk)
        inside the one transaction, so memory stays bounded whatever their number; any exception on the way
        (a duplicate id, a bad row raised by the stream, running out of memory) rolls all of it back.
        `progress(candidates written so far)` is called after each chunk. `source_file` is hashed;
        `source_name` is what the import records as its file (default: `source_file`'s path), e.g. an upload's
        own name rather than its temporary path. `also(session, result)`, if given, runs last in the same
        transaction (the API writes its audit row there). `WriteResult.changes` lists the first
        `CHANGES_LISTED` changes; the counts (and `changes_by_asset`) are complete.
        """
        org_list = list(organisations)
        stream = iter(assets)
        first = next(stream, None)
        asset_stream: Iterable[Asset] = () if first is None else itertools.chain((first,), stream)
        path = os.fspath(source_file) if source_file is not None else ""
        summary = WriteResult(
            file=source_name if source_name is not None else path,
            sha256=file_sha256(source_file) if source_file is not None else "",
            dry_run=dry_run,
        )
        if not kind:
            kind = "dataset" if path and Path(path).is_dir() else ("facts" if first is None else "assets")

        def work(s: Session) -> WriteResult:
            done = upserts.import_work(s, asset_stream, facts, org_list, summary, kind, progress)
            if also is not None:
                also(s, done)
            return done

        result = self._write(work, dry_run=dry_run)
        if not dry_run:
            self.changed()
        return result

    # ---- reading

    def assets(self, as_of: dt.date | None = None) -> list[Asset]:
        """All candidates, ordered by id; with `as_of`, as the data knew them on that date (no look-ahead)."""
        return self._read(lambda s: views.load_assets(s, None, as_of))

    def resolve(self, id_or_alias: str) -> str:
        """The asset id for an id, alias or name (case-, width- and punctuation-insensitive).

        A merged candidate's id, name or alias gives the candidate it was merged into.
        """
        return self._read(lambda s: views.resolve_id(s, id_or_alias))

    def asset(self, id_or_alias: str, as_of: dt.date | None = None) -> Asset:
        """One candidate by id, alias or name; raises InputError if unknown, ambiguous, or unknown on `as_of`."""
        asset_id = self.resolve(id_or_alias)
        found = self._read(lambda s: views.load_assets(s, [asset_id], as_of))
        if not found:
            raise InputError(f"asset {asset_id!r} was not yet known on {as_of}", field="--as-of",
                             expected="a later date")
        return found[0]

    def history(self, id_or_alias: str) -> list[EventRecord]:
        """Every stored event row of a candidate, oldest first, with the import that wrote it.

        Rows of candidates merged into it, and rows split into it, are included (see `stored_asset_id`).
        """
        asset_id = self.resolve(id_or_alias)
        return self._read(lambda s: views.history(s, asset_id))

    def portfolio(self, as_of: dt.date | None = None, label: str = "") -> Portfolio:
        """The candidates as known on `as_of` (default: `pipecast.clock.today()`), ready for a forecast."""
        when = as_of or clock.today()
        return Portfolio.of(self.assets(when), when, label or self.display_url)

    def counts(self, as_of: dt.date | None = None) -> dict[Phase, int]:
        """Candidates by phase on `as_of` (default today), cohorts counted by their size; every phase present."""
        return self.portfolio(as_of).by_phase()

    def facts(self, entity: str | None = None, field: str | None = None, as_of: dt.date | None = None) -> list[Fact]:
        """Recorded facts, optionally for one entity/field and only those known on `as_of` (dated on or
        before it; facts with an unknown date are left out of an as-of view)."""
        return self._read(lambda s: views.facts(s, entity, field, as_of))

    def organisations(self) -> list[Organisation]:
        return self._read(views.organisations)

    def batches(self) -> list[BatchRecord]:
        """Every import that changed something, oldest first."""
        return self._read(views.batches)

    def table_counts(self) -> dict[str, int]:
        """Rows per table, for status lines and tests."""
        return self._read(views.table_counts)

    def verify(self) -> VerifyReport:
        """Recompute the hash chain over the history; the report names the first broken link, if any."""
        return self._read(lambda s: chain.verify(s.connection(), self.display_url))

    # ---- entity resolution: explicit, audited, undoable; never a silent merge

    def merge(self, into_id: str, from_ids: Iterable[str], *, reason: str, actor: str | None = None,
              dry_run: bool = False) -> int:
        """Record that the candidates `from_ids` are `into_id`; returns the action id.

        Nothing is rewritten: the views fold the merged candidates' events and aliases into `into_id`,
        and `resolve` of a merged id gives `into_id`. `undo(action_id)` reverses it. ResolutionError
        (nothing written) for an unknown or already merged id, a cohort, or merging a candidate into itself.
        """
        why, who, sources = resolution.checked_reason(reason), resolution.actor_name(actor), list(from_ids)
        return self._changing(self._write(lambda s: resolution.merge(s, into_id, sources, why, who),
                                          dry_run=dry_run), dry_run)

    def plan_merge(self, into_id: str, from_ids: Iterable[str], *, reason: str = "preview",
                   actor: str | None = None) -> Asset | None:
        """The surviving candidate as it would read after `merge` (checked the same way); writes nothing."""
        why, who, sources = resolution.checked_reason(reason), resolution.actor_name(actor), list(from_ids)

        def work(session: Session) -> Asset | None:
            resolution.merge(session, into_id, sources, why, who)
            session.flush()
            found = views.load_assets(session, [into_id.strip()], None)
            return found[0] if found else None

        return self._write(work, dry_run=True)

    def split(self, asset_id: str, *, new_id: str, event_ids: Iterable[int] = (), source: str | None = None,
              name: str | None = None, reason: str, actor: str | None = None, dry_run: bool = False) -> int:
        """Move chosen events of a candidate to a new candidate `new_id`; returns the action id.

        Events are chosen by id (`history` / `pipecast assets show --json` lists them) and/or by `source`
        (text found in the event's source title or URL). Nothing is rewritten: an event -> asset
        reassignment is recorded and the views apply it. The new candidate copies the old one's
        attributes, named `name` (default: `new_id`). ResolutionError (nothing written) for an unknown or
        merged id, an existing `new_id`, events that are not the candidate's, or moving all of them.
        """
        why, who, chosen = resolution.checked_reason(reason), resolution.actor_name(actor), list(event_ids)
        return self._changing(self._write(lambda s: resolution.split(s, asset_id, new_id, chosen, source, name,
                                                                     why, who), dry_run=dry_run), dry_run)

    def undo(self, action_id: int, *, reason: str, actor: str | None = None, dry_run: bool = False) -> int:
        """Reverse a merge or split; recorded as a new `undo` action (returned), the original kept, marked undone.

        ResolutionError (nothing written) for an unknown action, an undo, an action already undone, or a
        split whose events a later split moved again (undo that one first).
        """
        why, who = resolution.checked_reason(reason), resolution.actor_name(actor)
        return self._changing(self._write(lambda s: resolution.undo(s, action_id, why, who), dry_run=dry_run),
                              dry_run)

    def actions(self) -> list[ActionRecord]:
        """The entity-resolution audit log, oldest first, each marked with the undo that reversed it."""
        return self._read(resolution.actions)

    def review_matches(self, threshold: float = 0.0) -> list[ReviewItem]:
        """Unresolved candidates (`pipecast.domain.is_unresolved`) with the candidates they may be, scored by
        `pipecast.matching.match_candidates`, best first. Suggestions only: a person decides and runs `merge`."""
        return resolution.review_matches(self.assets(), threshold)
