"""What the store holds, cheaply: a data version that changes with every write, and candidates cached by it.

The version is one SELECT of a few maxima (newest row of each history table, import batch, asset and
organisation update times; not the audit log); reads and forecasts are cached per version, so a write is
seen by the next request.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import func, select

from pipecast import clock
from pipecast.domain import Asset, Organisation
from pipecast.store import Store
from pipecast.store.chain import SELF_LINKED
from pipecast.store.models import CHAINED_TABLES, AssetRow, Base, ImportBatch, OrganisationRow
from pipecast.store.users import session_scope

MAX_CACHED_VIEWS = 16


#: The history tables whose newest row id is part of the data version: every chained table but the audit log
#: (a login or a refused request must not make cached forecasts stale) and assets (counted, by update time).
VERSION_TABLES = tuple(t for t in CHAINED_TABLES if t not in SELF_LINKED and t != "assets")


def data_version(store: Store) -> tuple[Any, ...]:
    newest = [select(func.max(Base.metadata.tables[t].c.id)).scalar_subquery() for t in VERSION_TABLES]
    query = select(
        *newest,
        select(func.max(ImportBatch.id)).scalar_subquery(),
        select(func.max(AssetRow.updated_at)).scalar_subquery(),
        select(func.count()).select_from(AssetRow).scalar_subquery(),
        select(func.max(OrganisationRow.updated_at)).scalar_subquery(),
        select(func.count()).select_from(OrganisationRow).scalar_subquery(),
    )
    with session_scope(store) as session:
        row = session.execute(query).one()
    return (*tuple(str(v) for v in row), clock.today().isoformat())


class ViewCache:
    """Candidates (as of a date) and organisations, recomputed when the data version changes."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._version: tuple[Any, ...] | None = None
        self._assets: OrderedDict[dt.date | None, list[Asset]] = OrderedDict()
        self._orgs: list[Organisation] | None = None

    def _current(self) -> None:
        version = data_version(self._store)
        with self._lock:
            if version != self._version:
                self._version = version
                self._assets.clear()
                self._orgs = None

    def assets(self, as_of: dt.date | None) -> list[Asset]:
        self._current()
        with self._lock:
            found = self._assets.get(as_of)
        if found is not None:
            return found
        loaded = self._store.assets(as_of)
        with self._lock:
            self._assets[as_of] = loaded
            while len(self._assets) > MAX_CACHED_VIEWS:
                self._assets.popitem(last=False)
        return loaded

    def organisations(self) -> list[Organisation]:
        self._current()
        with self._lock:
            found = self._orgs
        if found is not None:
            return found
        loaded = self._store.organisations()
        with self._lock:
            self._orgs = loaded
        return loaded

    def version(self) -> tuple[Any, ...]:
        return data_version(self._store)
