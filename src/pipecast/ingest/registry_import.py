"""Registry exports into the store: group trials by candidate, derive their history, write once.

`import_registry` reads a ClinicalTrials.gov, China drug-trial registry or NMPA file with the
matching importer, optionally keeps only a region's records, and resolves each drug name through an
`AliasTable` built from the store's candidates (ids, names, aliases) plus the bundled Chongqing table.

* A name that resolves (see `pipecast.ingest.resolve.resolve`) adds its events to that candidate.
  A candidate already in the store keeps its attributes; only events are appended, and an event that
  would move it backwards (a later trial of a phase it had already reached, typically a new indication)
  is listed as a warning instead of being added.
* A name that does not resolve becomes its own candidate `<registry>:<folded name>` (dosage form
  removed), with a note saying it is unresolved and naming the closest known candidate, if any. It is
  never merged into an existing candidate; `pipecast check` lists these for review.
* Events come from `derive_history` (trials) or the approval date (NMPA). Each carries its provenance
  in its source: registry id, file and row, and the retrieval date (the file's modification date
  unless `retrieved` is given), so re-importing the same file adds nothing.
* Records that give no event (no phase, bioequivalence, no date, stopped) are counted, not imported;
  records without any date are listed as warnings.

Everything is written through `Store.import_data` in one transaction; `dry_run` rolls it back.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipecast.domain import Asset, Phase, PhaseEvent, normalise_name
from pipecast.errors import InputError
from pipecast.ingest.resolve import AliasTable, candidate_table, keys, match_candidates, resolve
from pipecast.ingest.trials import DEFAULT_REGION, RowWarning, TrialRecord, derive_history, region_reasons
from pipecast.store import Store

Kind = Literal["ctgov", "ctr", "nmpa"]
KINDS: tuple[str, ...] = ("ctgov", "ctr", "nmpa")
#: Id prefixes of candidates created from an unresolved registry name.
UNRESOLVED_PREFIXES: tuple[str, ...] = ("ctgov:", "ctr:", "nmpa:")
UNRESOLVED_NOTE = "unresolved registry name"

_ROW = re.compile(r"\brow (\d+)\)")
_REGION_WORDS = {"重庆", "重庆市", "chongqing", "chungking"}


@dataclass
class RegistryImportSummary:
    """What an import read and what it added (or, for a dry run, would add)."""

    file: str
    kind: str
    records_read: int = 0
    records_in_region: int = 0
    records_without_event: int = 0
    candidates_created: int = 0
    candidates_updated: int = 0
    events_added: int = 0
    events_known: int = 0
    resolved: dict[str, str] = field(default_factory=dict)  # registry name -> existing/bundled id
    unresolved: list[str] = field(default_factory=list)  # candidate ids created or fed from unresolved names
    warnings: list[RowWarning] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.candidates_created or self.candidates_updated or self.events_added)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["warnings"] = [asdict(w) for w in self.warnings]
        return data | {"changed": self.changed}

    def describe(self) -> str:
        verb = "would add" if self.dry_run else "added"
        return (
            f"{self.file}: {self.records_read} record(s) read, {self.records_in_region} in region; "
            f"{verb} {self.candidates_created} candidate(s), {self.events_added} event(s) "
            f"({self.events_known} already known), {self.candidates_updated} candidate(s) updated; "
            f"{len(self.unresolved)} unresolved, {len(self.warnings)} warning(s)"
        )


def region_pattern(region: str | None) -> str | None:
    """The regular expression for a --region value: 重庆/Chongqing mean all spellings of Chongqing."""
    if region is None or not region.strip():
        return None
    text = region.strip()
    if set(p.strip().casefold() for p in text.split("|")) <= _REGION_WORDS:
        return DEFAULT_REGION
    try:
        re.compile(text)
    except re.error as exc:
        raise InputError(f"bad region pattern {text!r}: {exc}", field="--region",
                         expected="a place name such as 重庆 or Chongqing") from None
    return text


def build_alias_table(assets: Sequence[Asset], bundled: AliasTable | None = None) -> AliasTable:
    """Drug aliases of the store's candidates, then the bundled table's, mapped onto store ids."""
    return candidate_table(((a.id, (a.name, *a.aliases)) for a in assets), bundled)


def unresolved_id(kind: str, name: str) -> str:
    """`<registry>:<name folded, dosage form removed>`; the registry prefix marks it for review."""
    key = keys(name, "drug")[1] or normalise_name(name)
    return f"{kind}:{key}"


def _row_of(title: str) -> int | None:
    match = _ROW.search(title)
    return int(match.group(1)) if match else None


@dataclass
class _Group:
    id: str
    name: str
    resolved: bool
    hint: str = ""
    trials: list[TrialRecord] = field(default_factory=list)
    events: list[PhaseEvent] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    sponsors: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)


def _drug_names(trial: TrialRecord) -> tuple[str, ...]:
    return tuple(n for n in trial.drug_names if normalise_name(n))


def import_registry(
    store: Store,
    kind: Kind,
    path: str | os.PathLike[str],
    *,
    region: str | None = None,
    dry_run: bool = False,
    today: dt.date | None = None,
    retrieved: dt.date | None = None,
    sites: str | os.PathLike[str] | None = None,
    aliases: AliasTable | None = None,
) -> RegistryImportSummary:
    """Import one registry file into `store` in one transaction (see the module docstring).

    Raises InputError (nothing written) for a file that cannot be read at all; bad rows are warnings.
    """
    if kind not in KINDS:
        raise InputError(f"unknown registry {kind!r}", field="kind", expected="ctgov, ctr or nmpa")
    file = Path(path)
    if not file.exists():
        raise InputError("file not found", file=str(file))
    today = today or dt.date.today()
    pattern = region_pattern(region)
    summary = RegistryImportSummary(file=str(file), kind=kind, dry_run=dry_run)
    existing = {a.id: a for a in store.assets()}
    table = build_alias_table(list(existing.values()), aliases)
    groups: dict[str, _Group] = {}
    cache: dict[str, _Group] = {}

    def group_for(name: str) -> _Group:
        key = normalise_name(name)
        if key in cache:
            return cache[key]
        target = resolve(name, table)
        if target is not None:
            summary.resolved[name] = target
            group = groups.setdefault(target, _Group(target, name, True))
        else:
            new_id = unresolved_id(kind, name)
            hints = match_candidates(name, table)
            hint = f"; closest known: {hints[0].asset_id} ({hints[0].reason})" if hints else ""
            group = groups.setdefault(new_id, _Group(new_id, name, False, hint))
        cache[key] = group
        if name not in group.names:
            group.names.append(name)
        return group

    if kind == "nmpa":
        from pipecast.ingest.nmpa import read_nmpa

        approvals = read_nmpa(file, today=today, retrieved=retrieved)
        summary.warnings.extend(approvals.warnings)
        summary.records_read = len(approvals.records)
        region_re = re.compile(pattern, re.IGNORECASE) if pattern else None
        for approval in approvals.records:
            if region_re is not None and not region_re.search(approval.holder):
                continue
            summary.records_in_region += 1
            event = approval.event
            if event is None or not normalise_name(approval.name):
                summary.records_without_event += 1
                continue
            group = group_for(approval.name)
            group.events.append(event)
            if approval.holder:
                group.sponsors.append(approval.holder)
    else:
        trials = _read_trials(kind, file, today=today, retrieved=retrieved, sites=sites, summary=summary)
        summary.records_read = len(trials)
        for trial in trials:
            if pattern is not None and not region_reasons(trial, pattern):
                continue
            summary.records_in_region += 1
            names = _drug_names(trial)
            if trial.event_date is None and trial.phase is not None:
                title = trial.source.title if trial.source else trial.trial_id
                summary.warnings.append(RowWarning(
                    str(file), _row_of(title), "date",
                    f"{trial.trial_id} has no start or first-posted date; no event",
                ))
            if not names or not derive_history([trial], as_of=today):
                summary.records_without_event += 1
                continue
            for name in names:
                group = group_for(name)
                group.trials.append(trial)
                if trial.sponsor:
                    group.sponsors.append(trial.sponsor)
                group.conditions.extend(trial.conditions)

    assets = [_asset(g, kind, existing.get(g.id), today, str(file), summary.warnings) for g in groups.values()]
    to_write = [a for a in assets if a is not None]
    summary.unresolved = sorted(g.id for g in groups.values() if g.id.startswith(UNRESOLVED_PREFIXES))
    result = store.import_data(assets=to_write, source_file=file, kind=f"registry:{kind}", dry_run=dry_run)
    summary.candidates_created = result.assets_added
    summary.events_added = result.events_added
    summary.events_known = result.events_known
    summary.changes = list(result.changes)
    touched = {line.split(" ", 2)[2].split(": ", 1)[0] for line in result.changes if line.startswith("+ event ")}
    added = {line.split(" ", 3)[2] for line in result.changes if line.startswith("+ asset ")}
    updated = {line.split(" ", 3)[2].rstrip(":") for line in result.changes if line.startswith("~ asset ")}
    summary.candidates_updated = len((touched | updated) - added)
    return summary


def _read_trials(
    kind: str, file: Path, *, today: dt.date, retrieved: dt.date | None,
    sites: str | os.PathLike[str] | None, summary: RegistryImportSummary,
) -> list[TrialRecord]:
    if kind == "ctgov":
        from pipecast.ingest.ctgov import read_ctgov

        return read_ctgov(file, retrieved=retrieved)
    from pipecast.ingest.ctr import read_ctr

    result = read_ctr(file, sites=Path(sites) if sites else None, today=today, retrieved=retrieved)
    summary.warnings.extend(result.warnings)
    return result.records


def _asset(
    group: _Group, kind: str, stored: Asset | None, today: dt.date, file: str, warnings: list[RowWarning]
) -> Asset | None:
    events = list(group.events)
    if group.trials:
        events.extend(derive_history(group.trials, as_of=today))
    if stored is not None:
        events = _forward_only(stored, events, file, warnings)
        if not events:
            return None
        from dataclasses import replace

        return replace(stored, history=tuple(events))  # attributes unchanged: only events are appended
    if not events:
        return None
    sponsor = Counter(group.sponsors).most_common(1)[0][0] if group.sponsors else ""
    indication = next((c for c in group.conditions if c.strip()), "")
    note = ""
    if not group.resolved:
        note = f"{UNRESOLVED_NOTE} {group.name!r} from {kind}{group.hint}; confirm or merge"
    aliases = tuple(n for n in group.names if normalise_name(n) != normalise_name(group.id))
    return Asset(
        id=group.id,
        name=group.name,
        history=tuple(events),
        sponsor=sponsor[:200],
        indication=indication[:300],
        jurisdiction="CN" if kind != "ctgov" else "",
        aliases=aliases,
        note=note,
    )


def _forward_only(
    stored: Asset, events: Iterable[PhaseEvent], file: str, warnings: list[RowWarning]
) -> list[PhaseEvent]:
    """Events that do not move a stored candidate backwards; the others become warnings."""
    kept = []
    for event in events:
        earlier = [e for e in stored.history if e.date < event.date and e.phase.order >= event.phase.order
                   and e.phase not in (Phase.DISCONTINUED, Phase.SUSPENDED)]
        if earlier:
            reached = max(earlier, key=lambda e: (e.phase.order, e.date))
            title = event.source.title if event.source else ""
            warnings.append(RowWarning(
                file, _row_of(title), "phase",
                f"{stored.id} already reached {reached.phase.value} on {reached.date}; "
                f"{event.phase.value} on {event.date} ({title}) is a later trial (new indication?) "
                "and was not added to its history",
            ))
            continue
        kept.append(event)
    return kept
