"""NMPA approval lists: one row per approval number (国药准字…), each an `approved` event.

Columns follow the field labels of NMPA's drug database (国产药品 records: 批准文号, 药品通用名/产品名称,
商品名, 批准日期, 注册分类, 上市许可持有人, 生产单位/生产企业, 剂型; see tests/data/registry/SOURCE.md).
CSV (UTF-8 or GBK), XLSX, or JSON (one record object or a list of them, keys as the CSV headers).

Caution, and why rows are flagged: in NMPA's database 批准日期 is the date of the *latest* approval
document, which for an old product is usually a re-registration (再注册), not the first marketing
approval. Numbers issued since 2002 carry their year (国药准字Z2007xxxx = 2007), so a 批准日期 years after
that year is listed as a warning; treat such an event as "approved by", not "approved on".
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pipecast.domain import Phase, PhaseEvent, Source
from pipecast.errors import InputError
from pipecast.ingest.ctr import cell, decode, open_rows, pick_columns, read_date
from pipecast.ingest.trials import ImportResult, RowWarning
from pipecast.tabular import Note, Row, closing_rows, modified_date

NMPA_URL = "https://www.nmpa.gov.cn/datasearch/"

COLUMNS: dict[str, tuple[str, ...]] = {
    "approval_no": ("批准文号", "药品批准文号", "approval_no_批准文号", "approval_no"),
    "name": ("药品通用名", "通用名称", "药品名称", "产品名称", "product_name_产品名称", "product_name"),
    "brand": ("商品名", "商品名称", "brand_name"),
    "date": ("批准日期", "审批日期", "approval_date"),
    "reg_class": ("注册分类", "registration_class"),
    "holder": ("上市许可持有人", "持有人", "生产单位", "生产企业", "manufacturer_生产单位", "manufacturer"),
    "dosage_form": ("剂型", "dosage_form_剂型", "dosage_form"),
}
REQUIRED = ("approval_no", "name")
# 国药准字 + H chemical / Z TCM / S biological / J imported-packaged / B supplement / F excipient / T in vitro
# diagnostics, optionally a second letter (HJ, SJ, HC ...), then eight digits.
_NUMBER = re.compile(r"^国药准字([A-Z]{1,2})(\d{8})$")


@dataclass(frozen=True, slots=True)
class Approval:
    """One row of an approval list; `event` is None when the row has no usable date."""

    approval_no: str
    name: str
    date: dt.date | None
    holder: str = ""
    reg_class: str = ""
    brand: str = ""
    dosage_form: str = ""
    source: Source | None = None

    @property
    def event(self) -> PhaseEvent | None:
        return PhaseEvent(Phase.APPROVED, self.date, self.source) if self.date else None

    @property
    def number_year(self) -> int | None:
        """The year encoded in a post-2002 number (国药准字Z20073307 -> 2007), else None."""
        match = _NUMBER.match(self.approval_no)
        return int(match.group(2)[:4]) if match and match.group(2).startswith("20") else None


def _json_rows(path: Path) -> tuple[list[str], Iterator[Row]]:
    text = decode(path.read_bytes(), str(path))
    if not text.strip():
        raise InputError("file is empty", file=str(path), expected="an NMPA record object or a list of them")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", file=str(path), row=exc.lineno
        ) from None
    records = payload if isinstance(payload, list) else [payload]
    if not all(isinstance(r, dict) for r in records):
        raise InputError("expected an object or a list of objects", file=str(path))
    header = list(dict.fromkeys(k for r in records for k in r))
    return header, iter([Row(str(path), i, {k: str(v) for k, v in r.items()}) for i, r in enumerate(records, 1)])


def read_nmpa(
    path: str | Path,
    *,
    today: dt.date,
    retrieved: dt.date | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    sheet: str | None = None,
) -> ImportResult[Approval]:
    """Approval rows; bad numbers, missing/future dates and duplicates are listed warnings."""
    result: ImportResult[Approval] = ImportResult()
    for item in iter_nmpa(path, today=today, retrieved=retrieved, encoding=encoding, date_format=date_format,
                          sheet=sheet):
        if isinstance(item, RowWarning):
            result.warnings.append(item)
        else:
            result.records.append(item)
    return result


def iter_nmpa(
    path: str | Path,
    *,
    today: dt.date,
    retrieved: dt.date | None = None,
    encoding: str | None = None,
    date_format: str | None = None,
    sheet: str | None = None,
) -> Iterator[Approval | RowWarning]:
    """`read_nmpa` as a stream, in file order (a JSON file is decoded whole; CSV and XLSX stream)."""
    path = Path(path)
    notes: list[Note] = []
    if path.suffix.lower() == ".json":
        if not path.exists():
            raise InputError("file not found", file=str(path))
        if sheet is not None:
            raise InputError(f"--sheet {sheet!r} given for a file that is not a workbook", file=str(path),
                             expected="--sheet only with an .xlsx file")
        where, header, rows = str(path), *_json_rows(path)
    else:
        where, header, rows = open_rows(path, encoding=encoding, sheet=sheet, notes=notes)
    columns = pick_columns(header, COLUMNS, REQUIRED, where)
    when = retrieved or modified_date(path)
    for note in notes:
        yield RowWarning(note.file, None, "", note.message)
    if not columns["date"]:
        yield RowWarning(where, None, "批准日期", "no approval-date column: rows are read but give no approved events")
    seen: dict[str, int] = {}
    with closing_rows(rows) as stream:
        for row in stream:
            warnings: list[RowWarning] = []
            approval = _approval(row, columns, seen, warnings, today=today, when=when, fmt=date_format,
                                 file=path.name)
            yield from warnings
            if approval is not None:
                yield approval


def _approval(
    row: Row, columns: dict[str, list[str]], seen: dict[str, int], warnings: list[RowWarning], *,
    today: dt.date, when: dt.date, fmt: str | None, file: str,
) -> Approval | None:
    number, number_column = cell(row, columns, "approval_no")
    number = re.sub(r"\s+", "", number)
    if not number:
        warnings.append(RowWarning(row.file, row.number, number_column, "no 批准文号; row skipped"))
        return None
    if number in seen:
        warnings.append(RowWarning(row.file, row.number, number_column,
                                   f"duplicate {number} (first on row {seen[number]}); row skipped"))
        return None
    seen[number] = row.number
    if not _NUMBER.match(number):
        warnings.append(RowWarning(row.file, row.number, number_column,
                                   f"{number!r} is not a 国药准字 number (国药准字 + letter(s) + 8 digits)"))
    text, date_column = cell(row, columns, "date")
    date = read_date(row, date_column, text, warnings, today=today, fmt=fmt)
    if columns["date"] and date is None and not text:
        warnings.append(RowWarning(row.file, row.number, date_column, "no approval date; no event"))
    approval = Approval(
        approval_no=number,
        name=cell(row, columns, "name")[0],
        date=date,
        holder=cell(row, columns, "holder")[0],
        reg_class=cell(row, columns, "reg_class")[0],
        brand=cell(row, columns, "brand")[0],
        dosage_form=cell(row, columns, "dosage_form")[0],
        source=Source(f"NMPA {number} ({file} row {row.number})", NMPA_URL, when),
    )
    year = approval.number_year
    if date is not None and year is not None and date.year > year + 1:
        warnings.append(RowWarning(
            row.file, row.number, date_column,
            f"{number} was issued in {year} but dated {date}: likely a re-registration "
            "date, so the approval happened by then, not on it",
        ))
    return approval
