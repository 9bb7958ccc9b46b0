"""The registry importer streams: flat memory on big files, same records from GBK, late decode errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import tracemalloc
from pathlib import Path

import pytest

from pipecast.errors import InputError
from pipecast.ingest.ctr import SNIFF_BYTES, iter_ctr, read_ctr
from pipecast.ingest.trials import RowWarning, TrialRecord

TODAY = dt.date(2025, 6, 30)
# The columns of tests/data/registry/ctr/ctr_2013_2018_sample.csv.
COLUMNS = (
    "ctr_id",
    "registration_year",
    "status",
    "drug_name",
    "indication",
    "public_title",
    "phase_parsed_from_title",
    "platform_record_id",
)
STATUSES = ("已完成", "进行中 招募中", "进行中 尚未招募", "主动暂停")
PHASES = ("I", "II", "III", "IV", "I/II", "BE", "")
INDICATIONS = ("非小细胞肺癌", "2型糖尿病", "高血压", "类风湿关节炎", "晚期实体瘤")


def export_text(n: int) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for i in range(n):
        year = 2013 + i % 6
        phase = PHASES[i % len(PHASES)]
        indication = INDICATIONS[i % len(INDICATIONS)]
        drug = f"盐酸药{i % 97}片"
        writer.writerow(
            (
                f"CTR{year}{i:06d}",
                year,
                STATUSES[i % len(STATUSES)],
                drug,
                indication,
                f"{drug}在{indication}患者中的{phase or '其它'}期临床研究",
                phase,
                f"{i:032x}",
            )
        )
    return out.getvalue()


def write_export(path: Path, n: int, encoding: str = "utf-8") -> Path:
    path.write_bytes(export_text(n).encode(encoding))
    return path


def stream_peak(path: Path) -> tuple[int, int]:
    """(tracemalloc peak bytes, records) of iterating `iter_ctr` without keeping the records."""
    count = 0
    tracemalloc.start()
    try:
        for item in iter_ctr(path, today=TODAY, retrieved=TODAY):
            count += isinstance(item, TrialRecord)
        return tracemalloc.get_traced_memory()[1], count
    finally:
        tracemalloc.stop()


def test_memory_grows_only_by_the_duplicate_index(tmp_path: Path) -> None:
    small = write_export(tmp_path / "small.csv", 5_000)
    big = write_export(tmp_path / "big.csv", 50_000)
    stream_peak(small)  # warm-up: imports, regex and codec caches
    small_peak, small_count = stream_peak(small)
    big_peak, big_count = stream_peak(big)
    assert (small_count, big_count) == (5_000, 50_000)
    print(f"tracemalloc peak: 5,000 rows {small_peak / 2**20:.2f} MiB, 50,000 rows {big_peak / 2**20:.2f} MiB")
    # Duplicate detection needs every 登记号 seen so far (~140 bytes each, see iter_ctr), so the peak cannot
    # stay under 2x the small file's; everything else is flat. Reading the whole file, as before, cost
    # ~1.5 KB per row (75 MiB for these 50,000 rows).
    per_extra_row = (big_peak - small_peak) / 45_000
    assert per_extra_row < 200, (small_peak, big_peak)


def test_gbk_file_streams_the_same_records(tmp_path: Path) -> None:
    n = 3_000  # well past the sniffed head, so most of the file is decoded while streaming
    utf8 = write_export(tmp_path / "utf8.csv", n)
    gbk = write_export(tmp_path / "gbk.csv", n, "gbk")
    assert gbk.stat().st_size > 4 * SNIFF_BYTES
    with pytest.raises(UnicodeDecodeError):
        gbk.read_bytes().decode("utf-8")
    expected = list(iter_ctr(utf8, today=TODAY, retrieved=TODAY))
    got = list(iter_ctr(gbk, today=TODAY, retrieved=TODAY))
    assert len(got) == len(expected)
    assert sum(isinstance(i, TrialRecord) for i in got) == n
    for mine, theirs in zip(got, expected, strict=True):
        if isinstance(mine, TrialRecord) and isinstance(theirs, TrialRecord):
            # Only the source title differs (it names the file).
            assert mine.source is not None
            assert theirs.source is not None
            assert mine.source.title.replace("gbk.csv", "utf8.csv") == theirs.source.title
            assert (mine.trial_id, mine.drug_names, mine.phase, mine.conditions, mine.title, mine.status) == (
                theirs.trial_id,
                theirs.drug_names,
                theirs.phase,
                theirs.conditions,
                theirs.title,
                theirs.status,
            )
        else:
            assert isinstance(mine, RowWarning)
            assert isinstance(theirs, RowWarning)
            assert (mine.row, mine.field, mine.message) == (theirs.row, theirs.field, theirs.message)


def test_read_ctr_matches_iter_ctr(tmp_path: Path) -> None:
    path = write_export(tmp_path / "export.csv", 500)
    result = read_ctr(path, today=TODAY, retrieved=TODAY)
    items = list(iter_ctr(path, today=TODAY, retrieved=TODAY))
    assert result.records == [i for i in items if isinstance(i, TrialRecord)]
    assert result.warnings == [i for i in items if isinstance(i, RowWarning)]


def test_late_decoding_error_names_file_and_row(tmp_path: Path) -> None:
    text = export_text(2_000)
    lines = text.splitlines(keepends=True)
    bad_line = 1_500  # 1-based line number, far past the sniffed head
    assert len("".join(lines[: bad_line - 1]).encode("utf-8")) > SNIFF_BYTES
    data = b"".join(
        line.encode("gbk") if number == bad_line else line.encode("utf-8") for number, line in enumerate(lines, 1)
    )
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    with pytest.raises(InputError) as info:
        read_ctr(path, today=TODAY)
    assert info.value.file == str(path)
    assert info.value.row == bad_line
    assert "cannot decode as utf-8" in str(info.value)
    assert f"row {bad_line}" in str(info.value)
