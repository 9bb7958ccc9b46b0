"""Reading user tables: duplicated header columns, separators, and XLSX sheets, merged cells and formulas.

Every workbook is built here with openpyxl; expected values come from the rows the test wrote (or from
openpyxl's own, non-streaming view of the workbook), never from the reader under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import openpyxl
import pytest

from pipecast.errors import InputError
from pipecast.ingest.assets_file import load_assets
from pipecast.ingest.ctr import read_ctr
from pipecast.ingest.nmpa import read_nmpa
from pipecast.ingest.template import import_template, parse_mapping, read_template
from pipecast.store import Store
from pipecast.tabular import Note, column_letter, read_table

TODAY = dt.date(2025, 6, 30)
MAP = "名称=name,阶段=phase,起始日期=phase_start,企业=sponsor"
HEADER = ["名称", "阶段", "起始日期", "企业"]
ROWS = [
    ["药A", "II期", "2023-01-05", "重庆某药业"],
    ["药B", "I期", "2023-02-06", "重庆某药业"],
    ["药C", "III期", "2023-03-07", "重庆某药业"],
    ["药D", "I期", "2023-04-08", "成都某公司"],
]


def _xlsx(path: Path, sheets: Mapping[str, Sequence[Sequence[object]]]) -> Path:
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def _csv(path: Path, rows: list[list[str]], delimiter: str = ",") -> Path:
    out = io.StringIO(newline="")
    csv.writer(out, delimiter=delimiter).writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ duplicated header columns


def test_letters() -> None:
    assert [column_letter(n) for n in (1, 2, 26, 27, 28, 52, 53, 702, 703)] == [
        "A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]


def test_duplicated_header_names_file_column_and_both_positions(tmp_path: Path) -> None:
    header = ["id", "name", "phase", "sponsor", "name"]
    path = _csv(tmp_path / "dup.csv", [header, ["a", "first", "Phase 2", "S", "second"]])
    with pytest.raises(InputError) as err:
        read_table(path, ("id", "name"))
    text = str(err.value)
    first, second = header.index("name") + 1, len(header) - header[::-1].index("name")
    assert str(path) in text
    assert "'name'" in text
    assert "row 1" in text
    assert f"columns {first} and {second}" in text
    assert "(B and E)" in text


def test_duplicated_header_in_a_workbook_names_the_sheet(tmp_path: Path) -> None:
    rows: list[list[object]] = [["名称", "阶段", "起始日期", "阶段"], ["药A", "II期", "2023-01-05", "I期"]]
    path = _xlsx(tmp_path / "dup.xlsx", {"管线": rows})
    with pytest.raises(InputError) as err:
        read_template(path, parse_mapping("名称=name,阶段=phase,起始日期=phase_start"), today=TODAY)
    assert f"{path}, sheet '管线'" in str(err.value)
    assert "columns 2 and 4 (B and D)" in str(err.value)


def test_duplicated_registry_header_even_when_spelled_differently(tmp_path: Path) -> None:
    # the registry reader matches headers width- and case-insensitively, so these two are the same column
    path = _csv(tmp_path / "ctr.csv", [["ctr_no", "drug_name", "phase", "Drug_Name"],
                                        ["CTR20230001", "药A片", "II期", "药B片"]])
    with pytest.raises(InputError, match=r"'Drug_Name' appears twice.*columns 2 and 4"):
        read_ctr(path, today=TODAY)
    nmpa = _csv(tmp_path / "nmpa.csv", [["批准文号", "药品名称", "批准日期", "批准文号"],
                                         ["国药准字H20230001", "药A片", "2023-01-05", "国药准字H20230002"]])
    with pytest.raises(InputError, match=r"columns 1 and 4 \(A and D\)"):
        read_nmpa(nmpa, today=TODAY)


def test_blank_header_cells_are_not_duplicates(tmp_path: Path) -> None:
    path = _csv(tmp_path / "blanks.csv", [["id", "", "name", ""], ["a", "x", "A", "y"]])
    [row] = read_table(path, ("id", "name"))
    assert row.values == {"id": "a", "name": "A"}


# ------------------------------------------------------------------------------------------ separators


@pytest.mark.parametrize(("separator", "word"), [(";", "semicolon"), ("\t", "tab")])
def test_semicolon_and_tab_files_are_read_and_said(tmp_path: Path, separator: str, word: str) -> None:
    rows = [["id", "name", "note"], ["a", "Alpha", "x, with a comma"], ["b", "Beta", ""]]
    path = _csv(tmp_path / "t.csv", rows, separator)
    notes: list[Note] = []
    got = read_table(path, ("id", "name"), notes=notes)
    assert [list(r.values.values()) for r in got] == rows[1:]
    assert [str(n) for n in notes] == [f"{path}: read as {word}-separated (the header has no commas)"]
    with pytest.raises(InputError, match=f"{word}-separated"):
        read_table(path, ("id", "name"))  # a caller that cannot show the note gets an error, not silence


@pytest.mark.parametrize(("separator", "word"), [(";", "semicolon"), ("\t", "tab")])
def test_registry_export_with_another_separator(tmp_path: Path, separator: str, word: str) -> None:
    rows = [["ctr_no", "drug_name", "phase", "publication_date"],
            ["CTR20230001", "药A片", "II期", "2023-01-05"], ["CTR20230002", "药B片", "I期", "2023-02-06"]]
    comma = read_ctr(_csv(tmp_path / "comma.csv", rows), today=TODAY, retrieved=TODAY)
    other = read_ctr(_csv(tmp_path / "other.csv", rows, separator), today=TODAY, retrieved=TODAY)
    assert [(r.trial_id, r.drug_names, r.phase, r.first_posted) for r in other.records] == [
        ("CTR20230001", ("药A片",), comma.records[0].phase, dt.date(2023, 1, 5)),
        ("CTR20230002", ("药B片",), comma.records[1].phase, dt.date(2023, 2, 6)),
    ]
    assert comma.warnings == []
    assert [w.message for w in other.warnings] == [f"read as {word}-separated (the header has no commas)"]


def test_a_comma_file_with_semicolons_in_values_stays_comma(tmp_path: Path) -> None:
    path = _csv(tmp_path / "c.csv", [["id", "name"], ["a", "x;y;z"]])
    notes: list[Note] = []
    assert read_table(path, ("id",), notes=notes)[0].values == {"id": "a", "name": "x;y;z"}
    assert notes == []


# --------------------------------------------------------------------------------------- XLSX: sheets


def test_several_sheets_read_the_first_and_name_the_others(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "book.xlsx", {"Pipeline": [HEADER, ROWS[0]], "Notes": [["x"]], "Old": [HEADER, ROWS[1]]})
    notes: list[Note] = []
    rows = read_template(path, parse_mapping(MAP), today=TODAY, notes=notes)
    assert [r.name for r in rows] == ["药A"]
    assert [str(n) for n in notes] == [
        f"{path}: read sheet 'Pipeline' only; the workbook also has 'Notes', 'Old' (choose one with --sheet NAME)"]
    quiet: list[Note] = []
    old = read_template(path, parse_mapping(MAP), today=TODAY, sheet="Old", notes=quiet)
    assert [r.name for r in old] == ["药B"]
    assert quiet == []
    assert old[0].row.file == f"{path}, sheet 'Old'"
    with pytest.raises(InputError, match="no sheet named 'Sheet9' \\(the workbook has 'Pipeline', 'Notes', 'Old'\\)"):
        read_template(path, parse_mapping(MAP), today=TODAY, sheet="Sheet9")
    with pytest.raises(InputError, match="read sheet 'Pipeline' only"):
        load_assets(path, today=TODAY)  # no notes list: an error rather than a silent choice


def test_sheet_option_on_a_text_file_is_an_error(tmp_path: Path) -> None:
    path = _csv(tmp_path / "t.csv", [HEADER, ROWS[0]])
    with pytest.raises(InputError, match="--sheet 'Pipeline' given for a file that is not a workbook"):
        read_template(path, parse_mapping(MAP), today=TODAY, sheet="Pipeline")
    with pytest.raises(InputError, match="not a workbook"):
        read_ctr(path, today=TODAY, sheet="Pipeline")


def test_errors_in_a_row_name_the_sheet(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "bad.xlsx", {"Pipeline": [HEADER, ROWS[0], ["药X", "stage five", "2023-01-01", ""]]})
    with pytest.raises(InputError) as err:
        read_template(path, parse_mapping(MAP), today=TODAY)
    assert str(err.value).startswith(f"{path}, sheet 'Pipeline', row 3, column '阶段': ")


# ---------------------------------------------------------------------------------- XLSX: merged cells


def _merged_book(path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "管线"
    for row in [HEADER, *ROWS]:
        sheet.append(row)
    for rng in ("D2:D4", "B2:B3"):  # one sponsor for three rows; one phase for the first two
        sheet.merge_cells(rng)
    book.save(path)
    return path


def test_merged_cells_are_filled_and_listed(tmp_path: Path, sqlite_url: str) -> None:
    path = _merged_book(tmp_path / "merged.xlsx")
    # what openpyxl itself (full, non-streaming load) says is merged, and each range's top-left value
    full = openpyxl.load_workbook(path)["管线"]
    ranges = [str(r) for r in full.merged_cells.ranges]
    assert sorted(ranges) == ["B2:B3", "D2:D4"]
    notes: list[Note] = []
    rows = read_template(path, parse_mapping("名称=name,阶段=phase,企业=sponsor,起始日期=phase_start"),
                         today=TODAY, notes=notes)
    assert [r.values["sponsor"] for r in rows] == [full["D2"].value] * 3 + [ROWS[3][3]]
    assert [r.event.phase.value for r in rows] == ["phase2", "phase2", "phase3", "phase1"]  # B3 takes B2's value
    assert [r.event.date for r in rows] == [dt.date.fromisoformat(r[2]) for r in ROWS]
    assert len(notes) == 1
    assert notes[0].file == f"{path}, sheet '管线'"
    assert notes[0].message == f"merged cells {', '.join(ranges)} filled with the value of their top-left cell"
    with Store.open(sqlite_url) as store:
        summary = import_template(store, path, parse_mapping(MAP), today=TODAY)
        assert [w.message for w in summary.warnings] == [notes[0].message]
        assert {a.name: a.sponsor for a in store.assets()} == {
            "药A": "重庆某药业", "药B": "重庆某药业", "药C": "重庆某药业", "药D": "成都某公司"}


def test_merged_cells_without_a_notes_list_are_refused_naming_the_ranges(tmp_path: Path) -> None:
    path = _merged_book(tmp_path / "merged.xlsx")
    with pytest.raises(InputError, match=r"merged cells (D2:D4, B2:B3|B2:B3, D2:D4) filled"):
        read_table(path, ())


# ------------------------------------------------------------------------------------- XLSX: formulas


def test_formula_without_a_saved_value_is_an_error_naming_the_cell(tmp_path: Path) -> None:
    # openpyxl stores formulas without their results: exactly a workbook never opened in a spreadsheet program
    path = _xlsx(tmp_path / "f.xlsx", {"管线": [["名称", "阶段", "起始日期", "count"],
                                                ["药A", "II期", "2023-01-05", 2],
                                                ["药B", "I期", "2023-02-06", "=D2+1"]]})
    raw = openpyxl.load_workbook(path)["管线"]["D3"].value
    assert raw == "=D2+1"
    assert openpyxl.load_workbook(path, data_only=True)["管线"]["D3"].value is None  # no cached value
    with pytest.raises(InputError) as err:
        read_template(path, parse_mapping("名称=name,阶段=phase,起始日期=phase_start,count=count"), today=TODAY)
    text = str(err.value)
    assert text.startswith(f"{path}, sheet '管线', row 3: cell 管线!D3 holds the formula =D2+1 with no saved value")
    with pytest.raises(InputError, match="管线!A2 holds the formula"):
        read_ctr(_xlsx(tmp_path / "ctr.xlsx", {"管线": [["ctr_no", "drug_name"], ["=\"CTR\"&2023", "药A片"]]}),
                 today=TODAY)


def test_values_and_dates_in_a_workbook_are_read(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "v.xlsx", {"S": [["名称", "阶段", "起始日期", "count"],
                                             ["药A", "II期", dt.date(2023, 1, 5), 3]]})
    [row] = read_template(path, parse_mapping("名称=name,阶段=phase,起始日期=phase_start,count=count"),
                          today=TODAY)
    assert (row.event.date, row.count) == (dt.date(2023, 1, 5), 3)
