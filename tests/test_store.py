"""The store on SQLite and PostgreSQL: round trip, idempotence, append-only history, as-of, transactions."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from pipecast.domain import Asset, Phase, PhaseEvent, Source
from pipecast.errors import AppendOnlyError, InputError, StoreError
from pipecast.ingest.assets_file import load_assets
from pipecast.store import Fact, Store, default_db_url, load_facts, resolve_url
from pipecast.store.models import Base, PhaseEventRow
from pipecast.store.store import parse_fact_date

D = dt.date
REG = Source("ClinicalTrials.gov NCT01", "https://clinicaltrials.gov/study/NCT01", D(2021, 3, 2))
NMPA = Source("NMPA approval notice", "https://www.nmpa.gov.cn/x", D(2024, 6, 30))


def alembic_head() -> str:
    """The newest packaged migration, read from the migration scripts themselves."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from pipecast.store.store import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    assert head >= "0002"
    return head


def sample_assets() -> list[Asset]:
    return [
        Asset(
            id="CQ-001", name="Zanubrutinib-like", sponsor="Chongqing Bio", modality="small molecule",
            therapeutic_area="oncology", indication="MCL", target="BTK", nmpa_class="1",
            aliases=("ZB-01", "赞布"),
            history=(
                PhaseEvent(Phase.PHASE1, D(2019, 5, 1), Source("CDE IND notice", "", D(2019, 5, 10))),
                PhaseEvent(Phase.PHASE2, D(2021, 3, 1), REG, "MCL"),
                PhaseEvent(Phase.PHASE3, D(2022, 8, 15), None, "", D(2023, 1, 10)),
            ),
        ),
        Asset(
            id="CQ-002", name="Alpha mAb", sponsor="Liangjiang Pharma", modality="antibody",
            therapeutic_area="immunology",
            history=(
                PhaseEvent(Phase.PHASE3, D(2020, 1, 1)),
                PhaseEvent(Phase.FILED, D(2023, 2, 1)),
                PhaseEvent(Phase.APPROVED, D(2024, 6, 1), NMPA),
            ),
        ),
        Asset(
            id="cohort:cq-preclinical-2023", name="Preclinical programmes (published count)", count=42,
            history=(PhaseEvent(Phase.PRECLINICAL, D(2023, 12, 31), Source("Municipal report 2023")),),
            note="count from a press release",
        ),
    ]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url) as opened:
        yield opened


def test_round_trip(store: Store) -> None:
    assets = sample_assets()
    summary = store.add_assets(assets, source_file=None)
    assert (summary.assets_added, summary.events_added, summary.aliases_added) == (3, 7, 2)
    assert summary.batch_id is not None
    assert store.assets() == sorted(assets, key=lambda a: a.id)
    assert store.asset("CQ-002") == assets[1]
    assert store.schema_version() == alembic_head()


def test_reopen_keeps_data_and_schema(db_url: str) -> None:
    with Store.open(db_url) as first:
        first.add_assets(sample_assets())
    with Store.open(db_url) as second:
        assert len(second.assets()) == 3
        assert second.schema_version() == alembic_head()


def test_reimport_is_idempotent(store: Store) -> None:
    store.add_assets(sample_assets())
    before = store.table_counts()
    again = store.add_assets(sample_assets())
    assert not again.changed
    assert again.events_known == 7
    assert again.events_added == 0
    assert again.batch_id is None
    assert store.table_counts() == before
    assert len(store.batches()) == 1


def test_event_without_source_matches_a_sourced_one(store: Store) -> None:
    store.add_assets(sample_assets())
    bare = [Asset("CQ-002", "Alpha mAb", (PhaseEvent(Phase.APPROVED, D(2024, 6, 1)),))]
    assert not store.add_assets(bare).changed


def test_history_is_append_only(store: Store) -> None:
    first = Asset("A1", "Alpha", (PhaseEvent(Phase.PHASE1, D(2020, 1, 1)),), sponsor="Old Co")
    store.add_assets([first])
    later = Asset("A1", "Alpha renamed", (PhaseEvent(Phase.PHASE2, D(2022, 2, 2), REG),), sponsor="New Co")
    summary = store.add_assets([later])
    assert (summary.assets_added, summary.assets_updated, summary.events_added) == (0, 1, 1)
    asset = store.asset("A1")
    assert asset.name == "Alpha renamed"
    assert asset.sponsor == "New Co"
    assert [(e.phase, e.date) for e in asset.history] == [(Phase.PHASE1, D(2020, 1, 1)), (Phase.PHASE2, D(2022, 2, 2))]
    # a blank attribute never erases a stored one
    store.add_assets([Asset("A1", "A1", (PhaseEvent(Phase.PHASE1, D(2020, 1, 1)),))])
    assert store.asset("A1").sponsor == "New Co"
    assert store.asset("A1").name == "Alpha renamed"
    assert len(store.history("A1")) == 2


def test_history_rows_cannot_be_changed(store: Store) -> None:
    store.add_assets(sample_assets())
    with pytest.raises(SQLAlchemyError), store.engine.begin() as conn:
        conn.execute(text("UPDATE phase_events SET phase = 'approved'"))
    with pytest.raises(SQLAlchemyError), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM phase_events"))
    store.add_facts([Fact("Chongqing", "clinical_trials", "42", D(2023, 12, 31))])
    with pytest.raises(SQLAlchemyError), store.engine.begin() as conn:
        conn.execute(text("DELETE FROM facts"))
    with pytest.raises(SQLAlchemyError), store.engine.begin() as conn:
        conn.execute(text("UPDATE facts SET value = '43'"))
    with Session(store.engine) as session:
        row = session.get(PhaseEventRow, 1)
        assert row is not None
        row.phase = "approved"
        with pytest.raises(AppendOnlyError):
            session.flush()
    assert store.table_counts()["phase_events"] == 7
    assert store.facts()[0].value == "42"


def test_as_of_rebuild_ignores_later_events(store: Store) -> None:
    store.add_assets(sample_assets())
    cutoff = D(2022, 12, 31)
    before = store.assets(as_of=cutoff)
    assert {a.id: a.phase for a in before} == {"CQ-001": Phase.PHASE2, "CQ-002": Phase.PHASE3}
    # CQ-001's phase3 is dated 2022-08-15 but was only recorded on 2023-01-10: not known at the cutoff
    planted = [
        Asset("CQ-001", "Zanubrutinib-like", (
            PhaseEvent(Phase.FILED, D(2024, 9, 1), Source("CDE acceptance")),
            PhaseEvent(Phase.DISCONTINUED, D(2021, 6, 1), Source("late report"), recorded=D(2025, 1, 5)),
        )),
        Asset("NEW-1", "Found later", (PhaseEvent(Phase.PHASE1, D(2022, 5, 1), recorded=D(2024, 2, 2)),)),
    ]
    summary = store.add_assets(planted)
    assert summary.events_added == 3
    assert store.assets(as_of=cutoff) == before
    # by hand: on the cutoff CQ-001 is in phase 2 (its phase 3 and discontinuation were recorded later),
    # CQ-002 in phase 3 (filed only in 2023), the preclinical cohort (dated 2023-12-31) not yet known
    assert store.counts(cutoff) == {p: 0 for p in Phase} | {Phase.PHASE2: 1, Phase.PHASE3: 1}
    assert store.asset("CQ-001", as_of=D(2023, 1, 10)).phase is Phase.PHASE3
    assert store.asset("CQ-001").phase is Phase.FILED
    latest = {a.id: a.phase for a in store.assets(as_of=D(2025, 6, 1))}
    assert latest["NEW-1"] is Phase.PHASE1
    with pytest.raises(InputError, match="not yet known"):
        store.asset("NEW-1", as_of=cutoff)
    counts = store.counts(D(2025, 6, 1))
    assert counts[Phase.PRECLINICAL] == 42
    assert counts[Phase.APPROVED] == 1


def test_a_failure_mid_import_writes_nothing(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipecast.store import upserts

    real = upserts.upsert_assets

    def fails_at_row_five(session: Session, assets: list[Asset], batch: object, summary: object,
                          sponsors: object = None) -> None:
        if len(assets) < 5:
            return real(session, assets, batch, summary, sponsors)  # type: ignore[arg-type]
        real(session, assets[:4], batch, summary, sponsors)  # type: ignore[arg-type]
        session.flush()  # the first four rows really reach the database
        raise RuntimeError("row 5 broke")

    monkeypatch.setattr(upserts, "upsert_assets", fails_at_row_five)
    with Store.open(db_url) as store:
        store.add_assets(sample_assets()[:1])
        before_counts, before_assets = store.table_counts(), store.assets()
        many = [Asset(f"X{i}", f"x{i}", (PhaseEvent(Phase.PHASE1, D(2020, 1, i)),)) for i in range(1, 7)]
        with pytest.raises(RuntimeError, match="row 5"):
            store.add_assets(many)
        assert store.table_counts() == before_counts
        assert store.assets() == before_assets


def _stream(n: int, fail_at: int | None = None) -> Iterator[Asset]:
    """n candidates, one event each, yielded lazily; raising at `fail_at` (a reader meeting a bad row)."""
    for i in range(n):
        if i == fail_at:
            raise InputError("bad row", file="big.csv", row=i + 2)
        yield Asset(f"S{i:05d}", f"s{i}", (PhaseEvent(Phase.PHASE1, D(2020, 1, 1) + dt.timedelta(days=i % 300)),))


def test_a_stream_is_written_in_chunks_in_one_transaction(store: Store) -> None:
    from pipecast.store import upserts

    n = 2 * upserts.CHUNK + 7
    seen: list[int] = []
    result = store.import_data(assets=_stream(n), progress=seen.append)
    # one progress call per chunk, counting candidates written; then the store holds all of them
    assert seen == [upserts.CHUNK, 2 * upserts.CHUNK, n]
    assert (result.assets_added, result.events_added, result.rows) == (n, n, n)
    assert store.table_counts()["assets"] == n
    assert len(store.batches()) == 1
    assert store.batches()[0].rows == n


def test_a_stream_that_fails_after_the_first_chunks_writes_nothing(store: Store) -> None:
    from pipecast.store import upserts

    store.add_assets(sample_assets())
    before_counts, before_batches = store.table_counts(), store.batches()
    with pytest.raises(InputError, match="bad row"):
        store.import_data(assets=_stream(3 * upserts.CHUNK, fail_at=2 * upserts.CHUNK + 1))
    assert store.table_counts() == before_counts
    assert store.batches() == before_batches
    assert store.verify().ok


def test_a_duplicate_id_in_a_later_chunk_writes_nothing_and_names_every_duplicate(store: Store) -> None:
    from pipecast.store import upserts

    assets = [*_stream(upserts.CHUNK + 3), *_stream(2)]  # S00000 and S00001 again, in the second chunk
    with pytest.raises(InputError, match="S00000, S00001"):
        store.import_data(assets=iter(assets))
    assert store.table_counts()["assets"] == 0


def test_changes_are_listed_up_to_the_cap_and_counted_in_full(store: Store) -> None:
    from pipecast.store import CHANGES_LISTED

    n = CHANGES_LISTED  # each candidate gives two changes: "+ asset" and "+ event"
    result = store.import_data(assets=_stream(n))
    assert len(result.changes) == CHANGES_LISTED
    assert result.changes_omitted == 2 * n - CHANGES_LISTED
    assert sum(result.changes_by_asset.values()) == 2 * n
    assert set(result.changes_by_asset) == {f"S{i:05d}" for i in range(n)}


def test_source_name_is_recorded_as_the_imports_file(store: Store, tmp_path: Path) -> None:
    upload = tmp_path / "tmp-upload-3f9a.csv"
    upload.write_text("whatever\n", encoding="utf-8")
    result = store.import_data(assets=sample_assets(), source_file=upload, source_name="pipeline.csv")
    assert result.file == "pipeline.csv"
    assert store.batches()[-1].file == "pipeline.csv"
    assert store.batches()[-1].sha256 == hashlib.sha256(b"whatever\n").hexdigest()


def test_a_file_with_a_bad_row_five_leaves_the_store_unchanged(store: Store, tmp_path: Path) -> None:
    store.add_assets(sample_assets())
    before_counts, before_assets = store.table_counts(), store.assets()
    lines = ["id,name,sponsor,modality,therapeutic_area,phase,phase_start"]
    lines += [f"N{i},n{i},S,small molecule,oncology,phase1,2021-01-0{i}" for i in range(1, 4)]
    lines += ["N4,n4,S,small molecule,oncology,phase 9,2021-01-04"]  # spreadsheet row 5
    lines += ["N5,n5,S,small molecule,oncology,phase2,2021-01-05"]
    path = tmp_path / "assets.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        store.add_assets(load_assets(path), source_file=path)
    assert caught.value.row == 5
    assert caught.value.field == "phase"
    assert store.table_counts() == before_counts
    assert store.assets() == before_assets


def test_duplicate_ids_in_one_import_are_refused(store: Store) -> None:
    one = sample_assets()[0]
    with pytest.raises(InputError, match="duplicate"):
        store.add_assets([one, one])
    assert store.table_counts()["assets"] == 0


def test_alias_lookup(store: Store) -> None:
    store.add_assets(sample_assets())
    assert store.asset("zb 01").id == "CQ-001"
    assert store.asset("ＺＢ－０１").id == "CQ-001"  # full-width
    assert store.asset("赞布").id == "CQ-001"
    assert store.asset("alpha mab").id == "CQ-002"  # by name
    assert store.asset("cq001").id == "CQ-001"  # normalised id
    with pytest.raises(InputError, match="no asset"):
        store.asset("nope")
    store.add_assets([Asset("CQ-003", "Other", (PhaseEvent(Phase.PHASE1, D(2020, 1, 1)),), aliases=("ZB-01",))])
    with pytest.raises(InputError, match="ambiguous"):
        store.asset("ZB-01")
    assert store.asset("CQ-003").aliases == ("ZB-01",)


def test_dry_run_writes_nothing(store: Store) -> None:
    summary = store.add_assets(sample_assets(), dry_run=True)
    assert summary.dry_run
    assert summary.assets_added == 3
    assert summary.batch_id is None
    assert any(line.startswith("+ asset CQ-001") for line in summary.changes)
    assert store.table_counts() == dict.fromkeys(store.table_counts(), 0)


def test_history_records_carry_provenance(store: Store, tmp_path: Path) -> None:
    marker = tmp_path / "source.csv"
    marker.write_text("x\n", encoding="utf-8")
    store.add_assets(sample_assets(), source_file=marker)
    records = store.history("ZB-01")
    assert [r.event.phase for r in records] == [Phase.PHASE1, Phase.PHASE2, Phase.PHASE3]
    assert all(r.batch_file == str(marker) and r.recorded_at.tzinfo is not None for r in records)
    batch = store.batches()[0]
    assert batch.rows == 3
    assert batch.events_added == 7
    assert len(batch.sha256) == 64


def test_facts_are_appended_and_idempotent(store: Store) -> None:
    facts = [
        Fact("Chongqing", "clinical_trials", "42", D(2023, 12, 31), source=Source("Municipal report")),
        Fact("Chongqing", "funding", "1.2", D(2024, 6, 30), unit="bn CNY"),
    ]
    assert store.add_facts(facts).facts_added == 2
    assert store.add_facts(facts).facts_added == 0
    revised = Fact("Chongqing", "clinical_trials", "45", D(2023, 12, 31), source=Source("Revised report"))
    assert store.add_facts([revised]).facts_added == 1
    assert [f.value for f in store.facts(field="clinical_trials")] == ["42", "45"]
    assert store.facts(as_of=D(2024, 1, 1)) == [facts[0], revised]
    assert store.facts(entity="Chongqing", field="funding")[0].unit == "bn CNY"


def test_models_match_the_migration(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_unknown_schema_version_is_a_store_error(db_url: str) -> None:
    with Store.open(db_url) as store, store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(StoreError, match="9999_future"):
        Store.open(db_url)


def test_open_paths_and_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_url().endswith("/pipecast/pipecast.sqlite")
    with Store.open(None) as store:
        store.add_assets(sample_assets()[:1])
    assert Path(default_db_url().removeprefix("sqlite:///")).exists()
    nested = tmp_path / "a" / "b" / "db.sqlite"
    with Store.open(str(nested)):
        pass
    assert nested.exists()
    assert resolve_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert resolve_url("sqlite://") == "sqlite://"
    with Store.open("sqlite://") as memory:
        memory.add_assets(sample_assets())
        assert len(memory.assets()) == 3


def test_unreachable_database_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StoreError):
        Store.open("nosuchdialect://x/y")


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-08-20", (D(2024, 8, 20), "")),
    ("2025-11", (D(2025, 11, 30), "2025-11")),
    ("2024", (D(2024, 12, 31), "2024")),
    ("before 2024-08-20", (D(2024, 8, 20), "before 2024-08-20")),
    ("c.2020-2021 (year not stated)", (D(2021, 12, 31), "c.2020-2021 (year not stated)")),
    ("2024年3月", (D(2024, 3, 31), "2024年3月")),
    ("unknown", (None, "unknown")),
    ("", (None, "")),
    ("2026-11", (D(2026, 11, 25), "2026-11")),  # a month under way: known by today at the latest
])
def test_loose_fact_dates(text: str, expected: tuple[dt.date | None, str]) -> None:
    assert parse_fact_date(text, today=D(2026, 11, 25)) == expected


def test_facts_file(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "facts.csv"
    path.write_text(
        "entity,field,value,as_of_date,source_title,source_url\n"
        "Chongqing,in clinical trials (count),42,2025-11-27,Ke Ji Ri Bao,https://x\n"
        "Chongqing,fund,RMB 2 billion,2025-11,,\n"
        "FCN-338,deal status,terminated,unknown,,\n",
        encoding="utf-8",
    )
    facts = load_facts(path)
    assert [(f.as_of, f.as_of_text) for f in facts] == [
        (D(2025, 11, 27), ""), (D(2025, 11, 30), "2025-11"), (None, "unknown")]
    assert store.add_facts(facts, source_file=path).facts_added == 3
    assert store.facts() == sorted(facts, key=lambda f: (f.entity, f.field))
    assert [f.value for f in store.facts(as_of=D(2025, 11, 28))] == ["42"]
    bad = tmp_path / "bad_facts.csv"
    bad.write_text("entity,field,value,as_of\nX,y,1,2025-13\nX,y,2,2999-01-01\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_facts(bad)
    assert (caught.value.row, caught.value.field) == (2, "as_of")
    nodate = tmp_path / "nodate.csv"
    nodate.write_text("entity,field,value\nX,y,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="as_of"):
        load_facts(nodate)


def test_two_imports_of_one_file_at_once_run_one_after_the_other(db_url: str, tmp_path: Path) -> None:
    import threading

    lines = ["id,name,sponsor,modality,therapeutic_area,phase,phase_start"]
    lines += [f"N{i},n{i},S,small molecule,oncology,phase1,2021-01-{i:02d}" for i in range(1, 21)]
    path = tmp_path / "assets.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assets = load_assets(path)
    Store.open(db_url).close()  # the schema exists before the race (creating it concurrently is another test)
    start = threading.Barrier(2)
    results: list[object] = []

    def one_import() -> None:
        try:
            with Store.open(db_url) as store:
                start.wait()
                results.append(store.add_assets(assets, source_file=path))
        except BaseException as exc:  # reported below, with the other thread's outcome
            results.append(exc)

    threads = [threading.Thread(target=one_import) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    summaries = [r for r in results if not isinstance(r, BaseException)]
    assert len(summaries) == 2, results
    added = sorted((s.assets_added, s.events_added, s.events_known) for s in summaries)  # type: ignore[attr-defined]
    assert added == [(0, 0, 20), (20, 20, 0)]  # one wrote everything; the other, after it, found it all known
    with Store.open(db_url) as store:
        counts = store.table_counts()
        assert (counts["assets"], counts["phase_events"], counts["import_batches"]) == (20, 20, 1)
        assert store.verify().ok


def test_opening_a_new_store_twice_at_once(tmp_path: Path) -> None:
    import threading

    url = f"sqlite:///{(tmp_path / 'new.sqlite').as_posix()}"
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            start.wait()
            Store.open(url).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store.open(url) as store:
        assert store.schema_version() == alembic_head()


def test_a_read_never_creates_a_store(tmp_path: Path) -> None:
    missing = tmp_path / "a" / "b" / "db.sqlite"
    with pytest.raises(StoreError, match=str(missing)):
        Store.open(missing, create=False)
    assert not (tmp_path / "a").exists()
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    with pytest.raises(StoreError, match="holds no pipecast store"):
        Store.open(empty, create=False)


def test_reimporting_an_earlier_start_date_warns(store: Store) -> None:
    store.add_assets([Asset("A1", "Alpha", (PhaseEvent(Phase.PHASE2, D(2022, 5, 1)),))])
    again = store.add_assets([Asset("A1", "Alpha", (PhaseEvent(Phase.PHASE2, D(2021, 11, 1)),))])
    assert again.events_added == 1
    assert again.warnings == ["A1: phase2 dated 2021-11-01, already recorded on 2022-05-01; both are kept "
                              "(`pipecast check` reports the conflict)"]
    assert "warning: A1: phase2 dated 2021-11-01" in again.describe()
    assert store.add_assets([Asset("A1", "Alpha", (PhaseEvent(Phase.PHASE3, D(2023, 1, 1)),))]).warnings == []
