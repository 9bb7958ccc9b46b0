"""`pipecast value ...` end to end (in-process), the bad-input contract, and the bundled sourced data."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import pytest
from scipy import stats

from pipecast.cli import run
from pipecast.loading.deals import bundled_programme_path, load_deal, load_programme
from pipecast.loading.economics import bundled_economics
from shared_paths import REPO_ROOT, SHARED_DATA

BUNDLED = REPO_ROOT / "src" / "pipecast" / "data" / "chongqing"
GR1803 = REPO_ROOT / "examples" / "deals" / "gr1803.yaml"
ECONOMICS_CSV = REPO_ROOT / "src" / "pipecast" / "value" / "data" / "economics.csv"

ASSETS = """id,name,sponsor,modality,therapeutic_area,phase,phase_start
a1,Alpha,Acme,monoclonal antibody,Immunology,phase3,2025-01-01
a2,Beta,Acme,small molecule,Oncology,filed,2025-06-01
"""
GOOD_DEAL = """candidate: a1
licensee: Partner
date: 2025-03-01
currency: USD
upfront: 20
milestones:
  - {event: phase2, amount: 5}
  - {event: filed, amount: 50}
  - {event: approved, amount: 100}
  - {event: sales, above: 500, amount: 100}
royalties: [{above: 0, rate: 0.05}, {above: 500, rate: 0.10}]
discount_rate: 0.10
"""


def value(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["value", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def assets_file(tmp_path: Path) -> Path:
    path = tmp_path / "ASSETS.csv"
    path.write_text(ASSETS, encoding="utf-8")
    return path


def write(tmp_path: Path, text: str, name: str = "DEAL.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_deal_json_contract(tmp_path: Path, assets_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deal = write(tmp_path, GOOD_DEAL)
    code, out, err = value(
        capsys, "deal", str(deal), "--assets", str(assets_file), "--rates", "global", "--as-of", "2026-01-01", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert {"headline", "currency", "risk_adjusted", "payments"} <= set(data)
    assert set(data["risk_adjusted"]) == {"licensor", "licensee"}
    assert data["headline"] == 20 + 5 + 50 + 100 + 100  # royalties are not in the headline
    assert data["currency"] == "USD"
    kinds = [(p["kind"], p["event"]) for p in data["payments"]]
    assert kinds[:4] == [
        ("upfront", "signing"),
        ("milestone", "phase2"),
        ("milestone", "filed"),
        ("milestone", "approved"),
    ]
    assert kinds[4][0] == "sales_milestone"
    assert kinds[5][0] == "royalties"
    for payment in data["payments"]:
        assert {"kind", "event", "amount", "probability", "expected_date", "present_value"} <= set(payment)
    upfront, phase2, filed, approved = data["payments"][:4]
    # Signed before the as-of date, and phase 2 already passed (the candidate is in phase 3): paid, face value.
    assert upfront["paid"]
    assert upfront["present_value"] == 20
    assert upfront["probability"] == 1
    assert phase2["paid"]
    assert phase2["present_value"] == 5
    assert not filed["paid"]
    assert 0 < filed["present_value"] < filed["probability"] * 50
    assert approved["probability"] < filed["probability"]
    licensor = sum(p["present_value"] for p in data["payments"])
    assert data["risk_adjusted"]["licensor"] == pytest.approx(licensor)
    assert data["risk_adjusted"]["licensor"] < data["headline"]


BAD_DEALS = [
    ("royalties: [{above: 500, rate: 0.1}, {above: 0, rate: 0.05}]", "royalties[1].above", "ascend"),
    ("royalties: [{above: 0, rate: 0.05}, {above: 0, rate: 0.1}]", "royalties[1].above", "overlap"),
    ("upfront: -20", "upfront", "negative"),
    ("milestones: [{event: approved, amount: -1}]", "milestones[0].amount", "negative"),
    ("currency:", "currency", "missing"),
    ("currency: EUR", "currency", "no exchange rate"),
    ("discount_rate: 1.2", "discount_rate", "outside (-0.5, 1)"),
    ("discount_rate: -0.7", "discount_rate", "outside (-0.5, 1)"),
    ("candidate: nope", "candidate", "unknown candidate 'nope'"),
    ("milestones: [{event: launch, amount: 5}]", "milestones[0].event", "unknown event"),
    ("royalties: [{above: 0, rate: 1.5}]", "royalties[0].rate", "out of range"),
    ("economics: {tax_rate: 2}", "economics.tax_rate", "out of range"),
]


@pytest.mark.parametrize(("line", "key", "words"), BAD_DEALS)
def test_bad_deal_is_one_line_naming_file_and_key(
    tmp_path: Path, assets_file: Path, capsys: pytest.CaptureFixture[str], line: str, key: str, words: str
) -> None:
    lines = [x for x in GOOD_DEAL.splitlines() if not x.startswith(line.split(":")[0] + ":")]
    if line.startswith("milestones") or line.startswith("royalties"):  # drop the list that follows the key
        lines = [x for x in lines if not x.startswith("  - ")]
    deal = write(tmp_path, "\n".join([*lines, line]) + "\n")
    code, out, err = value(
        capsys, "deal", str(deal), "--assets", str(assets_file), "--rates", "global", "--as-of", "2026-01-01", "--json"
    )
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"error: {deal}: key {key}:"), err
    assert words in err


def test_gr1803_example_holds_the_sourced_deal_terms() -> None:
    deal = load_deal(GR1803)
    assert deal.upfront == 20
    development = sum(m.amount for m in deal.milestones if m.event != "sales")
    sales = sum(m.amount for m in deal.milestones if m.event == "sales")
    assert (development, sales, deal.headline) == (292, 400, 712)
    assert deal.date.isoformat() == "2025-06-04"
    rates = [t.rate for t in deal.royalties]
    assert rates[0] >= 0.04
    assert rates[-1] <= 0.16


def test_gr1803_deal_on_the_bundled_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = value(capsys, "deal", str(GR1803), "--assets", str(BUNDLED), "--as-of", "2025-06-04", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["headline"] == 712
    # At signing the candidate was in phase 2: only the upfront is certain.
    assert [p["paid"] for p in data["payments"]] == [True] + [False] * (len(data["payments"]) - 1)
    assert 20 < data["risk_adjusted"]["licensor"] < 0.5 * 712


def test_candidate_and_pipeline_commands(assets_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = value(
        capsys,
        "candidate",
        "a1",
        "--assets",
        str(assets_file),
        "--rates",
        "global",
        "--as-of",
        "2026-01-01",
        "--paths",
        "4000",
        "--json",
    )
    assert code == 0, err
    one = json.loads(out)
    mc = one["montecarlo"]
    assert abs(mc["mean"] - one["rnpv"]) < 4 * mc["standard_error"]
    assert mc["p10"] <= mc["p50"] <= mc["p90"]
    assert one["tornado"][0]["width"] >= one["tornado"][-1]["width"]
    assert one["break_even_peak_sales_median"] > 0
    code, out, err = value(
        capsys,
        "pipeline",
        "--assets",
        str(assets_file),
        "--rates",
        "global",
        "--as-of",
        "2026-01-01",
        "--paths",
        "4000",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["rnpv"] == pytest.approx(sum(c["rnpv_total"] for c in data["candidates"]))
    assert data["candidates"][0]["rnpv"] == pytest.approx(one["rnpv"])
    code, out, err = value(capsys, "candidate", "zz", "--assets", str(assets_file), "--as-of", "2026-01-01")
    assert code == 2
    assert "unknown candidate 'zz'" in err


def test_currency_option_converts_with_the_dated_rate(assets_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    outs = []
    for currency in ("USD", "CNY"):
        code, out, err = value(
            capsys,
            "candidate",
            "a2",
            "--assets",
            str(assets_file),
            "--rates",
            "global",
            "--as-of",
            "2026-01-01",
            "--currency",
            currency,
            "--paths",
            "200",
            "--json",
        )
        assert code == 0, err
        outs.append(json.loads(out)["rnpv"])
    fx = bundled_economics().for_candidate().values["usd_cny"]
    assert outs[1] == pytest.approx(outs[0] * fx, rel=1e-9)


def test_bundled_programme_is_the_2025_measures() -> None:
    with bundled_programme_path("chongqing-2025") as path:
        programme = load_programme(path)
    assert programme.stage_support.share == 0.20
    assert dict(programme.stage_support.caps) == {"preclinical": 2, "phase1": 2, "phase2": 3, "phase3": 10}
    assert programme.stage_support.cumulative_cap == 17 == sum(programme.stage_support.caps.values())
    assert [(r.event, r.amount) for r in programme.rewards] == [("approved", 10)]
    assert (programme.valid_from.isoformat(), programme.valid_until.isoformat()) == ("2025-12-06", "2028-12-05")


def test_programme_command_on_the_bundled_data(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = value(
        capsys, "programme", "chongqing-2025", "--assets", str(BUNDLED), "--as-of", "2026-12-01", "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["currency"] == "CNY"
    assert data["expected_outlay"] == pytest.approx(sum(data["outlay_by_year"].values()))
    assert data["cost_per_expected_approval"] == pytest.approx(data["expected_outlay"] / data["expected_approvals"])
    assert data["due_to_date"] <= data["expected_outlay"]


def test_bad_programme(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with bundled_programme_path("chongqing-2025") as path:
        text = path.read_text(encoding="utf-8")
    bad = write(tmp_path, text.replace("share: 0.20", "share: 1.5"), "PROGRAMME.yaml")
    code, out, err = value(capsys, "programme", str(bad), "--assets", str(BUNDLED), "--as-of", "2026-12-01")
    assert code == 2
    assert out == ""
    assert err.startswith(f"error: {bad}: key rd_support.share:")


def test_every_bundled_economics_number_has_a_source() -> None:
    with ECONOMICS_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["confidence"] == "assumption":
            assert row["derivation"].startswith("assumption"), row
            continue
        assert row["source_url"].startswith("http"), row
        assert all(row[key] for key in ("source", "published", "evidence_quote")), row


@pytest.mark.skipif(not (SHARED_DATA / "economics" / "economics_facts.csv").exists(), reason="needs ../shared/data")
def test_bundled_economics_are_copied_from_the_shared_sourced_file() -> None:
    with (SHARED_DATA / "economics" / "economics_facts.csv").open(encoding="utf-8") as handle:
        shared = list(csv.reader(handle))
    header = shared[0]
    with ECONOMICS_CSV.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if not row["shared_row"] or row["derivation"].startswith("derived"):
            continue
        line = int(row["shared_row"].split()[0].split(":")[1])
        fact = dict(zip(header, shared[line - 1], strict=True))
        assert fact["source_url"] in row["source_url"]
        numbers = {float(x) for x in re.findall(r"\d+(?:\.\d+)?", fact["value"] + " " + fact["metric"])}
        ours = float(row["value"])
        assert ours in numbers or round(ours * 100, 6) in numbers, (row["parameter"], fact["value"])


def test_derived_peak_sales_lognormal_recomputed() -> None:
    """The default peak sales lognormal: P(peak < 200) = 0.47 and P(peak > 1000) = 0.12 (sourced shares)."""
    sigma = math.log(1000 / 200) / (stats.norm.ppf(0.88) - stats.norm.ppf(0.47))
    median = 200 * math.exp(-stats.norm.ppf(0.47) * sigma)
    values = bundled_economics().for_candidate().values
    assert values["peak_sales_median"] == pytest.approx(median, abs=0.05)
    assert values["peak_sales_p90"] == pytest.approx(median * math.exp(stats.norm.ppf(0.9) * sigma), abs=0.05)


def test_deal_economics_overrides_take_effect(
    tmp_path: Path, assets_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    royalties = []
    for extra in ("", "economics: {peak_sales: 2000}\n"):
        deal = write(tmp_path, GOOD_DEAL + extra)
        code, out, err = value(
            capsys, "deal", str(deal), "--assets", str(assets_file), "--as-of", "2026-01-01", "--json"
        )
        assert code == 0, err
        royalties.append(json.loads(out)["payments"][-1]["present_value"])
    assert royalties[1] > 2 * royalties[0]


def test_user_economics_table(tmp_path: Path, assets_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A table with no sales and a review-stage cost of 10: the filed candidate's rNPV is minus that cost's PV."""
    rows = ["parameter,value", "discount_rate,0.1", "cost_filed,10", "peak_sales_median,0", "peak_sales_p90,0"]
    rows += [
        f"{name},0"
        for name in (
            "cost_preclinical",
            "cost_phase1",
            "cost_phase2",
            "cost_phase3",
            "cogs",
            "selling_expense",
            "tax_rate",
            "loe_erosion",
            "post_loe_years",
        )
    ]
    rows += ["years_to_peak,6", "loe_years,10", "usd_cny,7"]
    table = write(tmp_path, "\n".join(rows) + "\n", "ECONOMICS.csv")
    code, out, err = value(
        capsys,
        "candidate",
        "a2",
        "--assets",
        str(assets_file),
        "--rates",
        "global",
        "--as-of",
        "2026-01-01",
        "--economics",
        str(table),
        "--paths",
        "200",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["commercial_pv"] == 0
    assert -10 < data["rnpv"] < 0
    assert data["rnpv"] == pytest.approx(-data["development_pv"])
    bad = write(tmp_path, "parameter,value\ncogs,1.5\n", "BAD.csv")
    code, out, err = value(
        capsys, "candidate", "a2", "--assets", str(assets_file), "--economics", str(bad), "--as-of", "2026-01-01"
    )
    assert code == 2
    assert err.startswith(f"error: {bad}, row 2, column 'value':")
