"""The bundled Chongqing assets.csv/events.csv are built from sources/ by the importers, not typed in."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from pipecast.domain import Phase
from pipecast.ingest.announcements import import_announcements, read_announcements, resolve_announcements
from pipecast.ingest.assets_file import load_dataset
from pipecast.ingest.resolve import candidate_table, chongqing_table
from pipecast.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "pipecast" / "data" / "chongqing"
SOURCES = DATA / "sources"
FACTS = ROOT.parent / "shared" / "data" / "chongqing" / "facts.csv"
UPDATES = FACTS.with_name("updates_2026-12.csv")


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_chongqing", ROOT / "tools" / "build_chongqing.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_build_reproduces_the_committed_files(tmp_path: Path) -> None:
    assert _tool().main(["--out", str(tmp_path)]) == 0
    for name in ("assets.csv", "events.csv"):
        assert (tmp_path / name).read_text(encoding="utf-8") == (DATA / name).read_text(encoding="utf-8"), name
    assert _tool().main(["--check"]) == 0


def test_every_named_event_comes_from_an_announcement_row() -> None:
    announcements = _rows(SOURCES / "announcements.csv")
    named_events = [r for r in _rows(DATA / "events.csv") if not r["asset_id"].startswith("cohort:")]
    assert len(announcements) == len(named_events)
    cohorts = _rows(SOURCES / "cohorts.csv")
    assert {r["id"] for r in cohorts} == {r["id"] for r in _rows(DATA / "assets.csv") if r["id"].startswith("cohort:")}


def test_unresolvable_drug_name_stops_the_build(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    for name in ("candidates.csv", "cohorts.csv"):
        (sources / name).write_bytes((SOURCES / name).read_bytes())
    (tmp_path / "dataset.json").write_bytes((DATA / "dataset.json").read_bytes())
    text = (SOURCES / "announcements.csv").read_text(encoding="utf-8").replace("FCN-207 tablets", "FCN-2071 tablets")
    (sources / "announcements.csv").write_text(text, encoding="utf-8")
    assert _tool().main(["--sources", str(sources), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_cohort_formulas_match_the_counts() -> None:
    tool = _tool()
    counts = {r["id"]: int(r["count"]) for r in _rows(DATA / "assets.csv")}
    for row in _rows(SOURCES / "cohorts.csv"):
        assert tool.evaluate(row["count_formula"]) == counts[row["id"]]
    with pytest.raises(ValueError, match="not allowed in a count formula"):
        tool.evaluate("__import__('os')")


def test_reimporting_the_source_announcements_into_the_loaded_set_adds_nothing(sqlite_url: str) -> None:
    as_of = json.loads((DATA / "dataset.json").read_text(encoding="utf-8"))["as_of"]
    today = dt.date.fromisoformat(as_of)
    with Store.open(sqlite_url) as store:
        store.import_data(assets=load_dataset(DATA, today=today), source_file=DATA)
        summary = import_announcements(store, SOURCES / "announcements.csv", today=today)
        assert not summary.unresolved
        assert summary.candidates_created == 0
        assert summary.events_added == 0
        assert summary.events_known == len(_rows(SOURCES / "announcements.csv"))


def test_every_source_row_cites_a_url_in_the_shared_facts() -> None:
    """Each URL is a sourced fact: the shared fact file, or a checked update that is not marked unverified."""
    if not FACTS.exists():
        pytest.skip(f"{FACTS} is not present")
    urls = {r["source_url"] for r in _rows(FACTS)}
    if UPDATES.exists():
        urls |= {r["source_url"] for r in _rows(UPDATES) if r["confidence"] != "unverified" and r["source_url"]}
    for name in ("announcements.csv", "candidates.csv", "cohorts.csv"):
        for row in _rows(SOURCES / name):
            assert row["source_url"] in urls, (name, row["source_url"])
            assert row["source_title"].strip(), (name, row)
    for row in _rows(SOURCES / "candidates.csv"):
        for url in row["attribute_sources"].split(" | "):
            assert url in urls, (row["id"], url)


def _as_of() -> dt.date:
    return dt.date.fromisoformat(json.loads((DATA / "dataset.json").read_text(encoding="utf-8"))["as_of"])


def _source_events() -> set[tuple[str, str, Phase, dt.date]]:
    """(drug as written, candidate id, phase, date) for each source row, read and resolved afresh."""
    today = _as_of()
    named = [(r["id"], (r["name"], *[a for a in r["aliases"].split("|") if a]))
             for r in _rows(SOURCES / "candidates.csv")]
    records = read_announcements(SOURCES / "announcements.csv", today=today)
    targets = resolve_announcements(records, candidate_table(named, chongqing_table()))
    return {(rec.drug, t.id, rec.event.phase, rec.event.date) for rec, t in zip(records, targets, strict=True)}


@pytest.mark.parametrize("expected", [
    ("普基奥仑赛注射液", "precision-pcar19b", Phase.APPROVED, dt.date(2025, 11, 7)),
    ("FCN-437c", "fochon-fcn437", Phase.PHASE3, dt.date(2022, 1, 19)),
    ("枸橼酸伏维西利胶囊", "fochon-fcn437", Phase.APPROVED, dt.date(2025, 5, 15)),
    ("FCN-338片", "fochon-fcn338", Phase.PHASE2, dt.date(2024, 1, 25)),
    ("FCN-647胶囊", "fochon-fcn647", Phase.PHASE1, dt.date(2020, 1, 14)),
    ("FCN-098胶囊", "fochon-fcn098", Phase.PHASE1, dt.date(2021, 6, 19)),
    ("FCN-342片", "fochon-fcn342", Phase.PHASE1, dt.date(2021, 11, 8)),
    ("FCN-011胶囊", "fochon-fcn011", Phase.PRECLINICAL, dt.date(2020, 4, 28)),
])
def test_corrected_announcements_go_through_the_importer(expected: tuple[str, str, Phase, dt.date]) -> None:
    assert expected in _source_events()


def test_no_source_row_keeps_the_placeholder_pcar19b_approval() -> None:
    assert not any(i == "precision-pcar19b" and d == dt.date(2025, 11, 27) for _, i, _, d in _source_events())


def test_clinical_cohort_formula_subtracts_the_named_counts_of_the_build() -> None:
    """The formula's '42 - N - M' must use the named clinical count and Bio City cohort that the data give."""
    tool = _tool()
    cohorts = {r["id"]: r for r in _rows(SOURCES / "cohorts.csv")}
    match = re.search(r"\(42 - (\d+) - (\d+)\)", cohorts["cohort:cq-clinical-phase1-2025-11"]["count_formula"])
    assert match is not None
    day = dt.date(2025, 11, 27)
    views = [a.as_of(day) for a in load_dataset(DATA, today=_as_of()) if not a.is_cohort]
    clinical = sum(1 for a in views if a is not None and a.phase in {Phase.PHASE1, Phase.PHASE2, Phase.PHASE3,
                                                                      Phase.FILED})
    bio_city = tool.evaluate(cohorts["cohort:biocity-phase3-2025-07"]["count_formula"])
    assert (int(match[1]), int(match[2])) == (clinical, bio_city) == (13, 6)
