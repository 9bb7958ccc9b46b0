"""The generic template: any spreadsheet (CSV or XLSX) read into candidates through a column mapping.

A mapping names, for each spreadsheet column to use, the ASSETS.csv field it holds::

    名称=name,阶段=phase,起始日期=phase_start,企业=sponsor        (CLI: --map)

or, in a YAML file (`--map mapping.yaml`), either that mapping itself or::

    columns: {名称: name, 阶段: phase, 起始日期: phase_start}
    date_format: "%d/%m/%Y"          # optional, for day-first dates

Targets are the ASSETS.csv fields (`TARGETS`). `phase` and `phase_start` must be mapped, and `name` or `id`.
Each row is one candidate in its current phase since `phase_start` (parsed with `date_format` when given,
otherwise ISO or another year-first form). Unmapped columns are ignored.

Which candidate a row means: the mapped `id` when there is one; otherwise its name is resolved through the
store's candidates and the bundled Chongqing aliases (`pipecast.ingest.resolve`). A name that resolves adds
its event (and any non-blank attributes) to that candidate; one that does not becomes `template:<folded name>`
with a note saying it is unresolved - never merged silently.

Errors name the file, the row and the spreadsheet's own column (not the target field).
Everything is written through `Store.import_data` in one transaction; `dry_run` rolls it back.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipecast.domain import UNRESOLVED_NOTE, Asset, PhaseEvent, Source, normalise_name, parse_phase
from pipecast.errors import InputError, UnknownPhaseError
from pipecast.ingest.resolve import AliasTable, candidate_table, keys, resolve_with_matches
from pipecast.ingest.summary import PROGRESS_EVERY, ImportSummary, Progress, guard_memory
from pipecast.store import Store
from pipecast.tabular import EARLIEST_PLAUSIBLE_DATE, Note, Row, closing_rows, open_table, parse_date

#: The fields a spreadsheet column can be mapped to (the ASSETS.csv columns).
TARGETS: tuple[str, ...] = (
    "id", "name", "sponsor", "modality", "therapeutic_area", "phase", "phase_start", "count", "indication",
    "target", "nmpa_class", "jurisdiction", "aliases", "note", "source_title", "source_url", "source_date",
)
REQUIRED_TARGETS: tuple[str, ...] = ("phase", "phase_start")
_ATTRIBUTES = ("sponsor", "modality", "therapeutic_area", "indication", "target", "nmpa_class", "jurisdiction",
               "note")


@dataclass(frozen=True)
class ColumnMapping:
    """Spreadsheet column -> target field, and an optional strptime format for dates."""

    columns: dict[str, str]
    date_format: str = ""
    origin: str = "--map"


def _check_targets(columns: Mapping[str, str], origin: str) -> dict[str, str]:
    checked: dict[str, str] = {}
    seen: dict[str, str] = {}
    for column, target in columns.items():
        column, target = str(column).strip(), str(target).strip()
        if not column:
            raise InputError("empty column name in the mapping", file=origin, expected="COLUMN=field pairs")
        if target not in TARGETS:
            raise InputError(f"column {column!r} is mapped to unknown field {target!r}", file=origin,
                             field=column, expected="one of " + ", ".join(TARGETS))
        if target in seen:
            raise InputError(f"columns {seen[target]!r} and {column!r} are both mapped to {target!r}",
                             file=origin, field=column, expected="each field mapped from one column")
        seen[target] = column
        checked[column] = target
    if not checked:
        raise InputError("the mapping is empty", file=origin, expected="COLUMN=field pairs such as 名称=name")
    missing = [t for t in REQUIRED_TARGETS if t not in seen]
    if "name" not in seen and "id" not in seen:
        missing.insert(0, "name")
    if missing:
        raise InputError(f"required field(s) {', '.join(missing)} not mapped from any column", file=origin,
                         expected="a mapping for name (or id), phase and phase_start, e.g. "
                                  "名称=name,阶段=phase,起始日期=phase_start")
    return checked


def _check_format(date_format: str, origin: str) -> str:
    date_format = date_format.strip()
    if date_format and "%" not in date_format:
        raise InputError(f"date format {date_format!r} has no % directive", file=origin, field="date_format",
                         expected="a strptime format such as %d/%m/%Y")
    return date_format


def parse_mapping(text: str, *, date_format: str = "") -> ColumnMapping:
    """`COLUMN=field,COLUMN=field` (the --map option); `=` may also be `:`."""
    columns: dict[str, str] = {}
    for part in re.split(r"[,，;]", text):
        if not part.strip():
            continue
        pair = re.split(r"[=:]", part, maxsplit=1)
        if len(pair) != 2:
            raise InputError(f"{part.strip()!r} is not COLUMN=field", file="--map",
                             expected="COLUMN=field pairs separated by commas, e.g. 名称=name,阶段=phase")
        column, target = pair
        if column.strip() in columns:
            raise InputError(f"column {column.strip()!r} is mapped twice", file="--map", field=column.strip())
        columns[column.strip()] = target.strip()
    return ColumnMapping(_check_targets(columns, "--map"), _check_format(date_format, "--date-format"))


def load_mapping(path: str | os.PathLike[str], *, date_format: str = "") -> ColumnMapping:
    """A YAML mapping file: `{column: field}` or `{columns: {column: field}, date_format: ...}`."""
    import yaml

    file = Path(path)
    origin = str(file)
    if not file.exists():
        raise InputError("mapping file not found", file=origin)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the mapping as YAML: {exc}", file=origin) from None
    if not isinstance(data, dict):
        raise InputError("the mapping is not a YAML mapping", file=origin, expected="column: field lines")
    if "columns" in data:
        columns = data["columns"]
        unknown = sorted(str(k) for k in data if k not in ("columns", "date_format"))
        if unknown:
            raise InputError(f"unknown key(s) {', '.join(unknown)}", file=origin, field=unknown[0],
                             expected="columns and optionally date_format")
        fmt = date_format or str(data.get("date_format") or "")
    else:
        columns, fmt = data, date_format
    if not isinstance(columns, dict):
        raise InputError("'columns' is not a mapping", file=origin, field="columns", expected="column: field lines")
    return ColumnMapping(_check_targets(columns, origin), _check_format(fmt, origin), origin)


def mapping_option(text: str, *, date_format: str = "") -> ColumnMapping:
    """The --map value: a YAML file when it names one (.yaml/.yml), otherwise inline pairs."""
    if text.strip().lower().endswith((".yaml", ".yml")):
        return load_mapping(text.strip(), date_format=date_format)
    return parse_mapping(text, date_format=date_format)


# ------------------------------------------------------------------------------------------- shared


def store_table(store: Store, bundled: AliasTable | None = None) -> tuple[dict[str, Asset], AliasTable]:
    """The store's candidates by id, and the alias table built from them plus the bundled aliases."""
    existing = {a.id: a for a in store.assets()}
    return existing, candidate_table(((a.id, (a.name, *a.aliases)) for a in existing.values()), bundled)


@dataclass(frozen=True)
class Resolution:
    """Which id a name means; `resolved` is False for a new id made from an unresolved name."""

    id: str
    resolved: bool
    hint: str = ""


def resolve_name(name: str, table: AliasTable, prefix: str) -> Resolution:
    """The known id for `name`, or `<prefix>:<folded name>` with the closest known candidate as a hint
    (the decision and the hint come from one scoring of the name)."""
    target, hints = resolve_with_matches(name, table)
    if target is not None:
        return Resolution(target, True)
    key = keys(name, "drug")[1] or normalise_name(name)
    hint = f"closest known: {hints[0].asset_id} ({hints[0].reason})" if hints else ""
    return Resolution(f"{prefix}:{key}", False, hint)


class NameResolver:
    """`resolve_name` memoised per distinct folded name (`normalise_name`) for the length of one import."""

    def __init__(self, table: AliasTable, prefix: str) -> None:
        self.table, self.prefix = table, prefix
        self._seen: dict[str, Resolution] = {}

    def __call__(self, name: str) -> Resolution:
        key = normalise_name(name)
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = resolve_name(name, self.table, self.prefix)
        return found


def unresolved_note(name: str, kind: str, hint: str) -> str:
    """The note of a candidate made from an unresolved name (`pipecast.domain.is_unresolved` reads it)."""
    return f"{UNRESOLVED_NOTE} name {name!r} from {kind}" + (f"; {hint}" if hint else "") + "; confirm or merge"


def apply_to_store(
    store: Store, assets: Iterable[Asset], summary: ImportSummary, *, file: Path, dry_run: bool,
    existing: Iterable[str], write_progress: Progress | None = None,
) -> ImportSummary:
    """Write `assets` in one transaction (`Store.import_data`, in chunks) and fill the summary's counts."""
    result = store.import_data(assets=assets, source_file=file, kind=summary.kind, dry_run=dry_run,
                               progress=write_progress)
    summary.record_write(result, existing)
    return summary


def row_date(row: Row, column: str, target: str, *, fmt: str = "", not_after: dt.date | None = None,
             required: bool = True) -> dt.date | None:
    """A date cell, in `fmt` when given; errors name the spreadsheet column."""
    text = row.get(column)
    expected = f"a date in the format {fmt}" if fmt else "an ISO date such as 2024-08-20"
    if not text:
        if required:
            raise row.error(column, f"{target} is missing", expected)
        return None
    try:
        value = parse_date(text, fmt or None)
    except ValueError:
        raise row.error(column, f"{text!r} is not a date ({target})", expected) from None
    if value < EARLIEST_PLAUSIBLE_DATE:
        raise row.error(column, f"{value} is before {EARLIEST_PLAUSIBLE_DATE}", "a plausible date")
    if not_after is not None and value > not_after:
        raise row.error(column, f"{value} is in the future (after {not_after})", f"a date on or before {not_after}")
    return value


# ------------------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class TemplateRow:
    """One spreadsheet row as the fields it maps to."""

    row: Row
    id: str
    name: str
    event: PhaseEvent
    values: dict[str, str]
    aliases: tuple[str, ...]
    count: int


def read_template(
    path: str | os.PathLike[str], mapping: ColumnMapping, *, today: dt.date, sheet: str | None = None,
    notes: list[Note] | None = None,
) -> list[TemplateRow]:
    """Every data row of the spreadsheet through the mapping (see the module docstring)."""
    return list(iter_template(path, mapping, today=today, sheet=sheet, notes=notes))


def iter_template(
    path: str | os.PathLike[str], mapping: ColumnMapping, *, today: dt.date, sheet: str | None = None,
    notes: list[Note] | None = None,
) -> Iterator[TemplateRow]:
    """`read_template` as a stream, reading the file as it goes; the header is checked on the first `next`."""
    file = Path(path)
    where, header, rows = open_table(file, sheet=sheet, notes=notes)
    col = {target: column for column, target in mapping.columns.items()}
    seen: dict[str, int] = {}
    empty = True
    with closing_rows(rows) as stream:
        missing = [c for c in mapping.columns if c not in header]
        if missing:
            raise InputError(
                f"mapped column(s) {', '.join(repr(c) for c in missing)} not in the file", file=where,
                row=1, field=missing[0], expected="a header with " + ", ".join(repr(c) for c in header if c),
            )
        for row in stream:
            empty = False
            yield _template_row(row, col, mapping, seen, today)
    if empty:
        raise InputError("no data rows", file=where,
                         expected="a header row and at least one candidate row")


def _template_row(
    row: Row, col: dict[str, str], mapping: ColumnMapping, seen: dict[str, int], today: dt.date
) -> TemplateRow:
    values = {t: row.get(c) for t, c in col.items()}
    name = values.get("name", "")
    asset_id = values.get("id", "")
    if not (name or asset_id):
        column = col.get("name") or col["id"]
        raise row.error(column, "name is missing", "the candidate's name")
    if asset_id:
        if asset_id in seen:
            raise row.error(col["id"], f"duplicate id {asset_id!r} (first on row {seen[asset_id]})", "unique ids")
        seen[asset_id] = row.number
    phase_text = values.get("phase", "")
    if not phase_text:
        raise row.error(col["phase"], "phase is missing", "a phase such as Phase 2, III期, NDA")
    try:
        phase = parse_phase(phase_text)
    except UnknownPhaseError as exc:
        raise row.error(col["phase"], str(exc)) from None
    start = row_date(row, col["phase_start"], "phase_start", fmt=mapping.date_format, not_after=today)
    assert start is not None
    source = None
    if values.get("source_title") or values.get("source_url"):
        source_date = None
        if "source_date" in col:
            source_date = row_date(row, col["source_date"], "source_date", fmt=mapping.date_format,
                                   not_after=today, required=False)
        source = Source(values.get("source_title") or values.get("source_url", ""),
                        values.get("source_url", ""), source_date)
    count = row.positive_int(col["count"]) if "count" in col else 1
    aliases = tuple(a.strip() for a in values.get("aliases", "").split("|") if a.strip())
    event = PhaseEvent(phase, start, source, values.get("indication", ""))
    return TemplateRow(row, asset_id, name or asset_id, event, values, aliases, count)


def import_template(
    store: Store,
    path: str | os.PathLike[str],
    mapping: ColumnMapping,
    *,
    today: dt.date,
    dry_run: bool = False,
    aliases: AliasTable | None = None,
    sheet: str | None = None,
    progress: Progress | None = None,
    write_progress: Progress | None = None,
) -> ImportSummary:
    """Import a mapped spreadsheet into `store` in one transaction; InputError (nothing written) on bad input.

    The file is read as a stream (memory grows with the candidates, not the rows); `progress` is called with
    the rows read so far, then `write_progress` with the candidates written. Running out of memory is an
    ImportMemoryError, with nothing written.
    """
    return guard_memory(path, lambda: _import_template(store, Path(path), mapping, today=today, dry_run=dry_run,
                                                       aliases=aliases, sheet=sheet, progress=progress,
                                                       write_progress=write_progress))


def _import_template(
    store: Store, file: Path, mapping: ColumnMapping, *, today: dt.date, dry_run: bool, aliases: AliasTable | None,
    sheet: str | None, progress: Progress | None, write_progress: Progress | None,
) -> ImportSummary:
    notes: list[Note] = []
    summary = ImportSummary(file=str(file), kind="template", dry_run=dry_run)
    existing, table = store_table(store, aliases)
    resolve_once = NameResolver(table, "template")
    merged: dict[str, Asset] = {}
    for rec in iter_template(file, mapping, today=today, sheet=sheet, notes=notes):
        summary.records_read += 1
        if progress is not None and summary.records_read % PROGRESS_EVERY == 0:
            progress(summary.records_read)
        if rec.id:
            target = Resolution(rec.id, True)
        else:
            target = resolve_once(rec.name)
            if target.resolved:
                summary.resolved[rec.name] = target.id
        attrs = {a: rec.values.get(a, "") for a in _ATTRIBUTES}
        base = merged.get(target.id) or existing.get(target.id)
        if base is None:
            note = attrs["note"]
            if not target.resolved:
                note = "; ".join(p for p in (unresolved_note(rec.name, "template", target.hint), note) if p)
                summary.unresolved.append(target.id)
            asset = Asset(
                id=target.id, name=rec.name, history=(rec.event,), count=rec.count,
                aliases=tuple(dict.fromkeys(a for a in rec.aliases if a != rec.name)),
                **{a: v for a, v in attrs.items() if a != "note"}, note=note,
            )
            if not asset.jurisdiction:
                asset = replace(asset, jurisdiction="CN")
        else:
            names = [n for n in (rec.name, *rec.aliases)
                     if normalise_name(n) not in {normalise_name(x) for x in (base.id, base.name, *base.aliases)}]
            changed: dict[str, Any] = {a: v for a, v in attrs.items() if v}
            if "count" in mapping.columns.values():
                changed["count"] = rec.count
            history = base.history if base.id in merged else ()
            asset = replace(base, history=(*history, rec.event), aliases=(*base.aliases, *dict.fromkeys(names)),
                            **changed)
        merged[target.id] = asset
    summary.records_in_region = summary.records_read
    summary.unresolved = sorted(set(summary.unresolved))
    summary.add_notes(notes)
    if progress is not None:
        progress(summary.records_read)
    return apply_to_store(store, merged.values(), summary, file=file, dry_run=dry_run, existing=existing,
                          write_progress=write_progress)
