"""Company announcements as dated, sourced events."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_app import invoke
from pipecast.domain import Phase
from pipecast.errors import InputError
from pipecast.ingest.announcements import import_announcements, parse_event, read_announcements
from pipecast.ingest.assets_file import load_dataset
from pipecast.store import Store

ROOT = Path(__file__).resolve().parents[1]
CHONGQING = ROOT / "src" / "pipecast" / "data" / "chongqing"
TODAY = dt.date(2026, 7, 1)
HEADER = "drug,event,date,source_url,source_title,indication\n"


def _file(tmp_path: Path, *lines: str, header: str = HEADER) -> Path:
    path = tmp_path / "ann.csv"
    path.write_text(header + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with Store.open(sqlite_url) as opened:
        yield opened


@pytest.mark.parametrize(
    ("wording", "phase"),
    [
        ("IND approved", Phase.PHASE1), ("获得药物临床试验批准通知书", Phase.PHASE1), ("Phase 3 start", Phase.PHASE3),
        ("启动III期临床试验", Phase.PHASE3), ("Phase I/II", Phase.PHASE2), ("NDA accepted", Phase.FILED),
        ("新药上市申请获得受理", Phase.FILED), ("上市申请获受理", Phase.FILED), ("BLA approved", Phase.APPROVED),
        ("获批上市", Phase.APPROVED), ("approval", Phase.APPROVED), ("上市注册申请获批", Phase.APPROVED),
        ("BLA (conditional approval) accepted", Phase.FILED), ("discontinued", Phase.DISCONTINUED),
        ("终止", Phase.DISCONTINUED),
    ],
)
def test_event_wordings(wording: str, phase: Phase) -> None:
    assert parse_event(wording) is phase


def test_unknown_wording_lists_accepted_ones(tmp_path: Path) -> None:
    path = _file(tmp_path, "GR1501,press conference held,2024-01-04,https://example.org/a,Title,")
    with pytest.raises(InputError) as err:
        read_announcements(path, today=TODAY)
    assert (err.value.row, err.value.field) == (2, "event")
    assert "IND approved" in str(err.value)
    assert "NDA accepted" in str(err.value)


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("GR1501,NDA accepted,2024-01-04,,Title,", "source_url"),
        ("GR1501,NDA accepted,2024-01-04,www.example.org,Title,", "source_url"),
        ("GR1501,NDA accepted,,https://example.org/a,Title,", "date"),
        ("GR1501,NDA accepted,2024-01-04,https://example.org/a,,", "source_title"),
        ("GR1501,NDA accepted,2030-01-04,https://example.org/a,Title,", "date"),
    ],
)
def test_missing_or_bad_fields_name_row_and_column(tmp_path: Path, line: str, column: str) -> None:
    path = _file(tmp_path, "GR1802,IND approved,2020-01-01,https://example.org/b,Other,", line)
    with pytest.raises(InputError) as err:
        read_announcements(path, today=TODAY)
    assert (err.value.file, err.value.row, err.value.field) == (str(path), 3, column)


def test_future_date_is_refused(tmp_path: Path) -> None:
    path = _file(tmp_path, "GR1501,approved,2026-07-02,https://example.org/a,Title,")
    with pytest.raises(InputError, match="future"):
        read_announcements(path, today=TODAY)


def test_missing_column_is_an_error(tmp_path: Path) -> None:
    path = _file(tmp_path, "GR1501,approved,2024-08-20,Title", header="drug,event,date,source_title\n")
    with pytest.raises(InputError, match="source_url"):
        read_announcements(path, today=TODAY)


def test_gr1501_aliases_resolve_to_the_bundled_candidate(store: Store, tmp_path: Path) -> None:
    store.import_data(assets=load_dataset(CHONGQING, today=TODAY), source_file=CHONGQING)
    path = _file(
        tmp_path,
        "赛立奇单抗注射液（金立希®）,新适应症上市申请获受理,2024-01-04,https://example.org/x,X,axial spondyloarthritis",
        "Xeligekimab Injection,approved,2025-01-20,https://example.org/y,Y,ankylosing spondylitis",
        "GR1501注射液,Phase 3 start,2021-06-01,https://example.org/z,Z,plaque psoriasis",
    )
    summary = import_announcements(store, path, today=TODAY)
    assert set(summary.resolved.values()) == {"genrix-gr1501"}
    assert not summary.unresolved
    assert summary.candidates_created == 0
    assert summary.events_added == 3
    history = store.asset("genrix-gr1501").history
    assert {(e.phase, e.date) for e in history} >= {(Phase.FILED, dt.date(2024, 1, 4)),
                                                    (Phase.PHASE3, dt.date(2021, 6, 1))}
    assert store.asset("genrix-gr1501").name == "xeligekimab"  # attributes untouched


def test_unresolved_name_becomes_a_flagged_candidate(store: Store, tmp_path: Path) -> None:
    store.import_data(assets=load_dataset(CHONGQING, today=TODAY), source_file=CHONGQING)
    path = _file(tmp_path, "GR15011注射液,IND approved,2025-03-01,https://example.org/n,N,")
    summary = import_announcements(store, path, today=TODAY)
    assert summary.unresolved == ["announcement:gr15011"]
    new = store.asset("announcement:gr15011")
    assert "unresolved" in new.note
    assert new.phase is Phase.PHASE1
    assert [e.phase for e in store.asset("genrix-gr1501").history][-1] is Phase.APPROVED


def test_dry_run_writes_nothing_and_reimport_is_a_noop(store: Store, tmp_path: Path) -> None:
    path = _file(tmp_path, "GR2303 注射液,获得药物临床试验批准通知书,2025-09-09,https://example.org/g,G,IBD",
                 "GR2303,Phase 2 start,2026-03-01,https://example.org/h,H,IBD")
    dry = import_announcements(store, path, today=TODAY, dry_run=True)
    assert dry.dry_run
    assert dry.candidates_created == 1
    assert dry.events_added == 2
    assert store.assets() == []
    assert store.table_counts()["phase_events"] == 0
    first = import_announcements(store, path, today=TODAY)
    assert first.events_added == 2
    again = import_announcements(store, path, today=TODAY)
    assert not again.changed
    assert again.events_known == 2
    assert again.changes == []


def test_cli_announcements_and_template(tmp_path: Path, sqlite_url: str) -> None:
    path = _file(tmp_path, "GR2303,IND approved,2025-09-09,https://example.org/g,G,IBD")
    result = invoke(sqlite_url, "ingest", "announcements", str(path), "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "would add 1 candidate(s), 1 event(s)" in result.stdout
    sheet = tmp_path / "s.csv"
    sheet.write_text("药名,阶段,日期\nGR2303,I期,09/09/2025\n", encoding="utf-8")
    result = invoke(sqlite_url, "ingest", "template", str(sheet), "--map", "药名=name,阶段=phase,日期=phase_start",
                    "--date-format", "%d/%m/%Y", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["events_added"] == 1
