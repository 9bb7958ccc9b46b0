"""Rows to domain objects and back: sources, events (and which stored row records an event), facts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pipecast.domain import Phase, PhaseEvent, Source
from pipecast.store.records import Fact

if TYPE_CHECKING:  # the functions read row attributes only: plain rows (`quickread`) serve as well
    from pipecast.store.models import FactRow, PhaseEventRow

_T = TypeVar("_T")


def aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def source_key(source: Source | None) -> tuple[str, str, dt.date | None] | None:
    return None if source is None else (source.title, source.url, source.date)


def row_source(title: str, url: str, date: dt.date | None) -> Source | None:
    if not (title or url):
        return None
    return Source(title or url, url, date)


def event_matches(row: PhaseEventRow, event_: PhaseEvent) -> bool:
    """Is `event_` already recorded by `row`? A missing source or indication matches any."""
    if row.phase != event_.phase.value or row.date != event_.date:
        return False
    if event_.indication and event_.indication != row.indication:
        return False
    if event_.source is None:
        return True
    return (row.source_title, row.source_url, row.source_date) == source_key(event_.source)


def to_event(row: PhaseEventRow) -> PhaseEvent:
    return PhaseEvent(
        Phase(row.phase),
        row.date,
        row_source(row.source_title, row.source_url, row.source_date),
        row.indication,
        row.recorded,
    )


def dedupe(events: Sequence[PhaseEventRow]) -> list[PhaseEvent]:
    """One domain event per (phase, date, indication): the earliest-known record (corroborations fold in)."""
    best: dict[tuple[str, dt.date, str], PhaseEventRow] = {}
    for row in events:
        key = (row.phase, row.date, row.indication)
        held = best.get(key)
        if held is None or (row.recorded or row.date, row.id) < (held.recorded or held.date, held.id):
            best[key] = row
    return [to_event(r) for r in best.values()]


def fact_key(fact: Fact) -> tuple[Any, ...]:
    return (fact.entity, fact.field, fact.value, fact.unit, fact.as_of, fact.as_of_text, source_key(fact.source))


def fact_row_key(row: FactRow) -> tuple[Any, ...]:
    source = row_source(row.source_title, row.source_url, row.source_date)
    return (row.entity, row.field, row.value, row.unit, row.as_of, row.as_of_text, source_key(source))


def chunks(items: Sequence[_T], size: int = 500) -> Iterable[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
