"""Each data-quality finding on a constructed case, and none on a clean one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pipecast.domain import Asset, Phase, PhaseEvent, Source
from pipecast.ingest.quality import (
    check_all,
    clinical_count,
    conflicts,
    count_mismatch,
    published_clinical_count,
    sequences,
    stale,
    unresolved,
)
from pipecast.store import Fact, Store

D = dt.date
AS_OF = D(2025, 6, 1)


def ev(phase: Phase, when: dt.date, src: str = "a", indication: str = "") -> PhaseEvent:
    return PhaseEvent(phase, when, Source(src), indication)


def clean() -> list[Asset]:
    return [
        Asset("good-1", "Good", (ev(Phase.PHASE1, D(2023, 1, 1)), ev(Phase.PHASE2, D(2024, 6, 1), "b"))),
        Asset("good-2", "Approved", (ev(Phase.PHASE3, D(2015, 1, 1)), ev(Phase.FILED, D(2016, 1, 1)),
                                     ev(Phase.APPROVED, D(2017, 1, 1)))),
    ]


def test_clean_has_no_findings() -> None:
    assert check_all(clean(), as_of=AS_OF, published_clinical=1) == []


def test_conflict() -> None:
    asset = Asset("x", "X", (ev(Phase.PHASE1, D(2023, 1, 1), "ctr"), ev(Phase.PHASE1, D(2023, 5, 1), "press")))
    found = conflicts([asset])
    assert [f.kind for f in found] == ["conflict"]
    assert found[0].asset_id == "x"
    same_source = Asset("y", "Y", (ev(Phase.PHASE1, D(2023, 1, 1)), ev(Phase.PHASE1, D(2023, 5, 1))))
    [redated] = conflicts([same_source])
    assert redated.asset_id == "y"
    assert "same source" in redated.message
    other_indication = Asset("z", "Z", (ev(Phase.PHASE1, D(2023, 1, 1), indication="a"),
                                        ev(Phase.PHASE1, D(2023, 5, 1), indication="b")))
    assert conflicts([other_indication]) == []


def test_an_earlier_start_date_reimported_is_a_conflict(tmp_path: Path) -> None:
    """Through the store: the second import keeps both events; the import warns and `check` reports it."""
    with Store.open(tmp_path / "db.sqlite") as store:
        store.add_assets([Asset("A1", "Alpha", (PhaseEvent(Phase.PHASE2, D(2022, 5, 1)),))])
        summary = store.add_assets([Asset("A1", "Alpha", (PhaseEvent(Phase.PHASE2, D(2021, 11, 1)),))])
        assert summary.warnings
        assert "already recorded on 2022-05-01" in summary.warnings[0]
        found = check_all(store.assets(), as_of=D(2023, 1, 1))
    assert [(f.kind, f.asset_id) for f in found] == [("conflict", "A1")]
    assert "2021-11-01" in found[0].message
    assert "2022-05-01" in found[0].message


def test_sequence() -> None:
    backwards = Asset("p3", "P3", (ev(Phase.PHASE3, D(2020, 1, 1)), ev(Phase.PHASE1, D(2021, 1, 1))))
    early = Asset("ap", "Ap", (ev(Phase.APPROVED, D(2020, 1, 1)), ev(Phase.FILED, D(2021, 1, 1))))
    found = sequences([backwards, early])
    assert {(f.kind, f.asset_id) for f in found} == {("sequence", "p3"), ("sequence", "ap")}
    assert "approved" in next(f.message for f in found if f.asset_id == "ap")


def test_stale() -> None:
    old = Asset("old", "Old", (ev(Phase.PHASE2, D(2020, 1, 1)),))
    found = stale([old, *clean()], AS_OF)
    assert [(f.kind, f.asset_id) for f in found] == [("stale", "old")]
    assert stale([old], AS_OF, years=10) == []


def test_unresolved() -> None:
    asset = Asset("ctr:mbs303", "MBS303", (ev(Phase.PHASE2, D(2023, 2, 14)),))
    template = Asset("template:x1", "X1", (ev(Phase.PHASE1, D(2023, 2, 14)),))
    noted = Asset("kept-id", "K", (ev(Phase.PHASE1, D(2023, 2, 14)),), note="unresolved name 'K' from template")
    found = unresolved([asset, template, noted, *clean()])
    expected = [("unresolved", i) for i in ("ctr:mbs303", "template:x1", "kept-id")]
    assert [(f.kind, f.asset_id) for f in found] == expected


def test_count_mismatch() -> None:
    assert clinical_count(clean(), AS_OF) == 1
    found = count_mismatch(clean(), AS_OF, 42)
    assert [f.kind for f in found] == ["count_mismatch"]
    assert "(-41)" in found[0].message
    assert count_mismatch(clean(), AS_OF, 1) == []
    cohort = Asset("cohort:x", "cohort", (ev(Phase.PHASE1, D(2024, 1, 1)),), count=41)
    assert count_mismatch([*clean(), cohort], AS_OF, 42) == []


def test_published_count_from_facts() -> None:
    facts = [
        Fact("Chongqing (municipality)", "innovative drugs in clinical trials (count)", "42", D(2025, 12, 16)),
        Fact("Chongqing (municipality)", "Class I innovative drug projects in clinical trials (count)", "~40",
             D(2024, 9, 5)),
        Fact("Chongqing International Biological City (Banan)", "innovative drugs in clinical trials (count)",
             "23", D(2024, 9, 5)),
    ]
    early = published_clinical_count(facts, AS_OF)  # no municipality integer yet: the district figure
    assert early is not None
    assert early[0] == 23
    found = published_clinical_count(facts, D(2026, 1, 1))
    assert found is not None
    assert found[0] == 42
