"""Regions in the store (migration 0008): `load-bundled chongqing` loads the bundled region tree and attributes
the organisations; `--region` on `pipeline` and `forecast` is then a query on the store, checked against hand
counts of the bundled data and against the file-based attribution (`pipecast.plan.regions`, a second path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_app import invoke
from pipecast.errors import InputError
from pipecast.ingest.assets_file import load_dataset, load_organisations
from pipecast.loading.hubs import load_regions
from pipecast.plan.regions import candidates_in as file_candidates_in
from pipecast.store import Store
from pipecast.store.regions import candidates_in, organisation_regions, region_tree, save_regions

TODAY = "2026-12-01"
DATA = Path(__file__).resolve().parents[1] / "src" / "pipecast" / "data" / "chongqing"
GENRIX = {"genrix-gr1501", "genrix-gr1802", "genrix-gr1801", "genrix-gr2001", "genrix-gr1803", "genrix-gr2303"}
BANAN = GENRIX | {"bovax-hpv4", "bovax-hpv9", "cohort:biocity-phase3-2025-07"}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("regions") / "cq.sqlite"
    outcome = invoke(str(path), "load-bundled", "chongqing")
    assert outcome.exit_code == 0, outcome.stderr
    assert "regions: 14, organisations attributed to one: 10" in outcome.stdout
    return str(path)


@pytest.fixture(autouse=True)
def today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPECAST_TODAY", TODAY)


def test_the_tree_and_the_organisations_are_stored(db: str) -> None:
    with Store.open(db) as store:
        tree = region_tree(store)
        placed = organisation_regions(store)
    assert len(tree.regions) == 14
    assert tree.get("chongqing-biocity").kind == "park"
    assert tree.ancestors("chongqing-biocity") == ["chongqing-banan", "chongqing", "china"]
    # by hand from organisations.csv: city text "Chongqing (Banan)" -> Banan; the park's name -> the Bio City
    assert placed == {"org:genrix": "chongqing-banan", "org:bovax": "chongqing-banan",
                      "institute:cq-immunology": "chongqing-banan", "park:bio-city": "chongqing-biocity",
                      "org:precision-bio": "chongqing", "org:fochon": "chongqing", "org:zhifei": "chongqing",
                      "org:chenan": "chongqing", "cluster:cq-biomedicine": "chongqing", "org:fosun-pharma": "shanghai"}


def test_regions_lists_counts(db: str) -> None:
    outcome = invoke(db, "regions", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    rows = {r["id"]: (r["organisations"], r["candidates"]) for r in json.loads(outcome.stdout)["regions"]}
    # Banan: Genrix's 6 + Bovax's 2 + the Bio City's phase 3 cohort of 6 = 14; the Bio City: the cohort only
    assert rows["chongqing-banan"] == (4, 14)
    assert rows["chongqing-biocity"] == (1, 6)
    assert rows["shanghai"] == (1, 0)  # Fosun sponsors none of the candidates itself (Fochon does)
    assert rows["hefei"] == (0, 0)
    with Store.open(db) as store:
        everything = sum(a.count for a in store.assets())
    assert rows["chongqing"] == (9, everything) == (9, 104)
    assert "Banan District" in invoke(db, "regions").stdout


def test_pipeline_region_is_a_store_query(db: str) -> None:
    outcome = invoke(db, "pipeline", "--region", "chongqing-banan", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    got = json.loads(outcome.stdout)
    assert {a["id"] for a in got["assets"]} == BANAN
    assert got["total"] == 14
    park = json.loads(invoke(db, "pipeline", "--region", "chongqing-biocity", "--json").stdout)
    assert [a["id"] for a in park["assets"]] == ["cohort:biocity-phase3-2025-07"]
    early = json.loads(invoke(db, "pipeline", "--region", "chongqing-banan", "--as-of", "2025-01-01",
                              "--json").stdout)  # as of the date: the cohort was published 2025-07
    assert "cohort:biocity-phase3-2025-07" not in {a["id"] for a in early["assets"]}
    bad = invoke(db, "pipeline", "--region", "atlantis")
    assert bad.exit_code == 2
    assert "unknown region 'atlantis'" in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_store_and_file_attribution_agree(db: str) -> None:
    tree, _ = load_regions()
    dataset = load_dataset(DATA)
    orgs = load_organisations(DATA / "organisations.csv")
    with Store.open(db) as store:
        for region in tree.regions:
            stored = {a.id for a in candidates_in(store, region)}
            assert stored == {a.id for a in file_candidates_in(region, dataset, orgs, tree)}, region


def test_forecast_region(db: str) -> None:
    outcome = invoke(db, "forecast", "--region", "chongqing-banan", "--years", "2027", "--json")
    assert outcome.exit_code == 0, outcome.stderr
    banan = json.loads(outcome.stdout)
    assert (banan["candidates"], banan["rows"]) == (14, 9)  # the 9 records of BANAN, the cohort counting 6
    assert banan["funnel"] == {"preclinical": 0, "phase1": 1, "phase2": 0, "phase3": 8, "filed": 3, "approved": 2,
                               "discontinued": 0, "suspended": 0}
    whole = json.loads(invoke(db, "forecast", "--years", "2027", "--json").stdout)
    assert whole["candidates"] == 104
    assert 0 < banan["years"][0]["expected"] < whole["years"][0]["expected"]
    conflict = invoke(db, "forecast", "--region", "chongqing", "--assets", str(DATA))
    assert conflict.exit_code == 2
    assert "--region" in conflict.stderr


def test_a_region_cycle_is_one_line_and_writes_nothing(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "regions.csv"
    bad.write_text("id,name,kind,parent,aliases,compare,note\nchina,China,country,,,no,\n"
                   "p,Loop Park,park,q,,no,\nq,Loop District,district,p,,no,\n", encoding="utf-8")
    with pytest.raises(InputError, match="region cycle") as caught:
        load_regions(bad)
    assert "\n" not in str(caught.value)
    own = tmp_path / "own.csv"
    own.write_text("id,name,kind,parent,aliases,compare,note\np,Self Park,park,p,,no,\n", encoding="utf-8")
    with pytest.raises(InputError, match="region cycle: p -> p"):
        load_regions(own)
    with Store.open(db) as store:
        before = region_tree(store).regions
        tree, _ = load_regions()
        assert save_regions(store, tree, source="again") == (14, 10)  # idempotent
        assert region_tree(store).regions == before
