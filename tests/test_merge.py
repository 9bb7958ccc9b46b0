"""Entity resolution on SQLite and PostgreSQL: review suggests, merge/split/undo are explicit and audited.

History stays append-only: a merge or split never changes a phase_events row; the views apply it and
an undo restores exactly the view from before.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cli_app import Outcome, invoke
from pipecast.domain import Asset, Phase, PhaseEvent, Source
from pipecast.errors import InputError
from pipecast.ingest.registry_import import import_registry
from pipecast.store import Store
from pipecast.store.store import ResolutionError

D = dt.date
CDE = Source("CDE IND notice", "https://www.cde.org.cn/ind/1", D(2019, 5, 10))
CTR_A = Source("CTR20220101 (trial_info.csv row 2)", "http://www.chinadrugtrials.org.cn/CTR20220101", D(2025, 6, 1))
CTR_B = Source("CTR20230999 (trial_info.csv row 9)", "http://www.chinadrugtrials.org.cn/CTR20230999", D(2025, 6, 1))
UNRESOLVED = "unresolved registry name 'GR1501注射液' from ctr; confirm or merge"
REG = Path(__file__).parent / "data" / "registry" / "ctr"


def sample() -> list[Asset]:
    return [
        Asset("CQ-001", "Xeligekimab", (
            PhaseEvent(Phase.PHASE1, D(2019, 5, 1), CDE),
            PhaseEvent(Phase.PHASE2, D(2021, 3, 1)),
        ), sponsor="Genrix", aliases=("GR1501", "赛立奇单抗")),
        Asset("ctr:gr1501", "GR1501注射液", (
            PhaseEvent(Phase.PHASE2, D(2021, 3, 1), CTR_A),  # the same event as CQ-001's: folds in
            PhaseEvent(Phase.PHASE3, D(2022, 3, 1), CTR_A, recorded=D(2022, 6, 1)),
        ), sponsor="重庆智翔金泰", note=UNRESOLVED, aliases=("GR1501 injection",)),
        Asset("CQ-002", "Alpha mAb", (
            PhaseEvent(Phase.PHASE1, D(2020, 1, 1), CDE),
            PhaseEvent(Phase.PHASE2, D(2022, 2, 1), CTR_B, "NSCLC"),
            PhaseEvent(Phase.PHASE3, D(2023, 9, 1), CTR_B, "NSCLC"),
        ), sponsor="Liangjiang Pharma"),
        Asset("cohort:pre-2023", "Preclinical programmes", (PhaseEvent(Phase.PRECLINICAL, D(2023, 12, 31)),),
              count=12),
    ]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store.open(db_url) as opened:
        opened.add_assets(sample())
        yield opened


def raw_events(store: Store) -> list[tuple[Any, ...]]:
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT * FROM phase_events ORDER BY id"))]


def event_ids(store: Store, asset_id: str, source: Source) -> list[int]:
    return [r.id for r in store.history(asset_id) if r.event.source == source]


def test_schema_is_at_the_newest_migration(store: Store) -> None:
    versions = Path(__file__).resolve().parents[1] / "src" / "pipecast" / "store" / "migrations" / "versions"
    newest = max(p.name.split("_")[0] for p in versions.glob("[0-9]*_*.py"))
    assert store.schema_version() == newest


def test_merge_folds_history_and_aliases_without_touching_events(store: Store) -> None:
    raw = raw_events(store)
    assert [a.id for a in store.assets()] == ["CQ-001", "CQ-002", "cohort:pre-2023", "ctr:gr1501"]
    action = store.merge("CQ-001", ["ctr:gr1501"], reason="GR1501 is xeligekimab's code", actor="ana")
    # the forecast input has one candidate instead of two
    assert [a.id for a in store.assets()] == ["CQ-001", "CQ-002", "cohort:pre-2023"]
    assert len(store.portfolio(D(2025, 1, 1)).assets) == 3
    merged = store.asset("CQ-001")
    assert [(e.phase, e.date) for e in merged.history] == [
        (Phase.PHASE1, D(2019, 5, 1)), (Phase.PHASE2, D(2021, 3, 1)), (Phase.PHASE3, D(2022, 3, 1))]
    assert merged.aliases == ("GR1501", "赛立奇单抗", "GR1501注射液", "GR1501 injection")
    assert merged.sponsor == "Genrix"
    assert merged.note == ""
    # the old id, its name and its aliases all resolve to the survivor
    for key in ("ctr:gr1501", "GR1501注射液", "gr1501 injection"):
        assert store.resolve(key) == "CQ-001"
    assert store.asset("ctr:gr1501") == merged
    # every stored row is still there, unchanged, under the id it was imported with
    assert raw_events(store) == raw
    records = store.history("CQ-001")
    assert len(records) == 4
    assert {r.stored_asset_id for r in records} == {"", "ctr:gr1501"}
    # as-of views apply the merge too, and still see only what was known then
    assert {a.id: a.phase for a in store.assets(D(2022, 1, 5))} == {"CQ-001": Phase.PHASE2, "CQ-002": Phase.PHASE1}
    assert store.asset("CQ-001", D(2022, 6, 1)).phase is Phase.PHASE3
    assert [a.id for a in store.actions()] == [action]


def test_undo_merge_restores_the_exact_previous_view(store: Store) -> None:
    before = (store.assets(), store.assets(D(2022, 12, 31)), store.history("CQ-001"), store.resolve("GR1501注射液"))
    raw = raw_events(store)
    merge = store.merge("CQ-001", ["ctr:gr1501"], reason="same drug", actor="ana")
    assert store.assets() != before[0]
    undo = store.undo(merge, reason="wrong: GR1501 is another antibody", actor="bo")
    assert (store.assets(), store.assets(D(2022, 12, 31)), store.history("CQ-001"),
            store.resolve("GR1501注射液")) == before
    assert raw_events(store) == raw
    log = store.actions()
    assert [(a.id, a.action, a.undone_by, a.undoes_id) for a in log] == [
        (merge, "merge", undo, None), (undo, "undo", None, merge)]
    # merging again after an undo is a new, separate action
    again = store.merge("CQ-001", ["ctr:gr1501"], reason="confirmed after all", actor="ana")
    assert again not in (merge, undo)
    assert "ctr:gr1501" not in {a.id for a in store.assets()}


def test_split_moves_chosen_events_and_undo_restores(store: Store) -> None:
    before = store.assets()
    raw = raw_events(store)
    moved = event_ids(store, "CQ-002", CTR_B)
    assert len(moved) == 2
    action = store.split("CQ-002", new_id="CQ-002b", event_ids=moved, name="Alpha mAb (NSCLC programme)",
                         reason="CTR20230999 is a different antibody", actor="ana")
    after = {a.id: a for a in store.assets()}
    assert [(e.phase, e.date) for e in after["CQ-002"].history] == [(Phase.PHASE1, D(2020, 1, 1))]
    new = after["CQ-002b"]
    assert [(e.phase, e.date) for e in new.history] == [(Phase.PHASE2, D(2022, 2, 1)), (Phase.PHASE3, D(2023, 9, 1))]
    assert (new.name, new.sponsor, new.count) == ("Alpha mAb (NSCLC programme)", "Liangjiang Pharma", 1)
    assert [r.id for r in store.history("CQ-002b")] == moved
    assert {r.stored_asset_id for r in store.history("CQ-002b")} == {"CQ-002"}
    assert raw_events(store) == raw
    store.undo(action, reason="it was the same antibody", actor="bo")
    assert store.assets() == before
    assert raw_events(store) == raw


def test_split_by_source_and_after_a_merge(store: Store) -> None:
    before = store.assets()
    merge = store.merge("CQ-001", ["ctr:gr1501"], reason="same drug", actor="ana")
    merged = store.assets()
    # the merged-in CTR trial turns out to be a different drug: split it back out by its source
    split = store.split("CQ-001", new_id="GR1501-b", source="CTR20220101", reason="another antibody", actor="ana")
    ids = {a.id: a for a in store.assets()}
    assert [(e.phase, e.date) for e in ids["GR1501-b"].history] == [
        (Phase.PHASE2, D(2021, 3, 1)), (Phase.PHASE3, D(2022, 3, 1))]
    assert ids["CQ-001"].phase is Phase.PHASE2  # its own phase2 event stays
    store.undo(split, reason="no, same", actor="ana")
    assert store.assets() == merged
    store.undo(merge, reason="undo all", actor="ana")
    assert store.assets() == before


def test_reimport_after_merge_or_split_adds_nothing(store: Store) -> None:
    counts = store.table_counts()
    store.merge("CQ-001", ["ctr:gr1501"], reason="same drug", actor="ana")
    store.split("CQ-002", new_id="CQ-002b", event_ids=event_ids(store, "CQ-002", CTR_B), reason="two drugs",
                actor="ana")
    again = store.add_assets(sample())
    assert not again.changed
    assert store.table_counts()["phase_events"] == counts["phase_events"]
    # a genuinely new event of the merged id counts for the survivor
    later = Asset("ctr:gr1501", "GR1501注射液", (PhaseEvent(Phase.FILED, D(2024, 1, 5), CTR_A),))
    assert store.add_assets([later]).events_added == 1
    assert store.asset("CQ-001").phase is Phase.FILED


def test_merge_chain_and_undo_in_any_order(store: Store) -> None:
    first = store.merge("CQ-002", ["ctr:gr1501"], reason="r1", actor="ana")
    second = store.merge("CQ-001", ["CQ-002"], reason="r2", actor="ana")
    assert [a.id for a in store.assets()] == ["CQ-001", "cohort:pre-2023"]
    assert store.resolve("ctr:gr1501") == "CQ-001"
    store.undo(first, reason="undo r1", actor="ana")
    assert [a.id for a in store.assets()] == ["CQ-001", "cohort:pre-2023", "ctr:gr1501"]
    store.undo(second, reason="undo r2", actor="ana")
    assert [a.id for a in store.assets()] == ["CQ-001", "CQ-002", "cohort:pre-2023", "ctr:gr1501"]


def test_audit_log_lists_every_action_with_reason_and_actor(store: Store) -> None:
    merge = store.merge("CQ-001", ["ctr:gr1501"], reason="same INN", actor="ana")
    split = store.split("CQ-002", new_id="CQ-002b", source="CTR20230999", reason="two drugs")
    undo = store.undo(merge, reason="not the same", actor="bo")
    log = store.actions()
    assert [(a.id, a.action, a.target_id, a.reason, a.actor) for a in log] == [
        (merge, "merge", "CQ-001", "same INN", "ana"),
        (split, "split", "CQ-002", "two drugs", getpass.getuser()),
        (undo, "undo", "CQ-001", "not the same", "bo"),
    ]
    assert log[0].details["from"] == ["ctr:gr1501"]
    assert log[0].undone
    assert not log[1].undone
    assert log[1].details["new_id"] == "CQ-002b"
    assert len(log[1].details["events"]) == 2
    assert all(a.created_at.tzinfo is not None for a in log)
    assert "merged ctr:gr1501 into CQ-001" in log[0].describe()


def test_resolution_rows_are_append_only(store: Store) -> None:
    store.merge("CQ-001", ["ctr:gr1501"], reason="same", actor="ana")
    for statement in ("UPDATE resolution_actions SET reason = 'x'", "DELETE FROM resolution_actions",
                      "DELETE FROM asset_redirects", "UPDATE asset_redirects SET into_id = 'CQ-002'"):
        with pytest.raises(SQLAlchemyError), store.engine.begin() as conn:
            conn.execute(text(statement))
    assert store.actions()[0].reason == "same"


def test_bad_requests_raise_and_write_nothing(store: Store) -> None:
    merge = store.merge("CQ-001", ["ctr:gr1501"], reason="same", actor="ana")
    store.undo(merge, reason="no", actor="ana")
    before = (store.table_counts(), store.assets(), store.actions())
    bad: list[Callable[[], object]] = [
        lambda: store.merge("CQ-001", ["nope"], reason="r"),
        lambda: store.merge("nope", ["CQ-001"], reason="r"),
        lambda: store.merge("CQ-001", ["CQ-001"], reason="r"),
        lambda: store.merge("CQ-001", [], reason="r"),
        lambda: store.merge("CQ-001", ["CQ-002", "CQ-002"], reason="r"),
        lambda: store.merge("CQ-001", ["cohort:pre-2023"], reason="r"),
        lambda: store.merge("CQ-001", ["CQ-002"], reason="  "),
        lambda: store.undo(merge, reason="again"),
        lambda: store.undo(999, reason="r"),
        lambda: store.undo(merge + 1, reason="undo an undo"),
        lambda: store.split("CQ-002", new_id="CQ-002b", event_ids=[1], reason="not its event"),
        lambda: store.split("CQ-002", new_id="CQ-001", source="CTR20230999", reason="existing id"),
        lambda: store.split("CQ-002", new_id="CQ-002", source="CTR20230999", reason="itself"),
        lambda: store.split("CQ-002", new_id="X", event_ids=[r.id for r in store.history("CQ-002")], reason="all"),
        lambda: store.split("CQ-002", new_id="X", source="nothing like this", reason="r"),
        lambda: store.split("CQ-002", new_id="X", reason="no events"),
    ]
    for attempt in bad:
        with pytest.raises(ResolutionError):
            attempt()
    assert (store.table_counts(), store.assets(), store.actions()) == before
    assert issubclass(ResolutionError, InputError)


def test_merged_ids_cannot_be_merged_or_split_again(store: Store) -> None:
    merge = store.merge("CQ-001", ["ctr:gr1501"], reason="same", actor="ana")
    with pytest.raises(ResolutionError, match=f"merged into 'CQ-001' by action {merge}"):
        store.merge("CQ-002", ["ctr:gr1501"], reason="r")
    with pytest.raises(ResolutionError, match="merged into"):
        store.merge("ctr:gr1501", ["CQ-002"], reason="r")
    with pytest.raises(ResolutionError, match="merged into"):
        store.split("ctr:gr1501", new_id="Z", source="CTR", reason="r")


def test_a_later_split_must_be_undone_first(store: Store) -> None:
    moved = event_ids(store, "CQ-002", CTR_B)
    first = store.split("CQ-002", new_id="B", event_ids=moved, reason="r", actor="ana")
    second = store.split("B", new_id="C", event_ids=moved[:1], reason="r", actor="ana")
    with pytest.raises(ResolutionError, match=f"undo action {second} first"):
        store.undo(first, reason="r")
    store.undo(second, reason="r")
    store.undo(first, reason="r")
    assert [r.id for r in store.history("CQ-002")] == sorted(r.id for r in store.history("CQ-002"))
    assert len(store.history("CQ-002")) == 3


def test_review_suggests_and_never_merges(store: Store) -> None:
    counts = store.table_counts()
    items = store.review_matches()
    assert [i.asset_id for i in items] == ["ctr:gr1501"]
    best = items[0].matches[0]
    assert best.asset_id == "CQ-001"
    assert best.score >= 0.9
    assert "GR1501" in best.reason
    assert store.review_matches(threshold=1.01)[0].matches == ()
    assert store.table_counts() == counts
    assert len(store.assets()) == 4
    store.merge("CQ-001", ["ctr:gr1501"], reason="reviewed", actor="ana")
    assert store.review_matches() == []


# --------------------------------------------------------------------------------------------- CLI


def cli(db: str, *args: str) -> Outcome:
    return invoke(db, *args)


def test_cli_review_merge_actions_undo(db_url: str) -> None:
    with Store.open(db_url) as store:
        store.add_assets(sample())
        before = (store.table_counts(), store.assets())
    review = cli(db_url, "review", "--json")
    assert review.exit_code == 0, review.stderr
    suggestions = json.loads(review.stdout)
    assert suggestions[0]["id"] == "ctr:gr1501"
    assert suggestions[0]["matches"][0]["id"] == "CQ-001"
    assert "CQ-001" in cli(db_url, "review").stdout
    preview = cli(db_url, "merge", "CQ-001", "ctr:gr1501", "--reason", "same", "--dry-run", "--json")
    assert preview.exit_code == 0, preview.stderr
    data = json.loads(preview.stdout)
    assert data["dry_run"]
    assert data["result"]["phase"] == "phase3"
    with Store.open(db_url) as store:
        assert (store.table_counts(), store.assets()) == before
    done = cli(db_url, "merge", "CQ-001", "ctr:gr1501", "--reason", "GR1501 is xeligekimab", "--by", "ana")
    assert done.exit_code == 0, done.stderr
    merge = json.loads(cli(db_url, "actions", "--json").stdout)[-1]["id"]  # PostgreSQL ids may skip a dry run's
    assert f"action {merge}: merged ctr:gr1501 into CQ-001" in done.stdout
    assert f"pipecast undo {merge}" in done.stdout
    shown = json.loads(cli(db_url, "assets", "show", "ctr:gr1501", "--json").stdout)
    assert shown["id"] == "CQ-001"
    assert {r["stored_under"] for r in shown["records"]} == {"CQ-001", "ctr:gr1501"}
    records = json.loads(cli(db_url, "assets", "show", "CQ-002", "--json").stdout)["records"]
    moved = ",".join(str(r["id"]) for r in records if r["phase"] != "phase1")
    split = cli(db_url, "split", "CQ-002", "--new-id", "CQ-002b", "--events", moved, "--reason", "two drugs",
                "--by", "bo", "--json")
    assert split.exit_code == 0, split.stderr
    split_id = json.loads(split.stdout)["id"]
    undo = cli(db_url, "undo", str(merge), "--reason", "not the same")
    assert undo.exit_code == 0, undo.stderr
    log = json.loads(cli(db_url, "actions", "--json").stdout)
    assert [(a["action"], a["actor"], a["reason"], a["undone_by"]) for a in log] == [
        ("merge", "ana", "GR1501 is xeligekimab", log[2]["id"]), ("split", "bo", "two drugs", None),
        ("undo", getpass.getuser(), "not the same", None)]
    table = cli(db_url, "actions")
    assert table.exit_code == 0
    assert "GR1501 is xeligekimab" in table.stdout
    assert cli(db_url, "undo", str(split_id), "--reason", "one drug").exit_code == 0
    with Store.open(db_url) as store:
        assert store.assets() == before[1]


@pytest.mark.parametrize("args", [
    ("merge", "CQ-001", "nope", "--reason", "r"),
    ("merge", "CQ-001", "CQ-001", "--reason", "r"),
    ("merge", "nope", "CQ-001", "--reason", "r", "--dry-run"),
    ("merge", "CQ-001", "ctr:gr1501", "--reason", ""),
    ("merge", "CQ-001", "cohort:pre-2023", "--reason", "r"),
    ("undo", "{undone}", "--reason", "twice"),
    ("undo", "4200", "--reason", "unknown"),
    ("undo", "{undo}", "--reason", "an undo"),
    ("split", "CQ-002", "--new-id", "N", "--events", "1", "--reason", "not its event"),
    ("split", "CQ-002", "--new-id", "N", "--events", "x,y", "--reason", "not ids"),
    ("split", "CQ-002", "--new-id", "N", "--reason", "no events"),
    ("split", "ctr:gr1501", "--new-id", "N", "--events", "3", "--reason", "merged id"),
])
def test_cli_bad_requests_exit_2_and_write_nothing(db_url: str, args: tuple[str, ...]) -> None:
    with Store.open(db_url) as store:
        store.add_assets(sample())
        first = store.merge("CQ-001", ["ctr:gr1501"], reason="same", actor="ana")
        undo = store.undo(first, reason="no", actor="ana")
        store.merge("CQ-001", ["ctr:gr1501"], reason="same after all", actor="ana")
        before = (store.table_counts(), store.assets(), store.actions())
    out = cli(db_url, *(a.format(undone=first, undo=undo) for a in args))
    assert out.exit_code == 2, out.stdout
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    with Store.open(db_url) as store:
        assert (store.table_counts(), store.assets(), store.actions()) == before


def test_registry_import_review_merge_reimport(sqlite_url: str) -> None:
    with Store.open(sqlite_url) as store:
        def ctr_import() -> Any:
            return import_registry(store, "ctr", REG / "trial_info_sample.csv", region=None, today=D(2026, 1, 1),
                                   sites=REG / "trial_site_info_sample.csv", retrieved=D(2025, 6, 1))

        ctr_import()
        store.add_assets([Asset("CQ-SHR", "SHR-A1811", (PhaseEvent(Phase.PHASE1, D(2020, 6, 1)),),
                                aliases=("trastuzumab rezetecan",))])
        review = {i.asset_id: i.matches for i in store.review_matches(0.9)}
        assert review["ctr:shra1811"][0].asset_id == "CQ-SHR"
        assert all(m.asset_id != "CQ-SHR" for k, ms in review.items() if k != "ctr:shra1811" for m in ms)
        store.merge("CQ-SHR", ["ctr:shra1811"], reason="SHR-A1811 is CQ-SHR", actor="ana")
        counts = store.table_counts()
        again = ctr_import()
        assert again.events_added == 0
        assert again.candidates_created == 0
        assert store.table_counts() == counts
        assert "ctr:shra1811" not in {a.id for a in store.assets()}
        assert store.asset("注射用SHR-A1811").id == "CQ-SHR"
