"""Plan KPIs: the cumulative target against brute force, verdicts against hand counts and closed forms,
the bundled Chongqing targets and their sources, and one-line errors for bad target and figure files."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from pipecast.cli import run
from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.engines.exact import candidate_year_matrix
from pipecast.errors import InputError
from pipecast.ingest.assets_file import load_dataset
from pipecast.loading.plan import bundled_plan_files, load_figures, load_targets
from pipecast.loading.rates import bundled_rate_set
from pipecast.plan.actuals import approvals_in_year, approvals_total, in_clinic
from pipecast.plan.cumulative import cumulative_outlook, outlook_from_probabilities
from pipecast.plan.kpi import Citation, KpiTarget
from pipecast.plan.verdict import evaluate
from pipecast.rates import Duration, RateRow, RateSet

REPO = Path(__file__).resolve().parents[1]
CQ = REPO / "src" / "pipecast" / "data" / "chongqing"
AS_OF = dt.date(2026, 12, 1)
CITE = Citation("https://example.org/plan", "a plan", dt.date(2025, 11, 6), "quote")


def _brute_force(p: list[float], on_record: int, need: int) -> tuple[float, list[float]]:
    """P(on_record + successes >= need) and the pmf of successes, over all 2^n outcomes."""
    pmf = [0.0] * (len(p) + 1)
    for outcome in itertools.product((0, 1), repeat=len(p)):
        weight = math.prod(q if hit else 1 - q for q, hit in zip(p, outcome, strict=True))
        pmf[sum(outcome)] += weight
    return sum(pmf[k] for k in range(len(pmf)) if on_record + k >= need), pmf


@pytest.mark.parametrize(("on_record", "need"), [(0, 3), (2, 6), (4, 5), (7, 5), (0, 12)])
def test_cumulative_probability_matches_brute_force_enumeration(on_record: int, need: int) -> None:
    rng = np.random.default_rng(7)
    p = [float(x) for x in rng.uniform(0.02, 0.95, size=8)]
    counts = [1, 1, 3, 1, 2, 1, 1, 1]  # two cohorts of identical candidates
    expanded = [q for q, c in zip(p, counts, strict=True) for _ in range(c)]
    expected_p, expected_pmf = _brute_force(expanded, on_record, need)
    outlook = outlook_from_probabilities(p, counts, on_record, need, dt.date(2027, 12, 31))
    assert outlook.p_met == pytest.approx(expected_p, abs=1e-12)
    assert list(outlook.pmf) == pytest.approx(expected_pmf, abs=1e-12)
    assert outlook.expected_more == pytest.approx(sum(expanded), abs=1e-12)


def _deterministic_rates() -> RateSet:
    """Durations with p90 = median have no spread: every phase lasts exactly its median."""
    rows = [RateRow(Phase.PRECLINICAL, 0.5, Duration(12, 12)), RateRow(Phase.PHASE1, 0.5, Duration(12, 12)),
            RateRow(Phase.PHASE2, 0.5, Duration(12, 12)), RateRow(Phase.PHASE3, 0.5, Duration(24, 24)),
            RateRow(Phase.FILED, 0.8, Duration(12, 12))]
    return RateSet("deterministic", tuple(rows))


def _asset(asset_id: str, *events: tuple[Phase, dt.date], count: int = 1) -> Asset:
    return Asset(asset_id, asset_id, tuple(PhaseEvent(p, d) for p, d in events), count=count)


def _toy() -> list[Asset]:
    return [
        _asset("a", (Phase.FILED, dt.date(2026, 6, 1))),  # approved about 2027-06 with p 0.8
        _asset("b", (Phase.PHASE3, dt.date(2026, 11, 1))),  # phase 3 ends 2028-11: never by 2027
        _asset("c", (Phase.FILED, dt.date(2026, 11, 30))),  # approved about 2027-11-30 with p 0.8
        _asset("d", (Phase.FILED, dt.date(2024, 3, 1)), (Phase.APPROVED, dt.date(2025, 3, 1))),
        _asset("e", (Phase.FILED, dt.date(2022, 5, 1)), (Phase.APPROVED, dt.date(2023, 5, 1))),
        _asset("f", (Phase.APPROVED, dt.date(2027, 1, 5))),  # after the as-of date: not known yet
    ]


def test_cumulative_outlook_hand_computed_with_deterministic_durations() -> None:
    rates = _deterministic_rates()
    deadline = dt.date(2027, 12, 31)
    outlook, record = cumulative_outlook(_toy(), rates, AS_OF, deadline, need=3, counted_from=dt.date(2024, 1, 1))
    assert [a.id for a in record] == ["d"]  # e is before counted_from, f after the as-of date
    assert outlook.on_record == 1
    assert outlook.p_met == pytest.approx(0.8 * 0.8, abs=1e-9)  # both a and c approved
    everything, record = cumulative_outlook(_toy(), rates, AS_OF, deadline, need=3)
    assert sorted(a.id for a in record) == ["d", "e"]
    assert everything.p_met == pytest.approx(1 - 0.2 * 0.2, abs=1e-9)  # one of a, c is enough
    assert everything.expected_total == pytest.approx(2 + 1.6, abs=1e-9)


def _target(metric: str, comparator: str, low: float | None, high: float | None, unit: str,
            first: int, last: int, **kw: object) -> KpiTarget:
    return KpiTarget(f"t-{metric}", "plan", "chongqing", metric, metric, comparator, low, high, unit, first, last,
                     CITE, **kw)  # type: ignore[arg-type]


def test_per_year_verdict_matches_brute_force_over_outcomes() -> None:
    """1-2 approvals in each of 2027 and 2028 for a toy portfolio whose approval years are certain if approved."""
    rates = _deterministic_rates()
    assets = [_asset("a", (Phase.FILED, dt.date(2026, 6, 1))),  # 2027 w.p. 0.8
              _asset("c", (Phase.FILED, dt.date(2026, 11, 30))),  # 2027 w.p. 0.8
              _asset("g", (Phase.PHASE3, dt.date(2025, 10, 1)), count=2)]  # filed 2027-10, approved 2028-10: 0.4
    target = _target("approvals_per_year", "between", 1, 2, "innovative drugs approved per year", 2027, 2028)
    status = evaluate([target], [], assets, rates, AS_OF)[0]
    # brute force: 2027 count = A + C (each 0.8); 2028 count = G1 + G2 (each 0.5 * 0.8)
    p2027 = 1 - 0.2**2  # 1 or 2 approvals
    p2028 = 1 - 0.6**2
    assert status.p_met == pytest.approx(p2027 * p2028, abs=1e-9)
    assert status.verdict == "on track"
    assert status.details["expected_by_year"] == pytest.approx({"2027": 1.6, "2028": 0.8}, abs=1e-9)


def test_a_missed_past_year_makes_the_per_year_target_at_risk() -> None:
    rates = _deterministic_rates()
    target = _target("approvals_per_year", "between", 1, 3, "innovative drugs approved per year", 2026, 2027)
    assets = [_asset("a", (Phase.FILED, dt.date(2026, 6, 1)))]
    status = evaluate([target], [], assets, rates, dt.date(2027, 2, 1))[0]
    assert status.verdict == "at risk"
    assert status.p_met == 0.0
    assert status.details["missed_years"] == [2026]


def _bundle() -> list[Asset]:
    return load_dataset(CQ, today=AS_OF)


def test_registry_counts_match_hand_counts_of_the_bundled_events() -> None:
    assets = _bundle()
    # approvals by their dates in events.csv: GR1501 2024-08-20; FCN-437c 2025-05-15, FCN-159 2025-05-29,
    # pCAR-19B 2025-11-07; GR1801 2026-06-22
    assert [approvals_in_year(assets, y, AS_OF) for y in (2023, 2024, 2025, 2026)] == [0, 1, 3, 1]
    assert approvals_total(assets, AS_OF) == 5
    assert approvals_total(assets, AS_OF, dt.date(2025, 12, 6)) == 1  # since the measures took effect
    # FCN-437c's approval was recorded on 2025-09-15: on 2025-06-30 only FCN-159 was known
    assert approvals_in_year(assets, 2025, dt.date(2025, 6, 30)) == 1
    # 13 named candidates in phase 1 to filed plus the cohorts 6 + 12 + 11 = the published 42
    assert in_clinic(assets, dt.date(2025, 12, 31)) == 42
    assert in_clinic(assets, AS_OF) == 41  # GR1801 approved in June 2026


def test_bundled_targets_carry_sources_and_the_published_numbers() -> None:
    targets = {t.id: t for t in load_targets()}
    assert set(targets) == {"cq-approvals-per-year", "cq-approvals-total", "cq-in-clinic", "biocity-enterprises",
                            "biocity-industry-scale"}
    for t in targets.values():
        assert t.citation.url.startswith("https://")
        assert t.citation.title
        assert t.citation.date
        assert t.citation.quote
    total = targets["cq-approvals-total"]
    assert "创新药总数达到10个" in total.citation.quote
    assert total.least_count() == 10
    per_year = targets["cq-approvals-per-year"]
    assert "每年获批上市创新药1—3个" in per_year.citation.quote
    assert (per_year.low, per_year.high) == (1, 3)
    assert "超过200家" in targets["biocity-enterprises"].citation.quote
    assert "1500亿元" in targets["biocity-industry-scale"].citation.quote


def _simple_poisson_binomial(p: np.ndarray, counts: np.ndarray) -> np.ndarray:
    pmf = np.array([1.0])
    for q, n in zip(p, counts, strict=True):
        for _ in range(int(n)):
            pmf = np.convolve(pmf, [1 - q, q])
    return pmf


def test_bundled_cumulative_target_against_an_independent_convolution() -> None:
    assets = _bundle()
    rates = bundled_rate_set("china")
    statuses = {s.target.id: s for s in evaluate(load_targets(), load_figures(None, load_targets()), assets,
                                                   rates, AS_OF)}
    total = statuses["cq-approvals-total"]
    pipeline = [a.as_of(AS_OF) for a in assets]
    open_ = [a for a in pipeline if a is not None and a.phase.is_active]
    matrix, _ = candidate_year_matrix(open_, rates, AS_OF, [2026, 2027])
    pmf = _simple_poisson_binomial(matrix.sum(axis=1), np.array([a.count for a in open_]))
    assert total.details["on_record"] == 5
    assert total.p_met is not None
    assert total.p_met == pytest.approx(float(pmf[5:].sum()), abs=1e-12)
    assert total.verdict == ("on track" if total.p_met >= 0.5 else "at risk")
    enterprises = statuses["biocity-enterprises"]
    pace = (120 - 50) / ((dt.date(2024, 8, 19) - dt.date(2019, 9, 17)).days / 365.25)
    reach = 120 + pace * (dt.date(2027, 12, 31) - dt.date(2024, 8, 19)).days / 365.25
    assert enterprises.expected == pytest.approx(reach)
    assert enterprises.verdict == "at risk"  # about 168 < 200
    assert statuses["biocity-industry-scale"].verdict == "cannot judge"
    assert statuses["cq-in-clinic"].verdict == "tracked"
    clinic = statuses["cq-in-clinic"].actual
    assert clinic is not None
    assert clinic.value == 41


def test_counting_only_since_the_measures_took_effect_lowers_p_met() -> None:
    """The approvals on record enter the cumulative total: switching the count's start changes the answer."""
    assets = _bundle()
    rates = bundled_rate_set("china")
    full, _ = cumulative_outlook(assets, rates, AS_OF, dt.date(2027, 12, 31), 10)
    late, _ = cumulative_outlook(assets, rates, AS_OF, dt.date(2027, 12, 31), 10, dt.date(2025, 12, 6))
    assert (full.on_record, late.on_record) == (5, 1)
    assert late.p_met < full.p_met
    assert late.expected_more == pytest.approx(full.expected_more)


# ---- files and the command line


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_target_without_unit_or_with_the_wrong_unit_is_refused(tmp_path: Path) -> None:
    rows = _rows(bundled_plan_files()[0])
    rows[1]["unit"] = ""
    with pytest.raises(InputError) as info:
        load_targets(_write(tmp_path / "t.csv", rows))
    assert "row 3" in str(info.value)
    assert "'unit'" in str(info.value)
    assert "no unit" in str(info.value)
    rows[1]["unit"] = "RMB 100m (industry scale)"
    with pytest.raises(InputError, match="does not match metric approvals_total"):
        load_targets(_write(tmp_path / "t.csv", rows))


@pytest.mark.parametrize(("column", "value", "message"), [
    ("source_url", "", "no source"),
    ("source_title", "", "no source"),
    ("unit", "firms", "does not match the target's unit"),
    ("kpi_id", "nope", "unknown KPI"),
])
def test_a_figure_without_source_or_in_another_unit_is_refused(tmp_path: Path, column: str, value: str,
                                                               message: str) -> None:
    rows = _rows(bundled_plan_files()[1])
    rows[0][column] = value
    path = _write(tmp_path / "f.csv", rows)
    with pytest.raises(InputError, match=message) as info:
        load_figures(path, load_targets())
    assert "row 2" in str(info.value)
    assert str(path) in str(info.value)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_plan_command_json_from_assets(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(["plan", "--assets", str(CQ), "--as-of", "2026-12-01", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    verdicts = {t["id"]: t["verdict"] for t in data["targets"]}
    assert verdicts["cq-approvals-total"] in ("on track", "at risk")
    assert verdicts["biocity-industry-scale"] == "cannot judge"
    assert data["candidates"] == 104  # 18 named + cohorts 6 + 12 + 11 + 57


def test_plan_command_from_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "j.sqlite")
    assert _cli(["--db", db, "load-bundled", "chongqing"], capsys)[0] == 0
    code, out, err = _cli(["--db", db, "plan", "--as-of", "2026-12-01", "--json"], capsys)
    assert code == 0, err
    by_id = {t["id"]: t for t in json.loads(out)["targets"]}
    assert by_id["cq-approvals-total"]["details"]["on_record"] == 5
    assert by_id["cq-in-clinic"]["actual"]["value"] == 41


def test_plan_region_is_a_query_on_attribution(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(["plan", "--assets", str(CQ), "--as-of", "2026-12-01", "--region", "chongqing-biocity",
                           "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["candidates"] == 6  # only the Bio City phase 3 cohort is attributed to the park itself
    assert {t["id"] for t in data["targets"]} == {"biocity-enterprises", "biocity-industry-scale"}


@pytest.mark.parametrize(("argv", "needle"), [
    (["--db", "x.sqlite", "plan", "--assets", str(CQ)], "--assets and --db"),
    (["plan", "--assets", str(CQ), "--region", "atlantis"], "unknown region 'atlantis'"),
    (["plan", "--assets", str(CQ), "--regions", "r.csv"], "--regions needs --region"),
    (["plan", "--assets", str(CQ), "--as-of", "2026-13-01"], "is not a date"),
])
def test_plan_command_errors_are_one_line(argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(argv, capsys)
    assert code == 2
    assert not out
    assert err.count("\n") == 1
    assert err.startswith("error: ")
    assert needle in err


def test_plan_on_an_empty_store_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(["--db", str(tmp_path / "empty.sqlite"), "plan", "--as-of", "2026-12-01"], capsys)
    assert code == 2
    assert not out
    assert err.count("\n") == 1
    assert "no candidates known on 2026-12-01" in err


def test_plan_command_bad_target_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _rows(bundled_plan_files()[0])
    rows[0]["unit"] = ""
    path = _write(tmp_path / "targets.csv", rows)
    code, out, err = _cli(["plan", "--assets", str(CQ), "--targets", str(path), "--as-of", "2026-12-01"], capsys)
    assert code == 2
    assert not out
    assert err.count("\n") == 1
    assert str(path) in err
    assert "row 2" in err
    assert "'unit'" in err
    assert "expected" in err


def test_plan_command_table_shows_every_target_and_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(["plan", "--assets", str(CQ), "--as-of", "2026-12-01"], capsys)
    assert code == 0, err
    flat = " ".join(out.split())
    for needle in ("cq-approvals-total [innovative drugs approved in total]: at risk", "tracked", "cannot judge",
                   "source: 第一财经"):
        assert needle in flat
