"""Regions and hubs: the region tree (cycles refused), attribution as a query, the phase split rule against
hand arithmetic, cohort forecasts against closed forms, the bundled hub figures against the shared fact
file, and `pipecast compare-regions`."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest

from pipecast.cli import run
from pipecast.domain import Asset, Phase, PhaseEvent, Portfolio
from pipecast.engines.exact import forecast_portfolio
from pipecast.errors import InputError
from pipecast.ingest.assets_file import load_dataset, load_organisations
from pipecast.loading.hubs import bundled_hub_files, load_hub_figures, load_regions
from pipecast.loading.rates import bundled_rate_set
from pipecast.plan.hubs import compare_hubs, hub_pipeline, largest_remainder, split_clinic
from pipecast.plan.regions import Region, RegionTree, candidates_in
from shared_paths import SHARED_DATA

REPO = Path(__file__).resolve().parents[1]
CQ = REPO / "src" / "pipecast" / "data" / "chongqing"
AS_OF = dt.date(2026, 12, 1)
YEARS = [2027, 2028, 2029]


def test_largest_remainder_keeps_the_total() -> None:
    assert largest_remainder(42, [380, 340, 222]) == [17, 15, 10]  # 16.94, 15.16, 9.90 -> +1, +0, +1
    assert largest_remainder(11, [380, 340]) == [6, 5]  # 5.81, 5.19
    assert largest_remainder(0, [1, 2]) == [0, 0]
    assert sum(largest_remainder(97, [3, 3, 3])) == 97


def test_split_rule_by_hand() -> None:
    assert split_clinic(42) == {Phase.FILED: 0, Phase.PHASE3: 10, Phase.PHASE1: 17, Phase.PHASE2: 15}
    # Bio City: 20 in clinic, 9 of them in phase 3: 11 left, 380:340
    assert split_clinic(20, phase3=9) == {Phase.FILED: 0, Phase.PHASE3: 9, Phase.PHASE1: 6, Phase.PHASE2: 5}
    # a filed count is taken out first
    assert split_clinic(20, phase3=9, filed=3) == {Phase.FILED: 3, Phase.PHASE3: 9, Phase.PHASE1: 4,
                                                   Phase.PHASE2: 4}


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("body", "needle", "row"), [
    ("p,Park,park,p,,no,\n", "region cycle: p -> p", 2),
    ("a,A,city,b,,no,\nb,B,park,a,,no,\n", "region cycle: a -> b -> a", 2),
    ("a,A,city,zz,,no,\n", "unknown parent 'zz'", 2),
    ("a,A,galaxy,,,no,\n", "unknown region kind 'galaxy'", 2),
    ("a,A,city,,,no,\na,A2,city,,,no,\n", "duplicate region id 'a'", 3),
])
def test_bad_region_trees_are_one_line_errors(tmp_path: Path, body: str, needle: str, row: int) -> None:
    path = _write(tmp_path / "regions.csv", "id,name,kind,parent,aliases,compare,note\n" + body)
    with pytest.raises(InputError) as info:
        load_regions(path)
    message = str(info.value)
    assert needle in message
    assert str(path) in message
    assert f"row {row}" in message
    assert "\n" not in message


def test_region_tree_ancestors_and_within() -> None:
    tree = RegionTree([Region("cn", "China", "country"), Region("cq", "Chongqing", "city", "cn"),
                       Region("bn", "Banan", "district", "cq"), Region("bc", "Bio City", "park", "bn")])
    assert tree.ancestors("bc") == ["bn", "cq", "cn"]
    assert tree.within("bc", "cq")
    assert tree.within("cq", "cq")
    assert not tree.within("cq", "bc")
    assert tree.locate("Chongqing (Banan)") == "bn"
    assert tree.locate("Bio City Phase 3 candidates") == "bc"
    assert tree.locate("Lhasa") is None


def test_candidates_in_a_region_is_a_query_on_attribution() -> None:
    assets = load_dataset(CQ, today=AS_OF)
    organisations = load_organisations(CQ / "organisations.csv")
    tree, _ = load_regions()
    everything = candidates_in("chongqing", assets, organisations, tree)
    assert len(everything) == len(assets) == 22
    banan = sorted(a.id for a in candidates_in("chongqing-banan", assets, organisations, tree))
    # Genrix (6) and Bovax (2) sit in Banan by their city; the Bio City phase 3 cohort by its name
    assert banan == sorted([f"genrix-gr{n}" for n in ("1501", "1802", "1801", "2001", "1803", "2303")]
                           + ["bovax-hpv9", "bovax-hpv4", "cohort:biocity-phase3-2025-07"])
    assert [a.id for a in candidates_in("chongqing-biocity", assets, organisations, tree)] == [
        "cohort:biocity-phase3-2025-07"]
    assert candidates_in("shanghai", assets, organisations, tree) == []
    assert len(candidates_in("china", assets, organisations, tree)) == 22
    with pytest.raises(InputError, match="unknown region"):
        candidates_in("atlantis", assets, organisations, tree)


def _bundled() -> tuple[RegionTree, list[str], list]:  # type: ignore[type-arg]
    tree, hubs = load_regions()
    return tree, hubs, load_hub_figures(None, tree)


def test_hub_pipelines_follow_the_published_counts() -> None:
    tree, hubs, figures = _bundled()
    rates = bundled_rate_set("china")
    assert hubs == ["chongqing", "chongqing-biocity", "hefei", "shenzhen", "hangzhou", "suzhou", "shanghai"]
    cq = hub_pipeline(tree.get("chongqing"), figures, rates, AS_OF)
    # latest counts (2025-12-16): >100 in development, 42 in clinic -> 58 preclinical + 17/15/10
    assert cq.stages == {Phase.PRECLINICAL: 58, Phase.PHASE1: 17, Phase.PHASE2: 15, Phase.PHASE3: 10,
                         Phase.FILED: 0}
    # as of 2025-01-01 only the 2024-09 counts were published: ~40 in clinic, >100 in development
    early = hub_pipeline(tree.get("chongqing"), figures, rates, dt.date(2025, 1, 1))
    assert early.total == 100
    assert early.stages[Phase.PRECLINICAL] == 60
    park = hub_pipeline(tree.get("chongqing-biocity"), figures, rates, AS_OF)
    assert park.stages == {Phase.PRECLINICAL: 36, Phase.PHASE1: 6, Phase.PHASE2: 5, Phase.PHASE3: 9, Phase.FILED: 0}
    assert hub_pipeline(tree.get("hangzhou"), figures, rates, AS_OF).stages[Phase.FILED] == 12
    for empty in ("hefei", "suzhou", "shanghai"):
        assert hub_pipeline(tree.get(empty), figures, rates, AS_OF).total == 0


def test_cohort_phase_start_is_the_count_date_less_half_the_median() -> None:
    tree, _, figures = _bundled()
    rates = bundled_rate_set("china")
    shenzhen = hub_pipeline(tree.get("shenzhen"), figures, rates, AS_OF)
    for cohort in shenzhen.cohorts:
        event = cohort.history[0]
        half = round(rates.row(event.phase).duration.median_months * 365.25 / 12 / 2)
        assert event.date == dt.date(2021, 12, 31) - dt.timedelta(days=half)
        assert event.recorded == dt.date(2021, 12, 31)


def test_a_cohort_forecast_is_that_of_identical_independent_candidates() -> None:
    """Hangzhou's 12 filed: expected = 12 p_y and P(>=1) = 1 - (1 - p_y)^12, from one candidate's p_y."""
    tree, hubs, figures = _bundled()
    rates = bundled_rate_set("china")
    rows = {r.region.id: r for r in compare_hubs([tree.get(h) for h in hubs], figures, rates, AS_OF, YEARS)}
    hangzhou = rows["hangzhou"]
    cohort = hangzhou.pipeline.cohorts[0]
    one = Asset("one", "one", (PhaseEvent(Phase.FILED, cohort.history[0].date),))
    single = forecast_portfolio(Portfolio((one,), AS_OF), rates, YEARS)
    for year in YEARS:
        p = single.outlook(year).expected
        assert hangzhou.expected(year) == pytest.approx(12 * p, abs=1e-9)
        assert hangzhou.p_at_least_one(year) == pytest.approx(1 - (1 - p) ** 12, abs=1e-9)
    firms = hangzhou.firms
    assert firms is not None
    assert firms.value == 1620
    assert hangzhou.per_100_firms(hangzhou.expected_total) == pytest.approx(100 * hangzhou.expected_total / 1620)  # type: ignore[operator]
    for name in ("hefei", "suzhou", "shanghai"):
        assert rows[name].forecast is None
        assert "no stage count published" in rows[name].coverage
    assert rows["shanghai"].published
    assert rows["shanghai"].population is None


def test_every_hub_row_has_a_coverage_note_with_its_dates() -> None:
    tree, hubs, figures = _bundled()
    rows = compare_hubs([tree.get(h) for h in hubs], figures, bundled_rate_set("china"), AS_OF, YEARS)
    for row in rows:
        assert row.coverage
        assert row.region.note
        assert row.region.note in row.coverage
        for figure in row.pipeline.used:
            assert figure.date.isoformat() in row.coverage
    assert "2021-12-31" in next(r for r in rows if r.region.id == "shenzhen").coverage


def test_bundled_hub_figures_are_copied_from_the_shared_sourced_facts() -> None:
    if not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data")
    shared: list[dict[str, str]] = []
    for path in (SHARED_DATA / "hubs" / "hub_facts.csv", SHARED_DATA / "chongqing" / "updates_2026-12.csv",
                 SHARED_DATA / "chongqing" / "facts.csv"):
        with path.open(newline="", encoding="utf-8") as handle:
            shared.extend(csv.DictReader(handle))
    with bundled_hub_files()[1].open(newline="", encoding="utf-8") as handle:
        mine = list(csv.DictReader(handle))
    for row in mine:
        same_url = [s for s in shared if s.get("source_url") == row["source_url"]]
        assert same_url, row["source_url"]
        quotes = " ".join(s.get("evidence_quote", "") + " " + s.get("quote", "") for s in same_url)
        assert row["evidence_quote"] in quotes, (row["region"], row["metric"])
        assert row["value"] in quotes or any(row["value"] in s.get("value", "") for s in same_url)


def test_a_hub_figure_without_source_is_refused(tmp_path: Path) -> None:
    tree, _ = load_regions()
    text = bundled_hub_files()[1].read_text(encoding="utf-8").splitlines()
    header, first = text[0], text[1]
    bad = first.replace("https://cq.gov.cn", "cq.gov.cn", 1)
    path = _write(tmp_path / "figures.csv", header + "\n" + bad + "\n")
    with pytest.raises(InputError, match="not a web address") as info:
        load_hub_figures(path, tree)
    assert "row 2" in str(info.value)


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_compare_regions_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(["compare-regions", "--as-of", "2026-12-01", "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["years"] == YEARS
    assert [h["region"] for h in data["hubs"]] == ["chongqing", "chongqing-biocity", "hefei", "shenzhen", "hangzhou",
                                                  "suzhou", "shanghai"]
    assert data["hubs"][0]["funnel"] == {"preclinical": 58, "phase1": 17, "phase2": 15, "phase3": 10, "filed": 0}
    code, out, _ = _cli(["compare-regions", "--as-of", "2026-12-01", "--region", "chongqing", "--json"], capsys)
    assert [h["region"] for h in json.loads(out)["hubs"]] == ["chongqing", "chongqing-biocity"]


@pytest.mark.parametrize(("argv", "needle"), [
    (["compare-regions", "--region", "atlantis"], "unknown region 'atlantis'"),
    (["compare-regions", "--region", "suzhou-sip"], "no hub lies in region"),
    (["compare-regions", "--as-of", "2026-12-01", "--years", "2020-2021"], "before the as-of date"),
])
def test_compare_regions_errors_are_one_line(argv: list[str], needle: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(argv, capsys)
    assert code == 2
    assert not out
    assert err.count("\n") == 1
    assert needle in err


def test_compare_regions_table_lists_every_hub_with_coverage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _cli(["compare-regions", "--as-of", "2026-12-01"], capsys)
    assert code == 0, err
    flat = " ".join(out.split())
    for name in ("Chongqing:", "Hefei:", "Shenzhen:", "Hangzhou:", "Suzhou:", "Shanghai:"):
        assert name in flat
    assert flat.count("coverage:") == 7
    assert "Per capita: not computed" in flat
