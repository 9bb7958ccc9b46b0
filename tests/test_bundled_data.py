"""Checks on the bundled rate sets and the Chongqing data set: sources present, files load, counts add up."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path

import pytest

from pipecast.domain import Asset, Phase
from pipecast.ingest.assets_file import load_dataset
from pipecast.loading.rates import bundled_rate_set

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
            assert row["source_url"].startswith("http"), (name, row)
            assert row["source_title"].strip(), (name, row)
    for row in _rows(CQ / "facts.csv"):
        assert row["source_url"].startswith("http"), row
        assert row["source_title"].strip(), row


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


def test_named_clinical_candidates_on_2025_11_27_after_the_2026_12_corrections() -> None:
    day = dt.date(2025, 11, 27)
    views = [a.as_of(day) for a in load_dataset(CQ, today=_as_of()) if not a.is_cohort]
    clinical = {a.id: a.phase for a in views if a is not None and a.phase in CLINICAL}
    assert clinical == {
        "genrix-gr1802": Phase.FILED, "genrix-gr1801": Phase.FILED, "genrix-gr2001": Phase.FILED,
        "genrix-gr1803": Phase.PHASE2, "fochon-fcn338": Phase.PHASE2,
        "genrix-gr2303": Phase.PHASE1, "precision-c1360": Phase.PHASE1, "fochon-fcn207": Phase.PHASE1,
        "fochon-fcn647": Phase.PHASE1, "fochon-fcn098": Phase.PHASE1, "fochon-fcn342": Phase.PHASE1,
        "bovax-hpv9": Phase.PHASE3, "bovax-hpv4": Phase.PHASE3,
    }
    # 42 - 13 named - 6 Bio City = 23 unphased; phase I share 380/720 of 23 = 12.14 -> 12 and 11
    counts = {a.id: a.count for a in load_dataset(CQ, today=_as_of()) if a.is_cohort}
    assert counts["cohort:cq-clinical-phase1-2025-11"] == round(23 * 380 / 720) == 12
    assert counts["cohort:cq-clinical-phase2-2025-11"] == 23 - 12


def _assets() -> dict[str, Asset]:
    return {a.id: a for a in load_dataset(CQ, today=_as_of())}


def _events(asset_id: str) -> list[dict[str, str]]:
    return [r for r in _rows(CQ / "events.csv") if r["asset_id"] == asset_id]


def test_pcar19b_approved_on_2025_11_07_with_its_source() -> None:
    assert _assets()["precision-pcar19b"].approval_date == dt.date(2025, 11, 7)
    (approval,) = [r for r in _events("precision-pcar19b") if r["phase"] == "approved"]
    assert "重庆晨报" in approval["source_title"]
    assert approval["source_date"] == "2025-12-01"
    assert "single-source" in approval["note"] or "single source" in approval["note"]
    assert not any(r["date"] == "2025-11-27" for r in _events("precision-pcar19b"))


def test_fovinaciclib_approved_may_2025_and_counted_by_the_fcn159_rule() -> None:
    assets = _assets()
    fcn437 = assets["fochon-fcn437"]
    approved = [e for e in fcn437.history if e.phase is Phase.APPROVED]
    assert len(approved) == 1  # the September 2025 indication is a fact, not a second approval
    assert (approved[0].date.year, approved[0].date.month) == (2025, 5)
    assert approved[0].recorded == dt.date(2025, 9, 15)  # the source that reports it is dated September
    assert fcn437.name == "fovinaciclib"
    assert "FCN-437c" in fcn437.aliases
    assert fcn437.nmpa_class == "Chemical drug Class 1"
    assert "Jinzhou Aohong" in fcn437.note
    for asset_id in ("fochon-fcn437", "fochon-fcn159"):  # same rule, same marking, both counted
        assert "attribution ambiguous" in assets[asset_id].note
        assert assets[asset_id].jurisdiction == "CN"
    second = [r for r in _rows(CQ / "facts.csv")
              if r["entity"].startswith("FCN-437c") and r["field"] == "NMPA approval, second indication"]
    assert second
    assert second[0]["as_of_date"] == "2025-09"
    named_2025 = sorted(a.id for a in assets.values()
                        if not a.is_cohort and a.approval_date and a.approval_date.year == 2025)
    assert named_2025 == ["fochon-fcn159", "fochon-fcn437", "precision-pcar19b"]


def test_fcn338_phase2_dated_2024_01_25() -> None:
    fcn338 = _assets()["fochon-fcn338"]
    assert (Phase.PHASE2, dt.date(2024, 1, 25)) in {(e.phase, e.date) for e in fcn338.history}
    assert fcn338.phase is Phase.PHASE2
    before = fcn338.as_of(dt.date(2024, 1, 24))
    assert before is not None
    assert before.phase is Phase.PHASE1


def test_fcn207_target_is_urat1() -> None:
    assert _assets()["fochon-fcn207"].target == "URAT1"


def test_gr1803_bla_accepted_january_2026_with_unverified_details_marked() -> None:
    gr1803 = _assets()["genrix-gr1803"]
    filed = [e for e in gr1803.history if e.phase is Phase.FILED]
    assert [(e.date.year, e.date.month) for e in filed] == [(2026, 1)]
    (row,) = [r for r in _events("genrix-gr1803") if r["phase"] == "filed"]
    assert "priority review" not in row["indication"]  # only an AI-generated page says so
    assert "UNVERIFIED" in row["note"]
    assert "priority review" in row["note"]


def test_fcn159_new_indication_filings_are_facts_and_leave_it_approved() -> None:
    fcn159 = _assets()["fochon-fcn159"]
    assert fcn159.phase is Phase.APPROVED
    assert fcn159.approval_date == dt.date(2025, 5, 29)
    facts = {(r["field"].split(":")[-1].strip(), r["as_of_date"]) for r in _rows(CQ / "facts.csv")
             if r["entity"].startswith("FCN-159")}
    assert {("paediatric LCH (>=2 years)", "2025-11-21"), ("adult NF1-PN", "2026-02-05"),
            ("paediatric low-grade glioma", "2025-07-09")} <= facts


@pytest.mark.parametrize(("asset_id", "phase", "day"), [
    ("fochon-fcn647", Phase.PHASE1, dt.date(2020, 1, 14)),
    ("fochon-fcn098", Phase.PHASE1, dt.date(2021, 6, 19)),
    ("fochon-fcn342", Phase.PHASE1, dt.date(2021, 11, 8)),
    ("fochon-fcn011", Phase.PRECLINICAL, dt.date(2020, 4, 28)),
])
def test_chongqing_fuchuang_inds_are_named(asset_id: str, phase: Phase, day: dt.date) -> None:
    asset = _assets()[asset_id]
    assert [(e.phase, e.date) for e in asset.history] == [(phase, day)]
    assert "Chongqing Fuchuang" in asset.sponsor


def test_as_of_is_the_latest_source_date_and_checked_on_is_recorded() -> None:
    """dataset.json's as_of is recomputed here from every date in the files."""
    dates: list[dt.date] = []
    loose: list[dt.date] = []
    for name, columns in (("events.csv", ("date", "source_date", "recorded")), ("assets.csv", ("source_date",)),
                          ("facts.csv", ("as_of_date", "source_date"))):
        for row in _rows(CQ / name):
            for column in columns:
                text = row[column].strip()
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                    dates.append(dt.date.fromisoformat(text))
                elif match := re.search(r"(\d{4})(?:-(\d{2})(?!\d))?", text):  # "2025-11", "2025", "before 2024-08"
                    loose.append(dt.date(int(match[1]), int(match[2] or 1), 1))
    meta = json.loads((CQ / "dataset.json").read_text(encoding="utf-8"))
    assert max(dates) == _as_of() == dt.date(2026, 6, 27)
    assert max(loose) <= _as_of()  # a month or year named loosely has begun by the as-of date
    assert dt.date.fromisoformat(meta["checked_on"]) == dt.date(2026, 12, 1)


def test_preclinical_cohort_and_named_preclinical_make_100_in_development() -> None:
    day = dt.date(2025, 12, 16)
    in_development = _published("Chongqing (municipality)", "innovative drugs in development", "2025-12-16")
    assets = load_dataset(CQ, today=_as_of())
    preclinical = sum(a.count for a in assets if a.is_cohort and a.phase is Phase.PRECLINICAL)
    views = [a.as_of(day) for a in assets if not a.is_cohort]
    named = sorted(a.id for a in views if a is not None and a.phase is Phase.PRECLINICAL)
    assert named == ["fochon-fcn011"]  # IND application accepted 2020-04-28, no approval found
    assert preclinical + len(named) + 42 == in_development == 100


def test_bio_city_phase3_cohort_plus_named_in_phase3_makes_9_without_the_filed_ones() -> None:
    """'9個品種進入Ⅲ期臨床,3個進入…': the filed candidates belong with the 3, not inside the 9 (no double count)."""
    day = dt.date(2025, 7, 11)
    published = _published("Chongqing International Biological City", "innovative drugs in Phase 3", "2025-07-11")
    bio_city = {"genrix-gr1802", "genrix-gr2001", "genrix-gr1801", "bovax-hpv9", "bovax-hpv4"}
    assets = load_dataset(CQ, today=_as_of())
    last: dict[str, Phase] = {}
    for asset in assets:
        if asset.id in bio_city:
            phases = [e.phase for e in asset.history if e.date <= day]
            last[asset.id] = phases[-1]
    in_phase3 = sorted(i for i, p in last.items() if p is Phase.PHASE3)
    filed = sorted(i for i, p in last.items() if p is Phase.FILED)
    assert in_phase3 == ["bovax-hpv4", "bovax-hpv9", "genrix-gr1802"]
    assert filed == ["genrix-gr1801", "genrix-gr2001"]
    cohort = next(a for a in assets if a.id == "cohort:biocity-phase3-2025-07")
    assert len(in_phase3) + cohort.count == published == 9
    assert "UNVERIFIED" in cohort.note
    assert "9 - 3 = 6" in cohort.note
    beyond = _published("Chongqing International Biological City", "innovative drugs past Phase 3", "2025-07-11")
    assert len(filed) <= beyond == 3  # the filed ones fit inside the sentence's 3


def test_cohort_areas_and_named_areas_match_rate_rows_where_possible() -> None:
    areas = {r.therapeutic_area.casefold() for r in bundled_rate_set("global").rows if r.therapeutic_area}
    used = {a.therapeutic_area.casefold() for a in load_dataset(CQ, today=_as_of()) if a.therapeutic_area}
    assert {"oncology - hematologic cancers", "oncology - solid tumors", "vaccines", "oncology"} <= areas & used
