"""Deals and funding events in the store: dated, sourced, append-only and hash-chained (migration 0005).

A **deal** is a licence as published: licensor, licensee, date, currency and the amounts the sources give
(upfront, development and regulatory milestones, sales milestones, the headline total; NULL where a source
gives none: unknowns stay unknown). When a user records a DEAL.yaml its full structure (milestones by
event, royalty tiers) is kept in `terms` (JSON) so it can be valued again later.

A **funding event** is money that reached, or was arranged or offered for, a company, candidate or a set of
projects: a `loan` (rate, term in months, collateral), a `grant` or `subsidy`, a `reward`, an `equity`
round (or an IPO), a `fund` set up to invest, or an `investment` agreed in projects. Amounts are millions of
`currency`; a row that gives no amount needs no currency.

Both tables are append-only like the other history tables: the ORM refuses UPDATE and DELETE, database
triggers refuse them too (and INSERT OR REPLACE on SQLite, TRUNCATE on PostgreSQL), and every row is chained
(`pipecast verify`). A row is identified by its `key`; recording the same key again adds nothing, and a
different row under a known key is refused (a correction is a new row with a new key and a note).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, Date, DateTime, Float, Integer, String, Text, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pipecast.errors import AppendOnlyError, InputError
from pipecast.store.facts import parse_fact_date
from pipecast.store.models import Base, utcnow

if TYPE_CHECKING:
    from pipecast.store.store import Store

FUNDING_KINDS = ("loan", "grant", "subsidy", "reward", "equity", "fund", "investment")
FUNDING_KIND_CHECK = "kind IN (" + ", ".join(f"'{k}'" for k in FUNDING_KINDS) + ")"
DEALS_FILE, FUNDING_FILE = "deals.csv", "funding.csv"


class DealRow(Base):
    """A licensing deal as its sources state it (millions of `currency`; NULL: not published). Append-only."""

    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    candidate: Mapped[str] = mapped_column(String(200), default="")  # asset id in the store, "" if none
    asset: Mapped[str] = mapped_column(Text, default="")  # the asset as published
    licensor: Mapped[str] = mapped_column(String(500), default="")
    licensee: Mapped[str] = mapped_column(String(500), default="")
    date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)  # latest day the published date can mean
    date_text: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(10), default="")
    upfront: Mapped[float | None] = mapped_column(Float, nullable=True)
    development_milestones: Mapped[float | None] = mapped_column(Float, nullable=True)
    sales_milestones: Mapped[float | None] = mapped_column(Float, nullable=True)
    headline: Mapped[float | None] = mapped_column(Float, nullable=True)
    royalties: Mapped[str] = mapped_column(Text, default="")  # as published
    territory: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(Text, default="")
    terms: Mapped[str] = mapped_column(Text, default="")  # JSON of a DEAL.yaml structure, "" if none
    source_title: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
    source_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FundingEventRow(Base):
    """A loan, grant, subsidy, reward, equity round or fund, as its source states it. Append-only."""

    __tablename__ = "funding_events"
    __table_args__ = (CheckConstraint(FUNDING_KIND_CHECK, name="kind_known"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(500), default="")
    candidate: Mapped[str] = mapped_column(String(200), default="")
    funder: Mapped[str] = mapped_column(String(500), default="")
    date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    date_text: Mapped[str] = mapped_column(String(200), default="")
    currency: Mapped[str] = mapped_column(String(10), default="")
    amount: Mapped[float | None] = mapped_column(Float, nullable=True)
    amount_text: Mapped[str] = mapped_column(Text, default="")
    rate: Mapped[float | None] = mapped_column(Float, nullable=True)  # a loan's annual interest rate
    term_months: Mapped[float | None] = mapped_column(Float, nullable=True)
    collateral: Mapped[str] = mapped_column(Text, default="")
    round: Mapped[str] = mapped_column(String(200), default="")
    programme: Mapped[str] = mapped_column(Text, default="")
    projects: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source_title: Mapped[str] = mapped_column(Text, default="")
    source_url: Mapped[str] = mapped_column(Text, default="")
    source_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _refuse(verb: str) -> Any:
    def listener(mapper: Any, connection: Any, target: Any) -> None:
        raise AppendOnlyError(f"{target.__tablename__} is append-only: cannot {verb} row {target.id}")

    return listener


for _model in (DealRow, FundingEventRow):
    event.listen(_model, "before_update", _refuse("update"))
    event.listen(_model, "before_delete", _refuse("delete"))

#: The columns the hash chain serialises (frozen: a later column must not change links already written).
MONEY_CHAINED_COLUMNS: dict[str, tuple[str, ...]] = {
    "deals": ("id", "key", "candidate", "asset", "licensor", "licensee", "date", "date_text", "currency", "upfront",
              "development_milestones", "sales_milestones", "headline", "royalties", "territory", "status", "terms",
              "source_title", "source_url", "source_date", "note", "recorded_at"),
    "funding_events": ("id", "key", "kind", "recipient", "candidate", "funder", "date", "date_text", "currency",
                       "amount", "amount_text", "rate", "term_months", "collateral", "round", "programme", "projects",
                       "source_title", "source_url", "source_date", "note", "recorded_at"),
}
MONEY_TABLES = ("deals", "funding_events")


@dataclass(frozen=True)
class DealRecord:
    key: str
    licensor: str
    licensee: str
    currency: str
    date_text: str
    source_title: str
    source_url: str
    candidate: str = ""
    asset: str = ""
    date: dt.date | None = None
    upfront: float | None = None
    development_milestones: float | None = None
    sales_milestones: float | None = None
    headline: float | None = None
    royalties: str = ""
    territory: str = ""
    status: str = ""
    terms: str = ""
    source_date: dt.date | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("date", "source_date"):
            value = out[name]
            out[name] = value.isoformat() if value else None
        out["terms"] = json.loads(self.terms) if self.terms else None
        return out


@dataclass(frozen=True)
class FundingRecord:
    key: str
    kind: str
    recipient: str
    currency: str
    date_text: str
    source_title: str
    source_url: str
    candidate: str = ""
    funder: str = ""
    date: dt.date | None = None
    amount: float | None = None
    amount_text: str = ""
    rate: float | None = None
    term_months: float | None = None
    collateral: str = ""
    round: str = ""
    programme: str = ""
    projects: int | None = None
    source_date: dt.date | None = None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for name in ("date", "source_date"):
            value = out[name]
            out[name] = value.isoformat() if value else None
        return out


def _names(record_type: type) -> list[str]:
    return [f.name for f in fields(record_type)]


DEAL_COLUMNS = tuple(_names(DealRecord))
FUNDING_COLUMNS = tuple(_names(FundingRecord))
_REQUIRED = ("key", "currency", "date_text", "source_title", "source_url")
_COLUMNS_NEEDED = ("key", "date_text", "source_title", "source_url")


def _record_of(row: DealRow | FundingEventRow, record_type: type[DealRecord] | type[FundingRecord]) -> Any:
    return record_type(**{name: getattr(row, name) for name in _names(record_type)})


# ------------------------------------------------------------------------------------------------ writing


def _add(session: Session, model: Any, records: Sequence[Any], what: str) -> int:
    keys = [r.key for r in records]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise InputError(f"duplicate {what} key(s) {', '.join(dupes)}", field="key", expected="unique keys")
    known = {row.key: row for row in session.scalars(select(model).where(model.key.in_(keys)))}
    added = 0
    for record in records:
        stored = known.get(record.key)
        if stored is not None:
            if _record_of(stored, type(record)) != record:
                raise InputError(
                    f"{what} {record.key!r} is already recorded with other values (history is append-only)",
                    field="key",
                    expected="a new key for a corrected or later row, with a note saying what it replaces",
                )
            continue
        session.add(model(**asdict(record)))
        added += 1
    return added


def add_money(
    store: Store, deals: Iterable[DealRecord] = (), funding: Iterable[FundingRecord] = (), *, dry_run: bool = False
) -> tuple[int, int]:
    """Append deals and funding events in one transaction; (deals added, funding events added).

    Idempotent: a row already recorded under its key adds nothing."""
    deal_list, funding_list = list(deals), list(funding)
    records: list[DealRecord | FundingRecord] = [*deal_list, *funding_list]
    for record in records:
        validate(record)

    def work(session: Session) -> tuple[int, int]:
        return (_add(session, DealRow, deal_list, "deal"), _add(session, FundingEventRow, funding_list, "funding"))

    return store._changing(store._write(work, dry_run=dry_run), dry_run)


def validate(record: DealRecord | FundingRecord, file: str = "", row: int | None = None) -> None:
    """Every row sourced (URL, title, date as published) and every amount a finite number of 0 or more."""
    amounts = ("upfront", "development_milestones", "sales_milestones", "headline", "amount", "term_months")
    given = any(getattr(record, name, None) is not None for name in amounts[:-1])
    for name in _REQUIRED:
        if not str(getattr(record, name)).strip() and (name != "currency" or given):
            raise InputError("value is missing", file=file, row=row, field=name,
                             expected="every deal and funding row gives key, date_text, source_title and "
                                      "source_url, and a currency when it gives an amount")
    if isinstance(record, FundingRecord) and record.kind not in FUNDING_KINDS:
        raise InputError(f"unknown kind {record.kind!r}", file=file, row=row, field="kind",
                         expected="one of " + ", ".join(FUNDING_KINDS))
    for name in amounts:
        value = getattr(record, name, None)
        if value is not None and (not math.isfinite(value) or value < 0):
            raise InputError(f"{value:g} is not an amount of 0 or more", file=file, row=row, field=name,
                             expected="an amount of 0 or more in millions, or empty if not published")
    rate = getattr(record, "rate", None)
    if rate is not None and not -0.5 < rate < 1:
        raise InputError(f"{rate:g} is outside (-0.5, 1)", file=file, row=row, field="rate",
                         expected="an annual interest rate as a fraction, e.g. 0.035")


# ------------------------------------------------------------------------------------------------ reading


def _known_on(model: type[DealRow] | type[FundingEventRow], as_of: dt.date | None) -> Any:
    query = select(model).order_by(model.date, model.id)
    if as_of is not None:  # an as-of view never looks ahead; undated rows are left out of it
        query = query.where(model.date.is_not(None), model.date <= as_of)
    return query


def deals(store: Store, as_of: dt.date | None = None, candidate: str | None = None) -> list[DealRecord]:
    """Recorded deals, oldest first; with `as_of`, only those dated on or before it."""
    def work(session: Session) -> list[DealRecord]:
        query = _known_on(DealRow, as_of)
        if candidate:
            query = query.where(DealRow.candidate == candidate)
        return [_record_of(row, DealRecord) for row in session.scalars(query)]

    return store._read(work)


def funding(
    store: Store, as_of: dt.date | None = None, kind: str | None = None, candidate: str | None = None
) -> list[FundingRecord]:
    """Recorded funding events, oldest first; with `as_of`, only those dated on or before it."""
    if kind is not None and kind not in FUNDING_KINDS:
        raise InputError(f"unknown kind {kind!r}", field="--kind", expected="one of " + ", ".join(FUNDING_KINDS))

    def work(session: Session) -> list[FundingRecord]:
        query = _known_on(FundingEventRow, as_of)
        if kind:
            query = query.where(FundingEventRow.kind == kind)
        if candidate:
            query = query.where(FundingEventRow.candidate == candidate)
        return [_record_of(row, FundingRecord) for row in session.scalars(query)]

    return store._read(work)


# ------------------------------------------------------------------------------------------------ files

_NUMBERS = {"upfront", "development_milestones", "sales_milestones", "headline", "amount", "rate", "term_months"}


def _parse_row(row: Any, record_type: type[DealRecord] | type[FundingRecord]) -> Any:
    values: dict[str, Any] = {}
    for name in _names(record_type):
        text = row.get(name)
        if name in _NUMBERS:
            values[name] = row.number_in(name, -1e12, 1e12, "a number, or empty if not published") if text else None
        elif name == "projects":
            values[name] = row.positive_int(name) if text else None
        elif name == "source_date":
            values[name] = row.date(name, required=False)
        elif name == "date":
            continue
        else:
            values[name] = text
    try:
        values["date"], _ = parse_fact_date(values["date_text"])
    except ValueError:
        raise row.error("date_text", f"{values['date_text']!r} is not a date",
                        "a date as published: 2025-06-04, 2025-06, 2020, c.2020-2021 or unknown") from None
    record = record_type(**values)
    validate(record, row.file, row.number)
    return record


def read_money_folder(folder: str | Path) -> tuple[list[DealRecord], list[FundingRecord]]:
    """deals.csv and funding.csv of a data set folder (either may be absent)."""
    from pipecast.tabular import read_table

    path = Path(folder)
    deal_list: list[DealRecord] = []
    funding_list: list[FundingRecord] = []
    if (path / DEALS_FILE).is_file():
        rows = read_table(path / DEALS_FILE, _COLUMNS_NEEDED, [c for c in DEAL_COLUMNS if c not in _COLUMNS_NEEDED])
        deal_list = [_parse_row(r, DealRecord) for r in rows]
    if (path / FUNDING_FILE).is_file():
        rows = read_table(
            path / FUNDING_FILE, (*_COLUMNS_NEEDED, "kind"), [c for c in FUNDING_COLUMNS if c not in _COLUMNS_NEEDED]
        )
        funding_list = [_parse_row(r, FundingRecord) for r in rows]
    return deal_list, funding_list


def import_money_folder(store: Store, folder: str | Path, *, dry_run: bool = False) -> tuple[int, int]:
    """Record a data set folder's deals.csv and funding.csv (idempotent); (deals added, funding events added)."""
    deal_list, funding_list = read_money_folder(folder)
    if not deal_list and not funding_list:
        return 0, 0
    return add_money(store, deal_list, funding_list, dry_run=dry_run)
