"""History that cannot be rewritten unseen: triggers refuse what they can; `pipecast verify` finds the rest.

Each tamper is done the way an adversary with the database file or a SQL prompt would: raw SQL, triggers
dropped, foreign keys off. The chain's first link is also recomputed here by hand, from the raw row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cli_app import invoke
from pipecast.domain import Asset, Phase, PhaseEvent, Source
from pipecast.store import Fact, Store

D = dt.date

VERSIONS = Path(__file__).resolve().parents[1] / "src" / "pipecast" / "store" / "migrations" / "versions"
NEWEST_MIGRATION = max(p.name.split("_")[0] for p in VERSIONS.glob("[0-9]*_*.py"))


def sample() -> list[Asset]:
    return [
        Asset("A1", "Alpha", (PhaseEvent(Phase.PHASE1, D(2020, 1, 1), Source("CDE notice", "https://cde/1")),
                              PhaseEvent(Phase.PHASE2, D(2022, 3, 1))), sponsor="Alpha Co"),
        Asset("B2", "Beta", (PhaseEvent(Phase.PHASE3, D(2021, 5, 5)),), sponsor="Beta Co"),
    ]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite"
    with Store.open(path) as store:
        store.add_assets(sample())
        store.add_facts([Fact("Chongqing", "clinical_trials", "42", D(2023, 12, 31))])
        store.merge("A1", ["B2"], reason="test", actor="t")
    return path


def raw(path: Path, *statements: str) -> None:
    """Run SQL on the file directly (Python's sqlite3, foreign keys off: the default)."""
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def verify(path: Path, *args: str) -> tuple[int, str]:
    out = invoke(str(path), "verify", *args)
    return out.exit_code, out.stdout + out.stderr


def test_an_intact_store_verifies(db: Path) -> None:
    code, output = verify(db)
    assert code == 0, output
    assert len(output.strip().splitlines()) == 1
    assert "history intact" in output
    assert "3 phase_events" in output
    assert "2 assets" in output
    assert "1 facts" in output
    code, output = verify(db, "--json")
    data = json.loads(output)
    assert code == 0
    assert data["ok"] is True
    assert data["broken"] is None
    assert data["rows"] == {"assets": 2, "phase_events": 3, "facts": 1, "resolution_actions": 1,
                            "asset_redirects": 1, "event_reassignments": 0, "deals": 0, "funding_events": 0,
                            "audit_log": 0}
    assert len(data["head"]) == 64


def test_the_first_link_is_sha256_of_the_raw_row(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT id, asset_id, phase, date, indication, source_title, source_url, source_date, "
                           "recorded, recorded_at, import_batch_id FROM phase_events ORDER BY id LIMIT 1").fetchone()
        link = conn.execute("SELECT prev_hash, hash FROM history_chain WHERE table_name = 'phase_events' "
                            "ORDER BY id LIMIT 1").fetchone()
    finally:
        conn.close()
    names = ("id", "asset_id", "phase", "date", "indication", "source_title", "source_url", "source_date",
             "recorded", "recorded_at", "import_batch_id")
    fields = dict(zip(names, row, strict=True))
    fields["recorded_at"] = fields["recorded_at"].replace(" ", "T")[:26].ljust(26, "0")  # ISO, microseconds
    content = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert link[0] == ""
    assert link[1] == hashlib.sha256(f"\nphase_events\n{content}".encode()).hexdigest()


def test_insert_or_replace_is_refused(db: Path) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw(db, "INSERT OR REPLACE INTO phase_events (id, asset_id, phase, date, indication, source_title, "
                "source_url, recorded_at) VALUES (1, 'A1', 'approved', '2020-01-01', '', '', '', '2020-01-01')")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw(db, "REPLACE INTO facts (id, entity, field, value, unit, as_of_text, source_title, source_url, note, "
                "recorded_at) VALUES (1, 'Chongqing', 'clinical_trials', '99', '', '', '', '', '', '2020-01-01')")
    assert verify(db)[0] == 0


def test_an_update_with_triggers_dropped_is_found(db: Path) -> None:
    raw(db, "DROP TRIGGER phase_events_no_update", "UPDATE phase_events SET date = '2019-06-30' WHERE id = 2")
    code, output = verify(db)
    assert code == 1
    assert "phase_events row 2" in output
    assert "date is '2019-06-30', the chain recorded '2022-03-01'" in output


def test_a_fact_rewritten_is_found(db: Path) -> None:
    raw(db, "DROP TRIGGER facts_no_update", "UPDATE facts SET value = '420'")
    code, output = verify(db)
    assert code == 1
    assert "facts row 1" in output
    assert "value is '420'" in output


def test_deleting_a_candidate_with_foreign_keys_off(db: Path) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="cannot be deleted"):
        raw(db, "DELETE FROM assets WHERE id = 'B2'")
    raw(db, "DROP TRIGGER assets_no_delete", "DELETE FROM assets WHERE id = 'B2'")
    code, output = verify(db)
    assert code == 1
    assert "assets row B2: the row was deleted" in output


def test_deleting_the_last_event_is_found(db: Path) -> None:
    raw(db, "DROP TRIGGER phase_events_no_delete", "DELETE FROM phase_events WHERE id = 3")
    code, output = verify(db)
    assert code == 1
    assert "phase_events row 3: the row was deleted" in output


def test_a_row_written_outside_pipecast_is_found(db: Path) -> None:
    raw(db, "INSERT INTO phase_events (asset_id, phase, date, indication, source_title, source_url, recorded_at) "
            "VALUES ('A1', 'approved', '2024-01-01', '', '', '', '2024-01-02 00:00:00')")
    code, output = verify(db)
    assert code == 1
    assert "phase_events row 4" in output
    assert "not in the hash chain" in output


def test_a_removed_link_is_found(db: Path) -> None:
    raw(db, "DROP TRIGGER history_chain_no_delete",
        "DELETE FROM history_chain WHERE table_name = 'phase_events' AND row_id = '1'")
    code, output = verify(db)
    assert code == 1
    assert "phase_events row 2" in output
    assert "removed or changed" in output


def test_writes_after_a_tamper_do_not_launder_it(db: Path) -> None:
    raw(db, "INSERT INTO phase_events (asset_id, phase, date, indication, source_title, source_url, recorded_at) "
            "VALUES ('A1', 'approved', '2024-01-01', '', '', '', '2024-01-02 00:00:00')")
    with Store.open(db) as store:
        store.add_assets([Asset("C3", "Gamma", (PhaseEvent(Phase.PHASE1, D(2023, 1, 1)),))])
        report = store.verify()
    assert report.broken is not None
    assert report.broken.row_id == "4"


def test_a_store_from_before_the_chain_gets_chained(tmp_path: Path) -> None:
    from alembic import command

    from pipecast.store.schema import alembic_config

    path = tmp_path / "old.sqlite"
    with Store.open(path, migrate=False) as store:
        with store.engine.begin() as conn:
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, "0002")
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO assets (id, name, sponsor, modality, therapeutic_area, indication, "
                              "target, nmpa_class, jurisdiction, count, note, created_at, updated_at) VALUES "
                              "('OLD', 'Old', '', '', '', '', '', '', 'CN', 1, '', '2024-01-01', '2024-01-01')"))
            for day in (1, 2):
                conn.execute(text("INSERT INTO phase_events (asset_id, phase, date, indication, source_title, "
                                  f"source_url, recorded_at) VALUES ('OLD', 'phase{day}', '202{day}-01-01', '', '', "
                                  "'', '2024-01-01 00:00:00')"))
    with Store.open(path) as store:
        report = store.verify()
        assert store.schema_version() == NEWEST_MIGRATION
    assert report.ok
    assert report.rows["phase_events"] == 2
    assert report.rows["assets"] == 1


def _audit_rows(path: Path, count: int) -> None:
    from pipecast.store import audit
    from pipecast.store.users import session_scope

    with Store.open(path) as store, session_scope(store, write=True) as session:
        for n in range(count):
            audit.record(session=session, actor=f"user{n}", action="facts.post", outcome="ok", status=201,
                         changes={"value": n})


@pytest.mark.parametrize(("statements", "problem"), [
    (("DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET actor = 'nobody' WHERE id = 2"),
     "actor is 'nobody', the chain recorded 'user1'"),
    (("DROP TRIGGER audit_log_no_delete", "DELETE FROM audit_log WHERE id = 3"), "the row was deleted"),
    (("INSERT INTO audit_log (at, actor, role, org_id, action, method, path, resource, outcome, status, client, "
      "source, changes, message) VALUES ('2026-01-01 00:00:00', 'ghost', '', '', 'x', '', '', '', 'ok', 200, '', "
      "'', '{}', '')",), "not in the hash chain"),
])
def test_a_tampered_audit_row_is_found(db: Path, statements: tuple[str, ...], problem: str) -> None:
    _audit_rows(db, 3)
    code, output = verify(db, "--json")
    assert code == 0, output
    assert json.loads(output)["rows"]["audit_log"] == 3
    raw(db, *statements)
    code, output = verify(db, "--json")
    assert code != 0
    broken = json.loads(output)["broken"]
    assert broken["table"] == "audit_log"
    assert problem in broken["problem"]


def test_audit_rows_from_before_migration_0006_get_chained(tmp_path: Path) -> None:
    from alembic import command

    from pipecast.store.schema import alembic_config

    path = tmp_path / "old.sqlite"
    with Store.open(path, migrate=False) as store, store.engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        for actor in ("a", "b"):
            conn.execute(text("INSERT INTO audit_log (at, actor, role, org_id, action, method, path, resource, "
                              "outcome, status, client, source, changes, message) VALUES "
                              f"('2026-01-01 00:00:00', '{actor}', '', '', 'login', 'POST', '/login', '', 'ok', "
                              "200, '', '', '{}', '')"))
    with Store.open(path) as store:
        report = store.verify()
    assert report.ok, report.broken
    assert report.rows["audit_log"] == 2
    raw(path, "DROP TRIGGER audit_log_no_update", "UPDATE audit_log SET actor = 'c' WHERE actor = 'a'")
    with Store.open(path) as store:
        broken = store.verify().broken
    assert broken is not None
    assert (broken.table, broken.row_id) == ("audit_log", "1")


def test_a_read_of_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "store.sqlite"
    code, output = verify(missing)
    assert code == 2
    assert str(missing) in output
    assert len(output.strip().splitlines()) == 1
    assert not (tmp_path / "no").exists()


@pytest.mark.postgres
def test_postgres_refuses_truncate_and_finds_an_update(postgres_db_url: str) -> None:
    with Store.open(postgres_db_url) as store:
        store.add_assets(sample())
        for statement in ("TRUNCATE phase_events CASCADE", "TRUNCATE assets CASCADE", "TRUNCATE history_chain",
                          "DELETE FROM assets WHERE id = 'B2'",
                          "INSERT INTO phase_events (id, asset_id, phase, date, indication, source_title, source_url, "
                          "recorded_at) VALUES (1, 'A1', 'approved', '2020-01-01', '', '', '', now()) "
                          "ON CONFLICT (id) DO UPDATE SET phase = 'approved'"):
            with pytest.raises(SQLAlchemyError, match="append-only"), store.engine.begin() as conn:
                conn.execute(text(statement))
        assert store.verify().ok
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE phase_events DISABLE TRIGGER USER"))
            conn.execute(text("UPDATE phase_events SET phase = 'approved' WHERE id = 1"))
        report = store.verify()
    assert report.broken is not None
    assert (report.broken.table, report.broken.row_id) == ("phase_events", "1")
    assert "phase is 'approved', the chain recorded 'phase1'" in report.broken.problem


def _sql_block(heading: str) -> list[str]:
    """The statements of the ```sql block in docs/database.md whose first line is `-- {heading}`."""
    text_ = (Path(__file__).resolve().parents[1] / "docs" / "database.md").read_text(encoding="utf-8")
    for block in text_.split("```sql\n")[1:]:
        body = block.split("```", 1)[0]
        if body.startswith(f"-- {heading}"):
            code = "\n".join(line for line in body.splitlines() if not line.startswith("--"))
            return [s.strip() for s in code.split(";") if s.strip()]
    raise AssertionError(f"no sql block {heading!r} in docs/database.md")


@pytest.mark.postgres
def test_the_documented_roles_allow_imports_and_refuse_rewrites(postgres_url: str) -> None:
    import uuid

    import psycopg

    tag = "pc" + uuid.uuid4().hex[:8]

    def named(statement: str) -> str:
        return statement.replace("pipecast_", f"{tag}_").replace("DATABASE pipecast", f"DATABASE {tag}")

    server = postgres_url.rsplit("/", 1)[0]
    with psycopg.connect(postgres_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as admin:
        for statement in _sql_block("pipecast roles"):
            admin.execute(named(statement))
    owner, app, audit = (f"{server.replace('postgres@', f'{tag}_{r}@')}/{tag}" for r in ("owner", "app", "audit"))
    with Store.open(owner) as store:
        assert store.schema_version() == NEWEST_MIGRATION
        with store.engine.begin() as conn:
            for statement in _sql_block("pipecast grants"):
                conn.execute(text(named(statement)))
    with Store.open(app, create=False) as store:
        store.add_assets(sample())
        renamed = Asset("A1", "Alpha renamed", sample()[0].history, sponsor="Alpha Co")
        assert store.add_assets([renamed]).assets_updated == 1  # current values may change
        store.merge("A1", ["B2"], reason="same", actor="t")
        for statement in ("UPDATE phase_events SET phase = 'approved'", "DELETE FROM phase_events",
                          "TRUNCATE phase_events CASCADE", "DELETE FROM assets WHERE id = 'B2'",
                          "UPDATE history_chain SET hash = ''", "UPDATE assets SET created_at = now()",
                          "ALTER TABLE phase_events DISABLE TRIGGER USER"):
            with pytest.raises(SQLAlchemyError, match=r"permission denied|must be owner"), \
                    store.engine.begin() as conn:
                conn.execute(text(statement))
    with Store.open(audit, create=False) as store:
        assert store.verify().ok
        with pytest.raises(SQLAlchemyError, match="permission denied"), store.engine.begin() as conn:
            conn.execute(text("INSERT INTO facts (entity, field, value, unit, as_of_text, source_title, source_url, "
                              "note, recorded_at) VALUES ('x', 'y', '1', '', '', '', '', '', now())"))
