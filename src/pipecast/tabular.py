"""Reading user tables (CSV or XLSX) into rows that remember their file and line number.

Every loader in pipecast goes through here, so every bad-input message names the same things:
file, row (as a spreadsheet user counts it, header = row 1), column and what was expected.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import itertools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipecast.errors import InputError

#: Dates before this are not plausible for a drug-development event.
EARLIEST_PLAUSIBLE_DATE = dt.date(1950, 1, 1)


@dataclass(frozen=True, slots=True)
class Row:
    file: str
    number: int
    values: dict[str, str]

    def get(self, column: str, default: str = "") -> str:
        value = self.values.get(column)
        return default if value is None else value.strip()

    def error(self, column: str, message: str, expected: str = "") -> InputError:
        return InputError(message, file=self.file, row=self.number, field=column, expected=expected)

    def required(self, column: str, expected: str) -> str:
        value = self.get(column)
        if not value:
            raise self.error(column, "value is missing", expected)
        return value

    def number_in(
        self, column: str, low: float, high: float, expected: str, *, default: float | None = None
    ) -> float:
        text = self.get(column)
        if not text and default is not None:
            return default
        try:
            value = float(text)
        except ValueError:
            raise self.error(column, f"{text!r} is not a number", expected) from None
        if not math.isfinite(value) or not low <= value <= high:
            raise self.error(column, f"{text} is out of range", expected)
        return value

    def positive_int(self, column: str, default: int = 1) -> int:
        text = self.get(column)
        if not text:
            return default
        expected = "a whole number of at least 1"
        try:
            value = float(text)
        except ValueError:
            raise self.error(column, f"{text!r} is not a number", expected) from None
        if value != int(value) or value < 1:
            raise self.error(column, f"{text} is not a positive whole number", expected)
        return int(value)

    def date(self, column: str, *, not_after: dt.date | None = None, required: bool = True) -> dt.date | None:
        text = self.get(column)
        if not text:
            if required:
                raise self.error(column, "date is missing", "an ISO date such as 2024-08-20")
            return None
        try:
            value = parse_date(text)
        except ValueError:
            raise self.error(column, f"{text!r} is not a date", "an ISO date such as 2024-08-20") from None
        if value < EARLIEST_PLAUSIBLE_DATE:
            raise self.error(column, f"{value} is before {EARLIEST_PLAUSIBLE_DATE}", "a plausible date")
        if not_after is not None and value > not_after:
            raise self.error(
                column, f"{value} is in the future (after {not_after})", f"a date on or before {not_after}"
            )
        return value


_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), (1, 2, 3)),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"), (1, 2, 3)),
    (re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"), (1, 2, 3)),
    (re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"), (1, 2, 3)),
)


def parse_date(text: str, fmt: str | None = None) -> dt.date:
    """ISO dates and unambiguous year-first forms (2024/3/5, 2024年3月5日); day-first needs `fmt`."""
    text = text.strip()
    if fmt:
        return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a calendar date, no time of day
    if "T" in text or " " in text:
        text = re.split(r"[T ]", text, maxsplit=1)[0]
    for pattern, (y, m, d) in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            return dt.date(int(match.group(y)), int(match.group(m)), int(match.group(d)))
    raise ValueError(text)


#: Separators a delimited text file may use, in the order a tie is broken.
SEPARATORS: dict[str, str] = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True, slots=True)
class Note:
    """Something about a whole file that the reader did on the user's behalf and must say (a warning)."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


def notice(notes: list[Note] | None, note: Note, expected: str) -> None:
    """Record `note`; a caller that cannot show notes (None) gets an InputError instead of silence."""
    if notes is None:
        raise InputError(note.message, file=note.file, expected=expected)
    notes.append(note)


def sniff_separator(first_line: str) -> str:
    """The separator of a delimited file from its header line: the most frequent of comma, semicolon and
    tab outside quotes (a tie goes to the comma); a one-column header reads as comma-separated."""
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    counts = {sep: unquoted.count(sep) for sep in SEPARATORS}
    best = max(SEPARATORS, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def separator_note(file: str, separator: str) -> Note:
    return Note(file, f"read as {SEPARATORS[separator]}-separated (the header has no commas)")


def column_letter(number: int) -> str:
    """Spreadsheet letters of a 1-based column number (1 -> A, 28 -> AB)."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def check_header(header: Sequence[str], file: str, fold: Callable[[str], str] = str.strip) -> None:
    """InputError naming the column and both positions if two header cells name the same column.

    `fold` is how the reader compares names (exact after stripping by default); blank header cells are
    ignored (their values are never read).
    """
    first: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        key = fold(name)
        if not key:
            continue
        if key in first:
            before = first[key]
            raise InputError(
                f"column {name.strip()!r} appears twice in the header, at columns {before} and {position} "
                f"({column_letter(before)} and {column_letter(position)})",
                file=file,
                row=1,
                expected="each column named once (rename or delete one of them)",
            )
        first[key] = position


def open_source(
    path: str | Path, *, sheet: str | None = None, notes: list[Note] | None = None
) -> tuple[str, list[str], Iterator[tuple[int, list[str]]]]:
    """(where, header, numbered raw records) of a CSV or XLSX file; `where` names the file, and for a
    workbook the sheet, as every error about its rows does. See `open_table`."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError("file not found", file=name)
    if path.suffix.lower() in XLSX_SUFFIXES:
        return _read_xlsx(path, sheet, notes)
    if sheet is not None:
        raise InputError(f"--sheet {sheet!r} given for a file that is not a workbook", file=name,
                         expected="--sheet only with an .xlsx file")
    return name, *_read_csv(path, notes)


def open_table(
    path: str | Path,
    required: Sequence[str] = (),
    optional: Sequence[str] = (),
    *,
    sheet: str | None = None,
    notes: list[Note] | None = None,
) -> tuple[str, list[str], Iterator[Row]]:
    """(where, header, stream of the non-blank rows) of a CSV or XLSX file, read as it goes.

    `where` names the file, and for a workbook the sheet read, as errors about its rows do.
    The header must name every required column, once. A CSV is UTF-8; its separator is sniffed from the
    header (comma, semicolon or tab; anything but a comma is said in a note). An XLSX is read from `sheet`
    (by default the first; other sheets are said in a note), merged cells are filled with their top-left
    value (said in a note listing the ranges), and a formula with no saved value is an error naming the cell.
    With `notes=None` each of these notes is an InputError instead: nothing is done without saying so.
    """
    where, header, records = open_source(path, sheet=sheet, notes=notes)
    try:
        _check_required(where, header, required, optional)
    except BaseException:
        close_on_error(records)
        raise
    return where, header, table_rows(where, header, records)


def _check_required(where: str, header: list[str], required: Sequence[str], optional: Sequence[str]) -> None:
    if not header:
        raise InputError("file is empty", file=where, expected=f"a header row with {', '.join(required)}")
    check_header(header, where)
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            file=where,
            row=1,
            expected=f"a header with {', '.join(required)}"
            + (f" and optionally {', '.join(optional)}" if optional else ""),
        )


def read_table(
    path: str | Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    sheet: str | None = None,
    notes: list[Note] | None = None,
) -> list[Row]:
    """All rows of a CSV or XLSX file (`open_table`, kept in a list: for small tables)."""
    return list(open_table(path, required, optional, sheet=sheet, notes=notes)[2])


def table_rows(where: str, header: list[str], records: Iterator[tuple[int, list[str]]]) -> Iterator[Row]:
    """Records as Rows, skipping blank ones; a record with more non-empty fields than the header is an error.

    Closing this stream closes `records` (and the file it reads).
    """
    width = len(header)
    try:
        for number, record in records:
            if not any(v.strip() for v in record):
                continue
            if len(record) < width and any("\n" in v for v in record):
                raise InputError(
                    "malformed CSV: a quoted value is never closed",
                    file=where,
                    row=number,
                    expected='a closing " for every opening "',
                )
            if len(record) > width and any(v.strip() for v in record[width:]):
                raise InputError(
                    f"{len(record)} fields but the header has {width}",
                    file=where,
                    row=number,
                    expected="one value per header column (quote values that contain commas)",
                )
            values = {h: (record[i] if i < len(record) else "") for i, h in enumerate(header) if h}
            yield Row(where, number, values)
    finally:
        close_on_error(records)


@contextlib.contextmanager
def closing_rows(rows: Iterator[Row]) -> Iterator[Iterator[Row]]:
    """`with closing_rows(rows) as rows:` closes the stream (and its file) however the block ends."""
    try:
        yield rows
    finally:
        close_on_error(rows)


XLSX_SUFFIXES = (".xlsx", ".xlsm")


def _read_csv(path: Path, notes: list[Note] | None) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    name = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not valid UTF-8 (byte {exc.start})", file=name, row=1, expected="a UTF-8 encoded CSV file"
        ) from None
    if not first.strip():
        return [], iter(())
    separator = sniff_separator(first)
    if separator != ",":
        notice(notes, separator_note(name, separator), "a comma-separated file")
    return _csv_records(path, separator)


def _csv_records(path: Path, separator: str) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    name = str(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        try:
            header = [h.strip() for h in next(csv.reader(handle, delimiter=separator))]
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", file=name, row=1) from None

    def records() -> Iterator[tuple[int, list[str]]]:
        with path.open(encoding="utf-8-sig", newline="") as stream:  # opened when the first row is asked for
            reader = csv.reader(stream, delimiter=separator)
            try:
                next(reader)  # the header, read above
                for record in reader:
                    yield reader.line_num, record
            except csv.Error as exc:
                raise InputError(f"malformed CSV: {exc}", file=name, row=reader.line_num) from None
            except UnicodeDecodeError:
                raise InputError(
                    "not valid UTF-8", file=name, row=reader.line_num + 1, expected="a UTF-8 encoded CSV file"
                ) from None

    return header, records()


def close_on_error(records: Iterator[Any]) -> None:
    """Close a record stream (and the file it holds open), e.g. when its header is refused."""
    close = getattr(records, "close", None)
    if close is not None:
        close()


def _read_xlsx(
    path: Path, sheet: str | None, notes: list[Note] | None
) -> tuple[str, list[str], Iterator[tuple[int, list[str]]]]:
    """(where, header, numbered records) of one sheet; see `open_table` for merged cells and formulas."""
    import openpyxl

    name = str(path)
    try:
        values = openpyxl.load_workbook(path, read_only=True, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InputError(f"cannot read as XLSX: {exc}", file=name) from None
    try:
        title, where, pairs, merges = _pick_sheet(name, values, formulas, sheet, notes)
    except BaseException:
        values.close()
        formulas.close()
        raise
    numbered = _xlsx_records(title, where, pairs, merges, closing=(values, formulas))
    header: list[str] = []
    for _, record in numbered:
        header = [h.strip() for h in record]
        break
    while header and not header[-1]:
        header.pop()
    return where, header, numbered


def _pick_sheet(
    name: str, values: Any, formulas: Any, sheet: str | None, notes: list[Note] | None
) -> tuple[str, str, Iterator[tuple[Sequence[object], Sequence[object]]], list[tuple[str, int, int, int, int]]]:
    """(sheet title, where, paired value/formula rows, merged ranges) of the sheet to read."""
    titles = [ws.title for ws in values.worksheets]
    if sheet is None:
        title = titles[0]
        if len(titles) > 1:
            others = ", ".join(repr(t) for t in titles[1:])
            notice(notes, Note(name, f"read sheet {title!r} only; the workbook also has {others} "
                                     "(choose one with --sheet NAME)"),
                   "a workbook with one sheet, or --sheet NAME")
    elif sheet in titles:
        title = sheet
    else:
        raise InputError(f"no sheet named {sheet!r} (the workbook has {', '.join(repr(t) for t in titles)})",
                         file=name, expected="--sheet with one of the workbook's sheet names")
    where = f"{name}, sheet {title!r}"
    value_sheet, formula_sheet = values[title], formulas[title]
    merges = _merged_ranges(value_sheet)
    if merges:
        shown = ", ".join(ref for ref, *_ in merges[:20])
        more = f" and {len(merges) - 20} more" if len(merges) > 20 else ""
        notice(notes, Note(where, f"merged cells {shown}{more} filled with the value of their top-left cell"),
               "a sheet without merged cells")
    for ws in (value_sheet, formula_sheet):
        ws.reset_dimensions()  # trust the cells, not a writer's <dimension>
    pairs = itertools.zip_longest(value_sheet.iter_rows(values_only=True),
                                  formula_sheet.iter_rows(values_only=True), fillvalue=())
    return title, where, pairs, merges


def _xlsx_records(
    title: str, where: str, pairs: Iterator[tuple[Sequence[object], Sequence[object]]],
    merges: list[tuple[str, int, int, int, int]], *, closing: Sequence[Any],
) -> Iterator[tuple[int, list[str]]]:
    """Numbered records with merged ranges filled; the workbooks in `closing` are closed when it ends."""
    try:
        yield from _filled(title, where, pairs, merges)
    finally:
        for book in closing:
            book.close()


def _filled(
    title: str, where: str, pairs: Iterator[tuple[Sequence[object], Sequence[object]]],
    merges: list[tuple[str, int, int, int, int]],
) -> Iterator[tuple[int, list[str]]]:
    pending = sorted(merges, key=lambda m: m[2])
    active: list[tuple[tuple[str, int, int, int, int], str]] = []
    for number, (cached, raw) in enumerate(pairs, start=1):
        for column, (value, formula) in enumerate(itertools.zip_longest(cached, raw), start=1):
            if value is None and formula is not None:
                cell = f"{title}!{column_letter(column)}{number}"
                raise InputError(
                    f"cell {cell} holds the formula {formula} with no saved value",
                    file=where, row=number, expected="values, not formulas: open and save the workbook in a "
                    "spreadsheet program so it stores each formula's result, or paste the values",
                )
        record = [_cell(c) for c in cached]
        while pending and pending[0][2] == number:
            merge = pending.pop(0)
            corner = merge[1] - 1
            active.append((merge, record[corner] if corner < len(record) else ""))
        if active:
            record = _fill(record, number, active)
            active = [(m, v) for m, v in active if m[4] > number]
        yield number, record


def _fill(record: list[str], number: int, active: list[tuple[tuple[str, int, int, int, int], str]]) -> list[str]:
    for (_, low_col, low_row, high_col, _), value in active:
        if len(record) < high_col:
            record = record + [""] * (high_col - len(record))
        for column in range(low_col, high_col + 1):
            if (number, column) != (low_row, low_col):
                record[column - 1] = value
    return record


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"')


def _merged_ranges(sheet: Any) -> list[tuple[str, int, int, int, int]]:
    """(ref, min column, min row, max column, max row) of each merged range, read from the sheet's XML as a
    stream (openpyxl's read-only mode does not expose them)."""
    from openpyxl.utils.cell import column_index_from_string

    found: list[tuple[str, int, int, int, int]] = []
    tail = b""
    with sheet.parent._archive.open(sheet._worksheet_path) as source:  # private: no public API for this
        while chunk := source.read(1 << 20):
            data = tail + chunk
            end = 0
            for match in _MERGE.finditer(data):
                a, r1, b, r2 = (g.decode() if g else "" for g in match.groups())
                b, r2 = b or a, r2 or r1
                ref = f"{a}{r1}:{b}{r2}" if (a, r1) != (b, r2) else f"{a}{r1}"
                if ref != f"{a}{r1}":
                    found.append((ref, column_index_from_string(a), int(r1), column_index_from_string(b),
                                  int(r2)))
                end = match.end()
            tail = data[max(end, len(data) - 200):]
    return found


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def modified_date(path: str | Path) -> dt.date:
    """The local date a file was last modified (a registry export's default retrieval date)."""
    stamp = Path(path).stat().st_mtime
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC).astimezone().date()
