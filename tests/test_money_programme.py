"""A support programme under each scenario, and the revenue and jobs a user gives: checked by hand."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from pipecast.cli import run
from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.rates import Duration, RateRow, RateSet
from pipecast.scenarios import apply, parse_scenario
from pipecast.value.economics import PARAMETERS, Economics
from pipecast.value.programme import (
    Programme,
    Reward,
    StageSupport,
    entrant_slices,
    evaluate_programme,
    evaluate_under_scenario,
)
from shared_paths import REPO_ROOT

AS_OF = dt.date(2026, 1, 1)
END = dt.date(2027, 12, 31)
FILED = Duration(12.0, 20.0)
PHASES = {
    Phase.PRECLINICAL: (0.7, Duration(10.0, 18.0)),
    Phase.PHASE1: (0.6, Duration(20.0, 36.0)),
    Phase.PHASE2: (0.35, Duration(30.0, 50.0)),
    Phase.PHASE3: (0.55, Duration(32.0, 55.0)),
    Phase.FILED: (0.85, FILED),
}
BUNDLED = REPO_ROOT / "src" / "pipecast" / "data" / "chongqing"
FUNDING_SCENARIO = REPO_ROOT / "examples" / "scenarios" / "chongqing" / "funding.yaml"


def rate_set() -> RateSet:
    return RateSet("test", tuple(RateRow(p, q, d) for p, (q, d) in PHASES.items()))


def economics(**overrides: float) -> Economics:
    values = dict.fromkeys(PARAMETERS, 0.0)
    values.update(discount_rate=0.1, peak_sales_median=100.0, peak_sales_p90=100.0, years_to_peak=6.0,
                  loe_years=8.0, usd_cny=7.0, cost_phase1=100.0, cost_phase2=100.0, cost_phase3=100.0,
                  cost_preclinical=100.0)
    values.update(overrides)
    return Economics(values, "CNY")


def candidate(phase: Phase, asset_id: str = "a1") -> Asset:
    return Asset(asset_id, asset_id, (PhaseEvent(phase, AS_OF),))


def programme(support: StageSupport | None = None, rewards: tuple[Reward, ...] = (), **kw: Any) -> Programme:
    return Programme("t", "CNY", AS_OF, END, support or StageSupport(), rewards, **kw)


def econ_for(_: Asset) -> Economics:
    return economics()


def scenario(levers: dict[str, Any]) -> Any:
    return parse_scenario({"name": "s", "levers": levers})


ENTRANTS = {"new_entrants": [{"phase": "phase2", "per_year": 12, "from": "2026-01-01", "until": "2026-12-31"}]}


def test_entrants_paid_on_arrival_count_per_year_times_the_years_they_arrive() -> None:
    """12 a year enter phase 2 during 2026; support paid on entering phase 2 is paid on arrival, inside the
    window: expected outlay = 12 x 365 / 365.25 x 1; its PV at 10 % is the integral 12 (1 - v^T) / ln(1.1)."""
    rule = programme(StageSupport(1.0, {"phase2": 1.0}, paid_on="entry"), discount_rate=0.1)
    result = evaluate_under_scenario(rule, scenario(ENTRANTS), [], rate_set(), econ_for, AS_OF)
    years = 365 / 365.25
    assert result.total("expected_outlay") == pytest.approx(12 * years, rel=1e-12)
    assert result.total("due_to_date") == 0.0
    closed = 12 * (1 - 1.1**-years) / math.log(1.1)
    assert result.total("present_value") == pytest.approx(closed, rel=1e-4)
    # Switched off: the same programme without the scenario pays nothing.
    assert evaluate_programme(rule, [], rate_set(), econ_for, AS_OF).total("expected_outlay") == 0.0


def test_entrants_complete_only_the_stage_before_the_one_they_enter() -> None:
    """Entering phase 2 completes phase 1 (paid), not preclinical (done at an unknown earlier date)."""
    phase1 = programme(StageSupport(1.0, {"phase1": 1.0}))
    preclinical = programme(StageSupport(1.0, {"preclinical": 1.0}))
    s = scenario(ENTRANTS)
    assert evaluate_under_scenario(phase1, s, [], rate_set(), econ_for, AS_OF).total("expected_outlay") == (
        pytest.approx(12 * 365 / 365.25, rel=1e-12)
    )
    assert evaluate_under_scenario(preclinical, s, [], rate_set(), econ_for, AS_OF).total("expected_outlay") == 0.0


def test_entrant_slices_cover_the_stream_once() -> None:
    s = scenario(ENTRANTS)
    _, _, streams, _ = apply(s, [], rate_set(), AS_OF, 2027)
    slices = entrant_slices(streams[0], AS_OF, END)
    assert len(slices) == 12
    assert sum(n for _, n in slices) == pytest.approx(12 * 365 / 365.25)
    assert entrant_slices(streams[0], AS_OF, dt.date(2026, 6, 30))[-1][0] < dt.date(2026, 7, 1)


def test_success_multiplier_scales_approvals_by_its_square_over_two_phases() -> None:
    """A phase 3 candidate: approval needs phase 3 and filing, each x0.5: approvals and the approval
    reward x0.25; support paid on completing phase 3 (one success) x0.5. Timing does not change."""
    reward = programme(rewards=(Reward("approved", 10.0),))
    stage = programme(StageSupport(0.2, {"phase3": 10.0}))
    half = scenario({"success_multiplier": {"all": 0.5}})
    assets = [candidate(Phase.PHASE3)]
    for rule, factor in ((reward, 0.25), (stage, 0.5)):
        base = evaluate_programme(rule, assets, rate_set(), econ_for, AS_OF)
        under = evaluate_under_scenario(rule, half, assets, rate_set(), econ_for, AS_OF)
        assert base.total("expected_outlay") > 0
        assert under.total("expected_outlay") == pytest.approx(factor * base.total("expected_outlay"), rel=1e-9)
    base = evaluate_programme(reward, assets, rate_set(), econ_for, AS_OF)
    under = evaluate_under_scenario(reward, half, assets, rate_set(), econ_for, AS_OF)
    assert under.total("expected_approvals") == pytest.approx(0.25 * base.total("expected_approvals"), rel=1e-9)
    assert under.scenario == "s"


def test_review_time_lever_against_the_lognormal_cdf() -> None:
    """A candidate filed on the as-of date is approved inside the window (n days) with P = 0.85 x P(D < n);
    halving the review time halves the lognormal's median and keeps its sigma."""
    rule = programme(rewards=(Reward("approved", 1.0),))
    n = (END - AS_OF).days + 1
    faster = scenario({"review_time": {"filed": {"multiplier": 0.5}}})
    result = evaluate_under_scenario(rule, faster, [candidate(Phase.FILED)], rate_set(), econ_for, AS_OF)
    expected = 0.85 * stats.lognorm.cdf(n, FILED.sigma, scale=math.exp(FILED.mu) * 0.5)
    assert result.total("expected_approvals") == pytest.approx(expected, rel=1e-6)
    base = evaluate_programme(rule, [candidate(Phase.FILED)], rate_set(), econ_for, AS_OF)
    assert base.total("expected_approvals") == pytest.approx(
        0.85 * stats.lognorm.cdf(n, FILED.sigma, scale=math.exp(FILED.mu)), rel=1e-6
    )


def test_discontinued_by_the_scenario_receives_nothing() -> None:
    rule = programme(StageSupport(0.2, {"phase3": 10.0}), (Reward("approved", 10.0),))
    assets = [candidate(Phase.PHASE3), candidate(Phase.FILED, "a2")]
    stop = scenario({"discontinue": ["a1"]})
    under = evaluate_under_scenario(rule, stop, assets, rate_set(), econ_for, AS_OF)
    alone = evaluate_programme(rule, assets[1:], rate_set(), econ_for, AS_OF)
    assert under.total("expected_outlay") == pytest.approx(alone.total("expected_outlay"), rel=1e-12)
    assert under.total("expected_approvals") == pytest.approx(alone.total("expected_approvals"), rel=1e-12)


def test_revenue_and_jobs_are_approvals_times_what_the_user_gives() -> None:
    rule = programme(rewards=(Reward("approved", 10.0),), revenue_per_approval=300.0, jobs_per_approval=150.0)
    result = evaluate_programme(rule, [candidate(Phase.FILED)], rate_set(), econ_for, AS_OF).as_dict()
    approvals = 0.85 * stats.lognorm.cdf((END - AS_OF).days + 1, FILED.sigma, scale=math.exp(FILED.mu))
    assert result["annual_revenue_from_approvals"] == pytest.approx(300 * approvals, rel=1e-6)
    assert result["jobs_from_approvals"] == pytest.approx(150 * approvals, rel=1e-6)
    assert result["cost_per_job"] == pytest.approx(10 * approvals / (150 * approvals), rel=1e-9)
    plain = evaluate_programme(programme(), [candidate(Phase.FILED)], rate_set(), econ_for, AS_OF).as_dict()
    assert plain["annual_revenue_from_approvals"] is None
    assert plain["jobs_from_approvals"] is None


# ------------------------------------------------------------------------------------------------ CLI


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["value", "programme", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_programme_command_under_a_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    common = ("chongqing-2025", "--assets", str(BUNDLED), "--as-of", "2026-12-01", "--json")
    code, out, err = cli(capsys, *common)
    assert code == 0, err
    base = json.loads(out)
    assert "scenarios" not in base
    code, out, err = cli(capsys, *common, "--scenario", str(FUNDING_SCENARIO))
    assert code == 0, err
    data = json.loads(out)
    assert data["expected_outlay"] == pytest.approx(base["expected_outlay"], rel=1e-12)
    funded = data["scenarios"][0]
    assert funded["scenario"] == "cq-funding"
    # 3 a year enter phase 2 from 2026-12-01 to 2028-12-31; those arriving by 2028-12-05 complete phase 1 on
    # arrival, which pays RMB 2m each; a few may also complete phase 2 inside the window (more on top).
    arrivals = 3 * ((dt.date(2028, 12, 5) - dt.date(2026, 12, 1)).days + 1) / 365.25
    extra = funded["expected_outlay"] - base["expected_outlay"]
    assert extra >= 2 * arrivals * (1 - 1e-9)
    assert extra < 2 * arrivals + 3 * arrivals * 0.5  # phase 2 support is 3m, paid with probability < 1/2
    assert funded["expected_approvals"] >= base["expected_approvals"]


def test_bad_outcomes_and_a_bad_scenario_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "name: t\ncurrency: CNY\nvalid_from: 2026-01-01\nvalid_until: 2027-12-31\n"
        "rewards: [{event: approved, amount: 10}]\n"
    )
    bad = tmp_path / "P.yaml"
    bad.write_text(text + "outcomes: {jobs: 3}\n", encoding="utf-8")
    code, _, err = cli(capsys, str(bad), "--assets", str(BUNDLED), "--as-of", "2026-12-01")
    assert code == 2
    assert "outcomes.jobs" in err
    assert len(err.strip().splitlines()) == 1
    negative = tmp_path / "N.yaml"
    negative.write_text(text + "outcomes: {jobs_per_approval: -3}\n", encoding="utf-8")
    code, _, err = cli(capsys, str(negative), "--assets", str(BUNDLED), "--as-of", "2026-12-01")
    assert code == 2
    assert "outcomes.jobs_per_approval" in err
    scen = tmp_path / "S.yaml"
    scen.write_text("name: s\nlevers: {discontinue: [no-such-id]}\n", encoding="utf-8")
    code, _, err = cli(capsys, "chongqing-2025", "--assets", str(BUNDLED), "--as-of", "2026-12-01",
                       "--scenario", str(scen))
    assert code == 2
    assert "no-such-id" in err
