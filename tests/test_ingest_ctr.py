"""China drug-trial registry importer: real exports, GBK, Chinese phases, dates and bad files."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import re
from pathlib import Path

import pytest

from pipecast.domain import Phase
from pipecast.errors import InputError
from pipecast.ingest.ctr import ctr_phase, decode, read_ctr
from pipecast.ingest.trials import in_region
from shared_paths import SHARED_DATA

CTR = Path(__file__).parent / "data" / "registry" / "ctr"
INFO = CTR / "trial_info_sample.csv"
SITES = CTR / "trial_site_info_sample.csv"
SHARED = SHARED_DATA / "china_ctr_registry_2013_2018" / "chinadrugtrials_ctr_2013_2018.csv"
TODAY = dt.date(2025, 6, 30)
HEADER = "登记号,药物名称,适应症,试验分期,申办者名称,首次公示信息日期,试验状态,试验机构城市\n"


def raw_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write(tmp_path: Path, body: str, name: str = "export.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def test_detail_export_fields_match_the_raw_file() -> None:
    raw = raw_rows(INFO)
    result = read_ctr(INFO, today=TODAY)
    assert len(result.records) == len(raw) == 16
    assert result.warnings == []
    for record, row in zip(result.records, raw, strict=True):
        assert record.registry == "chinadrugtrials"
        assert record.trial_id == row["ctr_no"]
        assert record.sponsor == row["sponsor"]
        assert record.drug_names == (row["drug_name"],)
        assert record.first_posted == dt.date.fromisoformat(row["publication_date"])
        assert record.status == row["detail_status"]  # the more specific status column is preferred
        assert record.conditions == (row["indication"],)
        assert record.phase_text == row["phase"]
        assert record.title == row["common_name"]
        assert record.start_date is None  # fpi_Date is "登记人暂未填写该信息" (not filled in) everywhere
        assert record.source is not None
        assert row["ctr_no"] in record.source.title


def test_registry_phase_spellings_in_the_real_export() -> None:
    phases = {r.phase_text: r.phase for r in read_ctr(INFO, today=TODAY).records}
    assert phases == {
        "I期": Phase.PHASE1,
        "II期": Phase.PHASE2,
        "III期": Phase.PHASE3,
        "其它其他说明:Ib/II期": Phase.PHASE2,
        "其它其他说明:I/Ⅱ期": Phase.PHASE2,
        "其它其他说明:I/IIa期": Phase.PHASE2,
        "其它其他说明:Ib/IIa期": Phase.PHASE2,
        "其它其他说明:I/II期": Phase.PHASE2,
        "其它其他说明:生物等效性试验": None,
        "其它其他说明:人体生物等效性试验": None,
        "其它其他说明:BE": None,
        "其它其他说明:BE实验": None,
        "其它其他说明:BE试验": None,
    }


@pytest.mark.parametrize(
    ("label", "phase"),
    [
        ("Ⅰ期", Phase.PHASE1),
        ("I期临床", Phase.PHASE1),
        ("Ⅱ期", Phase.PHASE2),
        ("Ⅲ期", Phase.PHASE3),
        ("II/III期", Phase.PHASE3),
        ("IV期", Phase.APPROVED),
        ("1期", Phase.PHASE1),
        ("其它", None),
        ("", None),
        ("BE", None),
        ("生物利用度试验", None),
    ],
)
def test_chinese_phase_table(label: str, phase: Phase | None) -> None:
    assert ctr_phase(label) == (phase, True)


def test_unknown_phase_is_not_understood() -> None:
    assert ctr_phase("探索性研究") == (None, False)
    assert ctr_phase("Ⅴ期") == (None, False)


def test_sites_file_is_joined_and_region_attributed() -> None:
    result = read_ctr(INFO, sites=SITES, today=TODAY)
    sites = collections.defaultdict(list)
    for row in raw_rows(SITES):
        sites[row["ctr_no"]].append(row)
    for record in result.records:
        assert record.cities == tuple(dict.fromkeys(s["city"] for s in sites[record.trial_id]))
        assert record.states == tuple(dict.fromkeys(s["province_state"] for s in sites[record.trial_id]))
    chongqing_sites = {r.trial_id for r in result.records if in_region(r) and "重庆" not in r.sponsor}
    assert chongqing_sites == {"CTR20230359", "CTR20230362", "CTR20230379", "CTR20230380"}
    assert {r.trial_id for r in result.records if in_region(r, sites=False)} == {"CTR20230354"}
    kin = next(r for r in result.records if r.trial_id == "CTR20230359")
    assert "美国" in kin.countries
    assert "中国" in kin.countries


def test_gbk_and_gb18030_copies_read_the_same(tmp_path: Path) -> None:
    expected = read_ctr(INFO, today=TODAY).records
    text = INFO.read_text(encoding="utf-8")
    for encoding in ("gbk", "gb18030"):
        copy = tmp_path / f"info_{encoding}.csv"
        # GBK has no ® (used in a few free-text cells); a real GBK export replaces it, so do we.
        copy.write_bytes(text.encode(encoding, errors="replace" if encoding == "gbk" else "strict"))
        with pytest.raises(UnicodeDecodeError):
            copy.read_bytes().decode("utf-8")  # really not UTF-8
        got = read_ctr(copy, today=TODAY).records
        assert [(r.trial_id, r.sponsor, r.drug_names, r.phase, r.conditions) for r in got] == [
            (r.trial_id, r.sponsor, r.drug_names, r.phase, r.conditions) for r in expected
        ]
        assert got[-1].sponsor == "重庆智翔金泰生物制药股份有限公司"  # no mojibake


def test_utf8_bom_and_utf16_are_accepted(tmp_path: Path) -> None:
    body = "CTR20230354,GR1501注射液,狼疮性肾炎,II期,重庆智翔金泰生物制药股份有限公司,2023-02-08,进行中,\n"
    for encoding in ("utf-8-sig", "utf-16"):
        [record] = read_ctr(write(tmp_path, body, f"{encoding}.csv", encoding), today=TODAY).records
        assert record.drug_names == ("GR1501注射液",)
        assert record.phase is Phase.PHASE2


def test_undecodable_file_names_the_file(tmp_path: Path) -> None:
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("ctr_no,drug_name\nCTR1,Caf\xe9 cr\xe8me r\xe9sum\xe9 na\xefve\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        read_ctr(latin, today=TODAY)
    assert str(latin) in str(info.value)
    assert "encoding" in str(info.value)
    # Accented letters followed by letters form valid GB18030 pairs: decodable, but not Chinese text.
    sneaky = tmp_path / "sneaky.csv"
    sneaky.write_bytes("ctr_no,drug_name\nCTR1,Genève Zürich Müller Düsseldorf Créteil\n".encode("latin-1"))
    sneaky.read_bytes().decode("gb18030")  # would "succeed" with a naive fallback
    with pytest.raises(InputError, match=r"sneaky\.csv.*GBK"):
        read_ctr(sneaky, today=TODAY)
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(InputError, match=r"junk\.csv"):
        read_ctr(junk, today=TODAY)
    # An explicit encoding skips the guessing.
    assert decode("名称".encode("gbk"), "x", "gbk") == "名称"
    with pytest.raises(InputError, match="cannot decode as utf-8"):
        decode(b"\xff\xfe\xfa", "x", "utf-8")


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_ctr(empty, today=TODAY)
    header_only = write(tmp_path, "", "header.csv")
    assert read_ctr(header_only, today=TODAY).records == []


def test_missing_or_renamed_columns(tmp_path: Path) -> None:
    renamed = tmp_path / "renamed.csv"
    renamed.write_text("登记编号,药物名称\nCTR20230354,GR1501注射液\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_ctr(renamed, today=TODAY)
    message = str(info.value)
    assert "row 1" in message
    assert "trial_id" in message
    assert "登记号" in message
    assert "登记编号" in message
    no_drug = tmp_path / "nodrug.csv"
    no_drug.write_text("登记号,适应症\nCTR20230354,狼疮性肾炎\n", encoding="utf-8")
    with pytest.raises(InputError, match="drug"):
        read_ctr(no_drug, today=TODAY)


def test_chinese_headers_dates_phases_duplicates_and_warnings(tmp_path: Path) -> None:
    body = (
        "CTR20240001,药A片,肺癌,Ⅰ期,重庆某某药业有限公司,2024/3/5,进行中 招募中,重庆市；成都市\n"
        "CTR20240002,药B注射液,肝癌,Ⅲ期,某公司,2024年3月5日,已完成,\n"
        "CTR20240003,药C,胃癌,I/II期,某公司,05-03-2024,主动终止,\n"
        "CTR20240004,药D,胃癌,探索期,某公司,2031-01-01,进行中,\n"
        "CTR20240001,药A片,肺癌,Ⅰ期,重庆某某药业有限公司,2024/3/5,进行中 招募中,重庆市；成都市\n"
        "CTR20240002,药B注射液,肝癌,II期,某公司,2024-03-06,已完成,\n"
        ",药E,,,,,,\n"
    )
    path = write(tmp_path, body)
    result = read_ctr(path, today=TODAY)
    by_id = {r.trial_id: r for r in result.records}
    assert list(by_id) == ["CTR20240001", "CTR20240002", "CTR20240003", "CTR20240004"]
    assert by_id["CTR20240001"].first_posted == dt.date(2024, 3, 5)
    assert by_id["CTR20240002"].first_posted == dt.date(2024, 3, 5)
    assert by_id["CTR20240003"].first_posted is None  # day-first needs an explicit format
    assert by_id["CTR20240004"].first_posted is None  # future
    assert by_id["CTR20240001"].cities == ("重庆市", "成都市")
    assert in_region(by_id["CTR20240001"])
    assert [by_id[k].phase for k in by_id] == [Phase.PHASE1, Phase.PHASE3, Phase.PHASE2, None]
    assert by_id["CTR20240003"].stopped
    expected = [
        (4, "首次公示信息日期", "'05-03-2024' is not a date"),
        (5, "试验分期", "unknown phase '探索期'"),
        (5, "首次公示信息日期", "2031-01-01 is in the future"),
        (6, "登记号", "exact duplicate of CTR20240001 (first on row 2)"),
        (7, "登记号", "conflicting duplicate of CTR20240002 (first on row 3)"),
        (8, "登记号", "no 登记号"),
    ]
    assert len(result.warnings) == len(expected)
    for warning, (row, column, start) in zip(result.warnings, expected, strict=True):
        assert (warning.row, warning.field) == (row, column), warning
        assert warning.message.startswith(start), warning
    assert all(w.file == str(path) for w in result.warnings)
    assert "day-first" in result.warnings[0].message
    dated = read_ctr(path, today=TODAY, date_format="%d-%m-%Y")
    assert {r.trial_id: r.first_posted for r in dated.records}["CTR20240003"] == dt.date(2024, 3, 5)
    assert str(result.warnings[1]).startswith(f"{path}, row 5, column '试验分期': unknown phase")


def test_start_date_inside_registry_text(tmp_path: Path) -> None:
    path = tmp_path / "detail.csv"
    path.write_text(
        "ctr_no,drug_name,phase,fpi_Date,publication_date\n"
        "CTR1,A,I期,国内：2023-03-01；国际：2023-02-20；,2023-01-05\n"
        "CTR2,B,I期,国内：登记人暂未填写该信息；,2023-01-06\n",
        encoding="utf-8",
    )
    result = read_ctr(path, today=TODAY)
    assert [r.start_date for r in result.records] == [dt.date(2023, 2, 20), None]
    assert result.warnings == []


def test_xlsx_export(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(
        [
            "CTR20230354",
            "GR1501注射液",
            "狼疮性肾炎",
            "II期",
            "重庆智翔金泰生物制药股份有限公司",
            dt.datetime(2023, 2, 8),
            "进行中",
            "杭州市",
        ]
    )
    path = tmp_path / "export.xlsx"
    book.save(path)
    [record] = read_ctr(path, today=TODAY).records
    assert (record.trial_id, record.phase, record.first_posted) == (
        "CTR20230354",
        Phase.PHASE2,
        dt.date(2023, 2, 8),
    )


def test_2013_2018_scrape_and_search_list() -> None:
    path = CTR / "ctr_2013_2018_sample.csv"
    raw = raw_rows(path)
    result = read_ctr(path, today=TODAY)
    assert len(result.records) == len(raw) == 78
    assert result.warnings == []
    expect = {
        "I": Phase.PHASE1,
        "II": Phase.PHASE2,
        "III": Phase.PHASE3,
        "I/II": Phase.PHASE2,
        "II/III": Phase.PHASE3,
        "III/I": Phase.PHASE3,
        "II/I": Phase.PHASE2,
        "I/I": Phase.PHASE1,
        "IV": Phase.APPROVED,
        "IV/I": Phase.APPROVED,
        "BE": None,
        "": None,
    }
    for record, row in zip(result.records, raw, strict=True):
        assert record.trial_id == row["ctr_id"]
        assert record.title == row["public_title"]
        assert (
            record.status == row["status"]
        )
        assert (
            record.drug_names[0] == re.split("[/;；、]", row["drug_name"])[0].strip()
        )
        assert record.phase is expect[row["phase_parsed_from_title"]]
    kras = read_ctr(CTR / "searchlist_kras.csv", today=TODAY)
    assert len(kras.records) == 42
    assert kras.warnings == []
    assert kras.records[0].trial_id == "CTR20251739"
    assert kras.records[0].drug_names == ("HS-10529片",)


@pytest.mark.skipif(not SHARED.exists(), reason="shared reference data not mounted")
def test_full_2013_2018_registry_file() -> None:
    result = read_ctr(SHARED, today=TODAY)
    assert len(result.records) == 6407
    assert result.warnings == []
    counts = collections.Counter(r.phase for r in result.records)
    raw = collections.Counter(row["phase_parsed_from_title"] for row in raw_rows(SHARED))
    assert counts[Phase.PHASE1] == raw["I"] + raw["I/I"]
    assert counts[None] == raw[""] + raw["BE"]
