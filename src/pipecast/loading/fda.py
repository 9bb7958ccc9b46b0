"""Read the FDA CDER novel-approval compilation (NMEs and new BLAs) into the backtest's filings.

Expected shape: FDA's "Compilation of CDER New Molecular Entity (NME) Drug and New Biologic
Approvals" as a CSV: columns `FDA Receipt Date`, `FDA Approval Date` (M/D/YYYY or ISO) and
`Review Designation` (Priority..., Standard). Header names are matched ignoring case and repeated
spaces; other columns are ignored.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from pipecast.backtest.fda import Filing
from pipecast.errors import InputError

RECEIPT = "fda receipt date"
APPROVAL = "fda approval date"
DESIGNATION = "review designation"
REQUIRED = (RECEIPT, APPROVAL, DESIGNATION)


def _key(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").casefold().split())


def _parse_date(text: str, file: str, row: int, column: str) -> dt.date:
    value = text.strip()
    try:
        if "/" in value:
            month, day, year = (int(part) for part in value.split("/"))
            return dt.date(year, month, day)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{value!r} is not a date", file=file, row=row, field=column,
                         expected="a date such as 4/9/1985 or 1985-04-09") from None


def load_fda_filings(path: str | Path) -> list[Filing]:
    """One Filing per data row; rows are numbered as in a spreadsheet (header = row 1)."""
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError("file not found", file=name, expected="the FDA CDER NME compilation as CSV")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            records = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise InputError("file is not UTF-8 text", file=name, expected="a CSV file") from None
    except csv.Error as exc:
        raise InputError(f"not a readable CSV ({exc})", file=name, expected="a CSV file") from None
    if not records:
        raise InputError("file is empty", file=name, expected="a header row naming " + ", ".join(REQUIRED))
    header = [_key(cell) for cell in records[0]]
    columns = {}
    for wanted in REQUIRED:
        if wanted not in header:
            raise InputError(f"missing column {wanted!r}", file=name, row=1,
                             expected="columns FDA Receipt Date, FDA Approval Date, Review Designation")
        columns[wanted] = header.index(wanted)
    filings = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue
        cells = record + [""] * (len(header) - len(record))
        receipt = _parse_date(cells[columns[RECEIPT]], name, number, "FDA Receipt Date")
        approval = _parse_date(cells[columns[APPROVAL]], name, number, "FDA Approval Date")
        if approval < receipt:
            raise InputError("approval date is before the receipt date", file=name, row=number,
                             field="FDA Approval Date", expected="a date on or after FDA Receipt Date")
        designation = cells[columns[DESIGNATION]].strip().casefold()
        if not designation.startswith(("priority", "standard")):
            raise InputError(f"unknown review designation {designation!r}", file=name, row=number,
                             field="Review Designation", expected="Priority or Standard")
        filings.append(Filing(receipt, approval, designation.startswith("priority"), number))
    if not filings:
        raise InputError("file has no data rows", file=name, expected="one row per approval")
    return filings
