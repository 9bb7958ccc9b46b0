"""Alerts fire on change: a committed import through the real command line runs the scan right after it (no
`alerts scan`), an import when nobody watches anything writes no alert rows, and a failing scan is logged and
never fails the import (the next scan finds the change)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_app import invoke
from pipecast.store import Store
from pipecast.store import alerts as alert_store
from pipecast.store import users as user_store

TODAY = "2026-12-01"
HEADER = "id,name,sponsor,modality,therapeutic_area,phase,phase_start,count,aliases"
ROW = ("genrix-gr1501,xeligekimab,Chongqing Genrix Biopharmaceutical,monoclonal antibody,Immunology,suspended,"
       "2026-11-20,,")


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("alerts-on-change") / "bundled.sqlite"
    assert invoke(str(path), "load-bundled", "chongqing").exit_code == 0
    return path


@pytest.fixture
def db(bundled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PIPECAST_TODAY", TODAY)
    copy = tmp_path / "alerts.sqlite"
    copy.write_bytes(bundled.read_bytes())
    with Store.open(copy) as store, user_store.session_scope(store, write=True) as session:
        user_store.add_user(session=session, name="li", role="viewer")
    return str(copy)


@pytest.fixture
def new_event(tmp_path: Path) -> Path:
    path = tmp_path / "gr1501.csv"
    path.write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    return path


def _rows(db: str) -> dict[str, int]:
    from sqlalchemy import func, select

    models = {"alert_state": alert_store.StateRow, "alert_changes": alert_store.ChangeRow,
              "alert_digests": alert_store.DigestRow, "alert_deliveries": alert_store.DeliveryRow}
    with Store.open(db) as store:
        counted: dict[str, int] = store._read(lambda session: {
            name: int(session.scalar(select(func.count()).select_from(model)) or 0) for name, model in models.items()})
    return counted


def test_an_import_reaches_the_watcher_without_a_scan(db: str, new_event: Path) -> None:
    assert invoke(db, "alerts", "watch", "li", "candidate", "genrix-gr1501").exit_code == 0  # sets the baseline
    assert json.loads(invoke(db, "alerts", "list", "--json").stdout) == []
    imported = invoke(db, "import", str(new_event))
    assert imported.exit_code == 0, imported.stderr
    listed = json.loads(invoke(db, "alerts", "list", "--json").stdout)
    assert [(d["user"], d["subject"]) for d in listed] == [("li", "pipecast alerts: 1 change (2026-12-01)")]
    assert "approved -> suspended" in listed[0]["body"]
    assert "GR1501" in listed[0]["body"] or "genrix-gr1501" in listed[0]["body"]
    again = invoke(db, "import", str(new_event))  # nothing new: the scan after it finds nothing
    assert again.exit_code == 0, again.stderr
    assert len(json.loads(invoke(db, "alerts", "list", "--json").stdout)) == 1
    assert json.loads(invoke(db, "alerts", "scan", "--json").stdout) == {"changes": 0, "digests": 0}


def test_an_import_when_nobody_watches_writes_nothing(db: str, new_event: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = _rows(db)
    assert before == {"alert_state": 0, "alert_changes": 0, "alert_digests": 0, "alert_deliveries": 0}
    scans: list[object] = []
    monkeypatch.setattr("pipecast.alerting.scan_registry", lambda *a, **k: scans.append(a))
    assert invoke(db, "import", str(new_event)).exit_code == 0
    assert scans == []  # one query (does anyone watch?), then return
    assert _rows(db) == before


def test_a_failing_scan_does_not_fail_the_import(db: str, new_event: Path, monkeypatch: pytest.MonkeyPatch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    assert invoke(db, "alerts", "watch", "li", "candidate", "genrix-gr1501").exit_code == 0

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("snapshot exploded")

    monkeypatch.setattr("pipecast.alerting.registry_snapshot", broken)
    with caplog.at_level("WARNING", logger="pipecast.alerts"):
        imported = invoke(db, "import", str(new_event))
    assert imported.exit_code == 0, imported.stderr
    assert "snapshot exploded" in caplog.text
    assert "left for the next scan" in caplog.text
    with Store.open(db) as store:
        assert store.asset("genrix-gr1501").phase.value == "suspended"  # the import stands
        assert alert_store.digests(store) == []
    monkeypatch.undo()
    monkeypatch.setenv("PIPECAST_TODAY", TODAY)
    assert json.loads(invoke(db, "alerts", "scan", "--json").stdout)["digests"] == 1  # the next scan finds it


def test_every_change_making_write_runs_the_hook_after_its_commit(db: str) -> None:
    import datetime as dt

    from pipecast.cases import Case
    from pipecast.domain import Organisation, OrgKind
    from pipecast.store.cases import add_case, move_case
    from pipecast.store.money import DealRecord, add_money

    calls: list[str] = []
    with Store.open(db) as store:
        def hook(s: object) -> None:
            assert isinstance(s, Store)
            calls.append(s.asset("genrix-gr1501").phase.value)  # runs after the commit: the write is visible

        store.after_change = hook
        asset = store.asset("genrix-gr1501")
        store.add_assets([asset], dry_run=True)
        add_money(store, [DealRecord("t-1", "Chongqing Genrix Biopharmaceutical", "Test Pharma", "USD", "2026-11",
                                     "deal (test)", "https://x.test/d", candidate="genrix-gr1501")], dry_run=True)
        assert calls == []  # dry runs change nothing
        store.import_data(organisations=[Organisation("cq-nmpa", "Chongqing MPA", OrgKind.DEPARTMENT)])
        add_money(store, [DealRecord("t-1", "Chongqing Genrix Biopharmaceutical", "Test Pharma", "USD", "2026-11",
                                     "deal (test)", "https://x.test/d", candidate="genrix-gr1501")])
        case = add_case(store, Case(0, "Listing", "market_access", "candidate", "GR1501", ("cq-nmpa",),
                                    dt.date(2026, 11, 1)), actor="li")
        assert len(calls) == 2  # opening a case changes nothing watched
        move_case(store, case.id, "in_progress", dt.date(2026, 11, 2), actor="li")
        assert len(calls) == 3

        def broken(s: object) -> None:
            raise RuntimeError("scan failed")

        store.after_change = broken
        store.add_assets([asset])  # no exception: logged, the write stands
