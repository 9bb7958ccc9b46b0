"""SQLAlchemy 2 tables for the registry.

History is append-only: `phase_events` and `facts` rows are only ever inserted. The ORM refuses
updates and deletes of them (see the mapper events at the bottom) and migration 0001 adds database
triggers that do the same, so "the pipeline as it stood on date D" can always be rebuilt.

Asset attributes (name, sponsor, ...) are current values and may be updated in place; phase
history never is.

Entity resolution (migration 0002) is append-only too: a merge or split is a `resolution_actions`
row plus `asset_redirects` (merged id -> surviving id) or `event_reassignments` (event -> asset) rows
that the store's views apply; an undo is a new action naming the one it reverses (`undoes_id`,
unique, so nothing can be undone twice). No history row is ever rewritten.

Keep this file and `migrations/versions/` in step: tests compare the two with Alembic's
autogenerate and fail on any difference.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from pipecast.domain import Phase
from pipecast.errors import AppendOnlyError

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

PHASE_VALUES = tuple(p.value for p in Phase)
PHASE_CHECK = "phase IN (" + ", ".join(f"'{v}'" for v in PHASE_VALUES) + ")"


def utcnow() -> dt.datetime:
    from pipecast.clock import now

    return now()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ImportBatch(Base):
    """One import: which file (and its SHA-256), when, how many input rows, what it added."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    file: Mapped[str] = mapped_column(Text, default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20), default="assets")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    assets_added: Mapped[int] = mapped_column(Integer, default=0)
    assets_updated: Mapped[int] = mapped_column(Integer, default=0)
    events_added: Mapped[int] = mapped_column(Integer, default=0)
    facts_added: Mapped[int] = mapped_column(Integer, default=0)


class OrganisationRow(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20), default="company")
    city: Mapped[str] = mapped_column(String(200), default="")
    parent_id: Mapped[str] = mapped_column(String(200), default="")
    aliases: Mapped[str] = mapped_column(Text, default="")  # "|"-joined
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AssetRow(Base):
    """A candidate or cohort with its current attributes; its phases live in `phase_events`."""

    __tablename__ = "assets"
    __table_args__ = (CheckConstraint("count >= 1", name="count_positive"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    sponsor: Mapped[str] = mapped_column(String(500), default="")
    modality: Mapped[str] = mapped_column(String(200), default="")
    therapeutic_area: Mapped[str] = mapped_column(String(200), default="")
    indication: Mapped[str] = mapped_column(Text, default="")
    target: Mapped[str] = mapped_column(String(500), default="")
    nmpa_class: Mapped[str] = mapped_column(String(50), default="")
    jurisdiction: Mapped[str] = mapped_column(String(20), default="CN")
    count: Mapped[int] = mapped_column(Integer, default=1)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    aliases: Mapped[list[AliasRow]] = relationship(
        back_populates="asset", order_by="AliasRow.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[PhaseEventRow]] = relationship(back_populates="asset", order_by="PhaseEventRow.id")


class AliasRow(Base):
    """Another name for an asset; `norm` is `domain.normalise_name(alias)` for lookups."""

    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("asset_id", "norm"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(500))
    norm: Mapped[str] = mapped_column(String(500), index=True)

    asset: Mapped[AssetRow] = relationship(back_populates="aliases")


class PhaseEventRow(Base):
    """An asset reached `phase` on `date`. Append-only.

    `recorded` is when the fact became known (from the data; NULL means on `date`);
    `recorded_at` is when this row was written to the store.
    """

    __tablename__ = "phase_events"
    __table_args__ = (
        CheckConstraint(PHASE_CHECK, name="phase_known"),
        Index("ix_phase_events_asset_id_date", "asset_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    phase: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    indication: Mapped[str] = mapped_column(Text, default="")
    source_title: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
    source_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    recorded: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), nullable=True, index=True)

    asset: Mapped[AssetRow] = relationship(back_populates="events")
    batch: Mapped[ImportBatch | None] = relationship()


class FactRow(Base):
    """A dated, sourced figure about an entity (a deal, a funding round, a published count). Append-only.

    Published facts are often dated loosely ("2025-11", "before 2024-08-20"): `as_of_text` keeps the
    wording and `as_of` the latest day it can mean (so an as-of view never looks ahead), NULL if unknown.
    """

    __tablename__ = "facts"
    __table_args__ = (Index("ix_facts_entity_field", "entity", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(500))
    field: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(50), default="")
    as_of: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # NULL: date not known
    as_of_text: Mapped[str] = mapped_column(String(200), default="")  # the date as published
    source_title: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
    source_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"), nullable=True, index=True)

    batch: Mapped[ImportBatch | None] = relationship()


RESOLUTION_ACTIONS = ("merge", "split", "undo")
RESOLUTION_CHECK = "action IN (" + ", ".join(f"'{a}'" for a in RESOLUTION_ACTIONS) + ")"


class ResolutionActionRow(Base):
    """One audited entity-resolution action: a merge, a split, or the undo of one. Append-only.

    `target_id` is the surviving candidate of a merge, the candidate split from, or (for an undo) the
    target of the action undone; `details` is JSON (ids merged, events moved, ...). An action is undone
    when an undo row names it in `undoes_id` (unique: an action can be undone once).
    """

    __tablename__ = "resolution_actions"
    __table_args__ = (CheckConstraint(RESOLUTION_CHECK, name="action_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action: Mapped[str] = mapped_column(String(10))
    target_id: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("resolution_actions.id"), nullable=True, unique=True)


class AssetRedirectRow(Base):
    """Merge: candidate `from_id` is the same as `into_id`; views fold its events and aliases in. Append-only."""

    __tablename__ = "asset_redirects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("resolution_actions.id"), index=True)
    from_id: Mapped[str] = mapped_column(ForeignKey("assets.id"), index=True)
    into_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))


class EventReassignmentRow(Base):
    """Split: phase event `event_id` belongs to `to_asset_id` (it was `from_asset_id`'s). Append-only."""

    __tablename__ = "event_reassignments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("resolution_actions.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("phase_events.id"), index=True)
    from_asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))
    to_asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id"))


class HistoryChainRow(Base):
    """One link of the hash chain over the history (migration 0003). Append-only.

    Every row the store inserts into a chained table (`CHAINED_TABLES`) gets one link: its canonical
    serialisation (`content`), the hash of the previous link of the same table, and
    `hash = sha256(prev_hash, table, content)`. `pipecast verify` recomputes the chain: a changed, deleted
    or foreign row shows as the first link that no longer holds.
    """

    __tablename__ = "history_chain"
    __table_args__ = (UniqueConstraint("table_name", "row_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    table_name: Mapped[str] = mapped_column(String(40))
    row_id: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class UserRow(Base):
    """A person or script using the API (migration 0004): role viewer, editor or admin; an editor's org."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'editor', 'admin')", name="role_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[str] = mapped_column(String(10))
    org_id: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(Text, default="")  # argon2; "" = no password login
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiTokenRow(Base):
    """An API token, stored as its SHA-256 only; revoked by setting `revoked_at`."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class UserSessionRow(Base):
    """A browser session from `/login`: the SHA-256 of its cookie value and its CSRF token."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuditRow(Base):
    """One write through the API, or a refused attempt: who, when, what changed, from where. Append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_action_client", "action", "client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10), default="")
    org_id: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10), default="")
    path: Mapped[str] = mapped_column(Text, default="")
    resource: Mapped[str] = mapped_column(String(500), default="")
    outcome: Mapped[str] = mapped_column(String(20))
    status: Mapped[int] = mapped_column(Integer)
    client: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    message: Mapped[str] = mapped_column(Text, default="")


APPEND_ONLY_TABLES = ("phase_events", "facts", "resolution_actions", "asset_redirects", "event_reassignments")
#: Tables whose rows are chained; for `assets` only the id and creation time (its attributes may change).
#: `deals` and `funding_events`: store/money.py; `audit_log` (migration 0006): each row links itself
#: as it is written (store/audit.py).
CHAINED_TABLES = ("assets", *APPEND_ONLY_TABLES, "deals", "funding_events", "audit_log")


def _refuse(verb: str) -> Callable[[Any, Any, Any], None]:
    def listener(mapper: Any, connection: Any, target: Any) -> None:
        raise AppendOnlyError(f"{target.__tablename__} is append-only: cannot {verb} row {target.id}")

    return listener


for _model in (PhaseEventRow, FactRow, ResolutionActionRow, AssetRedirectRow, EventReassignmentRow, HistoryChainRow,
               AuditRow):
    event.listen(_model, "before_update", _refuse("update"))
    event.listen(_model, "before_delete", _refuse("delete"))
