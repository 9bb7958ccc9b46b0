"""The generic template: an arbitrary spreadsheet read through a column mapping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest

from pipecast.errors import InputError
from pipecast.ingest.template import import_template, load_mapping, mapping_option, parse_mapping, read_template
from pipecast.store import Store

TODAY = dt.date(2026, 1, 1)
MAP = "名称=name,阶段=phase,起始日期=phase_start,企业=sponsor,来源=source_url"


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    return _xlsx(tmp_path / "管线.xlsx", [
        ["名称", "阶段", "起始日期", "企业", "来源", "备注"],
        ["赛立奇单抗注射液", "上市", dt.date(2024, 8, 20), "智翔金泰", "https://example.org/a", "ignored"],
        ["新药X片", "II期", "2023/5/6", "某公司", "", ""],
    ])


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with Store.open(sqlite_url) as opened:
        yield opened


def test_mapping_reads_a_chinese_headed_xlsx(sheet: Path) -> None:
    rows = read_template(sheet, parse_mapping(MAP), today=TODAY)
    assert [r.name for r in rows] == ["赛立奇单抗注射液", "新药X片"]
    assert rows[0].event.phase.value == "approved"
    assert rows[0].event.date == dt.date(2024, 8, 20)
    assert rows[0].event.source is not None
    assert rows[0].event.source.url == "https://example.org/a"
    assert rows[1].event.phase.value == "phase2"
    assert rows[1].event.date == dt.date(2023, 5, 6)
    assert rows[1].values["sponsor"] == "某公司"


def test_import_resolves_known_names_and_flags_the_rest(store: Store, sheet: Path) -> None:
    summary = import_template(store, sheet, parse_mapping(MAP), today=TODAY)
    assert summary.resolved == {"赛立奇单抗注射液": "genrix-gr1501"}  # the bundled id, whatever the load order
    assert len(summary.unresolved) == 1
    assert summary.unresolved[0].startswith("template:")
    new = store.asset(summary.unresolved[0])
    assert "unresolved" in new.note
    assert new.sponsor == "某公司"
    again = import_template(store, sheet, parse_mapping(MAP), today=TODAY)
    assert not again.changed
    assert again.events_known == 2


def test_dry_run_writes_nothing(store: Store, sheet: Path) -> None:
    summary = import_template(store, sheet, parse_mapping(MAP), today=TODAY, dry_run=True)
    assert summary.candidates_created == 2
    assert store.assets() == []


def test_day_first_dates_need_the_format(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("drug,stage,since\nA,Phase 1,05/06/2023\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        read_template(path, parse_mapping("drug=name,stage=phase,since=phase_start"), today=TODAY)
    assert err.value.row == 2
    assert err.value.field == "since"
    rows = read_template(path, parse_mapping("drug=name,stage=phase,since=phase_start", date_format="%d/%m/%Y"),
                         today=TODAY)
    assert rows[0].event.date == dt.date(2023, 6, 5)


def test_yaml_mapping_file(tmp_path: Path, sheet: Path) -> None:
    yaml_file = tmp_path / "map.yaml"
    yaml_file.write_text("columns:\n  名称: name\n  阶段: phase\n  起始日期: phase_start\ndate_format: '%Y/%m/%d'\n",
                         encoding="utf-8")
    mapping = mapping_option(str(yaml_file))
    assert mapping.date_format == "%Y/%m/%d"
    assert mapping.columns["名称"] == "name"
    plain = tmp_path / "plain.yml"
    plain.write_text("名称: name\n阶段: phase\n起始日期: phase_start\n", encoding="utf-8")
    assert load_mapping(plain).columns == {"名称": "name", "阶段": "phase", "起始日期": "phase_start"}


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("名称=name,阶段=stage,起始日期=phase_start", ["阶段", "unknown field 'stage'"]),
        ("名称=name,阶段=phase", ["phase_start", "not mapped"]),
        ("阶段=phase,起始日期=phase_start", ["name", "not mapped"]),
        ("名称=name,别名=name,阶段=phase,起始日期=phase_start", ["both mapped", "'name'"]),
        ("名称 name", ["not COLUMN=field"]),
    ],
)
def test_bad_mappings(text: str, words: list[str]) -> None:
    with pytest.raises(InputError) as err:
        parse_mapping(text)
    for word in words:
        assert word in str(err.value)


def test_mapped_column_missing_from_file_names_file_and_column(sheet: Path) -> None:
    with pytest.raises(InputError) as err:
        read_template(sheet, parse_mapping("名称=name,阶段=phase,开始=phase_start"), today=TODAY)
    assert err.value.file == f"{sheet}, sheet 'Sheet'"
    assert err.value.field == "开始"
    assert err.value.row == 1


def test_row_errors_name_file_row_and_column(tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "bad.xlsx", [["名称", "阶段", "起始日期"], ["A", "II期", "2023-01-01"],
                                         ["B", "stage five", "2023-01-01"]])
    with pytest.raises(InputError) as err:
        read_template(path, parse_mapping("名称=name,阶段=phase,起始日期=phase_start"), today=TODAY)
    assert (err.value.file, err.value.row, err.value.field) == (f"{path}, sheet 'Sheet'", 3, "阶段")
    future = _xlsx(tmp_path / "future.xlsx", [["名称", "阶段", "起始日期"], ["A", "II期", "2030-01-01"]])
    with pytest.raises(InputError, match="future") as err:
        read_template(future, parse_mapping("名称=name,阶段=phase,起始日期=phase_start"), today=TODAY)
    assert err.value.field == "起始日期"
