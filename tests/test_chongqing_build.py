"""The bundled Chongqing assets.csv/events.csv are built from sources/ by the importers, not typed in."""

from __future__ import annotations

import csv
import datetime as dt
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from pipecast.ingest.announcements import import_announcements
from pipecast.ingest.assets_file import load_dataset
from pipecast.store import Store

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "pipecast" / "data" / "chongqing"
SOURCES = DATA / "sources"
FACTS = ROOT.parent / "shared" / "data" / "chongqing" / "facts.csv"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_chongqing", ROOT / "tools" / "build_chongqing.py")
    assert spec is not None and spec.loader is not None
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
    with pytest.raises(ValueError):
        tool.evaluate("__import__('os')")


def test_reimporting_the_source_announcements_into_the_loaded_set_adds_nothing(sqlite_url: str) -> None:
    as_of = json.loads((DATA / "dataset.json").read_text(encoding="utf-8"))["as_of"]
    today = dt.date.fromisoformat(as_of)
    with Store.open(sqlite_url) as store:
        store.import_data(assets=load_dataset(DATA, today=today), source_file=DATA)
        summary = import_announcements(store, SOURCES / "announcements.csv", today=today)
        assert not summary.unresolved and summary.candidates_created == 0
        assert summary.events_added == 0 and summary.events_known == len(_rows(SOURCES / "announcements.csv"))


def test_every_source_row_cites_a_url_in_the_shared_facts() -> None:
    if not FACTS.exists():
        pytest.skip(f"{FACTS} is not present")
    urls = {r["source_url"] for r in _rows(FACTS)}
    for name in ("announcements.csv", "candidates.csv", "cohorts.csv"):
        for row in _rows(SOURCES / name):
            assert row["source_url"] in urls, (name, row["source_url"])
            assert row["source_title"].strip(), (name, row)
    for row in _rows(SOURCES / "candidates.csv"):
        for url in row["attribute_sources"].split(" | "):
            assert url in urls, (row["id"], url)
