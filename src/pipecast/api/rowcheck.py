"""Every bad row of an uploaded ASSETS file, for dry runs (the API's and the dashboard's import page).

`pipecast.ingest.assets_file.load_assets` stops at the first error, which is right for a write; a person
fixing a spreadsheet wants them all. `file_problems` reads the file once more, row by row, with the same
readers (`pipecast.tabular` and the row functions of `load_assets`), checks each column of each row on its
own and keeps every problem (up to `cap`), each located by file, row, column and what was expected.
`all_problems` puts the error `load_assets` raised first, so the list never misses the one a commit gives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipecast.errors import InputError
from pipecast.tabular import Row, close_on_error, open_source, open_table

#: At most this many problems are listed; the total is given too ("and N more").
MAX_LISTED = 100


@dataclass(frozen=True, slots=True)
class Problems:
    """The problems listed (at most the cap, in file order) and how many there are in all."""

    listed: tuple[InputError, ...]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.listed)


def _located(error: InputError) -> InputError:
    """The error with an `expected` always said (the phase reader leaves it in the message)."""
    if error.expected or error.field != "phase":
        return error
    from pipecast.domain import ACCEPTED_PHASE_HELP

    message = error.message.split("; expected ")[0]
    return InputError(message, file=error.file, row=error.row, field=error.field, expected=ACCEPTED_PHASE_HELP)


def _key(error: InputError) -> tuple[int | None, str, str]:
    return error.row, error.field, error.message


def _record_problem(where: str, width: int, number: int, record: list[str]) -> InputError | None:
    """What `pipecast.tabular.table_rows` refuses in a record (it stops there; this goes on)."""
    if len(record) < width and any("\n" in v for v in record):
        return InputError("malformed CSV: a quoted value is never closed", file=where, row=number,
                          expected='a closing " for every opening "')
    if len(record) > width and any(v.strip() for v in record[width:]):
        return InputError(f"{len(record)} fields but the header has {width}", file=where, row=number,
                          expected="one value per header column (quote values that contain commas)")
    return None


def _row_checks(row: Row, today: dt.date, seen: dict[str, int]) -> list[InputError]:
    """Each column `load_assets` reads, checked on its own, so one row can show several problems."""
    from pipecast.domain import Phase, PhaseEvent
    from pipecast.ingest import assets_file as af

    placeholder = (PhaseEvent(Phase.PHASE1, today),)

    def check_id() -> None:
        asset_id = row.required("id", "a unique candidate id")
        if asset_id in seen:
            raise row.error("id", f"duplicate id {asset_id!r} (first on row {seen[asset_id]})", "unique ids")
        seen[asset_id] = row.number

    checks: tuple[Callable[[], object], ...] = (
        check_id,
        lambda: af._phase(row),
        lambda: row.date("phase_start", not_after=today),
        lambda: af._source(row, not_after=today),
        lambda: af._asset(row, row.get("id") or "-", placeholder),  # count, and what Asset itself checks
    )
    found: list[InputError] = []
    for check in checks:
        try:
            check()
        except InputError as exc:
            found.append(_located(exc))
    return found


def file_problems(path: str | Path, *, today: dt.date, cap: int = MAX_LISTED) -> Problems:
    """Every problem in an ASSETS .csv/.xlsx file, row by row (a bad header or file: that one problem)."""
    from pipecast.ingest import assets_file as af

    try:
        _, _, rows = open_table(path, af.ASSET_COLUMNS, af.ASSET_OPTIONAL)
        close_on_error(rows)
        where, header, records = open_source(path)
    except InputError as exc:
        return Problems((exc,), 1)
    listed: list[InputError] = []
    total = data_rows = 0
    seen: dict[str, int] = {}
    try:
        for number, record in records:
            if not any(v.strip() for v in record):
                continue
            data_rows += 1
            broken = _record_problem(where, len(header), number, record)
            values = {h: (record[i] if i < len(record) else "") for i, h in enumerate(header) if h}
            found = [broken] if broken is not None else _row_checks(Row(where, number, values), today, seen)
            total += len(found)
            listed.extend(found[:max(0, cap - len(listed))])
    except InputError as exc:  # the file itself stops being readable (e.g. a formula without a value)
        total += 1
        if len(listed) < cap:
            listed.append(exc)
    finally:
        close_on_error(records)
    if not data_rows and not total:
        return Problems((InputError("no candidates in file", file=where, expected="at least one data row"),), 1)
    return Problems(tuple(listed), total)


def all_problems(path: str | Path, first: InputError, *, today: dt.date, cap: int = MAX_LISTED) -> Problems:
    """`file_problems`, with `first` (the error `load_assets` raised) listed first whatever happens."""
    first = _located(first)
    found = file_problems(path, today=today, cap=cap)
    rest = [e for e in found.listed if _key(e) != _key(first)]
    counted = found.total if len(rest) < len(found.listed) else found.total + 1
    return Problems((first, *rest[:cap - 1]), max(counted, 1))
