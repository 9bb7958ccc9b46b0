"""Company announcements entered as events: one dated, sourced phase event per row.

File (CSV or XLSX), one row per announcement::

    drug,event,date,source_url,source_title[,indication,sponsor,note,source_date,recorded]

* `drug` - the name as the announcement writes it ("赛立奇单抗注射液", "GR1802注射液", "silevimig injection").
  It is resolved through the store's candidates and the bundled Chongqing aliases (`pipecast.ingest.resolve`);
  a name that does not resolve becomes its own candidate `announcement:<folded name>`, flagged unresolved
  in its note (`pipecast check` lists it). It is never merged into an existing candidate.
* `event` - what happened, in the announcement's words; see `EVENT_WORDING_HELP` and the table below.
* `date` - the event date (required, not in the future). Where a source gives only a month, use the
  announcement date if there is one, else the 15th, and say "month precision" in `note`.
* `source_url` (required, http(s)://...) and `source_title` (required): the announcement.
* optional: `indication`, `sponsor` (used for a new candidate), `note` (kept in a data set's events.csv,
  not in the store), `source_date` (publication date of the source), `recorded` (when the event became
  public, if later than `date`).

Event wording -> phase. The wording is tried as a phase spelling first (`parse_phase`: "Phase 3", "III期",
"IND", "NDA", "approved", "上市申请", "终止"...). Otherwise these words are removed and the rest is read again:

    start words        start(ed), initiated, initiation, begin(s), enrolled, dosed, in, 启动, 开始, 开展, 进入,
                       处于, 阶段
    acceptance words   accepted, acceptance, submitted, submission, received, 受理, 获受理, 获得受理, 提交, 递交, 申报
    approval words     approved, approval, granted, cleared, clearance, authorised/authorized, completed, 获批, 批准,
                       获准, 审批, 完成
    fillers            new drug, drug, application, (first) patient, first, conditional, priority review, US, FDA,
                       CFDA, NMPA, CDE, China, new indication, supplemental, 新(增)适应症, 适应症,
                       clinical trial(s), trial(s), study, 新药, 药物, 药品, 注册, 获得, 附条件,
                       优先审评, 临床试验, 临床, 试验, 通知书, 的, 了, punctuation

    what is left (after removing)              phase
    IND, CTA, 临床试验 (+ approval words)       phase1
    Phase N / N期 (+ start or approval words)  phaseN (I/II counts as phase2)
    NDA, BLA, sNDA, MAA, 上市申请 (+ acceptance)      filed (also with approval words when acceptance words are there:
                                               "BLA (conditional approval) accepted")
    NDA, BLA, 上市 (+ approval words), or only approval words       approved
    discontinued, terminated, 终止              discontinued

So "Phase 3 start", "启动III期临床试验", "IND approved", "获得药物临床试验批准通知书", "NDA accepted",
"新药上市申请获得受理", "BLA approved", "获批上市", "approval" are all understood; anything else is an error
that lists these forms.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipecast.domain import Asset, Phase, PhaseEvent, Source, is_unresolved, parse_phase
from pipecast.errors import InputError, UnknownPhaseError
from pipecast.ingest.resolve import AliasTable
from pipecast.ingest.summary import PROGRESS_EVERY, ImportSummary, Progress, guard_memory
from pipecast.ingest.template import (
    NameResolver,
    Resolution,
    apply_to_store,
    store_table,
    unresolved_note,
)
from pipecast.store import Store
from pipecast.tabular import Note, Row, closing_rows, open_table

ANNOUNCEMENT_COLUMNS = ("drug", "event", "date", "source_url", "source_title")
ANNOUNCEMENT_OPTIONAL = ("indication", "sponsor", "note", "source_date", "recorded")
PREFIX = "announcement"
_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$", re.IGNORECASE)

EVENT_WORDING_HELP = (
    "a phase spelling (Phase 1, Phase II, III期, IND, NDA, BLA, 上市申请, approved, discontinued, 终止) with "
    "optional start, acceptance or approval words: e.g. 'IND approved', 'Phase 3 start', 'NDA accepted', "
    "'BLA approved', 'approval', '启动III期临床试验', '获得药物临床试验批准通知书', '新药上市申请获得受理', '获批上市'"
)

_START = ("started", "starts", "start", "starting", "initiated", "initiation", "initiate", "begins", "begin",
          "began", "enrolled", "dosed", "in", "启动", "开始", "开展", "进入", "处于", "阶段")
_ACCEPT = ("accepted", "acceptance", "submitted", "submission", "received", "获得受理", "获受理", "受理", "提交",
           "递交", "申报")
_APPROVE = ("approved", "approval", "granted", "cleared", "clearance", "authorised", "authorized", "completed",
            "获批", "批准", "获准", "审批", "完成")
_FILLERS = ("new drug", "drug", "application", "first patient", "patient", "first", "conditional", "priority review",
            "us", "fda", "cfda", "nmpa", "cde", "china", "new indication", "supplemental", "新适应症", "新增适应症",
            "适应症", "新药", "药物", "药品", "注册", "获得", "通知书", "附条件",
            "优先审评", "的", "了")
_TRIAL = ("clinical trials", "clinical trial", "clinical", "trials", "trial", "study", "临床试验", "临床", "试验")
_EXTRA: dict[str, Phase] = {
    "cta": Phase.PHASE1,
    "ind": Phase.PHASE1,
    "临床试验": Phase.PHASE1,
    "clinical trial": Phase.PHASE1,
    "maa": Phase.FILED,
    "snda": Phase.FILED,
    "sbla": Phase.FILED,
    "marketing": Phase.FILED,
    "marketing authorisation": Phase.FILED,
    "marketing authorization": Phase.FILED,
    "上市许可申请": Phase.FILED,
    "上市许可": Phase.FILED,
    "上市申请": Phase.FILED,
}


def _remove(text: str, words: Sequence[str]) -> tuple[str, bool]:
    """`text` without the words (Latin words whole, Chinese anywhere), and whether any was there."""
    found = False
    for word in sorted(words, key=len, reverse=True):
        if re.fullmatch(r"[a-z ]+", word):
            text, n = re.subn(rf"(?<![a-z]){re.escape(word)}(?![a-z])", " ", text)
        else:
            text, n = re.subn(re.escape(word), "", text)
        found = found or bool(n)
    return text, found


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[,，、;；:：()（）\[\]【】\"“”'‘’.。!]+", " ", text)).strip()


def _lookup(text: str) -> Phase | None:
    if not text:
        return None
    if text in _EXTRA:
        return _EXTRA[text]
    try:
        return parse_phase(text)
    except UnknownPhaseError:
        return None


def parse_event(text: str) -> Phase:
    """The phase an announcement's event wording means (table in the module docstring); ValueError if none."""
    raw = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(text)).strip().lower())
    if not raw:
        raise ValueError(f"empty event; expected {EVENT_WORDING_HELP}")
    direct = _lookup(raw)
    if direct is not None:
        return direct
    rest, _ = _remove(raw, _START)
    rest, accepted = _remove(rest, _ACCEPT)
    rest, approved = _remove(rest, _APPROVE)
    rest, _ = _remove(rest, _FILLERS)
    rest = _tidy(rest)
    phase = _lookup(rest)
    if phase is None:
        bare, trial = _remove(rest, _TRIAL)
        bare = _tidy(bare)
        phase = _lookup(bare)
        if phase is None and not bare and trial:
            phase = Phase.PHASE1  # "临床试验获批": a clinical trial approved is an IND
        if phase is None and not bare and not trial and approved and not accepted:
            phase = Phase.APPROVED  # "approval", "获批" on their own
    if phase is None:
        raise ValueError(f"unknown event wording {text!r}; expected {EVENT_WORDING_HELP}")
    if approved and not accepted and phase is Phase.FILED:
        return Phase.APPROVED  # "NDA approved", "上市申请获批"; "BLA (conditional approval) accepted" stays filed
    return phase


@dataclass(frozen=True)
class Announcement:
    """One row of an announcements file."""

    row: Row
    drug: str
    wording: str
    event: PhaseEvent
    sponsor: str = ""
    note: str = ""


def read_announcements(
    path: str | os.PathLike[str], *, today: dt.date, sheet: str | None = None, notes: list[Note] | None = None
) -> list[Announcement]:
    """Every row of an announcements file, checked (see the module docstring); InputError names row and column."""
    return list(iter_announcements(path, today=today, sheet=sheet, notes=notes))


def iter_announcements(
    path: str | os.PathLike[str], *, today: dt.date, sheet: str | None = None, notes: list[Note] | None = None
) -> Iterator[Announcement]:
    """`read_announcements` as a stream, reading the file as it goes."""
    file = Path(path)
    where, _, rows = open_table(file, ANNOUNCEMENT_COLUMNS, ANNOUNCEMENT_OPTIONAL, sheet=sheet, notes=notes)
    empty = True
    with closing_rows(rows) as stream:
        for row in stream:
            empty = False
            yield _announcement(row, today)
    if empty:
        raise InputError("no announcements in file", file=where, expected="at least one data row")


def _announcement(row: Row, today: dt.date) -> Announcement:
    drug = row.required("drug", "the drug name as the announcement writes it")
    wording = row.required("event", EVENT_WORDING_HELP)
    try:
        phase = parse_event(wording)
    except ValueError as exc:
        raise row.error("event", str(exc).split("; expected")[0], EVENT_WORDING_HELP) from None
    date = row.date("date", not_after=today)
    assert date is not None
    url = row.required("source_url", "the announcement's URL (http:// or https://)")
    if not _URL.match(url):
        raise row.error("source_url", f"{url!r} is not a web address", "a URL starting http:// or https://")
    title = row.required("source_title", "the announcement's title")
    source_date = row.date("source_date", not_after=today, required=False)
    recorded = row.date("recorded", not_after=today, required=False)
    if recorded is not None and recorded < date:
        raise row.error("recorded", f"{recorded} is before the event date {date}",
                        "the date the event became public, on or after `date`")
    event = PhaseEvent(phase, date, Source(title, url, source_date), row.get("indication"), recorded)
    return Announcement(row, drug, wording, event, row.get("sponsor"), row.get("note"))


def resolve_announcements(
    records: Sequence[Announcement], table: AliasTable, prefix: str = PREFIX
) -> list[Resolution]:
    """Which candidate each announcement means (same order as `records`)."""
    resolve_once = NameResolver(table, prefix)
    return [resolve_once(rec.drug) for rec in records]


def import_announcements(
    store: Store,
    path: str | os.PathLike[str],
    *,
    today: dt.date,
    dry_run: bool = False,
    aliases: AliasTable | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
    write_progress: Progress | None = None,
) -> ImportSummary:
    """Import an announcements file into `store` in one transaction; InputError (nothing written) on bad input.

    A resolved candidate already in the store keeps its attributes; only events are appended. Re-importing
    the same file adds nothing (each event carries its source). The file is read as a stream; running out of
    memory is an ImportMemoryError, with nothing written. `progress` counts records read, `write_progress`
    candidates written.
    """
    return guard_memory(path, lambda: _import_announcements(store, Path(path), today=today, dry_run=dry_run,
                                                            aliases=aliases, sheet=sheet, progress=progress,
                                                            write_progress=write_progress))


def _import_announcements(
    store: Store, file: Path, *, today: dt.date, dry_run: bool, aliases: AliasTable | None, sheet: str | None,
    progress: Progress | None, write_progress: Progress | None,
) -> ImportSummary:
    notes: list[Note] = []
    summary = ImportSummary(file=str(file), kind="announcements", dry_run=dry_run)
    existing, table = store_table(store, aliases)
    merged: dict[str, Asset] = {}
    resolve_once = NameResolver(table, PREFIX)
    for rec in iter_announcements(file, today=today, sheet=sheet, notes=notes):
        summary.records_read += 1
        if progress is not None and summary.records_read % PROGRESS_EVERY == 0:
            progress(summary.records_read)
        target = resolve_once(rec.drug)
        if target.resolved:
            summary.resolved[rec.drug] = target.id
        base = merged.get(target.id)
        if base is not None:
            new_name = target.id not in existing and rec.drug not in (base.name, *base.aliases)
            extra = (rec.drug,) if new_name else ()
            merged[target.id] = replace(base, history=(*base.history, rec.event), aliases=(*base.aliases, *extra))
        elif target.id in existing:
            merged[target.id] = replace(existing[target.id], history=(rec.event,))
        else:
            note = "" if target.resolved else unresolved_note(rec.drug, "announcements", target.hint)
            merged[target.id] = Asset(id=target.id, name=rec.drug, history=(rec.event,), sponsor=rec.sponsor,
                                      indication=rec.event.indication, note=note)
    summary.records_in_region = summary.records_read
    summary.unresolved = sorted(i for i, asset in merged.items() if is_unresolved(i, asset.note))
    summary.add_notes(notes)
    if progress is not None:
        progress(summary.records_read)
    return apply_to_store(store, merged.values(), summary, file=file, dry_run=dry_run, existing=existing,
                          write_progress=write_progress)
