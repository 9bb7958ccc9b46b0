"""What the pages show, as plain data: candidate search, counts by phase, area and modality, a candidate's
timeline, and forecasts kept for reuse while the store does not change.

No HTTP here: the handlers in `pipecast.web.pages` call these with a store and the request's parameters.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipecast.domain import Asset, Phase, normalise_name

if TYPE_CHECKING:
    from pipecast.engines.result import Forecast
    from pipecast.store import EventRecord

#: Phases in pipeline order, for filters and funnels.
PHASE_ORDER: tuple[str, ...] = tuple(p.value for p in sorted(Phase, key=lambda p: p.order))
#: Forecasts kept per process (each is a few hundred kilobytes for a regional pipeline).
CACHE_SIZE = 16


def _keys(asset: Asset) -> list[str]:
    return [normalise_name(text) for text in (asset.id, asset.name, *asset.aliases) if text]


def matches(asset: Asset, query: str) -> bool:
    """Whether a search text names this candidate: a part of its id, name or any alias, in any language or
    script, after folding case, width and punctuation (赛立奇 finds 赛立奇单抗, the alias of GR1501)."""
    folded = normalise_name(query)
    if not folded:
        return True
    return any(folded in key for key in _keys(asset))


def sponsor_matches(asset: Asset, sponsor: str) -> bool:
    folded = normalise_name(sponsor)
    return not folded or folded in normalise_name(asset.sponsor)


def search(assets: Iterable[Asset], *, query: str = "", phase: str = "", sponsor: str = "") -> list[Asset]:
    """Candidates matching every filter given (blank filters match all), in pipeline order then by name."""
    found = [
        a for a in assets
        if matches(a, query) and (not phase or a.phase.value == phase) and sponsor_matches(a, sponsor)
    ]
    return sorted(found, key=lambda a: (-a.phase.order, a.name.casefold(), a.id))


def sponsors(assets: Iterable[Asset]) -> list[str]:
    """Every sponsor named, once, sorted; for the sponsor filter."""
    return sorted({a.sponsor for a in assets if a.sponsor}, key=str.casefold)


@dataclass(frozen=True, slots=True)
class Count:
    key: str
    count: int


def by_phase(assets: Iterable[Asset]) -> list[Count]:
    """Candidates per phase in pipeline order (cohorts by their copies), every phase listed."""
    counts: Counter[str] = Counter()
    for asset in assets:
        counts[asset.phase.value] += asset.count
    return [Count(p, counts.get(p, 0)) for p in PHASE_ORDER]


def by_attribute(assets: Iterable[Asset], attribute: Callable[[Asset], str]) -> list[Count]:
    """Candidates per value of an attribute (area, modality), largest first; "" for not recorded."""
    counts: Counter[str] = Counter()
    for asset in assets:
        counts[attribute(asset).strip()] += asset.count
    return [Count(k, n) for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] == "", kv[0]))]


@dataclass(frozen=True, slots=True)
class TimelineRow:
    date: dt.date
    phase: str
    indication: str
    source_title: str
    source_url: str
    source_date: dt.date | None
    recorded: dt.datetime | None
    batch_file: str


def timeline(records: Sequence[EventRecord]) -> list[TimelineRow]:
    """A candidate's stored events, newest first, each with its source and the import that wrote it."""
    rows = []
    for record in records:
        event = record.event
        source = event.source
        rows.append(TimelineRow(
            date=event.date,
            phase=event.phase.value,
            indication=event.indication,
            source_title=source.title if source else "",
            source_url=safe_url(source.url) if source else "",
            source_date=source.date if source else None,
            recorded=record.recorded_at,
            batch_file=record.batch_file,
        ))
    return sorted(rows, key=lambda r: (r.date, PHASE_ORDER.index(r.phase)), reverse=True)


def safe_url(url: str) -> str:
    """A source URL a page may link to: http(s) only; anything else (javascript:, data:) is not linked."""
    text = url.strip()
    return text if text.lower().startswith(("http://", "https://")) else ""


def asset_row(forecast: Forecast, asset_id: str) -> int | None:
    for i, asset in enumerate(forecast.assets):
        if asset.id == asset_id:
            return i
    return None


@dataclass(frozen=True, slots=True)
class ForecastKey:
    db: str
    stamp: tuple[str, ...]
    as_of: dt.date
    years: str
    target: str
    rates: str
    method: str
    paths: int


class ForecastCache:
    """Forecasts by their inputs and the store's row counts (every write adds rows, so a write is a new key).

    Thread-safe; the oldest entry goes first when full. Two requests for the same new key may both compute
    it: the result is the same, and neither waits for the other.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._items: dict[ForecastKey, Forecast] = {}
        self._lock = threading.Lock()

    def get(self, key: ForecastKey, compute: Callable[[], Forecast]) -> Forecast:
        with self._lock:
            found = self._items.get(key)
        if found is not None:
            return found
        result = compute()
        with self._lock:
            self._items[key] = result
            while len(self._items) > self._size:
                self._items.pop(next(iter(self._items)))
        return result

    def __len__(self) -> int:
        return len(self._items)
