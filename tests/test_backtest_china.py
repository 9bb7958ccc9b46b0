"""The China backtest: the dedup rule by hand, no look-ahead, the model against a simulation, the command."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cli_app import invoke
from pipecast.backtest.china import (
    ChinaSettings,
    Registration,
    arrival_rate,
    drug_key,
    forecast_china,
    is_novel_key,
    pipeline_at,
    registration_dates,
    trial_kind,
    trial_phase,
)
from pipecast.backtest.china_run import run_china
from pipecast.domain import Phase
from pipecast.loading.china import load_approval_counts, load_registrations
from pipecast.loading.rates import bundled_rate_set
from pipecast.rates import Duration, RateRow, RateSet
from shared_paths import SHARED_DATA

REGISTRY = SHARED_DATA / "china_ctr_registry_2013_2018" / "chinadrugtrials_ctr_2013_2018.csv"
FACTS = SHARED_DATA / "china_pos" / "china_pos_facts.csv"
COUNTS_FILE = SHARED_DATA / "china_approval_counts" / "china_new_drug_approval_counts.csv"


def reg(trial_id: str, when: str, drug: str, phase: str = "", title: str = "") -> Registration:
    return Registration(trial_id, dt.date.fromisoformat(when), drug, phase, title)


# ---------------------------------------------------------------------------------------------- dedup rule


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("注射用SHR-1210", "SHR-1210注射液"),
        ("SHR-1210", "shr1210"),
        ("甲磺酸阿帕替尼片", "阿帕替尼"),
        ("HLX10注射液（商品名：某某）", "HLX10"),
        ("BGB-3111胶囊", "BGB 3111"),
    ],
)
def test_one_drug_under_several_spellings(a: str, b: str) -> None:
    assert drug_key(a) == drug_key(b) != ""


def test_different_drugs_stay_apart() -> None:
    assert drug_key("SHR-1210") != drug_key("SHR-1316")
    assert drug_key("阿帕替尼") != drug_key("安罗替尼")


def test_novel_proxy_is_a_development_code() -> None:
    assert is_novel_key(drug_key("注射用SHR-1210"))
    assert is_novel_key(drug_key("BAY 73-4506"))
    assert not is_novel_key(drug_key("甲磺酸阿帕替尼片"))
    assert not is_novel_key(drug_key("Atezolizumab注射液"))
    assert not is_novel_key(drug_key("重组人-鼠嵌合抗CD20单克隆抗体注射液"))
    assert not is_novel_key(drug_key("重组人源化抗IL-17A单克隆抗体"))


def test_trial_kinds_and_phases() -> None:
    assert trial_kind(reg("CTR20150001", "2015-01-01", "x", "BE")) == "be"
    assert trial_kind(reg("CTR20150001", "2015-01-01", "x", "", "某片人体生物等效性研究")) == "be"
    assert trial_kind(reg("CTR20150001", "2015-01-01", "x", "IV")) == "phase4"
    assert trial_kind(reg("CTR20150001", "2015-01-01", "x", "IV/I")) == "phase4"
    assert trial_kind(reg("CTR20150001", "2015-01-01", "x", "II")) == "clinical"
    assert trial_phase(reg("CTR20150001", "2015-01-01", "x", "III/I")) is Phase.PHASE3
    assert trial_phase(reg("CTR20150001", "2015-01-01", "x", "I/II")) is Phase.PHASE2
    assert trial_phase(reg("CTR20150001", "2015-01-01", "x", "", "XX片在健康受试者中的药代动力学研究")) is Phase.PHASE1
    assert trial_phase(reg("CTR20150001", "2015-01-01", "x", "", "评价XX治疗卵巢癌的有效性和安全性")) is Phase.PHASE2


def test_registration_dates_spread_over_the_year_by_hand() -> None:
    ids = [f"CTR2015000{i}" for i in range(1, 6)] + ["CTR20180001", "CTR20180002", "not-a-ctr-id"]
    dates = registration_dates(ids, dt.date(2018, 8, 28))
    # 2015: 364 days from Jan 1 to Dec 31; seq i of 5 at 364 (i - 0.5) / 5 = 36.4, 109.2, 182, 254.8, 327.6 days.
    start = dt.date(2015, 1, 1)
    assert [dates[f"CTR2015000{i}"] for i in range(1, 6)] == [
        start + dt.timedelta(days=d) for d in (36, 109, 182, 255, 328)
    ]
    # 2018 ends on the registry's last date: 239 days, seq 1 and 2 of 2 at 59.75 and 179.25 days.
    assert dates["CTR20180001"] == dt.date(2018, 1, 1) + dt.timedelta(days=60)
    assert dates["CTR20180002"] == dt.date(2018, 1, 1) + dt.timedelta(days=179)
    assert "not-a-ctr-id" not in dates


HAND = [
    reg("CTR20140001", "2014-03-01", "注射用ABC-101", "I"),          # drug A, phase 1
    reg("CTR20160001", "2016-05-01", "ABC101注射液", "II"),           # drug A again, phase 2
    reg("CTR20160002", "2016-06-01", "ABC-101", "", "ABC-101药代动力学研究"),  # drug A, unstated phase: phase 1
    reg("CTR20150001", "2015-02-01", "XYZ-202片", "II"),             # drug B ...
    reg("CTR20150002", "2015-09-01", "XYZ202", "BE"),                # ... with a BE study: left out
    reg("CTR20150003", "2015-04-01", "QRS-303", "III"),             # drug C ...
    reg("CTR20160003", "2016-01-01", "QRS-303胶囊", "IV"),           # ... with a phase 4 study: left out
    reg("CTR20150004", "2015-07-01", "阿帕替尼片", "II"),             # INN name: not in the novel cohort
    reg("CTR20160004", "2016-08-01", "DEF-404", "", "评价DEF-404的有效性"),  # drug D, unstated efficacy: phase 2
    reg("CTR20170001", "2017-03-01", "DEF-404", "BE"),               # BE study after the as-of date below
]


def test_pipeline_by_hand() -> None:
    drugs = {d.key: d for d in pipeline_at(HAND, dt.date(2016, 12, 31))}
    assert set(drugs) == {"abc101", "def404"}
    a = drugs["abc101"]
    assert (a.phase, a.entered, a.trials, a.name) == (Phase.PHASE2, dt.date(2016, 5, 1), 3, "注射用ABC-101")
    assert (drugs["def404"].phase, drugs["def404"].entered) == (Phase.PHASE2, dt.date(2016, 8, 1))
    everything = {d.key for d in pipeline_at(HAND, dt.date(2016, 12, 31), novel_only=False)}
    assert everything == {"abc101", "def404", "阿帕替尼"}
    # Known at D the BE study of DEF-404 is not; once it is, DEF-404 is a generic and leaves the pipeline.
    assert {d.key for d in pipeline_at(HAND, dt.date(2017, 12, 31))} == {"abc101"}
    # Before its phase 2 trial, drug A is in phase 1 from its first registration.
    early = {d.key: d for d in pipeline_at(HAND, dt.date(2015, 12, 31))}
    assert (early["abc101"].phase, early["abc101"].entered) == (Phase.PHASE1, dt.date(2014, 3, 1))


def test_arrival_rate_by_hand() -> None:
    regs = [reg(f"CTR{y}{i:04d}", f"{y}-06-01", f"N{y}X{i:03d}", "I")
            for y, n in ((2013, 50), (2014, 10), (2015, 20), (2016, 30)) for i in range(n)]
    trend = arrival_rate(regs, dt.date(2016, 12, 31), ChinaSettings(arrival_years=4))
    assert trend.window == (2014, 2015, 2016)  # 2013, the registry's backlog year, is left out
    assert trend.mean[Phase.PHASE1] == pytest.approx(20.0)
    assert trend.slope[Phase.PHASE1] == pytest.approx(10.0)
    assert trend.at(Phase.PHASE1, 2019) == pytest.approx(60.0)  # 20 + 10 * (2019 - 2015)
    flat = arrival_rate(regs, dt.date(2016, 12, 31), ChinaSettings(arrival_years=4, arrival_trend=False))
    assert flat.at(Phase.PHASE1, 2019) == pytest.approx(20.0)
    # Mid-2016 the last complete year is 2015.
    assert arrival_rate(regs, dt.date(2016, 7, 1), ChinaSettings()).window == (2014, 2015)


# ---------------------------------------------------------------------------------------------- the model


def _rates() -> RateSet:
    rows = (
        RateRow(Phase.PRECLINICAL, 0.5, Duration(12.0, 20.0)),
        RateRow(Phase.PHASE1, 0.6, Duration(12.0, 24.0)),
        RateRow(Phase.PHASE2, 0.5, Duration(18.0, 30.0)),
        RateRow(Phase.PHASE3, 0.7, Duration(15.0, 28.0)),
        RateRow(Phase.FILED, 0.9, Duration(10.0, 16.0)),
    )
    return RateSet("test", rows)


def _simulate(drugs: list[tuple[Phase, int]], as_of: dt.date, years: list[int], rates: RateSet,
              arrivals: dict[Phase, float], start: dt.date, n: int, seed: int) -> np.ndarray:
    """Monte Carlo of the model: approvals per year (paths x years), arrivals as a Poisson process from start."""
    from scipy import stats

    rng = np.random.default_rng(seed)
    order = [Phase.PHASE1, Phase.PHASE2, Phase.PHASE3, Phase.FILED]
    edges = np.array([(dt.date(y, 1, 1) - as_of).days for y in [*years, years[-1] + 1]], dtype=float)

    def rest(phase: Phase, elapsed: np.ndarray) -> np.ndarray:
        """Days to approval from `elapsed` days into `phase`, or inf when it fails."""
        total = np.zeros(len(elapsed))
        alive = np.ones(len(elapsed), dtype=bool)
        for k, p in enumerate(order[order.index(phase):]):
            row = rates.row(p)
            dist = stats.lognorm(s=row.duration.sigma, scale=math.exp(row.duration.mu))
            e = elapsed if k == 0 else np.zeros(len(elapsed))
            lo = dist.cdf(e)
            d = dist.ppf(lo + rng.uniform(size=len(e)) * (1 - lo))
            total += d - e
            alive &= rng.uniform(size=len(e)) < row.p_success
        return np.where(alive, total, np.inf)

    counts = np.zeros((n, len(years)))
    for phase, elapsed in drugs:
        t = rest(phase, np.full(n, float(elapsed)))
        counts += np.stack([(t >= edges[j]) & (t < edges[j + 1]) for j in range(len(years))], axis=1)
    span = (dt.date(years[-1] + 1, 1, 1) - start).days
    offset = (start - as_of).days
    for phase, lam in arrivals.items():
        k = rng.poisson(lam * span / 365.25, size=n)
        path = np.repeat(np.arange(n), k)
        when = offset + rng.uniform(0, span, size=len(path))
        t = when + rest(phase, np.zeros(len(path)))
        for j in range(len(years)):
            hit = (t >= edges[j]) & (t < edges[j + 1])
            counts[:, j] += np.bincount(path[hit], minlength=n)
    return counts


def test_forecast_matches_an_independent_simulation() -> None:
    rates = _rates()
    regs = [
        *(reg(f"CTR2014{i:04d}", "2014-02-01", f"AA{i:03d}", "I") for i in range(1, 9)),
        *(reg(f"CTR2015{i:04d}", "2015-06-01", f"BB{i:03d}", "II") for i in range(1, 7)),
        *(reg(f"CTR2016{i:04d}", "2016-03-01", f"CC{i:03d}", "III") for i in range(1, 5)),
    ]
    as_of = dt.date(2016, 12, 31)
    years = [2017, 2018, 2019, 2020]
    settings = ChinaSettings(arrival_trend=False, arrival_years=3)
    forecast = forecast_china(regs, as_of, years, rates, settings)
    lam = {Phase.PHASE1: 8 / 3, Phase.PHASE2: 6 / 3, Phase.PHASE3: 4 / 3}  # window 2014-2016, one year each
    assert forecast.arrivals.mean == pytest.approx(lam)
    drugs = [(Phase.PHASE1, (as_of - dt.date(2014, 2, 1)).days)] * 8 + \
            [(Phase.PHASE2, (as_of - dt.date(2015, 6, 1)).days)] * 6 + \
            [(Phase.PHASE3, (as_of - dt.date(2016, 3, 1)).days)] * 4
    sims = _simulate(drugs, as_of, years, rates, lam, as_of, 40_000, seed=11)
    for j, item in enumerate(forecast.years):
        mean, se = sims[:, j].mean(), sims[:, j].std() / math.sqrt(len(sims))
        assert abs(item.expected - mean) < 4 * se + 0.01 * mean, (item.year, item.expected, mean, se)
        assert item.expected == pytest.approx(item.expected_pipeline + item.expected_arrivals)
        # The whole pmf, not only its mean: P(N <= 2) against the simulation.
        assert abs(float(np.sum(item.pmf[:3])) - float(np.mean(sims[:, j] <= 2))) < 0.015


def test_switching_arrivals_off_removes_them() -> None:
    regs = [reg(f"CTR2015{i:04d}", "2015-06-01", f"BB{i:03d}", "II") for i in range(1, 20)]
    on = forecast_china(regs, dt.date(2016, 12, 31), [2020], _rates(), ChinaSettings())
    off = forecast_china(regs, dt.date(2016, 12, 31), [2020], _rates(), ChinaSettings(arrivals=False))
    assert on.years[0].expected_arrivals > 0.05
    assert off.years[0].expected_arrivals == 0.0
    assert off.years[0].expected == pytest.approx(on.years[0].expected_pipeline)


# ---------------------------------------------------------------------------------------------- no look-ahead


def _planted_future(regs: list[Registration], as_of: dt.date) -> list[Registration]:
    """Every registration after the as-of date changed: renamed, re-phased, BE studies added, new drugs added."""
    changed = [replace(r, drug=r.drug + "-LATER", phase_text="BE") if r.registered > as_of else r for r in regs]
    pipeline_drug = next(r for r in regs if r.registered <= as_of and r.phase_text in ("I", "II", "III"))
    extra = [reg("CTR20189991", str(as_of + dt.timedelta(days=3)), pipeline_drug.drug, "BE"),
             reg("CTR20189992", str(as_of + dt.timedelta(days=5)), "NEW-999", "III")]
    return changed + extra


@pytest.mark.shared_data
def test_no_look_ahead_on_the_registry() -> None:
    regs, end = load_registrations(REGISTRY, today=dt.date(2026, 12, 1))
    counts = load_approval_counts(FACTS)
    as_of = dt.date(2016, 12, 31)
    years = list(range(2017, 2026))
    sets = {"global": bundled_rate_set("global")}
    base = run_china(regs, counts, as_of, years, sets, registry_end=end)
    later_counts = {y: (c + 100 if y > as_of.year else c) for y, c in counts.items()}
    planted = run_china(_planted_future(regs, as_of), later_counts, as_of, years, sets, registry_end=end)
    for a, b in zip(base["years"], planted["years"], strict=True):
        assert a["global"]["pmf"] == b["global"]["pmf"]
    assert base["pipeline"] == planted["pipeline"]
    # A change on or before the as-of date does move it (the test can fail).
    earlier = [replace(r, phase_text="III") if r.registered.year == 2016 and r.phase_text == "I" else r for r in regs]
    moved = run_china(earlier, counts, as_of, years, sets, registry_end=end)
    assert moved["years"][0]["global"]["pmf"] != base["years"][0]["global"]["pmf"]


def test_baselines_use_only_counts_known_at_the_as_of_date() -> None:
    regs = [reg(f"CTR2015{i:04d}", "2015-06-01", f"BB{i:03d}", "II") for i in range(1, 5)]
    counts = {2015: 4, 2016: 9, 2017: 30}
    run = run_china(regs, counts, dt.date(2016, 12, 31), [2017], {"t": _rates()})
    poisson = run["years"][0]["poisson_last_year"]
    assert poisson["expected"] == pytest.approx(9.0, abs=1e-6)  # Poisson(2016's count), not 2017's
    assert run["years"][0]["negative_binomial"]["expected"] == pytest.approx(6.5, abs=1e-6)  # mean of 2015-2016
    no_counts = run_china(regs, {2017: 30}, dt.date(2016, 12, 31), [2017], {"t": _rates()})
    assert "poisson_last_year" not in no_counts["scores"]
    assert any("no naive baselines" in w for w in no_counts["warnings"])


# ---------------------------------------------------------------------------------------------- real data


@pytest.mark.shared_data
def test_real_registry_dedup() -> None:
    regs, end = load_registrations(REGISTRY, today=dt.date(2026, 12, 1))
    assert end == dt.date(2018, 8, 28)
    assert len(regs) == 6407
    named = {r.drug for r in regs if "ABT" in r.drug.upper() and "494" in r.drug}
    spellings = {"ABT-494", "ABT-494片", "ABT-494片（15mg）"}  # upadacitinib under its code, three spellings
    assert spellings < named
    assert {drug_key(s) for s in spellings} == {"abt494"}
    # A known limit of the rule: the INN with the code in brackets is another key (brackets are removed).
    assert drug_key("Upadacitinib（ABT-494片）15mg") != "abt494"
    pipeline = pipeline_at(regs, end)
    assert [d.key for d in pipeline].count("abt494") == 1
    assert len({d.key for d in pipeline}) == len(pipeline)
    abt = next(d for d in pipeline if d.key == "abt494")
    assert abt.trials == sum(1 for r in regs if r.drug in spellings)
    # A rituximab biosimilar named by its target is not taken for a coded novel drug.
    assert "重组人鼠嵌合抗cd20单克隆抗体" not in {d.key for d in pipeline}


@pytest.mark.shared_data
def test_approval_counts_from_the_shared_tables() -> None:
    counts = load_approval_counts(FACTS)
    assert counts == {2018: 11, 2019: 12, 2020: 20, 2021: 47, 2022: 21, 2023: 40, 2024: 48, 2025: 76}
    # The other shared table mixes definitions (DIA Category 1 and CDE counts): refused with the row.
    with pytest.raises(Exception, match="row"):
        load_approval_counts(COUNTS_FILE)


@pytest.mark.shared_data
def test_command_json_and_errors(tmp_path: Path) -> None:
    db = str(tmp_path / "db.sqlite")
    out = invoke(db, "backtest", "china", str(REGISTRY), str(FACTS), "--years", "2019-2021", "--rates", "global",
                 "--json")
    assert out.exit_code == 0, out.stderr
    data = json.loads(out.stdout)
    assert [r["year"] for r in data["years"]] == [2019, 2020, 2021]
    assert [r["observed"] for r in data["years"]] == [12, 20, 47]
    assert set(data["scores"]) == {"global", "poisson_last_year", "negative_binomial"}
    assert abs(sum(data["years"][0]["global"]["pmf"]) - 1) < 1e-9
    bad = invoke(db, "backtest", "china", str(REGISTRY), str(FACTS), "--rates", "nonesuch")
    assert bad.exit_code == 2
    assert "nonesuch" in bad.stderr
    page = tmp_path / "missing" / "page.html"
    worse = invoke(db, "backtest", "china", str(REGISTRY), str(FACTS), "--html", str(page))
    assert worse.exit_code == 2
    assert not page.exists()


def test_plain_counts_file_and_its_errors(tmp_path: Path) -> None:
    from pipecast.errors import InputError

    good = tmp_path / "counts.csv"
    good.write_text("year,value,note\n2019,12,x\n2020,20,\n", encoding="utf-8")
    assert load_approval_counts(good) == {2019: 12, 2020: 20}
    bad = tmp_path / "bad.csv"
    bad.write_text("year,value\n2019,12\n2020,many\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"row 3.*value.*'many' is not a count"):
        load_approval_counts(bad)
    none = tmp_path / "none.csv"
    none.write_text("when,count\n2019,12\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 1"):
        load_approval_counts(none)
