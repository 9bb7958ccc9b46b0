"""Each data-quality finding on a constructed case, and none on a clean one."""

from __future__ import annotations

import datetime as dt

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
from pipecast.store import Fact

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
    assert [f.kind for f in found] == ["conflict"] and found[0].asset_id == "x"
    same_source = Asset("y", "Y", (ev(Phase.PHASE1, D(2023, 1, 1)), ev(Phase.PHASE1, D(2023, 5, 1))))
    assert conflicts([same_source]) == []


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
    assert [(f.kind, f.asset_id) for f in unresolved([asset, *clean()])] == [("unresolved", "ctr:mbs303")]


def test_count_mismatch() -> None:
    assert clinical_count(clean(), AS_OF) == 1
    found = count_mismatch(clean(), AS_OF, 42)
    assert [f.kind for f in found] == ["count_mismatch"] and "(-41)" in found[0].message
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
    assert early is not None and early[0] == 23
    found = published_clinical_count(facts, D(2026, 1, 1))
    assert found is not None and found[0] == 42
