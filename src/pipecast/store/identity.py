"""Identity in force: which merges and splits apply, and each phase event's owner once they do.

Entity resolution never rewrites a row: a merge is a redirect (merged id -> surviving id), a split an
event -> asset reassignment; both count unless an undo names their action. Every view goes through here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # SQLAlchemy only where a session is queried: `Identity` itself is plain data
    from sqlalchemy.orm import Session

    from pipecast.store.models import PhaseEventRow


@dataclass
class Identity:
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

    @classmethod
    def of(cls, undos: Iterable[tuple[int, int | None]], redirects: Iterable[tuple[str, str, int]],
           moves: Iterable[tuple[int, str, int]]) -> Identity:
        """From the stored rows: (undo action id, action it undoes), (merged id, id merged into, action id) in
        redirect order, (event id, asset id moved to, action id) in reassignment order."""
        undone = {undoes: by for by, undoes in undos if undoes is not None}
        return cls({f: (into, a) for f, into, a in redirects if a not in undone},
                   {e: (to, a) for e, to, a in moves if a not in undone}, undone)


def identity(session: Session) -> Identity:
    from sqlalchemy import select

    from pipecast.store.models import AssetRedirectRow, EventReassignmentRow, ResolutionActionRow

    undos = session.execute(
        select(ResolutionActionRow.id, ResolutionActionRow.undoes_id).where(ResolutionActionRow.undoes_id.is_not(None))
    )
    redirects = session.execute(select(AssetRedirectRow.from_id, AssetRedirectRow.into_id, AssetRedirectRow.action_id)
                                .order_by(AssetRedirectRow.id))
    moves = session.execute(select(EventReassignmentRow.event_id, EventReassignmentRow.to_asset_id,
                                   EventReassignmentRow.action_id).order_by(EventReassignmentRow.id))
    return Identity.of([(by, undoes) for by, undoes in undos], [(f, i, a) for f, i, a in redirects],
                       [(e, t, a) for e, t, a in moves])


def events_of(session: Session, ident: Identity, ids: Sequence[str] | None,
               as_of: dt.date | None = None) -> dict[str, list[PhaseEventRow]]:
    """Phase event rows by the candidate they belong to once merges and splits are applied."""
    from sqlalchemy import or_, select

    from pipecast.store.models import PhaseEventRow

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
