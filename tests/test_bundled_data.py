"""Checks on the bundled rate sets and the Chongqing data set: sources present, files load, counts add up."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from pipecast.domain import Phase
from pipecast.ingest.assets_file import load_dataset
from pipecast.rates import bundled_rate_set

ROOT = Path(__file__).resolve().parents[1] / "src" / "pipecast"
RATES = ROOT / "rates" / "data"
CQ = ROOT / "data" / "chongqing"
CLINICAL = {Phase.PHASE1, Phase.PHASE2, Phase.PHASE3, Phase.FILED}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _as_of() -> dt.date:
    return dt.date.fromisoformat(json.loads((CQ / "dataset.json").read_text(encoding="utf-8"))["as_of"])


def _published(entity_start: str, field_start: str, as_of: str) -> int:
    """A count from facts.csv, read independently of the cohort notes."""
    for row in _rows(CQ / "facts.csv"):
        if (row["entity"].startswith(entity_start) and row["field"].startswith(field_start)
                and row["as_of_date"] == as_of):
            return int(row["value"].lstrip(">~").split()[0])
    raise AssertionError(f"no fact {entity_start!r} / {field_start!r} as of {as_of}")


@pytest.mark.parametrize("name", ["global.csv", "china.csv"])
def test_every_rate_row_has_a_source(name: str) -> None:
    rows = _rows(RATES / name)
    assert rows
    for row in rows:
        assert row["source"].strip(), row
        assert "http" in row["source"], row


@pytest.mark.parametrize("name", ["global", "china"])
def test_bundled_rate_sets_load(name: str) -> None:
    rates = bundled_rate_set(name)
    for phase in (Phase.PRECLINICAL, *CLINICAL):
        row = rates.row(phase)
        assert 0 < row.p_success <= 1
        assert row.duration.p90_months >= row.duration.median_months > 0


def test_china_filed_duration_comes_from_nmpa_review_time() -> None:
    assert bundled_rate_set("china").row(Phase.FILED).duration.median_months == pytest.approx(235 / 250 * 12, abs=0.01)
    for phase in (Phase.PRECLINICAL, *CLINICAL):
        assert bundled_rate_set("china").row(phase).p_success == bundled_rate_set("global").row(phase).p_success


def test_every_asset_and_event_row_has_a_source() -> None:
    for name in ("assets.csv", "events.csv"):
        for row in _rows(CQ / name):
            assert row["source_url"].strip() or row["source_title"].strip(), (name, row)
    for row in _rows(CQ / "facts.csv"):
        assert row["source_url"].strip() and row["source_title"].strip(), row


def test_dataset_loads_and_no_event_after_as_of() -> None:
    as_of = _as_of()
    assets = load_dataset(CQ, today=as_of)
    assert len({a.id for a in assets}) == len(assets)
    for asset in assets:
        for event in asset.history:
            assert event.date <= as_of, (asset.id, event)
            assert event.known_on <= as_of, (asset.id, event)


def test_gr1501_is_approved_on_2024_08_20() -> None:
    assets = {a.id: a for a in load_dataset(CQ, today=_as_of())}
    assert assets["genrix-gr1501"].approval_date == dt.date(2024, 8, 20)
    first = min(a.approval_date for a in assets.values() if a.approval_date and not a.is_cohort)
    assert first == dt.date(2024, 8, 20)


def test_clinical_cohorts_and_named_candidates_add_up_to_published_42() -> None:
    day = dt.date(2025, 11, 27)
    published = _published("Chongqing (municipality)", "innovative drug projects in clinical trials", "2025-11-27")
    assert published == 42
    assets = load_dataset(CQ, today=_as_of())
    named = [a.as_of(day) for a in assets if not a.is_cohort]
    named_clinical = sum(1 for a in named if a is not None and a.phase in CLINICAL)
    cohorts = sum(a.count for a in assets if a.is_cohort and a.phase in CLINICAL)
    assert named_clinical + cohorts == published


def test_preclinical_cohort_makes_100_in_development() -> None:
    in_development = _published("Chongqing (municipality)", "innovative drugs in development", "2025-12-16")
    assets = load_dataset(CQ, today=_as_of())
    preclinical = sum(a.count for a in assets if a.is_cohort and a.phase is Phase.PRECLINICAL)
    assert preclinical + 42 == in_development == 100


def test_bio_city_phase3_cohort_plus_named_makes_9() -> None:
    day = dt.date(2025, 7, 11)
    published = _published("Chongqing International Biological City", "innovative drugs in Phase 3", "2025-07-11")
    bio_city = {"genrix-gr1802", "genrix-gr2001", "genrix-gr1801", "bovax-hpv9", "bovax-hpv4"}
    assets = load_dataset(CQ, today=_as_of())
    named = 0
    for asset in assets:
        if asset.id in bio_city:
            phases = [e.phase for e in asset.history if e.date <= day]
            named += bool(phases) and phases[-1] in {Phase.PHASE3, Phase.FILED}
    cohort = next(a for a in assets if a.id == "cohort:biocity-phase3-2025-07")
    assert named + cohort.count == published == 9


def test_cohort_areas_and_named_areas_match_rate_rows_where_possible() -> None:
    areas = {r.therapeutic_area.casefold() for r in bundled_rate_set("global").rows if r.therapeutic_area}
    used = {a.therapeutic_area.casefold() for a in load_dataset(CQ, today=_as_of()) if a.therapeutic_area}
    assert {"oncology - hematologic cancers", "oncology - solid tumors", "vaccines", "oncology"} <= areas & used
