"""Registry exports into the store: group trials by candidate, derive their history, write once.

`import_registry` reads a ClinicalTrials.gov, China drug-trial registry or NMPA file with the
matching importer, keeps only the records of the region it is given (`--region` is required: a place,
a pattern, or `all`), and resolves each drug name through an `AliasTable` built from the store's
candidates (ids, names, aliases) plus the bundled Chongqing table. The summary says how many records were
read, how many are in the region and how many of those were kept (gave an event).

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

The file is read as a stream: per candidate only the earliest trial reaching each phase is kept
(`trials.keep_earliest`), so memory grows with the candidates, not with the records. The candidates are then
streamed to `Store.import_data`, which writes them in chunks inside one transaction; `dry_run` rolls it back.
Each distinct name (folded) is matched once per import, and one scoring gives both the decision and the hint.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from pipecast.domain import UNRESOLVED_NOTE, Asset, Phase, PhaseEvent, is_unresolved, normalise_name
from pipecast.errors import InputError
from pipecast.ingest.resolve import AliasTable, candidate_table, keys, resolve_with_matches
from pipecast.ingest.summary import (
    ALL_REGIONS,
    PROGRESS_EVERY,
    REGISTRY_KINDS,
    ImportSummary,
    Progress,
    guard_memory,
)
from pipecast.ingest.trials import (
    DEFAULT_REGION,
    RowWarning,
    TrialRecord,
    counts_on,
    derive_history,
    keep_earliest,
    region_reasons,
)
from pipecast.store import Store

Kind = Literal["ctgov", "ctr", "nmpa"]
KINDS: tuple[str, ...] = REGISTRY_KINDS

_ROW = re.compile(r"\brow (\d+)\)")
_REGION_WORDS = {"重庆", "重庆市", "chongqing", "chungking"}

def region_pattern(region: str | None) -> str | None:
    """The regular expression for a --region value: 重庆/Chongqing mean all spellings of Chongqing, and
    `all` (or None, from Python) keeps every record."""
    if region is None or region.strip().casefold() == ALL_REGIONS:
        return None
    text = region.strip()
    if not text:
        raise InputError("empty region", field="--region",
                         expected="a place name such as 重庆 or Chongqing, a pattern, or all")
    if set(p.strip().casefold() for p in text.split("|")) <= _REGION_WORDS:
        return DEFAULT_REGION
    try:
        re.compile(text)
    except re.error as exc:
        raise InputError(f"bad region pattern {text!r}: {exc}", field="--region",
                         expected="a place name such as 重庆 or Chongqing, a regular expression, or all") from None
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
    """One candidate's share of an import, kept small: per phase only the earliest trial reaching it."""

    id: str
    name: str
    resolved: bool
    hint: str = ""
    earliest: dict[Phase, TrialRecord] = field(default_factory=dict)
    events: list[PhaseEvent] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    sponsors: Counter[str] = field(default_factory=Counter)
    condition: str = ""

    def add_sponsor(self, sponsor: str) -> None:
        if sponsor:
            self.sponsors[sponsor] += 1


def _drug_names(trial: TrialRecord) -> tuple[str, ...]:
    return tuple(n for n in trial.drug_names if normalise_name(n))


class _Grouper:
    """Which candidate each registry name means (resolved once per folded name) and its group."""

    def __init__(self, kind: str, table: AliasTable, summary: ImportSummary) -> None:
        self.kind, self.table, self.summary = kind, table, summary
        self.groups: dict[str, _Group] = {}
        self.cache: dict[str, _Group] = {}

    def __call__(self, name: str) -> _Group:
        key = normalise_name(name)
        if key in self.cache:
            group = self.cache[key]
        else:  # each distinct name is scored once: the decision and the hint come from the same matches
            target, hints = resolve_with_matches(name, self.table)
            if target is not None:
                self.summary.resolved[name] = target
                group = self.groups.setdefault(target, _Group(target, name, True))
            else:
                new_id = unresolved_id(self.kind, name)
                hint = f"; closest known: {hints[0].asset_id} ({hints[0].reason})" if hints else ""
                group = self.groups.setdefault(new_id, _Group(new_id, name, False, hint))
            self.cache[key] = group
        if name not in group.names:
            group.names.append(name)
        return group


def import_registry(
    store: Store,
    kind: Kind,
    path: str | os.PathLike[str],
    *,
    region: str | None,
    today: dt.date,
    dry_run: bool = False,
    retrieved: dt.date | None = None,
    sites: str | os.PathLike[str] | None = None,
    aliases: AliasTable | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
    write_progress: Progress | None = None,
) -> ImportSummary:
    """Import one registry file into `store` in one transaction (see the module docstring).

    `region` is a --region value (see `region_pattern`); None keeps every record. The file is read as a
    stream: memory grows with the number of candidates, not of records. `progress` is called with the
    records read so far, then `write_progress` with the candidates written so far. Raises InputError
    (nothing written) for a file that cannot be read at all; bad rows are warnings. Running out of memory is
    an ImportMemoryError, with nothing written.
    """
    return guard_memory(path, lambda: _import_registry(
        store, kind, Path(path), region=region, today=today, dry_run=dry_run, retrieved=retrieved, sites=sites,
        aliases=aliases, sheet=sheet, progress=progress, write_progress=write_progress))


def _import_registry(
    store: Store, kind: Kind, file: Path, *, region: str | None, today: dt.date, dry_run: bool,
    retrieved: dt.date | None, sites: str | os.PathLike[str] | None, aliases: AliasTable | None,
    sheet: str | None, progress: Progress | None, write_progress: Progress | None,
) -> ImportSummary:
    if kind not in KINDS:
        raise InputError(f"unknown registry {kind!r}", field="kind", expected="ctgov, ctr or nmpa")
    if not file.exists():
        raise InputError("file not found", file=str(file))
    pattern = region_pattern(region)
    summary = ImportSummary(file=str(file), kind=kind, dry_run=dry_run, region=pattern)
    existing = {a.id: a for a in store.assets()}
    group_for = _Grouper(kind, build_alias_table(list(existing.values()), aliases), summary)
    warnings = summary.warnings
    if kind == "nmpa":
        _read_approvals(file, group_for, summary, warnings, pattern=pattern, today=today, retrieved=retrieved,
                        sheet=sheet, progress=progress)
    else:
        trials = _read_trials(kind, file, today=today, retrieved=retrieved, sites=sites, sheet=sheet,
                              warnings=warnings)
        _group_trials(trials, file, group_for, summary, warnings, pattern=pattern, today=today, progress=progress)
    if progress is not None:
        progress(summary.records_read)
    groups = group_for.groups
    summary.unresolved = sorted(g.id for g in groups.values() if is_unresolved(g.id))
    assets = (_asset(g, kind, existing.get(g.id), today, str(file), warnings) for g in groups.values())
    result = store.import_data(assets=(a for a in assets if a is not None), source_file=file,
                               kind=f"registry:{kind}", dry_run=dry_run, progress=write_progress)
    summary.record_write(result, existing)
    return summary


def _read_approvals(
    file: Path, group_for: _Grouper, summary: ImportSummary, warnings: list[RowWarning], *,
    pattern: str | None, today: dt.date, retrieved: dt.date | None, sheet: str | None, progress: Progress | None,
) -> None:
    from pipecast.ingest.nmpa import iter_nmpa

    region_re = re.compile(pattern, re.IGNORECASE) if pattern else None
    for approval in iter_nmpa(file, today=today, retrieved=retrieved, sheet=sheet):
        if isinstance(approval, RowWarning):
            warnings.append(approval)
            continue
        summary.records_read += 1
        if progress is not None and summary.records_read % PROGRESS_EVERY == 0:
            progress(summary.records_read)
        if region_re is not None and not region_re.search(approval.holder):
            continue
        summary.records_in_region += 1
        event = approval.event
        if event is None or not normalise_name(approval.name):
            summary.records_without_event += 1
            continue
        group = group_for(approval.name)
        group.events.append(event)
        group.add_sponsor(approval.holder)


def _group_trials(
    trials: Iterable[TrialRecord | RowWarning], file: Path, group_for: _Grouper, summary: ImportSummary,
    warnings: list[RowWarning], *, pattern: str | None, today: dt.date, progress: Progress | None,
) -> None:
    for trial in trials:
        if isinstance(trial, RowWarning):
            warnings.append(trial)
            continue
        summary.records_read += 1
        if progress is not None and summary.records_read % PROGRESS_EVERY == 0:
            progress(summary.records_read)
        if pattern is not None and not region_reasons(trial, pattern):
            continue
        summary.records_in_region += 1
        names = _drug_names(trial)
        if trial.event_date is None and trial.phase is not None:
            title = trial.source.title if trial.source else trial.trial_id
            warnings.append(RowWarning(
                str(file), _row_of(title), "date", f"{trial.trial_id} has no start or first-posted date; no event",
            ))
        if not names or not counts_on(trial, today):
            summary.records_without_event += 1
            continue
        for name in names:
            group = group_for(name)
            keep_earliest(group.earliest, trial)
            group.add_sponsor(trial.sponsor)
            if not group.condition:
                group.condition = next((c for c in trial.conditions if c.strip()), "")


def _read_trials(
    kind: str, file: Path, *, today: dt.date, retrieved: dt.date | None,
    sites: str | os.PathLike[str] | None, sheet: str | None, warnings: list[RowWarning],
) -> Iterator[TrialRecord | RowWarning]:
    if kind == "ctgov":
        from pipecast.ingest.ctgov import iter_ctgov

        if sheet is not None:
            raise InputError(f"--sheet {sheet!r} given for a file that is not a workbook", file=str(file),
                             expected="--sheet only with an .xlsx file")
        return iter_ctgov(file, retrieved=retrieved)
    from pipecast.ingest.ctr import iter_ctr

    return iter_ctr(file, sites=Path(sites) if sites else None, today=today, retrieved=retrieved, sheet=sheet)


def _asset(
    group: _Group, kind: str, stored: Asset | None, today: dt.date, file: str, warnings: list[RowWarning]
) -> Asset | None:
    events = list(group.events)
    if group.earliest:
        events.extend(derive_history(dict.fromkeys(group.earliest.values()), as_of=today))
    if stored is not None:
        events = _forward_only(stored, events, file, warnings)
        if not events:
            return None
        return replace(stored, history=tuple(events))  # attributes unchanged: only events are appended
    if not events:
        return None
    sponsor = group.sponsors.most_common(1)[0][0] if group.sponsors else ""
    note = ""
    if not group.resolved:
        note = f"{UNRESOLVED_NOTE} registry name {group.name!r} from {kind}{group.hint}; confirm or merge"
    aliases = tuple(n for n in group.names if normalise_name(n) != normalise_name(group.id))
    return Asset(
        id=group.id,
        name=group.name,
        history=tuple(events),
        sponsor=sponsor[:200],
        indication=group.condition[:300],
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
