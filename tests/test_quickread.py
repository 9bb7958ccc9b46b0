"""The plain-SQLite reader `pipecast forecast` uses (`pipecast.store.quickread`) against the Store's own
SQLAlchemy views: the same candidates and facts on every date, with merges, splits and undos in force; and
`pipecast forecast` on a current SQLite store imports no SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from pipecast.domain import Asset, Phase, PhaseEvent, Source
from pipecast.store import Fact, Store
from pipecast.store.quickread import read_inputs, sqlite_path

D = dt.date
CDE = Source("CDE IND notice", "https://www.cde.org.cn/ind/1", D(2019, 5, 10))
CTR = Source("CTR20230999", "http://www.chinadrugtrials.org.cn/CTR20230999", D(2025, 6, 1))
DATES = (D(2019, 1, 1), D(2021, 3, 1), D(2022, 4, 1), D(2023, 12, 31), D(2026, 1, 1))


def sample() -> list[Asset]:
    return [
        Asset("CQ-001", "Xeligekimab", (PhaseEvent(Phase.PHASE1, D(2019, 5, 1), CDE),
                                         PhaseEvent(Phase.PHASE2, D(2021, 3, 1))),
              sponsor="Genrix", aliases=("GR1501", "赛立奇单抗")),
        Asset("ctr:gr1501", "GR1501注射液", (PhaseEvent(Phase.PHASE2, D(2021, 3, 1), CTR),
                                             PhaseEvent(Phase.PHASE3, D(2022, 3, 1), CTR, recorded=D(2022, 6, 1))),
              note="unresolved registry name", aliases=("GR1501 injection",)),
        Asset("CQ-002", "Alpha mAb", (PhaseEvent(Phase.PHASE1, D(2020, 1, 1), CDE),
                                      PhaseEvent(Phase.PHASE2, D(2022, 2, 1), CTR, "NSCLC"),
                                      PhaseEvent(Phase.PHASE3, D(2023, 9, 1), CTR, "NSCLC")),
              modality="mAb", therapeutic_area="oncology", jurisdiction="CN"),
        Asset("cohort:pre-2023", "Preclinical programmes", (PhaseEvent(Phase.PRECLINICAL, D(2023, 12, 31)),),
              count=12),
    ]


def facts() -> list[Fact]:
    return [Fact("Genrix", "deal_value", "120", D(2021, 5, 1), "USD m", CDE, "upfront"),
            Fact("Genrix", "deal_value", "80", None, "USD m", as_of_text="unknown"),
            Fact("Liangjiang Pharma", "funding", "30", D(2023, 1, 31), as_of_text="2023-01")]


def same_everywhere(store: Store, path: Path) -> None:
    for when in DATES:
        quick = read_inputs(str(path), when)
        assert quick is not None
        assert quick == (store.assets(when), store.facts(as_of=when)), when


def test_same_as_the_store_through_merges_splits_and_undos(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store.open(path) as store:
        store.add_assets(sample())
        store.add_facts(facts())
        same_everywhere(store, path)
        merge = store.merge("CQ-001", ["ctr:gr1501"], reason="same drug", actor="ana")
        same_everywhere(store, path)
        split = store.split("CQ-002", new_id="CQ-002b", source="CTR20230999", reason="two drugs", actor="ana")
        same_everywhere(store, path)
        chained = store.merge("CQ-002b", ["CQ-001"], reason="chain", actor="ana")
        same_everywhere(store, path)
        for action in (merge, split, chained):
            store.undo(action, reason="undo", actor="bo")
            same_everywhere(store, path)
        assert read_inputs(f"sqlite:///{path}", D(2026, 1, 1)) == read_inputs(str(path), D(2026, 1, 1))


def test_hands_back_to_the_store_when_it_cannot_read(tmp_path: Path) -> None:
    assert read_inputs(str(tmp_path / "missing.sqlite"), D(2025, 1, 1)) is None
    assert not (tmp_path / "missing.sqlite").exists()
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    assert read_inputs(str(empty), D(2025, 1, 1)) is None  # no schema: the Store says so
    path = tmp_path / "old.sqlite"
    with Store.open(path) as store:
        store.add_assets(sample())
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'an-older-one'"))
    assert read_inputs(str(path), D(2025, 1, 1)) is None  # not at the head: the Store checks or migrates it
    assert sqlite_path("postgresql://u@h/db") is None
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("sqlite:///x.sqlite?mode=ro") is None
    assert sqlite_path("sqlite:////abs/x.sqlite") == Path("/abs/x.sqlite")


def test_forecast_on_a_current_sqlite_store_imports_no_sqlalchemy_or_scipy(tmp_path: Path) -> None:
    db = str(tmp_path / "s.sqlite")
    with Store.open(db) as store:
        store.add_assets(sample())
    code = ("import sys; from pipecast.cli import run; "
            f"status = run(['--db', {db!r}, 'forecast', '--as-of', '2025-01-01', '--target', '2026-2027:0-2', "
            "'--json']); print(status, sorted({m.split('.')[0] for m in sys.modules} & "
            "{'sqlalchemy', 'scipy', 'alembic'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"
