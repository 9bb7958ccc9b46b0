"""Support cases: the workflow, department statistics against hand counts, the store (append-only, hash-chained
events; nothing half-written on bad input) and the `pipecast cases` command line."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
from pathlib import Path

import pytest

from cli_app import invoke
from pipecast.cases import STATUSES, TRANSITIONS, Case, check_move, department_stats, moved, ordered
from pipecast.domain import Organisation, OrgKind
from pipecast.errors import AppendOnlyError, InputError
from pipecast.store import Store
from pipecast.store.cases import add_case, get_case, list_cases, move_case, verify_cases

D = dt.date
ALLOWED = {("open", "in_progress"), ("in_progress", "blocked"), ("blocked", "in_progress"),
           ("in_progress", "resolved")}


def _case(i: int, dept: tuple[str, ...], opened: D, target: D | None, status: str = "open",
          resolved: D | None = None) -> Case:
    return Case(i, f"case {i}", "financing", "company", "org:genrix", dept, opened, status=status,
                target_date=target, resolved_on=resolved)


@pytest.mark.parametrize(("old", "new"), list(itertools.product(STATUSES, STATUSES)))
def test_workflow_allows_exactly_the_written_steps(old: str, new: str) -> None:
    if (old, new) in ALLOWED:
        check_move(old, new)
        assert new in TRANSITIONS[old]
    else:
        with pytest.raises(InputError, match=r"cannot move|skips"):
            check_move(old, new)


def test_resolving_records_outcome_and_is_final() -> None:
    case = _case(1, ("d1",), D(2025, 1, 1), D(2025, 3, 1), status="in_progress")
    done, changes = moved(case, "resolved", D(2025, 2, 1), outcome="loan arranged", money_rmb_m=3000)
    assert (done.resolved_on, done.outcome, done.money_rmb_m) == (D(2025, 2, 1), "loan arranged", 3000)
    assert changes["status"] == ["in_progress", "resolved"]
    with pytest.raises(InputError, match="resolved"):
        moved(done, "in_progress", D(2025, 2, 2))
    with pytest.raises(InputError, match="when the case is resolved"):
        moved(_case(2, ("d1",), D(2025, 1, 1), None), "in_progress", D(2025, 1, 2), outcome="too early")
    with pytest.raises(InputError, match="before"):
        moved(case, "blocked", D(2024, 12, 31))


def test_department_stats_against_hand_counts() -> None:
    today = D(2025, 6, 1)
    cases = [
        _case(1, ("a",), D(2025, 1, 1), D(2025, 2, 1), "resolved", D(2025, 1, 21)),  # in time, 20 days
        _case(2, ("a", "b"), D(2025, 1, 1), D(2025, 2, 1), "resolved", D(2025, 3, 2)),  # late, 60 days
        _case(3, ("a",), D(2025, 1, 1), D(2025, 4, 1)),  # overdue 61 days
        _case(4, ("a",), D(2025, 5, 1), D(2025, 7, 1)),  # not due yet: not judged
        _case(5, ("a",), D(2025, 1, 1), None, "resolved", D(2025, 1, 11)),  # no target: not judged, 10 days
        _case(6, ("b",), D(2025, 1, 1), D(2025, 5, 20), "blocked"),  # overdue 12 days
    ]
    stats = {s.department: s for s in department_stats(cases, today, ["a", "b", "c"])}
    a, b, c = stats["a"], stats["b"], stats["c"]
    # a: judged = 1 (in time), 2 (late), 3 (overdue) -> 1 of 3; days to close 20, 60, 10 -> median 20
    assert (a.cases, a.unresolved, a.overdue, a.resolved, a.judged, a.closed_in_time) == (5, 2, 1, 3, 3, 1)
    assert a.median_days_to_close == 20
    assert a.share_in_time == pytest.approx(1 / 3)
    # b: case 2 (late) and case 6 (overdue) -> 0 of 2; one closed in 60 days
    assert (b.judged, b.closed_in_time, b.median_days_to_close) == (2, 0, 60)
    assert (c.cases, c.share_in_time, c.median_days_to_close) == (0, None, None)
    assert [x.id for x in ordered(cases, today)] == [3, 6, 4, 5, 1, 2]


# ------------------------------------------------------------------------------------------------ store


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cases") / "bundled.sqlite"
    assert invoke(str(path), "load-bundled", "chongqing").exit_code == 0
    with Store.open(path) as store:
        store.import_data(organisations=[Organisation("cq-nmpa", "Chongqing MPA", OrgKind.DEPARTMENT),
                                         Organisation("cq-finance", "Chongqing Finance Bureau", OrgKind.DEPARTMENT)])
    return path


@pytest.fixture
def db(bundled: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "cases.sqlite"
    copy.write_bytes(bundled.read_bytes())
    return copy


def _rows(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as conn:
        return (conn.execute("SELECT count(*) FROM support_cases").fetchone()[0],
                conn.execute("SELECT count(*) FROM case_events").fetchone()[0])


def test_store_cases_events_chain_and_bad_input(db: Path) -> None:
    with Store.open(db) as store:
        case = add_case(store, Case(0, "Priority review", "review_approval", "candidate", "GR1802", ("cq-nmpa",),
                                    D(2025, 10, 1), target_date=D(2026, 3, 31)), actor="li")
        assert case.subject_id == "genrix-gr1802"  # the alias resolved
        for bad, match in [
            (Case(0, "x", "review_approval", "candidate", "no-such-drug", ("cq-nmpa",), D(2025, 1, 1)), "no-such-drug"),
            (Case(0, "x", "review_approval", "candidate", "GR1802", ("no-such-dept",), D(2025, 1, 1)), "department"),
            (Case(0, "x", "financing", "company", "no-such-company", ("cq-finance",), D(2025, 1, 1)), "company"),
            (Case(0, "x", "loans", "company", "org:genrix", ("cq-finance",), D(2025, 1, 1)), "case type"),
        ]:
            with pytest.raises(InputError, match=match):
                add_case(store, bad, actor="li")
        assert _rows(db) == (1, 1)  # nothing half-written
        with pytest.raises(InputError, match="skips the workflow"):
            move_case(store, case.id, "resolved", D(2025, 10, 2), actor="li")
        assert _rows(db) == (1, 1)
        move_case(store, case.id, "in_progress", D(2025, 10, 5), actor="li")
        move_case(store, case.id, "blocked", D(2025, 11, 1), actor="li", note="waiting for data")
        move_case(store, case.id, "in_progress", D(2025, 11, 20), actor="li")
        done = move_case(store, case.id, "resolved", D(2026, 2, 10), actor="wang", outcome="slot", days_moved=40)
        stored, events = get_case(store, case.id)
        assert stored == done
        assert [e.changes.get("status") for e in events][1:] == [
            ["open", "in_progress"], ["in_progress", "blocked"], ["blocked", "in_progress"],
            ["in_progress", "resolved"]]
        assert [e.seq for e in events] == [1, 2, 3, 4, 5]
        assert all(e.prev_hash == p.hash for p, e in itertools.pairwise(events))
        assert verify_cases(store) == []
        assert [c.id for c in list_cases(store, "cq-nmpa")] == [case.id]
        assert list_cases(store, "cq-finance") == []
    with sqlite3.connect(db) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE case_events SET note = 'rewritten' WHERE seq = 3")
    with sqlite3.connect(db) as conn:  # behind pipecast's back: triggers dropped, an event edited, a row edited
        conn.execute("DROP TRIGGER case_events_no_update")
        conn.execute("UPDATE case_events SET note = 'rewritten' WHERE seq = 3")
    with Store.open(db) as store:
        assert verify_cases(store) == [
            f"case {case.id}: event 3 does not match the hash chain (changed, or an event before it was removed)"]


def test_case_row_edited_behind_the_store_shows(db: Path) -> None:
    with Store.open(db) as store:
        case = add_case(store, Case(0, "Loan", "financing", "company", "org:genrix", ("cq-finance",), D(2025, 1, 1)),
                        actor="li")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE support_cases SET status = 'resolved' WHERE id = ?", (case.id,))
    with Store.open(db) as store:
        assert verify_cases(store) == [f"case {case.id}: stored state differs from its events (status)"]
        from pipecast.store.cases import CaseEventRow

        def work(session):  # type: ignore[no-untyped-def]
            session.delete(session.get(CaseEventRow, 1))
            session.flush()

        with pytest.raises(AppendOnlyError):
            store._write(work)


def test_cli_add_move_list_stats(db: Path) -> None:
    cli = str(db)
    out = invoke(cli, "cases", "add", "--candidate", "GR1802", "--type", "review_approval", "--department",
                 "cq-nmpa", "--title", "Review slot", "--target-date", "2025-12-01", "--on", "2025-10-01", "--json")
    assert out.exit_code == 0, out.stderr
    first = json.loads(out.stdout)["id"]
    out = invoke(cli, "cases", "add", "--company", "org:genrix", "--type", "financing", "--department",
                 "cq-finance", "--department", "cq-nmpa", "--title", "Bank loan", "--target-date", "2026-06-30",
                 "--on", "2025-09-01", "--json")
    second = json.loads(out.stdout)["id"]
    bad = invoke(cli, "cases", "move", str(first), "resolved", "--on", "2025-10-02")
    assert bad.exit_code == 2
    assert bad.stderr.count("\n") == 1
    assert "skips the workflow" in bad.stderr
    bad = invoke(cli, "cases", "add", "--candidate", "GR1802", "--type", "other", "--department", "nope",
                 "--title", "x")
    assert bad.exit_code == 2
    assert "unknown department 'nope'" in bad.stderr
    assert invoke(cli, "cases", "move", str(second), "in_progress", "--on", "2025-09-02").exit_code == 0
    out = invoke(cli, "cases", "move", str(second), "resolved", "--on", "2025-11-01", "--outcome",
                 "RMB 3 billion loan arranged", "--money", "3000")
    assert out.exit_code == 0, out.stderr
    listed = json.loads(invoke(cli, "cases", "list", "--department", "cq-nmpa", "--on", "2026-01-01",
                               "--json").stdout)
    assert [(c["id"], c["overdue_days"]) for c in listed] == [(first, 31), (second, 0)]  # overdue first
    stats = json.loads(invoke(cli, "cases", "stats", "--on", "2026-01-01", "--json").stdout)["departments"]
    nmpa = next(s for s in stats if s["department"] == "cq-nmpa")
    # cq-nmpa: first overdue (not in time), second resolved 2025-11-01 <= 2026-06-30 after 61 days
    assert (nmpa["judged"], nmpa["closed_in_time"], nmpa["median_days_to_close"]) == (2, 1, 61)
    shown = json.loads(invoke(cli, "cases", "show", str(second), "--json").stdout)
    assert shown["money_rmb_m"] == 3000
    assert len(shown["events"]) == 3
    assert invoke(cli, "cases", "verify").exit_code == 0


@pytest.mark.postgres
def test_cases_on_postgresql(postgres_db_url: str) -> None:
    """The same workflow, chain and triggers on PostgreSQL (migration 0007 there)."""
    import sqlalchemy as sa

    with Store.open(postgres_db_url) as store:
        store.import_data(organisations=[Organisation("cq-nmpa", "Chongqing MPA", OrgKind.DEPARTMENT),
                                         Organisation("org:genrix", "Genrix")])
        case = add_case(store, Case(0, "Loan", "financing", "company", "Genrix", ("cq-nmpa",), D(2025, 1, 1)),
                        actor="li")
        move_case(store, case.id, "in_progress", D(2025, 1, 2), actor="li")
        with pytest.raises(InputError, match="skips the workflow"):
            move_case(store, case.id, "open", D(2025, 1, 3), actor="li")
        assert verify_cases(store) == []
        with pytest.raises(sa.exc.SQLAlchemyError, match="append-only"), store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE case_events SET note = 'x'"))
