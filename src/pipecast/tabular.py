"""Reading user tables (CSV or XLSX) into rows that remember their file and line number.

Every loader in pipecast goes through here, so every bad-input message names the same things:
file, row (as a spreadsheet user counts it, header = row 1), column and what was expected.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

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
        return dt.datetime.strptime(text, fmt).date()
    if "T" in text or " " in text:
        text = re.split(r"[T ]", text, maxsplit=1)[0]
    for pattern, (y, m, d) in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            return dt.date(int(match.group(y)), int(match.group(m)), int(match.group(d)))
    raise ValueError(text)


def read_table(path: str | Path, required: Sequence[str], optional: Sequence[str] = ()) -> list[Row]:
    """All rows of a CSV or XLSX file, after checking the header names every required column."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputError("file not found", file=name)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        header, records = _read_xlsx(path)
    else:
        header, records = _read_csv(path)
    if not header:
        raise InputError("file is empty", file=name, expected=f"a header row with {', '.join(required)}")
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)}",
            file=name,
            row=1,
            expected=f"a header with {', '.join(required)}"
            + (f" and optionally {', '.join(optional)}" if optional else ""),
        )
    rows = []
    for number, record in records:
        if not any(v.strip() for v in record):
            continue
        if any("\n" in v for v in record) and len(record) < len(header):
            raise InputError(
                "malformed CSV: a quoted value is never closed",
                file=name,
                row=number,
                expected='a closing " for every opening "',
            )
        if len(record) > len(header):
            extra = record[len(header):]
            if any(v.strip() for v in extra):
                raise InputError(
                    f"{len(record)} fields but the header has {len(header)}",
                    file=name,
                    row=number,
                    expected="one value per header column (quote values that contain commas)",
                )
        values = {h: (record[i] if i < len(record) else "") for i, h in enumerate(header)}
        rows.append(Row(name, number, values))
    return rows


def _read_csv(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not valid UTF-8 (byte {exc.start})", file=str(path), expected="a UTF-8 encoded CSV file"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return [], iter(())
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=str(path), row=1) from None

    def records() -> Iterator[tuple[int, list[str]]]:
        try:
            for record in reader:
                yield reader.line_num, record
        except csv.Error as exc:
            raise InputError(f"malformed CSV: {exc}", file=str(path), row=reader.line_num) from None

    return header, records()


def _read_xlsx(path: Path) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InputError(f"cannot read as XLSX: {exc}", file=str(path)) from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    try:
        header = [_cell(c).strip() for c in next(rows)]
    except StopIteration:
        return [], iter(())
    while header and not header[-1]:
        header.pop()

    def records() -> Iterator[tuple[int, list[str]]]:
        for number, row in enumerate(rows, start=2):
            yield number, [_cell(c) for c in row]

    return header, records()


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
