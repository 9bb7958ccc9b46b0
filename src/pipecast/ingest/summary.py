"""What an import read and what it added: the one summary every `ingest` command prints (text or JSON).

JSON keys (see CHANGELOG.md): file, kind, dry_run, region, records_read, records_in_region,
records_without_event, records_kept, candidates_created, candidates_updated, events_added, events_known,
resolved, unresolved, warnings, changes, changes_omitted, changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from pipecast.errors import ImportMemoryError
from pipecast.ingest.trials import RowWarning
from pipecast.tabular import Note

#: The --region value that keeps every record (the region must always be said).
ALL_REGIONS = "all"
#: The imports that take --region.
REGISTRY_KINDS = ("ctgov", "ctr", "nmpa")
#: How often (in records) an import reports progress.
PROGRESS_EVERY = 1000
#: Called with the number of records read so far (every PROGRESS_EVERY records, and once at the end).
Progress = Callable[[int], None]


def guard_memory(path: str | os.PathLike[str], work: Callable[[], ImportSummary]) -> ImportSummary:
    """`work()`, with running out of memory turned into a one-line ImportMemoryError. Nothing is written then:
    the store writes in chunks but inside one transaction, which any exception (MemoryError too) rolls back."""
    try:
        return work()
    except MemoryError:
        raise ImportMemoryError(
            f"{os.fspath(path)}: out of memory during the import; nothing was written "
            "(split the file, or import it on a machine with more memory)"
        ) from None


class StoreWrite(Protocol):
    """What `Store.import_data` reports back (`pipecast.store.WriteResult`)."""

    assets_added: int
    events_added: int
    events_known: int
    changes: list[str]
    changes_omitted: int
    changes_by_asset: dict[str, int]


@dataclass
class ImportSummary:
    """What one import read and added (or, for a dry run, would add).

    `records_read` counts every record (row, study, approval) the file gave; `records_in_region` those the
    region filter kept (all of them when `region` is None, i.e. `--region all`); `records_kept` those that
    also gave an event, the ones that reach the store.
    """

    file: str
    kind: str
    dry_run: bool = False
    region: str | None = None
    records_read: int = 0
    records_in_region: int = 0
    records_without_event: int = 0
    candidates_created: int = 0
    candidates_updated: int = 0
    events_added: int = 0
    events_known: int = 0
    resolved: dict[str, str] = field(default_factory=dict)  # name in the file -> existing/bundled id
    unresolved: list[str] = field(default_factory=list)  # candidate ids created or fed from unresolved names
    warnings: list[RowWarning] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    #: Changes the store made but did not list (it lists the first `pipecast.store.CHANGES_LISTED`).
    changes_omitted: int = 0

    @property
    def records_kept(self) -> int:
        return self.records_in_region - self.records_without_event

    @property
    def changed(self) -> bool:
        return bool(self.candidates_created or self.candidates_updated or self.events_added)

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kind": self.kind,
            "dry_run": self.dry_run,
            "region": self.region if self.region is not None else ALL_REGIONS,
            "records_read": self.records_read,
            "records_in_region": self.records_in_region,
            "records_without_event": self.records_without_event,
            "records_kept": self.records_kept,
            "candidates_created": self.candidates_created,
            "candidates_updated": self.candidates_updated,
            "events_added": self.events_added,
            "events_known": self.events_known,
            "resolved": dict(self.resolved),
            "unresolved": list(self.unresolved),
            "warnings": [asdict(w) for w in self.warnings],
            "changes": list(self.changes),
            "changes_omitted": self.changes_omitted,
            "changed": self.changed,
        }

    def describe(self) -> str:
        verb = "would add" if self.dry_run else "added"
        read = f"{self.records_read} record(s) read"
        if self.kind in REGISTRY_KINDS:  # the commands with --region say what it kept
            region = ("no region filter (--region all)" if self.region is None
                      else f"{self.records_in_region} in region {self.region}")
            without = f" ({self.records_without_event} without an event)" if self.records_without_event else ""
            read += f", {region}, {self.records_kept} kept{without}"
        return (
            f"{self.file}: {read}; "
            f"{verb} {self.candidates_created} candidate(s), {self.events_added} event(s) "
            f"({self.events_known} already known), {self.candidates_updated} candidate(s) updated; "
            f"{len(self.unresolved)} unresolved, {len(self.warnings)} warning(s)"
        )

    def add_notes(self, notes: Iterable[Note]) -> None:
        """What the reader did on the user's behalf (separator, merged cells, another sheet), as warnings."""
        self.warnings.extend(RowWarning(n.file, None, "", n.message) for n in notes)

    def record_write(self, result: StoreWrite, existing: Iterable[str]) -> None:
        """Take the store's counts; `existing` are the ids the store held before the import.

        A candidate counts as updated when it was already in the store and the write changed something for
        it (an event, an alias or an attribute): the store's per-candidate counter `changes_by_asset`.
        """
        self.candidates_created = result.assets_added
        self.events_added = result.events_added
        self.events_known = result.events_known
        self.changes = list(result.changes)
        self.changes_omitted = result.changes_omitted
        before = set(existing)
        self.candidates_updated = sum(1 for i, n in result.changes_by_asset.items() if n and i in before)
