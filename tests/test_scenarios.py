"""Scenario levers, comparisons on common random numbers, the solver, and YAML validation."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest

from pipecast.domain import PIPELINE_PHASES, Asset, Phase, PhaseEvent
from pipecast.engines.montecarlo import Entrants, entrant_year_means
from pipecast.errors import InputError
from pipecast.loading.rates import bundled_rate_set
from pipecast.loading.scenarios import compare, load_scenario, solve
from pipecast.rates import Duration, RateRow, RateSet
from pipecast.scenarios import apply, parse_scenario
from pipecast.synthetic import synthetic_assets
from pipecast.targets import parse_target

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "scenarios"
AS_OF = dt.date(2025, 11, 1)


def instant_rates(p_filed: float) -> RateSet:
    """Every phase succeeds at once (a tiny duration); filing is approved with probability p_filed."""
    rows = tuple(
        RateRow(phase, p_filed if phase is Phase.FILED else 1.0, Duration(0.001, 0.002)) for phase in PIPELINE_PHASES
    )
    return RateSet("instant", rows, "test")


def test_example_files_load() -> None:
    for name in ("base", "fast-review", "funding"):
        scenario = load_scenario(EXAMPLES / f"{name}.yaml")
        assert scenario.name == name
    fast = load_scenario(EXAMPLES / "fast-review.yaml")
    assert fast.review[0].phase is Phase.FILED
    assert fast.review[0].months == pytest.approx(130 / 250 * 12)


def test_faster_review_does_not_lower_p_target() -> None:
    assets = synthetic_assets(120, seed=8, as_of=AS_OF)
    target = parse_target("2026-2029:3+")
    result = compare(
        EXAMPLES / "base.yaml", [EXAMPLES / "fast-review.yaml"], target, paths=4000, seed=1, assets=assets, as_of=AS_OF,
        rates="china",
    )
    base, fast = result.outcomes
    assert fast.difference["all_years_at_least_low"] >= -3 * fast.difference_error["all_years_at_least_low"]
    assert fast.figures["all_years_at_least_low"] >= base.figures["all_years_at_least_low"]
    # the paired error is smaller than either figure's own error
    assert fast.difference_error["expected_total"] < base.errors["expected_total"]
    assert result.to_json()["scenarios"][1]["difference_vs_base"]


def test_funding_programme_adds_the_closed_form_amount() -> None:
    as_of = dt.date(2026, 12, 31)
    rates = instant_rates(0.5)
    lam = 10.0
    entrants = [Entrants(Phase.FILED, lam, dt.date(2027, 1, 1), dt.date(2027, 12, 31))]
    mu = entrant_year_means(entrants, rates, as_of, [2027, 2028])
    # 365 entry days at lam / 365.25 a day, approved at once with probability 0.5
    assert mu[0] == pytest.approx(lam * 0.5 * 365 / 365.25, rel=1e-3)
    assert mu[1] == pytest.approx(0.0, abs=1e-3)
    assets = [Asset("x", "X", (PhaseEvent(Phase.PHASE3, dt.date(2026, 6, 1)),))]
    target = parse_target("2027:0+")
    doc = {"levers": {"new_entrants": [{"phase": "filed", "per_year": lam, "from": "2027-01-01",
                                        "until": "2027-12-31"}]}}
    funded = parse_scenario(doc, file="funding.yaml")
    n = 20_000
    result = compare(None, [funded], target, paths=n, seed=3, assets=assets, rates=rates, as_of=as_of)
    gain = result.outcomes[1].difference["expected_total"]
    error = result.outcomes[1].difference_error["expected_total"]
    assert abs(gain - lam * 0.5 * 365 / 365.25) <= 5 * error + 1e-3


def test_solver_finds_known_answer() -> None:
    # No pipeline; filings approved at once with certainty: P(at least one in 2027) = 1 - exp(-mu),
    # mu = lam * 365/365.25, so P = 0.8 at lam = ln 5 * 365.25 / 365.
    as_of = dt.date(2026, 12, 31)
    assets = [Asset("d", "D", (PhaseEvent(Phase.DISCONTINUED, dt.date(2026, 1, 1)),))]
    target = parse_target("2027:1+")
    answer = math.log(5) * 365.25 / 365
    result = solve(
        target, 0.8, "new_filed_per_year", (0.0, 10.0), assets=assets, as_of=as_of,
        rates=instant_rates(1.0), paths=4000, seed=2, tolerance=0.01,
    )
    assert result.reached
    assert result.value is not None
    assert abs(result.value - answer) < 0.15
    assert result.monotone
    unreachable = solve(
        target, 0.8, "new_filed_per_year", (0.0, 0.5), assets=assets, as_of=as_of,
        rates=instant_rates(1.0), paths=2000, seed=2,
    )
    assert not unreachable.reached
    assert unreachable.value is None
    assert "no value of new_filed_per_year within 0..0.5" in unreachable.message


def test_success_multiplier_applies_only_to_named_area() -> None:
    rates = bundled_rate_set("global")
    scenario = parse_scenario({"levers": {"success_multiplier": {"therapeutic_area": {"Neurology": 1.2}}}})
    assets = synthetic_assets(40, seed=1, as_of=AS_OF)
    _, adjusted, _, _ = apply(scenario, assets, rates, AS_OF, 2030)
    neuro = next(a for a in assets if a.therapeutic_area == "Neurology")
    other = next(a for a in assets if a.therapeutic_area not in ("Neurology",))
    for phase in PIPELINE_PHASES:
        before = rates.row(phase, neuro.therapeutic_area, neuro.modality).p_success
        assert adjusted.row(phase, neuro.therapeutic_area, neuro.modality).p_success == pytest.approx(
            min(1.0, before * 1.2)
        )
        assert adjusted.row(phase, other.therapeutic_area, other.modality).p_success == pytest.approx(
            rates.row(phase, other.therapeutic_area, other.modality).p_success
        )


BAD = {
    "unknown-lever.yaml": ("levers:\n  speed_up: 2\n", "levers.speed_up"),
    "negative-rate.yaml": ("levers:\n  new_entrants:\n    - {phase: phase2, per_year: -1}\n", "per_year"),
    "probability.yaml": ("correlation:\n  sponsor_stop: 1.5\n", "correlation.sponsor_stop"),
    "multiplier.yaml": ("levers:\n  review_time:\n    filed: {multiplier: 0}\n", "levers.review_time.filed"),
    "area-multiplier.yaml": (
        "levers:\n  success_multiplier:\n    therapeutic_area: {Oncology: -2}\n", "therapeutic_area.Oncology"
    ),
    "target.yaml": ("target: 2027-2030 at least one\n", "target"),
    "phase.yaml": ("levers:\n  new_entrants:\n    - {phase: phase9, per_year: 2}\n", "phase"),
    "rho.yaml": ("correlation:\n  rho: {sponsor: 1.2}\n", "correlation.rho.sponsor"),
    "top.yaml": ("leverz: {}\n", "leverz"),
    "yaml.yaml": ("levers: [unclosed\n", ""),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_yaml_names_file_and_key(tmp_path: Path, name: str) -> None:
    text, key = BAD[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert name in str(info.value)
    assert key in str(info.value)
    assert "expected" in str(info.value)


def test_unknown_candidate_ids(tmp_path: Path) -> None:
    assets = synthetic_assets(5, seed=1, as_of=AS_OF)
    for lever in ("discontinue: [no-such-id]", "accelerate: {no-such-id: 6}"):
        path = tmp_path / "ids.yaml"
        path.write_text(f"levers:\n  {lever}\n", encoding="utf-8")
        scenario = load_scenario(path)
        with pytest.raises(InputError) as info:
            apply(scenario, assets, bundled_rate_set("china"), AS_OF, 2030)
        assert "ids.yaml" in str(info.value)
        assert "no-such-id" in str(info.value)


def test_discontinue_and_in_license_keep_positions() -> None:
    assets = synthetic_assets(10, seed=2, as_of=AS_OF)
    doc = {"levers": {"discontinue": [assets[3].id], "in_licensed": [
        {"id": "lic", "phase": "phase3", "date": "2025-01-01"}]}}
    portfolio, _, _, _ = apply(parse_scenario(doc), assets, bundled_rate_set("china"), AS_OF, 2030)
    ids = [a.id for a in portfolio.assets]
    assert ids[-1] == "lic"
    assert ids[3] == assets[3].id
    assert portfolio.assets[3].phase is Phase.DISCONTINUED


def test_cli_compare_json(tmp_path: Path) -> None:
    import json

    from cli_app import invoke

    out = invoke(
        str(tmp_path / "unused.sqlite"),
        "scenarios", "compare", str(EXAMPLES / "base.yaml"), str(EXAMPLES / "funding.yaml"),
        "--target", "2027-2030:1+", "--assets", str(EXAMPLES.parent / "assets.csv"),
        "--as-of", "2025-11-01", "--paths", "500", "--json",
    )
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert [s["name"] for s in data["scenarios"]] == ["base", "funding"]
    assert data["scenarios"][1]["difference_vs_base"]["expected_total"] > 0
