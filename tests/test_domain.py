"""Phase spellings, as-of views and targets: the vocabulary every other module relies on."""

from __future__ import annotations

import datetime as dt

import pytest

from pipecast.domain import Asset, Phase, PhaseEvent, parse_phase
from pipecast.errors import InputError, TargetError, UnknownPhaseError
from pipecast.targets import parse_target, parse_years


@pytest.mark.parametrize(
    ("text", "phase"),
    [
        ("Phase II", Phase.PHASE2),
        ("phase 2", Phase.PHASE2),
        ("Ph 3", Phase.PHASE3),
        ("PHASE3", Phase.PHASE3),
        ("IND", Phase.PHASE1),
        ("NDA", Phase.FILED),
        ("BLA", Phase.FILED),
        ("I期", Phase.PHASE1),
        ("III期", Phase.PHASE3),
        ("Ⅲ期", Phase.PHASE3),
        ("上市申请", Phase.FILED),
        ("Phase I/II", Phase.PHASE2),
        ("Phase 2/3", Phase.PHASE3),
        ("phase1/2", Phase.PHASE2),
        ("Ib/IIa", Phase.PHASE2),
        ("Phase 1b", Phase.PHASE1),
        ("II/III期", Phase.PHASE3),
        ("Phase IV", Phase.APPROVED),
        ("preclinical", Phase.PRECLINICAL),
        ("approved", Phase.APPROVED),
        ("Discontinued", Phase.DISCONTINUED),
    ],
)
def test_phase_spellings(text: str, phase: Phase) -> None:
    assert parse_phase(text) is phase


@pytest.mark.parametrize("text", ["", "Phase 7", "maybe", "II期?"])
def test_unknown_phase_lists_accepted_forms(text: str) -> None:
    with pytest.raises(UnknownPhaseError, match="expected one of preclinical"):
        parse_phase(text)


def test_as_of_hides_events_dated_or_recorded_later() -> None:
    history = (
        PhaseEvent(Phase.PHASE2, dt.date(2020, 1, 1)),
        PhaseEvent(Phase.PHASE3, dt.date(2022, 1, 1), recorded=dt.date(2022, 6, 1)),
        PhaseEvent(Phase.FILED, dt.date(2024, 1, 1)),
    )
    asset = Asset("a", "A", history)
    assert asset.as_of(dt.date(2019, 12, 31)) is None
    view = asset.as_of(dt.date(2022, 3, 1))
    assert view is not None
    assert view.phase is Phase.PHASE2
    view = asset.as_of(dt.date(2022, 6, 1))
    assert view is not None
    assert view.phase is Phase.PHASE3
    assert view.phase_start == dt.date(2022, 1, 1)
    assert asset.as_of(dt.date(2030, 1, 1)) is asset


def test_cohort_count_must_be_positive() -> None:
    with pytest.raises(InputError, match="count must be a positive integer"):
        Asset("c", "c", (PhaseEvent(Phase.PHASE1, dt.date(2024, 1, 1)),), count=0)


@pytest.mark.parametrize(
    ("text", "years", "low", "high"),
    [
        ("2027-2030:1-3", [2027, 2028, 2029, 2030], 1, 3),
        ("2027:2", [2027], 2, 2),
        ("2027-2028:1+", [2027, 2028], 1, None),
        ("2027-2028:>=2", [2027, 2028], 2, None),
    ],
)
def test_targets(text: str, years: list[int], low: int, high: int | None) -> None:
    target = parse_target(text)
    assert (target.years, target.low, target.high) == (years, low, high)


@pytest.mark.parametrize("text", ["2030-2027:1-3", "2027:3-1", "2027-2030", "abc", "2027-2030:one"])
def test_bad_targets(text: str) -> None:
    with pytest.raises(TargetError, match="expected YEARS:COUNT"):
        parse_target(text)


def test_years() -> None:
    assert parse_years("2025-2027") == [2025, 2026, 2027]
    with pytest.raises(TargetError):
        parse_years("2027-2025")
