"""Alerts in the store (migration 0007): watch lists, recipients, the last snapshot, digests and deliveries.

`scan` compares the registry with the snapshot it saw last (`alert_state`): a changed phase, filing or
approval of a candidate, a new deal, a target whose verdict changed. It writes each change (`alert_changes`,
append-only), one digest per watcher in the watcher's language (`alert_digests`, shown by
`GET /api/v1/alerts` and `pipecast alerts list`) and, for a watcher with an e-mail address, a queued delivery
(`alert_deliveries`), all in one transaction with the new snapshot. The first scan of a store only records the
snapshot (a baseline: what was there before anyone watched is not news). `pipecast.mail` sends queued
deliveries; a refused or timed-out send leaves the delivery queued with its attempts and last error.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pipecast.alerts import Change, Watch, diff, digest, matching
from pipecast.alerts.digest import LANGUAGES
from pipecast.errors import AppendOnlyError, InputError
from pipecast.store.models import Base, utcnow

if TYPE_CHECKING:
    from pipecast.store.store import Store

BASELINE_KEY = "__baseline__"


class WatchRow(Base):
    __tablename__ = "alert_watches"
    __table_args__ = (UniqueConstraint("user_name", "kind", "target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_name: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RecipientRow(Base):
    """Where and in which language a user gets digests ("" e-mail: in the app only)."""

    __tablename__ = "alert_recipients"

    user_name: Mapped[str] = mapped_column(String(200), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    language: Mapped[str] = mapped_column(String(5), default="en")


class StateRow(Base):
    """The snapshot the last scan saw: key -> value."""

    __tablename__ = "alert_state"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ChangeRow(Base):
    """One change a scan found. Append-only."""

    __tablename__ = "alert_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(300))
    old: Mapped[str] = mapped_column(Text)
    new: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text)
    found_on: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DigestRow(Base):
    """One user's digest of one scan, in the user's language. Append-only."""

    __tablename__ = "alert_digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_name: Mapped[str] = mapped_column(String(200), index=True)
    language: Mapped[str] = mapped_column(String(5))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    change_ids: Mapped[str] = mapped_column(Text)  # JSON list
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DeliveryRow(Base):
    """An e-mail of a digest: queued until sent; every failed attempt counted, with its error."""

    __tablename__ = "alert_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("alert_digests.id"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def _refuse(verb: str) -> Any:
    def listener(mapper: Any, connection: Any, target: Any) -> None:
        raise AppendOnlyError(f"{target.__tablename__} is append-only: cannot {verb} row {target.id}")

    return listener


for _model in (ChangeRow, DigestRow):
    event.listen(_model, "before_update", _refuse("update"))
    event.listen(_model, "before_delete", _refuse("delete"))


@dataclass(frozen=True, slots=True)
class Digest:
    id: int
    user: str
    language: str
    subject: str
    body: str
    created_at: dt.datetime
    deliveries: tuple[tuple[str, str, int, str], ...] = ()  # (address, status, attempts, last error)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "user": self.user, "language": self.language, "subject": self.subject,
                "body": self.body, "created_at": self.created_at.isoformat(),
                "deliveries": [{"address": a, "status": s, "attempts": n, "last_error": e}
                               for a, s, n, e in self.deliveries]}


@dataclass(frozen=True, slots=True)
class Pending:
    delivery_id: int
    address: str
    subject: str
    body: str
    attempts: int


# ------------------------------------------------------------------------------------------------ watch lists


def add_watch(store: Store, watch: Watch) -> bool:
    """Add a watch; False if the user already watches it."""
    def work(session: Session) -> bool:
        known = session.scalars(select(WatchRow).where(WatchRow.user_name == watch.user, WatchRow.kind == watch.kind,
                                                       WatchRow.target == watch.target)).first()
        if known is not None:
            return False
        session.add(WatchRow(user_name=watch.user, kind=watch.kind, target=watch.target))
        return True

    return store._write(work)


def remove_watch(store: Store, watch: Watch) -> bool:
    def work(session: Session) -> bool:
        known = session.scalars(select(WatchRow).where(WatchRow.user_name == watch.user, WatchRow.kind == watch.kind,
                                                       WatchRow.target == watch.target)).first()
        if known is None:
            return False
        session.delete(known)
        return True

    return store._write(work)


def watches(store: Store, user: str | None = None) -> list[Watch]:
    def work(session: Session) -> list[Watch]:
        query = select(WatchRow).order_by(WatchRow.user_name, WatchRow.kind, WatchRow.target)
        if user is not None:
            query = query.where(WatchRow.user_name == user)
        return [Watch(r.user_name, r.kind, r.target) for r in session.scalars(query)]

    return store._read(work)


def set_recipient(store: Store, user: str, *, email: str, language: str) -> None:
    if language not in LANGUAGES:
        raise InputError(f"unknown language {language!r}", field="--lang", expected="en or zh")
    if email and ("@" not in email or any(c.isspace() for c in email) or len(email) > 320):
        raise InputError(f"{email!r} is not an e-mail address", field="--email", expected="name@example.org")

    def work(session: Session) -> None:
        row = session.get(RecipientRow, user)
        if row is None:
            session.add(RecipientRow(user_name=user, email=email, language=language))
        else:
            row.email, row.language = email, language

    store._write(work)


def watching(store: Store) -> bool:
    """Whether anyone watches anything (one query: the after-write scan's cheap exit)."""
    return store._read(lambda session: session.scalars(select(WatchRow.id).limit(1)).first() is not None)


def has_baseline(store: Store) -> bool:
    """Whether a scan has recorded the store's baseline snapshot."""
    return store._read(lambda session: session.get(StateRow, BASELINE_KEY) is not None)


# ------------------------------------------------------------------------------------------------ scanning


def scan(store: Store, snapshot: Mapping[str, str], tags: Mapping[str, frozenset[tuple[str, str]]],
         labels: Mapping[str, str], on: dt.date) -> tuple[list[Change], list[Digest]]:
    """Compare `snapshot` with the last one, record the changes and each watcher's digest; save the snapshot.

    The first scan of a store records the snapshot only (returns no changes)."""
    def work(session: Session) -> tuple[list[Change], list[Digest]]:
        old = {r.key: r.value for r in session.scalars(select(StateRow))}
        baseline = BASELINE_KEY not in old
        changes = [] if baseline else diff(old, snapshot, tags, labels)
        for key, value in snapshot.items():
            state = session.get(StateRow, key)
            if state is None:
                session.add(StateRow(key=key, value=value))
            elif state.value != value:
                state.value = value
        if baseline:
            session.add(StateRow(key=BASELINE_KEY, value=on.isoformat()))
        ids: dict[str, int] = {}
        for change in changes:
            row = ChangeRow(kind=change.kind, key=change.key, old=change.old, new=change.new, label=change.label,
                            found_on=on)
            session.add(row)
            session.flush()
            ids[change.key] = row.id
        watch_list = [Watch(r.user_name, r.kind, r.target) for r in session.scalars(select(WatchRow))]
        made = []
        for user, mine in matching(watch_list, changes).items():
            recipient = session.get(RecipientRow, user)
            language = recipient.language if recipient else "en"
            subject, body = digest(user, mine, language, on)
            entry = DigestRow(user_name=user, language=language, subject=subject, body=body,
                              change_ids=json.dumps([ids[c.key] for c in mine]))
            session.add(entry)
            session.flush()
            if recipient is not None and recipient.email:
                session.add(DeliveryRow(digest_id=entry.id, address=recipient.email))
            made.append(Digest(entry.id, user, language, subject, body, entry.created_at))
        return changes, made

    return store._write(work)


# ------------------------------------------------------------------------------------------------ reading, delivery


def digests(store: Store, user: str | None = None) -> list[Digest]:
    """Digests (of one user), newest first, with their deliveries."""
    def work(session: Session) -> list[Digest]:
        query = select(DigestRow).order_by(DigestRow.id.desc())
        if user is not None:
            query = query.where(DigestRow.user_name == user)
        out = []
        for row in session.scalars(query):
            sent = session.scalars(select(DeliveryRow).where(DeliveryRow.digest_id == row.id).order_by(DeliveryRow.id))
            out.append(Digest(row.id, row.user_name, row.language, row.subject, row.body, row.created_at,
                              tuple((d.address, d.status, d.attempts, d.last_error) for d in sent)))
        return out

    return store._read(work)


def pending(store: Store) -> list[Pending]:
    """Queued e-mail deliveries, oldest first."""
    def work(session: Session) -> list[Pending]:
        rows = session.execute(select(DeliveryRow, DigestRow).join(DigestRow, DeliveryRow.digest_id == DigestRow.id)
                               .where(DeliveryRow.status == "queued").order_by(DeliveryRow.id))
        return [Pending(d.id, d.address, g.subject, g.body, d.attempts) for d, g in rows]

    return store._read(work)


def record_attempt(store: Store, delivery_id: int, error: str, at: dt.datetime) -> None:
    """A send of a delivery: sent (`error` "") or failed (kept queued, the attempt and error counted)."""
    def work(session: Session) -> None:
        row = session.get(DeliveryRow, delivery_id)
        if row is None:
            raise InputError(f"unknown delivery {delivery_id}", field="delivery")
        row.attempts += 1
        row.last_attempt_at = at
        if error:
            row.last_error = error[:1000]
        else:
            row.status, row.sent_at, row.last_error = "sent", at, ""

    store._write(work)


def delivery_counts(store: Store) -> dict[str, int]:
    def work(session: Session) -> dict[str, int]:
        out = {"queued": 0, "sent": 0}
        for row in session.scalars(select(DeliveryRow)):
            out[row.status] = out.get(row.status, 0) + 1
        return out

    return store._read(work)
