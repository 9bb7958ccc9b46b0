"""The Chongqing backtest: as-of cut, no look-ahead, a closed form, observed counts, the command."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from cli_app import invoke
from pipecast.backtest.chongqing import approvals_per_year, known_pipeline, run_chongqing
from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.loading.history import bundled_dataset_folder, load_history
from pipecast.rates import Duration, RateRow, RateSet

D = dt.date(2024, 1, 1)


def _rates() -> RateSet:
    return RateSet("test", (
        RateRow(Phase.PRECLINICAL, 0.5, Duration(12.0, 20.0)),
        RateRow(Phase.PHASE1, 0.6, Duration(12.0, 24.0)),
        RateRow(Phase.PHASE2, 0.5, Duration(18.0, 30.0)),
        RateRow(Phase.PHASE3, 0.7, Duration(15.0, 28.0)),
        RateRow(Phase.FILED, 0.9, Duration(10.0, 16.0)),
    ))


def ev(phase: Phase, when: str, recorded: str | None = None) -> PhaseEvent:
    known = dt.date.fromisoformat(recorded) if recorded else None
    return PhaseEvent(phase, dt.date.fromisoformat(when), recorded=known)


ASSETS = [
    Asset("a", "A", (ev(Phase.PHASE3, "2021-03-01"), ev(Phase.FILED, "2023-05-01"), ev(Phase.APPROVED, "2024-06-01"))),
    Asset("b", "B", (ev(Phase.PHASE1, "2020-01-01"), ev(Phase.FILED, "2023-06-01", "2024-02-01"),
                     ev(Phase.APPROVED, "2025-03-01"))),
    Asset("c", "C", (ev(Phase.PHASE2, "2022-01-01"),)),
    Asset("d", "D", (ev(Phase.PHASE1, "2019-01-01"), ev(Phase.APPROVED, "2023-04-01"))),  # approved before D
    Asset("e", "E", (ev(Phase.PHASE1, "2024-05-01"),)),  # first seen after D
]


def test_as_of_cut_by_hand() -> None:
    seen = {a.id: a for a in known_pipeline(ASSETS, D)}
    assert set(seen) == {"a", "b", "c"}
    assert seen["a"].phase is Phase.FILED
    assert seen["b"].phase is Phase.PHASE1  # its filing was dated before D but recorded after: unknown at D
    assert approvals_per_year(ASSETS) == {2023: 1, 2024: 1, 2025: 1}
    assert approvals_per_year(ASSETS, known_by=D) == {2023: 1}


def test_one_filed_candidate_against_the_closed_form() -> None:
    only = [ASSETS[0]]
    run = run_chongqing(only, D, [2024, 2025], {"t": _rates()}, data_as_of=dt.date(2026, 6, 1))
    row = _rates().row(Phase.FILED)
    sigma, mu = row.duration.sigma, row.duration.mu

    def survival(days: float) -> float:
        return 0.5 * math.erfc((math.log(days) - mu) / sigma / math.sqrt(2))

    e = (D - dt.date(2023, 5, 1)).days
    for j, (start, end) in enumerate(((dt.date(2024, 1, 1), dt.date(2025, 1, 1)),
                                      (dt.date(2025, 1, 1), dt.date(2026, 1, 1)))):
        a, b = (start - D).days, (end - D).days
        closed = 0.9 * (survival(e + a) - survival(e + b)) / survival(e)
        pmf = run["years"][j]["t"]["pmf"]
        assert pmf[1] == pytest.approx(closed, abs=2e-3)
    assert run["years"][0]["observed"] == 1
    assert run["per_candidate"]["approved"] == 1


def test_observed_counts_every_candidate_known_or_not() -> None:
    run = run_chongqing(ASSETS, D, [2024, 2025], {"t": _rates()}, data_as_of=dt.date(2026, 6, 1))
    assert [r["observed"] for r in run["years"]] == [1, 1]
    late = Asset("g", "G", (ev(Phase.FILED, "2024-03-01"), ev(Phase.APPROVED, "2025-02-01")))
    more = run_chongqing([*ASSETS, late], D, [2024, 2025], {"t": _rates()}, data_as_of=dt.date(2026, 6, 1))
    assert [r["observed"] for r in more["years"]] == [1, 2]
    assert [r["observed_from_pipeline"] for r in more["years"]] == [1, 1]


def test_no_look_ahead() -> None:
    years = [2024, 2025]
    base = run_chongqing(ASSETS, D, years, {"t": _rates()}, data_as_of=dt.date(2026, 6, 1))
    # Every event after D moved or added, and facts recorded after D: the forecast does not change.
    planted = [
        *(replace(a, history=(
            *((replace(e, date=e.date + dt.timedelta(days=40)) if e.date > D else e) for e in a.history),
            ev(Phase.PHASE3, "2024-02-01"),
        )) for a in ASSETS),
        Asset("f", "F", (ev(Phase.PHASE3, "2023-01-01", "2024-03-01"),)),
    ]
    after = run_chongqing(planted, D, years, {"t": _rates()}, data_as_of=dt.date(2026, 6, 1))
    for x, y in zip(base["years"], after["years"], strict=True):
        assert x["t"]["pmf"] == y["t"]["pmf"]
        assert x["poisson_last_year"]["pmf"] == y["poisson_last_year"]["pmf"]
    # A change known at D moves it.
    moved = [replace(ASSETS[2], history=(ev(Phase.PHASE3, "2022-01-01"),)), *ASSETS[:2], *ASSETS[3:]]
    changed = run_chongqing(moved, D, years, {"t": _rates()}, data_as_of=dt.date(2026, 6, 1))
    assert changed["years"][1]["t"]["pmf"] != base["years"][1]["t"]["pmf"]


def test_incomplete_year_is_not_scored() -> None:
    run = run_chongqing(ASSETS, D, [2024, 2025], {"t": _rates()}, data_as_of=dt.date(2025, 6, 30))
    assert run["scored_years"] == [2024]
    assert run["years"][1]["observed"] is None
    assert run["years"][1]["observed_so_far"] == 1
    assert run["scores"]["t"]["years"] == 1


def _events_by_hand(folder: Path, as_of: dt.date) -> dict[int, int]:
    """First approvals after `as_of` per year, straight from events.csv (all candidates, and those known at as_of)."""
    with (folder / "events.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    known = {r["asset_id"] for r in rows
             if dt.date.fromisoformat(r["date"]) <= as_of
             and dt.date.fromisoformat(r["recorded"] or r["date"]) <= as_of}
    first: dict[str, dt.date] = {}
    for r in rows:
        if r["phase"] == "approved":
            when = dt.date.fromisoformat(r["date"])
            first[r["asset_id"]] = min(first.get(r["asset_id"], when), when)
    out: dict[int, int] = {}
    for asset, when in first.items():
        if when > as_of:
            out[when.year] = out.get(when.year, 0) + 1
            out[-when.year] = out.get(-when.year, 0) + (asset in known)
    return out


@pytest.mark.parametrize("as_of", [dt.date(2024, 1, 1), dt.date(2025, 1, 1)])
def test_bundled_chongqing_observed_counts(as_of: dt.date) -> None:
    folder = bundled_dataset_folder("chongqing")
    assets, data_as_of = load_history(folder, today=dt.date(2026, 12, 1))
    years = list(range(as_of.year, data_as_of.year + 1))
    run = run_chongqing(assets, as_of, years, {"t": _rates()}, data_as_of=data_as_of)
    by_hand = _events_by_hand(folder, as_of)
    for row in run["years"]:
        assert row["observed_so_far"] == by_hand.get(row["year"], 0)
        assert row["observed_from_pipeline"] == by_hand.get(-row["year"], 0)
        if dt.date(row["year"], 12, 31) > data_as_of:
            assert row["observed"] is None


def test_command(tmp_path: Path) -> None:
    db = str(tmp_path / "db.sqlite")
    out = invoke(db, "backtest", "chongqing", "--as-of", "2025-01-01", "--rates", "global,china_calibrated", "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["as_of"] == "2025-01-01"
    assert set(data["forecasters"]) == {"global", "china_calibrated", "poisson_last_year", "negative_binomial"}
    late = invoke(db, "backtest", "chongqing", "--as-of", "2030-01-01")
    assert late.exit_code == 2
    assert "--as-of" in late.stderr
