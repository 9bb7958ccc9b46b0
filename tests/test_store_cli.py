"""`pipecast import|export|assets|load-bundled|pipeline` through a typer app mounted like the main CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from cli_app import Outcome, invoke
from pipecast.commands import store_cmds
from pipecast.store import Store

HEADER = "id,name,sponsor,modality,therapeutic_area,phase,phase_start,count,aliases"
GOOD_ROWS = [
    "CQ-001,Alpha,Chongqing Bio,small molecule,oncology,Phase II,2021-03-01,,ALP|α-1",
    "CQ-002,Beta,Liangjiang Pharma,antibody,immunology,phase3,2022-05-10,,",
    'CQ-003,"Gamma, long-acting",Chongqing Bio,peptide,metabolic,NDA,2024-01-15,,',
    "cohort:pre-2023,Preclinical programmes,,,,preclinical,2023-12-31,42,",
]


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "registry.sqlite")


@pytest.fixture
def assets_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "ASSETS.csv", GOOD_ROWS)


def listed(db: str, *extra: str) -> list[dict[str, Any]]:
    out = invoke(db, "assets", "list", "--json", *extra)
    assert out.exit_code == 0, out.stderr
    data: list[dict[str, Any]] = json.loads(out.stdout)
    return data


def current(db: str) -> list[tuple[Any, ...]]:
    return [(a["id"], a["name"], a["sponsor"], a["phase"], a["phase_start"], a["count"], tuple(a["aliases"]))
            for a in listed(db)]


def test_import_then_list_and_show(db: str, assets_csv: Path) -> None:
    out = invoke(db, "import", str(assets_csv))
    assert out.exit_code == 0, out.stderr
    assert "4 new asset(s)" in out.stdout
    rows = current(db)
    assert rows[0] == ("CQ-001", "Alpha", "Chongqing Bio", "phase2", "2021-03-01", 1, ("ALP", "α-1"))
    assert ("cohort:pre-2023", "Preclinical programmes", "", "preclinical", "2023-12-31", 42, ()) in rows
    assert [a["id"] for a in listed(db, "--phase", "filed")] == ["CQ-003"]
    shown = invoke(db, "assets", "show", "alp", "--json")
    assert shown.exit_code == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert data["id"] == "CQ-001"
    assert data["records"][0]["import_file"] == str(assets_csv)
    human = invoke(db, "assets", "show", "CQ-001")
    assert human.exit_code == 0
    assert "History" in human.stdout
    assert "phase2" in human.stdout
    table = invoke(db, "assets", "list")
    assert table.exit_code == 0
    assert "CQ-002" in table.stdout


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_import_round_trip(tmp_path: Path, db: str, assets_csv: Path, suffix: str) -> None:
    assert invoke(db, "import", str(assets_csv)).exit_code == 0
    exported = tmp_path / f"out{suffix}"
    out = invoke(db, "export", str(exported))
    assert out.exit_code == 0, out.stderr
    assert "Wrote 4 asset(s)" in out.stdout
    other = str(tmp_path / "other.sqlite")
    back = invoke(other, "import", str(exported))
    assert back.exit_code == 0, back.stderr
    assert current(other) == current(db)
    again = invoke(db, "import", str(exported))  # the same store: nothing new
    assert again.exit_code == 0
    assert "nothing new" in again.stdout
    with Store.open(db) as store:
        assert len(store.batches()) == 1
    second = tmp_path / f"second{suffix}"
    assert invoke(other, "export", str(second)).exit_code == 0
    if suffix == ".csv":
        assert second.read_text(encoding="utf-8") == exported.read_text(encoding="utf-8")
    else:
        first_rows = list(openpyxl.load_workbook(exported).active.iter_rows(values_only=True))
        second_rows = list(openpyxl.load_workbook(second).active.iter_rows(values_only=True))
        assert first_rows == second_rows


def test_xlsx_import(tmp_path: Path, db: str) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append(["X-1", "Xeno", "S", "antibody", "oncology", "Ph 3", "2023-04-05", 2, ""])
    path = tmp_path / "assets.xlsx"
    book.save(path)
    assert invoke(db, "import", str(path)).exit_code == 0
    assert current(db) == [("X-1", "Xeno", "S", "phase3", "2023-04-05", 2, ())]


def _two_sheet_book(path: Path) -> Path:
    """A workbook whose first sheet is a cover note and whose second holds the candidates."""
    book = openpyxl.Workbook()
    cover = book.active
    assert cover is not None
    cover.title = "README"
    cover.append(["Candidates are on the next sheet"])
    data = book.create_sheet("管线")
    data.append(HEADER.split(","))
    data.append(["X-1", "Xeno", "S", "antibody", "oncology", "Ph 3", "2023-04-05", 1, ""])
    data.append(["X-2", "Yota", "S", "peptide", "metabolic", "I期", "2024-02-01", 1, ""])
    book.save(path)
    return path


def test_import_sheet_reads_the_named_worksheet_of_a_workbook(tmp_path: Path, db: str) -> None:
    path = _two_sheet_book(tmp_path / "pipeline.xlsx")
    first = invoke(db, "import", str(path))  # the first sheet has no candidate columns
    assert first.exit_code == 2
    assert "README" in first.stderr
    out = invoke(db, "import", str(path), "--sheet", "管线", "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["assets_added"], data["events_added"]) == (2, 2)
    assert current(db) == [("X-1", "Xeno", "S", "phase3", "2023-04-05", 1, ()),
                           ("X-2", "Yota", "S", "phase1", "2024-02-01", 1, ())]
    missing = invoke(db, "import", str(path), "--sheet", "Sheet9")
    assert missing.exit_code == 2
    assert "Sheet9" in missing.stderr
    book = openpyxl.load_workbook(path)
    book.move_sheet("管线", offset=-1)  # now first: read without --sheet, the other sheet named in a warning
    book.save(path)
    again = invoke(db, "import", str(path))
    assert again.exit_code == 0, again.stderr
    assert "warning:" in again.stdout
    assert "README" in again.stdout


def test_import_sheet_on_a_csv_or_folder_is_an_error(tmp_path: Path, db: str, assets_csv: Path) -> None:
    for target in (assets_csv, tmp_path):
        out = invoke(db, "import", str(target), "--sheet", "x")
        assert out.exit_code == 2
        assert "--sheet" in out.stderr
    assert not Path(db).exists()


def test_xlsx_export_never_writes_formulas(tmp_path: Path, db: str) -> None:
    path = write_csv(tmp_path / "f.csv", ["X-1,=HYPERLINK(1),S,m,a,phase1,2020-01-01,,"])
    assert invoke(db, "import", str(path)).exit_code == 0
    out = tmp_path / "x.xlsx"
    assert invoke(db, "export", str(out)).exit_code == 0
    cell = openpyxl.load_workbook(out).active["B2"]
    assert cell.value == "=HYPERLINK(1)"
    assert cell.data_type == "s"
    other = str(tmp_path / "other.sqlite")
    assert invoke(other, "import", str(out)).exit_code == 0
    assert current(other) == current(db)


def test_dry_run_writes_nothing(tmp_path: Path, db: str, assets_csv: Path) -> None:
    out = invoke(db, "import", str(assets_csv), "--dry-run")
    assert out.exit_code == 0, out.stderr
    assert "Dry run" in out.stdout
    assert "would add 4 new asset(s)" in out.stdout
    assert "+ asset CQ-001" in out.stdout
    assert not Path(db).exists()
    assert invoke(db, "import", str(assets_csv)).exit_code == 0
    with Store.open(db) as store:
        before = store.table_counts()
    changed = write_csv(tmp_path / "changed.csv", [GOOD_ROWS[0].replace("Phase II,2021-03-01", "phase3,2023-03-01")])
    preview = invoke(db, "import", str(changed), "--dry-run", "--json")
    assert preview.exit_code == 0, preview.stderr
    summary = json.loads(preview.stdout)
    assert summary["dry_run"]
    assert summary["events_added"] == 1
    assert summary["batch_id"] is None
    with Store.open(db) as store:
        assert store.table_counts() == before


def test_dataset_folder_history_and_pipeline(tmp_path: Path, db: str) -> None:
    folder = tmp_path / "ds"
    folder.mkdir()
    write_csv(folder / "assets.csv", ["A1,Alpha,Co,antibody,ALP-1", "A2,Beta,Co,small molecule,"],
              header="id,name,sponsor,modality,aliases")
    write_csv(folder / "events.csv", [
        "A1,phase1,2019-01-01,CDE notice,https://cde.example/1,,",
        "A1,phase2,2021-06-01,CT.gov,https://ct.example/2,2021-06-03,",
        "A1,phase3,2024-02-01,Press release,,2024-02-01,2024-09-01",
        "A2,preclinical,2022-01-01,,,,",
    ], header="asset_id,phase,date,source_title,source_url,source_date,recorded")
    write_csv(folder / "facts.csv", ["Chongqing,clinical_trials,42,2023-12-31,,Municipal report"],
              header="entity,field,value,as_of,unit,source_title")
    out = invoke(db, "import", str(folder))
    assert out.exit_code == 0, out.stderr
    with Store.open(db) as store:
        assert [f.value for f in store.facts()] == ["42"]
        assert store.batches()[0].kind == "dataset"
    shown = json.loads(invoke(db, "assets", "show", "ALP-1", "--json").stdout)
    assert [(r["phase"], r["source"]["title"]) for r in shown["records"]] == [
        ("phase1", "CDE notice"), ("phase2", "CT.gov"), ("phase3", "Press release")]
    early = json.loads(invoke(db, "pipeline", "--as-of", "2024-06-30", "--json").stdout)
    assert early["counts"]["phase2"] == 1
    assert early["counts"]["phase3"] == 0
    assert early["active"] == 2
    late = json.loads(invoke(db, "pipeline", "--as-of", "2024-12-31", "--json").stdout)
    assert late["counts"]["phase3"] == 1
    assert json.loads(invoke(db, "pipeline", "--as-of", "2020-01-01", "--json").stdout)["total"] == 1
    human = invoke(db, "pipeline", "--as-of", "2024-12-31")
    assert human.exit_code == 0
    assert "Pipeline as of 2024-12-31" in human.stdout
    exported = tmp_path / "asof.csv"
    assert invoke(db, "export", str(exported), "--as-of", "2021-12-31").exit_code == 0
    text = exported.read_text(encoding="utf-8")
    assert "A1,Alpha,Co,antibody,,phase2,2021-06-01" in text
    assert "A2" not in text
    assert invoke(db, "import", str(folder)).stdout.strip().endswith("already known)")


BAD_CASES = {
    "unknown phase": (["CQ-009,X,S,m,a,phase 9,2020-01-01,,"], 3, "phase"),
    "future date": (["CQ-009,X,S,m,a,phase1,2999-01-01,,"], 3, "phase_start"),
    "before 1950": (["CQ-009,X,S,m,a,phase1,1949-12-31,,"], 3, "phase_start"),
    "negative count": (["CQ-009,X,S,m,a,phase1,2020-01-01,-3,"], 3, "count"),
    "non-integer count": (["CQ-009,X,S,m,a,phase1,2020-01-01,2.5,"], 3, "count"),
    "word count": (["CQ-009,X,S,m,a,phase1,2020-01-01,many,"], 3, "count"),
    "bad date": (["CQ-009,X,S,m,a,phase1,2020-13-45,,"], 3, "phase_start"),
    "missing id": ([",X,S,m,a,phase1,2020-01-01,,"], 3, "id"),
    "duplicate id": (["CQ-001,X,S,m,a,phase1,2020-01-01,,"], 3, "id"),
}


def assert_one_line_error(out: Outcome, file: Path, row: int | None, column: str | None, *, hint: bool = True) -> None:
    assert out.exit_code == 2, (out.stdout, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    line = lines[0]
    assert str(file) in line
    if row is not None:
        assert f"row {row}" in line
    if column is not None:
        assert f"column '{column}'" in line
    if hint:
        assert "expected" in line


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, db: str, case: str) -> None:
    rows, bad_row, column = BAD_CASES[case]
    path = write_csv(tmp_path / "bad.csv", [GOOD_ROWS[0], *rows, GOOD_ROWS[1]])
    out = invoke(db, "import", str(path))
    assert_one_line_error(out, path, bad_row, column)
    assert not Path(db).exists()


def test_bad_row_five_in_an_existing_store(tmp_path: Path, db: str, assets_csv: Path) -> None:
    assert invoke(db, "import", str(assets_csv)).exit_code == 0
    with Store.open(db) as store:
        before = (store.table_counts(), store.assets())
    rows = [f"N{i},n{i},S,m,a,phase1,2021-01-0{i},," for i in range(1, 4)] + ["N4,n4,S,m,a,phase1,2021-01-04,0,"]
    path = write_csv(tmp_path / "row5.csv", rows)
    assert_one_line_error(invoke(db, "import", str(path)), path, 5, "count")
    path_xlsx = tmp_path / "row5.xlsx"
    book = openpyxl.Workbook()
    for line in [HEADER, *rows]:
        book.active.append(line.split(","))
    book.save(path_xlsx)
    assert_one_line_error(invoke(db, "import", str(path_xlsx)), path_xlsx, 5, "count")
    with Store.open(db) as store:
        assert (store.table_counts(), store.assets()) == before


def test_missing_column(tmp_path: Path, db: str) -> None:
    path = write_csv(tmp_path / "nophase.csv", ["A,a,S,m,a,2020-01-01"],
                     header="id,name,sponsor,modality,therapeutic_area,phase_start")
    out = invoke(db, "import", str(path))
    assert_one_line_error(out, path, 1, None)
    assert "missing column(s) phase" in out.stderr


def test_malformed_csv(tmp_path: Path, db: str) -> None:
    extra = write_csv(tmp_path / "extra.csv", [GOOD_ROWS[0], "CQ-9,Name, with comma,S,m,a,phase1,2020-01-01,3,alias"])
    out = invoke(db, "import", str(extra))
    assert_one_line_error(out, extra, 3, None)
    assert "fields but the header has" in out.stderr
    unterminated = write_csv(tmp_path / "quote.csv", [GOOD_ROWS[0], 'CQ-9,"Name,S,m,a,phase1,2020-01-01,,',
                                                      GOOD_ROWS[1]])
    out = invoke(db, "import", str(unterminated))
    assert_one_line_error(out, unterminated, None, None)
    assert "row " in out.stderr
    binary = tmp_path / "latin1.csv"
    binary.write_bytes((HEADER + "\nCQ-9,Caf\xe9,S,m,a,phase1,2020-01-01,,\n").encode("latin-1"))
    assert_one_line_error(invoke(db, "import", str(binary)), binary, None, None)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip file")
    assert_one_line_error(invoke(db, "import", str(broken)), broken, None, None, hint=False)
    assert not Path(db).exists()


def test_other_user_errors(tmp_path: Path, db: str, assets_csv: Path) -> None:
    missing = tmp_path / "nope.csv"
    assert_one_line_error(invoke(db, "import", str(missing)), missing, None, None)
    odd = tmp_path / "assets.json"
    odd.write_text("{}", encoding="utf-8")
    assert_one_line_error(invoke(db, "import", str(odd)), odd, None, None)
    assert invoke(db, "import", str(assets_csv)).exit_code == 0
    for args in (["assets", "show", "no-such"], ["assets", "list", "--as-of", "yesterday"],
                 ["assets", "list", "--phase", "phase 9"], ["pipeline", "--as-of", "2024-02-30"],
                 ["export", str(tmp_path / "out.txt")], ["export", str(tmp_path / "no" / "dir.csv")],
                 ["load-bundled", "atlantis"]):
        out = invoke(db, *args)
        assert out.exit_code == 2, (args, out.stdout)
        assert len(out.stderr.strip().splitlines()) == 1, args
        assert "expected" in out.stderr, args


def test_load_bundled_from_a_package_folder(tmp_path: Path, db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "data"
    folder = root / "demo"
    folder.mkdir(parents=True)
    write_csv(folder / "assets.csv", ["D1,Demo"], header="id,name")
    write_csv(folder / "events.csv", ["D1,phase1,2020-01-01"], header="asset_id,phase,date")
    write_csv(folder / "facts.csv", ["Demo city,approvals,3,2024-12-31"], header="entity,field,value,as_of")
    monkeypatch.setattr(store_cmds, "_bundled_root", lambda: root)
    assert store_cmds.bundled_datasets() == ["demo"]
    out = invoke(db, "load-bundled", "demo")
    assert out.exit_code == 0, out.stderr
    assert "bundled:demo" in out.stdout
    with Store.open(db) as store:
        assert [a.id for a in store.assets()] == ["D1"]
        assert store.facts()[0].value == "3"
    assert "nothing new" in invoke(db, "load-bundled", "demo").stdout


@pytest.mark.skipif("chongqing" not in store_cmds.bundled_datasets(), reason="bundled chongqing data not present yet")
def test_load_bundled_chongqing(db: str) -> None:
    out = invoke(db, "load-bundled", "chongqing")
    assert out.exit_code == 0, out.stderr
    with Store.open(db) as store:
        assert store.assets()
        assert not store.add_assets(store.assets()).changed
    pipeline = json.loads(invoke(db, "pipeline", "--json").stdout)
    assert pipeline["total"] > 0


def test_data_is_printed_as_text_never_as_markup_or_control(tmp_path: Path, db: str) -> None:
    names = ["[/]", "[link=https://evil.example]click[/link]", "bold\x1b]0;pwned\x07\x1b[2J"]
    rows = [f'X{i},"{n}",[red]Co[/red],small molecule,oncology,phase2,2021-03-0{i},,' for i, n in enumerate(names, 1)]
    rows.append("ctr:x9,[b]GR1501[/b],Co,antibody,immunology,phase1,2022-01-01,,")
    assert invoke(db, "import", str(write_csv(tmp_path / "evil.csv", rows))).exit_code == 0
    for command in (["assets", "list"], ["pipeline", "--as-of", "2025-01-01"], ["orgs"], ["review"],
                    ["assets", "show", "X2"]):
        out = invoke(db, *command)
        assert out.exit_code == 0, (command, out.stderr)
        assert "\x1b" not in out.stdout, command
        assert "\x07" not in out.stdout, command
        if command[0] == "pipeline" or command == ["assets", "list"]:
            flat = "".join(out.stdout.split())
            assert "[/]" in flat, command
            assert "[red]Co" in flat, command
            assert "\\x1b" in flat, command
        if command == ["assets", "show", "X2"]:
            assert "[link=https://evil.example]click[/link]" in out.stdout


def test_a_read_of_a_missing_store_is_an_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "registry.sqlite"
    for command in (["assets", "list"], ["pipeline"], ["review"], ["actions"], ["orgs"], ["export", "x.csv"]):
        out = invoke(str(missing), *command)
        assert out.exit_code == 2, command
        assert str(missing) in out.stderr, command
        assert "no pipecast store" in out.stderr, command
        assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "nowhere").exists()
