"""NMPA approval lists: approval numbers in, `approved` events out, doubtful rows listed."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from pipecast.domain import Phase
from pipecast.errors import InputError
from pipecast.ingest.nmpa import read_nmpa

NMPA = Path(__file__).parent / "data" / "registry" / "nmpa"
TODAY = dt.date(2025, 6, 30)
HEADER = "批准文号,药品通用名,商品名,批准日期,注册分类,上市许可持有人\n"


def write(tmp_path: Path, body: str, encoding: str = "utf-8", name: str = "approvals.csv") -> Path:
    path = tmp_path / name
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def test_approval_number_list_without_dates() -> None:
    path = NMPA / "nmpa_approval_numbers_drug_codes.csv"
    with open(path, encoding="utf-8", newline="") as handle:
        raw = list(csv.DictReader(handle))
    result = read_nmpa(path, today=TODAY)
    assert len(result.records) == len(raw) == 25
    for approval, row in zip(result.records, raw, strict=True):
        assert approval.approval_no == row["approval_no_批准文号"]
        assert approval.name == row["product_name_产品名称"]
        assert approval.holder == row["manufacturer_生产单位"]
        assert approval.dosage_form == row["dosage_form_剂型"]
        assert approval.date is None
        assert approval.event is None
    assert [(w.row, w.field) for w in result.warnings] == [(None, "批准日期")]  # one file-level note
    assert result.records[0].number_year == 2012  # 国药准字Z20123084


def test_detail_record_json_gives_an_approved_event_and_flags_reregistration() -> None:
    path = NMPA / "nmpa_domestic_drug_detail_example.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    result = read_nmpa(path, today=TODAY, retrieved=dt.date(2026, 8, 11))
    [approval] = result.records
    assert approval.approval_no == raw["批准文号"] == "国药准字Z20073307"
    assert approval.name == raw["药品通用名"]
    assert approval.holder == raw["上市许可持有人"]
    assert approval.date == dt.date.fromisoformat(raw["批准日期"])
    event = approval.event
    assert event is not None
    assert event.phase is Phase.APPROVED
    assert event.date == dt.date(2021, 7, 2)
    assert event.source is not None
    assert "国药准字Z20073307" in event.source.title
    assert event.source.date == dt.date(2026, 8, 11)
    [warning] = result.warnings
    assert (
        warning.field == "批准日期"
    )
    assert (
        "issued in 2007" in warning.message
    )
    assert (
        "re-registration" in warning.message
    )


def test_rows_become_events_and_bad_rows_are_listed(tmp_path: Path) -> None:
    body = (
        "国药准字S20240001,赛立奇单抗注射液,金立希,2024/8/20,治疗用生物制品1类,重庆智翔金泰生物制药股份有限公司\n"
        "国药准字H20250002,某某片,,2025年1月3日,化学药品1类,某公司\n"
        "国药准字H20250003,某某胶囊,,2031-01-01,化学药品1类,某公司\n"
        "国药准字 H20250004,某某颗粒,,03-02-2025,,某公司\n"
        "国药准字X123,坏号码,,2024-01-01,,某公司\n"
        "国药准字S20240001,赛立奇单抗注射液,金立希,2024-08-20,治疗用生物制品1类,重庆智翔金泰生物制药股份有限公司\n"
        "国药准字H20250005,无日期,,,,某公司\n"
    )
    for encoding in ("utf-8", "gbk"):
        path = write(tmp_path, body, encoding, f"approvals_{encoding}.csv")
        result = read_nmpa(path, today=TODAY)
        events = [(a.approval_no, a.event.date) for a in result.records if a.event]
        assert events == [
            ("国药准字S20240001", dt.date(2024, 8, 20)),
            ("国药准字H20250002", dt.date(2025, 1, 3)),
            ("国药准字X123", dt.date(2024, 1, 1)),
        ]
        first = result.records[0]
        assert (first.name, first.brand, first.reg_class) == (
            "赛立奇单抗注射液",
            "金立希",
            "治疗用生物制品1类",
        )
        assert first.holder == "重庆智翔金泰生物制药股份有限公司"
        assert result.records[3].approval_no == "国药准字H20250004"  # spaces inside the number removed
        found = [(w.row, w.field, w.message[:30]) for w in result.warnings]
        assert [(r, f) for r, f, _ in found] == [
            (4, "批准日期"),
            (5, "批准日期"),
            (6, "批准文号"),
            (7, "批准文号"),
            (8, "批准日期"),
        ]
        assert "future" in found[0][2]
        assert "not a date" in found[1][2]
        assert "not a 国药准字" in found[2][2]
        assert "duplicate" in found[3][2]
        assert "no approval date" in found[4][2]
    dated = read_nmpa(path, today=TODAY, date_format="%d-%m-%Y")
    assert dated.records[3].date == dt.date(2025, 2, 3)


def test_bad_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.csv"
    missing.write_text("药品名称,批准日期\n某药,2024-01-01\n", encoding="utf-8")
    with pytest.raises(InputError, match="approval_no"):
        read_nmpa(missing, today=TODAY)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_nmpa(empty, today=TODAY)
    broken = tmp_path / "broken.json"
    broken.write_text('{"批准文号": "国药准字Z20073307", "批准日期": ', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_nmpa(broken, today=TODAY)
    assert "broken.json" in str(info.value)
    assert "line 1" in str(info.value)
    with pytest.raises(InputError, match="not found"):
        read_nmpa(tmp_path / "nope.json", today=TODAY)
