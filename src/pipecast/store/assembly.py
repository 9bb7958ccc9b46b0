"""Candidates from stored rows, with merges and splits in force: the one assembly both readers use (the
SQLAlchemy views, `views.load_assets`, and the plain-SQLite reader, `quickread`). Plain code over row
objects that have the stored columns as attributes; no database access.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

from pipecast.domain import Asset, normalise_name
from pipecast.store.convert import dedupe
from pipecast.store.identity import Identity

#: The `assets` columns that are `Asset` attributes (every field but id, history and aliases).
ASSET_ATTRIBUTES: tuple[str, ...] = tuple(f.name for f in fields(Asset) if f.name not in ("id", "history", "aliases"))


def assemble_assets(rows: Mapping[str, Any], aliases: Mapping[str, Sequence[str]], events: Mapping[str, Sequence[Any]],
                    ident: Identity, ids: Sequence[str] | None, as_of: dt.date | None) -> list[Asset]:
    """Candidates (all, or the given canonical ids), from asset rows by id (in id order), aliases by asset id,
    and event rows by the candidate they belong to (`identity.events_of`).

    A merged candidate is not listed: its events count for the survivor (corroborations fold in as
    usual) and its name and aliases follow the survivor's own aliases. Event rows are never changed.
    """
    result = []
    for row in rows.values():
        if row.id in ident.redirects or (ids is not None and row.id not in ids):
            continue
        history = dedupe(events.get(row.id, ()))
        if not history:
            continue
        full = Asset(id=row.id, history=tuple(history), aliases=tuple(_names(row, rows, aliases, ident)),
                     **{a: getattr(row, a) for a in ASSET_ATTRIBUTES})
        view = full.as_of(as_of) if as_of is not None else full
        if view is not None:
            result.append(view)
    return result


def _names(row: Any, rows: Mapping[str, Any], aliases: Mapping[str, Sequence[str]], ident: Identity) -> list[str]:
    """A candidate's own aliases, then the names and aliases of candidates merged into it (merge order)."""
    names = list(aliases.get(row.id, ()))
    folded = [m for m in ident.redirects if m in rows and ident.canonical(m) == row.id]
    if not folded:
        return names
    seen = {normalise_name(n) for n in (row.id, row.name, *names)}
    for merged in folded:
        for name in (rows[merged].name, *aliases.get(merged, ())):
            norm = normalise_name(name)
            if norm and norm not in seen:
                seen.add(norm)
                names.append(name)
    return names
