"""Import dry runs name every bad row, not only the first: the expected problems are built here, row by row,
from how the file was made (which rows got which defect), independently of the reader."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest

from pipecast.api.rowcheck import MAX_LISTED, file_problems
from test_api_support import Api, build_bundled, copy_store, make_api

V1 = "/api/v1"
COLUMNS = ("id", "name", "sponsor", "modality", "therapeutic_area", "phase", "phase_start", "count")


def good(n: int) -> dict[str, str]:
    return {"id": f"genrix-bulk-{n}", "name": f"GRB{n}", "sponsor": "Chongqing Genrix Biopharmaceutical",
            "modality": "antibody", "therapeutic_area": "immunology", "phase": "phase1", "phase_start": "2024-03-01",
            "count": "1"}


def make_file(rows: int) -> tuple[bytes, set[tuple[int, str]]]:
    """`rows` data rows: every 3rd a bad phase, every 5th a bad date, every 7th a count of 0, row 11 the id of
    row 10 again. Returns the CSV and the expected (file row, column) problems; file row = index + 2."""
    expected: set[tuple[int, str]] = set()
    records = []
    for i in range(rows):
        row = good(i)
        line = i + 2
        if i % 3 == 0:
            row["phase"] = "phase 9"
            expected.add((line, "phase"))
        if i % 5 == 0:
            row["phase_start"] = "soon"
            expected.add((line, "phase_start"))
        if i % 7 == 0:
            row["count"] = "0"
            expected.add((line, "count"))
        if i == 11:
            row["id"] = good(10)["id"]
            expected.add((line, "id"))
        records.append(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode(), expected


@pytest.fixture(scope="module")
def bundled_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundled(tmp_path_factory.mktemp("bundled"))


@pytest.fixture
def api(bundled_file: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    yield from make_api(str(copy_store(bundled_file, tmp_path)))


def dry_run(api: Api, content: bytes, name: str = "bulk.csv") -> dict[str, object]:
    answer = api.client.post(f"{V1}/imports", files={"file": (name, content, "text/csv")}, data={"dry_run": "true"},
                             headers=api.auth("owner"))
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


def test_a_dry_run_lists_every_bad_row_with_file_row_field_expected(api: Api) -> None:
    content, expected = make_file(30)
    result = dry_run(api, content, "../../tmp/bulk.csv")
    errors = result["errors"]
    assert isinstance(errors, list)
    assert {(e["row"], e["field"]) for e in errors} == expected
    assert result["errors_total"] == len(expected)
    assert result["errors_more"] == 0
    assert errors[0]["row"] == 2  # the first error (the one a commit reports) comes first
    assert all(e["file"] == "bulk.csv" and e["expected"] and e["code"] == "invalid_row" for e in errors)
    assert not any("pipecast-upload" in e["message"] for e in errors)  # no temporary path shown
    duplicate = next(e for e in errors if e["field"] == "id")
    assert duplicate["row"] == 13
    assert "first on row 12" in duplicate["message"]
    commit = api.client.post(f"{V1}/imports", files={"file": ("bulk.csv", content, "text/csv")},
                             data={"dry_run": "false"}, headers=api.auth("owner"))
    assert commit.status_code == 422
    assert f"and {len(expected) - 1} more problem(s)" in commit.json()["error"]["message"]


def test_past_the_cap_the_rest_are_counted(api: Api) -> None:
    content, expected = make_file(300)
    assert len(expected) > MAX_LISTED
    result = dry_run(api, content)
    errors = result["errors"]
    assert isinstance(errors, list)
    assert len(errors) == MAX_LISTED
    assert result["errors_total"] == len(expected)
    assert result["errors_more"] == len(expected) - MAX_LISTED
    first_hundred = sorted(expected)[:MAX_LISTED]  # file order: by row, then the reader's column order
    assert {(e["row"], e["field"]) for e in errors} == set(first_hundred)


def test_a_good_file_has_no_problems_and_a_bad_header_is_one(tmp_path: Path) -> None:
    content, _ = make_file(0)
    path = tmp_path / "a.csv"
    rows = io.StringIO()
    csv.DictWriter(rows, fieldnames=COLUMNS).writeheader()
    csv.writer(rows).writerow(good(1).values())
    path.write_text(rows.getvalue(), encoding="utf-8")
    assert file_problems(path, today=dt.date(2026, 1, 1)).total == 0
    path.write_text("id,name\nx,y\n", encoding="utf-8")
    found = file_problems(path, today=dt.date(2026, 1, 1))
    assert found.total == 1
    assert "missing column(s)" in found.listed[0].message
    path.write_bytes(content)
    assert "no candidates" in file_problems(path, today=dt.date(2026, 1, 1)).listed[0].message
