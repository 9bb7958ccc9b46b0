"""Entity resolution: explicit, audited, undoable merges and splits; review suggestions; never a silent merge.

`merge`, `split` and `undo` each write one `resolution_actions` row (reason, actor, time) plus append-only
mapping rows, and never rewrite or delete a phase event. `review_matches` only *suggests* merges, with
scores from `pipecast.matching`. Every function here runs inside the caller's transaction and raises
ResolutionError (so the caller writes nothing) when the action cannot be done as asked.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipecast.domain import Asset, is_unresolved
from pipecast.errors import ResolutionError
from pipecast.matching import Match, known_table, match_candidates
from pipecast.store.convert import aware
from pipecast.store.identity import Identity, events_of, identity
from pipecast.store.models import (
    AssetRedirectRow,
    AssetRow,
    EventReassignmentRow,
    PhaseEventRow,
    ResolutionActionRow,
    utcnow,
)
from pipecast.store.records import ActionRecord, ReviewItem
from pipecast.store.upserts import ASSET_ATTRIBUTES

_ID_HELP = "an id listed by `pipecast assets list` or `pipecast review`"


def actor_name(actor: str | None) -> str:
    if actor is not None and actor.strip():
        return actor.strip()[:200]
    try:
        return getpass.getuser() or "unknown"
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER
        return os.environ.get("USER") or "unknown"


def checked_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ResolutionError("a reason is required", field="--reason",
                              expected="why, e.g. 'same INN in the CDE notice'")
    return text


def _mergeable(session: Session, ident: Identity, asset_id: str, role: str, *, cohorts: bool = False) -> AssetRow:
    """The stored candidate `asset_id`, which must not itself be merged away (nor, unless allowed, a cohort)."""
    key = (asset_id or "").strip()
    row = session.get(AssetRow, key) if key else None
    if row is None:
        raise ResolutionError(f"no candidate with id {asset_id!r}", field=role, expected=_ID_HELP)
    if key in ident.redirects:
        action = ident.redirects[key][1]
        survivor = ident.canonical(key)
        raise ResolutionError(f"{key!r} was merged into {survivor!r} by action {action}", field=role,
                              expected=f"{survivor!r} itself, or `pipecast undo {action}` first")
    if not cohorts and (row.count > 1 or key.startswith("cohort:")):
        raise ResolutionError(f"{key!r} is a cohort of {row.count}, not one candidate", field=role,
                              expected="single candidates (cohorts cannot be merged)")
    return row


def _action(session: Session, action: str, target_id: str, details: Mapping[str, object], reason: str, actor: str,
            undoes_id: int | None = None) -> ResolutionActionRow:
    row = ResolutionActionRow(action=action, target_id=target_id, details=json.dumps(details, ensure_ascii=False),
                              reason=reason, actor=actor, created_at=utcnow(), undoes_id=undoes_id)
    session.add(row)
    session.flush()
    return row


# --------------------------------------------------------------------------------------------- merge


def merge(session: Session, into_id: str, from_ids: Sequence[str], reason: str, actor: str) -> int:
    """Record that the candidates `from_ids` are `into_id`; returns the action id."""
    ident = identity(session)
    into = _mergeable(session, ident, into_id, "INTO")
    if not from_ids:
        raise ResolutionError("nothing to merge", field="FROM", expected="one or more candidate ids")
    sources: list[AssetRow] = []
    for from_id in from_ids:
        row = _mergeable(session, ident, from_id, "FROM")
        if row.id == into.id:
            raise ResolutionError(f"cannot merge {row.id!r} into itself", field="FROM", expected="ids other than INTO")
        if any(r.id == row.id for r in sources):
            raise ResolutionError(f"{row.id!r} is named twice", field="FROM", expected="each id once")
        sources.append(row)
    details = {"into": into.id, "from": [r.id for r in sources], "names": {r.id: r.name for r in sources}}
    action = _action(session, "merge", into.id, details, reason, actor)
    for row in sources:
        session.add(AssetRedirectRow(action_id=action.id, from_id=row.id, into_id=into.id))
    session.flush()
    return int(action.id)


# --------------------------------------------------------------------------------------------- split


def _split_target(session: Session, ident: Identity, row: AssetRow, new_id: str) -> tuple[str, AssetRow | None]:
    new = new_id.strip()
    if not new:
        raise ResolutionError("the new candidate needs an id", field="--new-id", expected="a new id")
    if new == row.id:
        raise ResolutionError(f"cannot split {row.id!r} into itself", field="--new-id",
                              expected="an id not yet in the registry")
    existing = session.get(AssetRow, new)
    if existing is not None and (new in ident.redirects or events_of(session, ident, [new]).get(new)):
        raise ResolutionError(f"{new!r} is already a candidate", field="--new-id",
                              expected="an id not yet in the registry (to join a known one, split "
                                       "into a new id, then merge)")
    return new, existing


def _chosen_events(own: dict[int, PhaseEventRow], asset_id: str, event_ids: Sequence[int],
                   source: str | None) -> list[int]:
    chosen: list[int] = []
    for event_id in event_ids:
        if event_id not in own:
            raise ResolutionError(
                f"event {event_id} does not belong to {asset_id!r}", field="--events",
                expected=f"ids of its events: {', '.join(str(e) for e in sorted(own)) or '(none)'}")
        if event_id not in chosen:
            chosen.append(event_id)
    if source is not None and source.strip():
        needle = source.strip().casefold()
        matching = [e for e, ev in own.items()
                    if needle in ev.source_title.casefold() or needle in ev.source_url.casefold()]
        if not matching:
            raise ResolutionError(f"no event of {asset_id!r} has a source matching {source!r}", field="--source",
                                  expected="text from a source title or URL")
        chosen.extend(e for e in matching if e not in chosen)
    if not chosen:
        raise ResolutionError("no events chosen", field="--events",
                              expected="event ids (--events 12,13) or --source TEXT")
    if len(chosen) == len(own):
        raise ResolutionError(f"that would move every event of {asset_id!r}", field="--events",
                              expected=f"fewer events (to rename or join candidates, merge {asset_id})")
    return sorted(chosen)


def split(session: Session, asset_id: str, new_id: str, event_ids: Sequence[int], source: str | None,
          name: str | None, reason: str, actor: str) -> int:
    """Move chosen events of a candidate to a new candidate `new_id`; returns the action id."""
    ident = identity(session)
    row = _mergeable(session, ident, asset_id, "ID", cohorts=True)
    new, existing = _split_target(session, ident, row, new_id)
    own = {ev.id: ev for ev in events_of(session, ident, [row.id]).get(row.id, [])}
    chosen = _chosen_events(own, row.id, event_ids, source)
    details = {"from": row.id, "new_id": new, "events": chosen, "new_candidate": existing is None}
    action = _action(session, "split", row.id, details, reason, actor)
    if existing is None:
        now = utcnow()
        attributes = {a: getattr(row, a) for a in ASSET_ATTRIBUTES if a not in ("name", "count", "note")}
        session.add(AssetRow(id=new, name=(name or "").strip() or new, count=1, created_at=now, updated_at=now,
                             note=f"split from {row.id} by action {action.id}", **attributes))
        session.flush()
    for event_id in chosen:
        session.add(EventReassignmentRow(action_id=action.id, event_id=event_id, from_asset_id=row.id,
                                         to_asset_id=new))
    session.flush()
    return int(action.id)


# --------------------------------------------------------------------------------------------- undo, log


def undo(session: Session, action_id: int, reason: str, actor: str) -> int:
    """Reverse a merge or split, recorded as a new `undo` action (returned); the original is kept."""
    ident = identity(session)
    original = session.get(ResolutionActionRow, action_id)
    if original is None:
        raise ResolutionError(f"no action {action_id}", field="ACTION_ID",
                              expected="an id listed by `pipecast actions`")
    if original.action == "undo":
        raise ResolutionError(f"action {action_id} is itself an undo", field="ACTION_ID",
                              expected="a merge or split (to redo, merge or split again)")
    if original.id in ident.undone:
        raise ResolutionError(f"action {action_id} was already undone by action {ident.undone[original.id]}",
                              field="ACTION_ID", expected="an action that is still in force")
    if original.action == "split":
        moves = session.scalars(select(EventReassignmentRow).where(EventReassignmentRow.action_id == original.id)
                                .order_by(EventReassignmentRow.id))
        for move in moves:
            latest = ident.moved.get(move.event_id)
            if latest is not None and latest[1] != original.id:
                raise ResolutionError(f"event {move.event_id} was moved again by action {latest[1]}",
                                      field="ACTION_ID", expected=f"undo action {latest[1]} first")
    details = {"undoes": original.id, "action": original.action, "original": json.loads(original.details or "{}")}
    return int(_action(session, "undo", original.target_id, details, reason, actor, undoes_id=original.id).id)


def actions(session: Session) -> list[ActionRecord]:
    rows = list(session.scalars(select(ResolutionActionRow).order_by(ResolutionActionRow.id)))
    undone = {r.undoes_id: r.id for r in rows if r.undoes_id is not None}
    return [
        ActionRecord(r.id, r.action, r.target_id, json.loads(r.details or "{}"), r.reason, r.actor,
                     aware(r.created_at), r.undoes_id, undone.get(r.id))
        for r in rows
    ]


# --------------------------------------------------------------------------------------------- review


def review_matches(assets: Sequence[Asset], threshold: float) -> list[ReviewItem]:
    """Unresolved candidates (`pipecast.domain.is_unresolved`) with the known candidates they may be, best
    first. Pure: takes the candidates as the views give them."""
    singles = [a for a in assets if not a.is_cohort]
    pending = [a for a in singles if is_unresolved(a.id, a.note)]
    # known candidates first, so that a name both share is filed under the known one
    ordered = [a for a in singles if not is_unresolved(a.id, a.note)] + pending
    table = known_table((a.id, (a.name, *a.aliases)) for a in ordered)
    items = []
    for asset in pending:
        best: dict[str, Match] = {}
        for alias in dict.fromkeys((asset.name, *asset.aliases)):
            for match in match_candidates(alias, table):
                if match.asset_id == asset.id or match.score < threshold:
                    continue
                if match.score > best.get(match.asset_id, Match(-1.0, "", "")).score:
                    best[match.asset_id] = match
        ranked = tuple(sorted(best.values(), key=lambda m: (-m.score, m.asset_id)))
        items.append(ReviewItem(asset.id, asset.name, asset.note, ranked))
    return items
