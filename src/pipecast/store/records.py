"""The store's record types: what its views and writes return (plain, frozen where they can be)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from pipecast.domain import PhaseEvent, Source
from pipecast.errors import ResolutionError
from pipecast.matching import Match

__all__ = ["CHANGES_LISTED", "ActionRecord", "BatchRecord", "BrokenLink", "EventRecord", "Fact", "ImportSummary",
           "ResolutionError", "ReviewItem", "VerifyReport", "WriteResult"]

#: How many change lines a write lists (`WriteResult.changes`); the rest are counted, not kept, so a
#: million-row import does not hold a million lines. The counts are always complete.
CHANGES_LISTED = 1000


@dataclass(frozen=True, slots=True)
class Fact:
    """A dated, sourced figure: a deal, a funding round, a published count ("42 in clinical trials").

    `as_of` is the latest day the published date can mean (None if unknown); `as_of_text` keeps the
    wording when it was looser than a day ("2025-11", "before 2024-08-20").
    """

    entity: str
    field: str
    value: str
    as_of: dt.date | None
    unit: str = ""
    source: Source | None = None
    note: str = ""
    as_of_text: str = ""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A stored phase event with its provenance: which import wrote it, and when."""

    id: int
    asset_id: str
    event: PhaseEvent
    recorded_at: dt.datetime
    batch_id: int | None
    batch_file: str
    stored_asset_id: str = ""  # the candidate the row was imported under, when a merge or split moved it


@dataclass(frozen=True, slots=True)
class BatchRecord:
    id: int
    file: str
    sha256: str
    imported_at: dt.datetime
    kind: str
    rows: int
    assets_added: int
    assets_updated: int
    events_added: int
    facts_added: int


@dataclass
class WriteResult:
    """What one `Store.import_data` write added (or, for a dry run, would add): the store's counts.

    (The summary an `ingest` command prints is `pipecast.ingest.summary.ImportSummary`, built from this.)
    `changes` lists the first `max_changes` changes, one line each, and `changes_omitted` counts the rest;
    `changes_by_asset` counts every change (candidate added or updated, alias, event) per candidate id.
    """

    file: str = ""
    sha256: str = ""
    rows: int = 0
    assets_added: int = 0
    assets_updated: int = 0
    events_added: int = 0
    events_known: int = 0
    aliases_added: int = 0
    facts_added: int = 0
    facts_known: int = 0
    organisations_changed: int = 0
    batch_id: int | None = None
    dry_run: bool = False
    changes: list[str] = field(default_factory=list)
    changes_omitted: int = 0
    changes_by_asset: dict[str, int] = field(default_factory=dict)
    #: Things the import did that deserve a look, e.g. an earlier start date for a phase already recorded.
    warnings: list[str] = field(default_factory=list)
    max_changes: int = field(default=CHANGES_LISTED, repr=False)

    @property
    def changed(self) -> bool:
        return bool(self.assets_added or self.assets_updated or self.events_added or self.aliases_added
                    or self.facts_added or self.organisations_changed)

    def record(self, line: str, asset_id: str | None = None) -> None:
        """One change: counted for its candidate, listed while fewer than `max_changes` are."""
        if asset_id is not None:
            self.changes_by_asset[asset_id] = self.changes_by_asset.get(asset_id, 0) + 1
        if len(self.changes) < self.max_changes:
            self.changes.append(line)
        else:
            self.changes_omitted += 1

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        del data["max_changes"], data["changes_by_asset"]
        return data | {"changed": self.changed}

    def describe(self) -> str:
        verb = "would add" if self.dry_run else "added"
        parts = [
            f"{self.assets_added} new asset(s)",
            f"{self.assets_updated} updated",
            f"{self.events_added} new event(s) ({self.events_known} already known)",
        ]
        if self.aliases_added:
            parts.append(f"{self.aliases_added} alias(es)")
        if self.facts_added or self.facts_known:
            parts.append(f"{self.facts_added} new fact(s) ({self.facts_known} already known)")
        if self.organisations_changed:
            parts.append(f"{self.organisations_changed} organisation(s) added or changed")
        head = f"{self.file}: " if self.file else ""
        if not self.changed:
            return f"{head}nothing new ({self.events_known} event(s), {self.facts_known} fact(s) already known)"
        text = head + f"{verb} " + ", ".join(parts)
        return text + "".join(f"\n  warning: {w}" for w in self.warnings)


#: The old name of `WriteResult`, kept only until `pipecast.api` imports the new one; do not use.
ImportSummary = WriteResult


@dataclass(frozen=True, slots=True)
class ActionRecord:
    """One entry of the entity-resolution audit log."""

    id: int
    action: str  # merge | split | undo
    target_id: str
    details: dict[str, Any]
    reason: str
    actor: str
    created_at: dt.datetime
    undoes_id: int | None = None
    undone_by: int | None = None

    @property
    def undone(self) -> bool:
        return self.undone_by is not None

    def describe(self) -> str:
        d = self.details
        if self.action == "merge":
            text = f"merged {', '.join(d.get('from', []))} into {self.target_id}"
        elif self.action == "split":
            events = ", ".join(str(e) for e in d.get("events", []))
            text = f"split event(s) {events} of {self.target_id} into {d.get('new_id', '?')}"
        else:
            text = f"undid action {self.undoes_id} ({d.get('action', '?')} of {self.target_id})"
        return text + (f"; undone by action {self.undone_by}" if self.undone_by is not None else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "action": self.action, "target_id": self.target_id, "details": self.details,
            "reason": self.reason, "actor": self.actor, "created_at": self.created_at.isoformat(),
            "undoes": self.undoes_id, "undone_by": self.undone_by, "summary": self.describe(),
        }


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """An unresolved candidate and the known candidates it may be, best first; for a person to decide."""

    asset_id: str
    name: str
    note: str
    matches: tuple[Match, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.asset_id, "name": self.name, "note": self.note,
            "matches": [{"id": m.asset_id, "score": m.score, "reason": m.reason, "alias": m.alias}
                        for m in self.matches],
        }


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """The first place where the stored history and its hash chain disagree."""

    table: str
    row_id: int | str
    problem: str

    def __str__(self) -> str:
        return f"{self.table} row {self.row_id}: {self.problem}"


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What `Store.verify` found: rows checked per table, the chain's head hash, the first broken link."""

    url: str
    rows: dict[str, int]
    head: str
    broken: BrokenLink | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def describe(self) -> str:
        counted = ", ".join(f"{n} {t}" for t, n in self.rows.items())
        if self.broken is None:
            return f"{self.url}: history intact ({counted}); chain head {self.head[:16]}"
        return f"{self.url}: history broken at {self.broken}"

    def as_dict(self) -> dict[str, Any]:
        broken = None if self.broken is None else {
            "table": self.broken.table, "row_id": self.broken.row_id, "problem": self.broken.problem}
        return {"url": self.url, "ok": self.ok, "rows": self.rows, "head": self.head, "broken": broken}
