"""`pipecast rates calibrate --db STORE`: fits from the store's phase histories as known at --as-of.

The store is built from simulated candidate histories with known rates (fixed seed); lifelines' fit is
checked against the independent numpy/scipy likelihood.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import numpy as np
import pytest

from cli_app import invoke
from pipecast.backtest.calibration import (
    Transition,
    censored_lognormal,
    lifelines_lognormal,
    transitions_from_assets,
)
from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.loading.rates import load_rate_set
from pipecast.store import Store

AS_OF = dt.date(2022, 12, 31)
DAYS_PER_MONTH = 365.25 / 12
Z90 = 1.2815515655446004
#: phase -> (p_success, median months, p90 months) of the simulation.
TRUTH = {
    Phase.PHASE1: (0.6, 20.0, 40.0),
    Phase.PHASE2: (0.4, 28.0, 50.0),
    Phase.PHASE3: (0.55, 34.0, 60.0),
    Phase.FILED: (0.85, 12.0, 20.0),
}
ORDER = (Phase.PHASE1, Phase.PHASE2, Phase.PHASE3, Phase.FILED, Phase.APPROVED)


def simulate_assets(n: int, seed: int) -> list[Asset]:
    """Candidates entering phase 1 uniformly 2000-2022, then each phase by the truth; full histories
    (events after AS_OF included: the calibration must not see them)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        day = dt.date(2000, 1, 1) + dt.timedelta(days=int(rng.integers(0, 23 * 365)))
        events = [PhaseEvent(Phase.PHASE1, day)]
        for k, phase in enumerate(ORDER[:-1]):
            p, median, p90 = TRUTH[phase]
            sigma = math.log(p90 / median) / Z90
            length = math.exp(math.log(median * DAYS_PER_MONTH) + sigma * rng.standard_normal())
            day = day + dt.timedelta(days=max(int(length), 1))
            if rng.uniform() >= p:
                events.append(PhaseEvent(Phase.DISCONTINUED, day))
                break
            events.append(PhaseEvent(ORDER[k + 1], day))
        out.append(Asset(f"sim{i:04d}", f"Sim {i}", tuple(events)))
    return out


def build_store(path: Path, assets: list[Asset]) -> None:
    with Store.open(f"sqlite:///{path}") as store:
        store.add_assets(assets)


def read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return {r["phase"]: r for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def simulated() -> list[Asset]:
    return simulate_assets(1500, seed=20221231)


def test_spells_from_histories_by_hand() -> None:
    asset = Asset("a", "A", (PhaseEvent(Phase.PHASE1, dt.date(2020, 1, 1)),
                             PhaseEvent(Phase.PHASE1, dt.date(2020, 3, 1)),
                             PhaseEvent(Phase.PHASE3, dt.date(2021, 1, 1)),
                             PhaseEvent(Phase.DISCONTINUED, dt.date(2022, 6, 1)),
                             PhaseEvent(Phase.PHASE2, dt.date(2022, 7, 1), recorded=dt.date(2023, 2, 1))),
                  count=2)
    spells = transitions_from_assets([asset], dt.date(2022, 12, 31))
    one = [Transition(Phase.PHASE1, dt.date(2020, 1, 1), dt.date(2021, 1, 1), True),
           Transition(Phase.PHASE3, dt.date(2021, 1, 1), dt.date(2022, 6, 1), False)]
    assert spells == one * 2  # a cohort counts twice; the event recorded after the as-of date is unknown
    # as of mid-2021 the phase 3 spell is open
    assert transitions_from_assets([asset], dt.date(2021, 6, 30))[-1] == Transition(Phase.PHASE3, dt.date(2021, 1, 1))


def test_lifelines_fit_agrees_with_the_independent_scipy_likelihood() -> None:
    rng = np.random.default_rng(3)
    t = np.exp(rng.normal(6.3, 0.55, 700))
    c = rng.uniform(0, 2000, 700)
    days, event = np.minimum(t, c), t <= c
    assert 0.1 < float(event.mean()) < 0.9
    mu, sigma, (lo, hi) = lifelines_lognormal(days, event)
    mu2, sigma2, (lo2, hi2) = censored_lognormal(days, event)
    assert mu == pytest.approx(mu2, abs=2e-4)
    assert sigma == pytest.approx(sigma2, abs=2e-4)
    assert (hi - lo) == pytest.approx(hi2 - lo2, rel=0.02)


def test_store_calibration_recovers_known_rates(tmp_path: Path, simulated: list[Asset]) -> None:
    db = tmp_path / "store.sqlite"
    build_store(db, simulated)
    out = tmp_path / "RATES.csv"
    result = invoke(str(db), "rates", "calibrate", "--as-of", AS_OF.isoformat(), "--prior", "china",
                    "--prior-strength", "5", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    import json

    fitted = {r["phase"]: r for r in json.loads(result.stdout)}
    for phase, (p, median, _) in TRUTH.items():
        row = fitted[phase.value]
        assert row["open"] > 0  # candidates still in the phase are censored, not dropped
        assert row["failed"] > 0
        assert row["p_interval"][0] <= p <= row["p_interval"][1], phase
        lo, hi = row["median_interval_months"]
        assert lo <= median <= hi, phase
    # the written file loads as a rate set and names the store and the prior
    rates = load_rate_set(out)
    assert "prior china p=0.289 strength 5" in rates.row(Phase.PHASE2).note
    assert "store.sqlite" in rates.row(Phase.PHASE2).source
    # preclinical has no spells: the prior's row
    assert fitted["preclinical"]["advanced"] == fitted["preclinical"]["open"] == 0


def test_events_after_the_as_of_date_change_nothing(tmp_path: Path, simulated: list[Asset]) -> None:
    base = simulated[:400]
    a, b = tmp_path / "a.sqlite", tmp_path / "b.sqlite"
    build_store(a, base)
    # the same store plus: every candidate's events after AS_OF moved, new candidates entered after AS_OF,
    # and events dated before AS_OF but recorded after it
    planted = []
    for asset in base:
        kept = tuple(e for e in asset.history if e.date <= AS_OF)
        later = (PhaseEvent(Phase.DISCONTINUED, AS_OF + dt.timedelta(days=30)),)
        late_news = (PhaseEvent(Phase.APPROVED, kept[-1].date + dt.timedelta(days=1),
                                recorded=AS_OF + dt.timedelta(days=9)),)
        planted.append(Asset(asset.id, asset.name, kept + (later if kept[-1].phase.is_active else ()) + (
            late_news if kept[-1].phase.is_active and kept[-1].date < AS_OF else ())))
    planted += [Asset(f"new{i}", f"New {i}", (PhaseEvent(Phase.PHASE2, AS_OF + dt.timedelta(days=5 + i)),))
                for i in range(20)]
    build_store(b, planted)
    outs = []
    for db in (a, b):
        out = tmp_path / f"{db.stem}.csv"
        result = invoke(str(db), "rates", "calibrate", "--as-of", AS_OF.isoformat(), "--out", str(out))
        assert result.exit_code == 0, result.stderr
        outs.append(read_rows(out))
    strip = [{k: {f: v for f, v in row.items() if f != "source"} for k, row in o.items()} for o in outs]
    assert strip[0] == strip[1]
    # ...while a change before AS_OF does move the fit (the check can fail)
    c = tmp_path / "c.sqlite"
    build_store(c, [Asset(x.id, x.name, tuple(e for e in x.history if e.phase is not Phase.DISCONTINUED))
                    for x in base])
    out = tmp_path / "c.csv"
    assert invoke(str(c), "rates", "calibrate", "--as-of", AS_OF.isoformat(), "--out", str(out)).exit_code == 0
    assert read_rows(out)["phase2"]["p_success"] != outs[0]["phase2"]["p_success"]


def test_empty_store_is_a_one_line_error(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    result = invoke(str(tmp_path / "none.sqlite"), "rates", "calibrate", "--as-of", "2022-12-31", "--out", str(out))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    assert not out.exists()
    assert not (tmp_path / "none.sqlite").exists()
