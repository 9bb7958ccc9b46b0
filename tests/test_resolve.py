"""Entity resolution: scored candidates, the GR1501 family, organisations, and no silent merges."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pipecast.errors import AliasConflict, InputError
from pipecast.ingest.resolve import DATA, chongqing_table, load_alias_table
from pipecast.matching import AliasTable, keys, match_candidates, resolve
from shared_paths import SHARED_DATA

FACTS = SHARED_DATA / "chongqing" / "facts.csv"
# The aliases of Genrix's IL-17A antibody as facts.csv gives them (entity label and quotes).
GR1501_FAMILY = [
    "GR1501",
    "GR1501注射液",
    "xeligekimab",
    "Xeligekimab",
    "赛立奇单抗",
    "赛立奇单抗注射液",
    "金立希",
]


@pytest.fixture(scope="module")
def table() -> AliasTable:
    return chongqing_table()


@pytest.mark.parametrize(
    "name",
    [
        *GR1501_FAMILY,
        "ＧＲ１５０１",
        "gr-1501",
        "GR1501 Injection",
        "Xeligekimab for Injection",
        "赛立奇单抗注射液（金立希®）",
        "注射用赛立奇单抗",
        " 金立希® ",
    ],
)
def test_gr1501_family_resolves_to_one_id(table: AliasTable, name: str) -> None:
    assert resolve(name, table) == "genrix-gr1501"
    assert match_candidates(name, table)[0].asset_id == "genrix-gr1501"


def test_names_not_in_the_facts_are_not_merged(table: AliasTable) -> None:
    # "Siliq" is brodalumab's US brand (iChongqing's headline borrows it for 赛立奇); "Celitizumab" is not
    # in facts.csv. Neither may become GR1501, and neither may GR1801 or a longer code.
    for name in ("Siliq", "Celitizumab", "brodalumab", "secukinumab", "GR15011", "GR150"):
        assert resolve(name, table) is None, name
    assert all(m.score < 0.9 for m in match_candidates("GR15011", table))
    assert resolve("GR1801", table) == "genrix-gr1801"


def test_scores_and_reasons(table: AliasTable) -> None:
    exact = match_candidates("赛立奇单抗", table)[0]
    assert (exact.score, exact.alias) == (1.0, "赛立奇单抗")
    assert "folding" in exact.reason
    form = match_candidates("Xeligekimab Injection", table)[0]
    assert form.score == 0.95
    assert "dosage" in form.reason
    inside = match_candidates("评价GR1501注射液治疗活动性狼疮性肾炎的II期临床研究", table)
    assert inside[0].asset_id == "genrix-gr1501"
    assert inside[0].score == 0.8
    assert "contains" in inside[0].reason
    assert resolve("评价GR1501注射液治疗活动性狼疮性肾炎的II期临床研究", table) is None  # review, not merge
    typo = match_candidates("xeligekimb", table)[0]
    assert typo.asset_id == "genrix-gr1501"
    assert typo.score < 0.6
    assert "check" in typo.reason


def test_salt_and_dosage_forms() -> None:
    table = AliasTable()
    table.add("metformin", "drug", "metformin", "en")
    table.add("二甲双胍", "drug", "metformin", "zh")
    for name, score in [
        ("Metformin Hydrochloride Tablets", 0.9),
        ("盐酸二甲双胍缓释片", 0.9),
        ("metformin tablets", 0.95),
        ("METFORMIN", 1.0),
        ("二甲双胍片", 0.95),
    ]:
        [match] = match_candidates(name, table)
        assert (match.asset_id, match.score) == ("metformin", score), name
    assert keys("注射用SHR-A1811", "drug")[1] == "shra1811"


def test_ambiguous_candidates_are_left_for_review() -> None:
    table = AliasTable()
    table.add("ABC-101", "drug", "a")
    table.add("ABC-101 sodium", "drug", "b")  # a different product whose salt-free name collides
    matches = match_candidates("ABC101 sodium tablets", table)
    assert {m.asset_id for m in matches} == {"a", "b"}
    assert resolve("ABC101 sodium tablets", table) is None


def test_an_alias_cannot_mean_two_things() -> None:
    table = AliasTable()
    table.add("GR1501", "drug", "GR1501")
    table.add("gr 1501", "drug", "GR1501")  # same id: fine
    with pytest.raises(AliasConflict, match="already means 'GR1501'"):
        table.add("ＧＲ-1501", "drug", "OTHER")
    table.add("GR1501", "org", "org:x")  # kinds are separate name spaces


def test_organisations_and_parents(table: AliasTable) -> None:
    assert resolve("重庆智翔金泰生物制药股份有限公司", table, "org") == "org:genrix"
    assert resolve("智翔金泰", table, "org") == "org:genrix"
    assert resolve("Genrix Bio", table, "org") == "org:genrix"
    fochon = match_candidates("Chongqing Fuchuang Pharmaceuticals Research Co., Ltd.", table, "org")[0]
    assert fochon.asset_id == "org:fochon"
    assert "subsidiary of org:fosun-pharma" in fochon.reason
    assert resolve("Fochon Pharmaceuticals", table, "org") == "org:fochon"  # legal form dropped
    assert table.ancestors("org:zhifei-longcom") == ["org:zhifei"]
    longcom = match_candidates("安徽智飞龙科马生物制药有限公司", table, "org")
    assert longcom[0].asset_id == "org:zhifei-longcom"
    assert longcom[0].score == 0.8
    multi = match_candidates("Kinnjiu Biopharma Limited/ 重庆精准生物技术有限公司", table, "org")
    assert multi[0].asset_id == "org:precision-bio"
    assert multi[0].score == 1.0
    bovax = {m.asset_id for m in match_candidates("Shanghai Bovax Biotechnology Co., Ltd.", table, "org")}
    assert bovax == {"org:bovax-shanghai", "org:bovax"}
    assert match_candidates("迈威（上海）生物科技股份有限公司", table, "org") == []
    with pytest.raises(InputError, match="cycle"):
        table.add_parent("org:fosun-pharma", "org:fochon")


def test_bundled_alias_file_is_well_formed() -> None:
    with open(DATA / "aliases_chongqing.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["alias", "kind", "canonical_id", "lang", "source"]
    assert {r["kind"] for r in rows} == {"drug", "org"}
    assert all(r["source"].startswith("http") and r["lang"] in {"en", "zh", "code"} for r in rows)
    wanted = {"org:genrix", "org:precision-bio", "org:fochon", "org:bovax", "org:zhifei"}
    assert wanted <= {r["canonical_id"] for r in rows}
    assert {r["alias"] for r in rows if r["canonical_id"] == "genrix-gr1501"} == set(GR1501_FAMILY) - {"Xeligekimab"}


@pytest.mark.skipif(not FACTS.exists(), reason="shared reference data not mounted")
def test_every_alias_is_backed_by_its_cited_fact() -> None:
    with open(FACTS, encoding="utf-8", newline="") as handle:
        facts = list(csv.DictReader(handle))
    with open(DATA / "aliases_chongqing.csv", encoding="utf-8", newline="") as handle:
        aliases = list(csv.DictReader(handle))
    for row in aliases:
        texts = [
            f"{f['quote']} {f['value']} {f['source_title']}".casefold()
            for f in facts
            if f["source_url"] == row["source"]
        ]
        assert texts, f"{row['alias']}: {row['source']} is not a source in facts.csv"
        assert any(row["alias"].casefold() in t for t in texts), f"{row['alias']} not in its cited fact"
    with open(DATA / "org_parents_chongqing.csv", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            assert any(f["source_url"] == row["source"] for f in facts), row


def test_loading_rejects_bad_rows(tmp_path: Path) -> None:
    bad_kind = tmp_path / "a.csv"
    bad_kind.write_text(
        "alias,kind,canonical_id,lang,source\nGR1501,molecule,GR1501,code,x\n", encoding="utf-8"
    )
    with pytest.raises(InputError) as info:
        load_alias_table(bad_kind)
    assert "row 2" in str(info.value)
    assert "molecule" in str(info.value)
    clash = tmp_path / "b.csv"
    clash.write_text("alias,kind,canonical_id\nGR1501,drug,GR1501\nGR-1501,drug,GR1801\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 3"):
        load_alias_table(clash)


def test_alias_ids_are_the_bundled_ids(table: AliasTable) -> None:
    """Each bundled candidate's names resolve to its own bundled id, so loading order cannot change identity."""
    with open(Path(__file__).resolve().parents[1] / "src/pipecast/data/chongqing/assets.csv", encoding="utf-8",
              newline="") as handle:
        bundled = [r for r in csv.DictReader(handle) if not r["id"].startswith("cohort:")]
    checked = 0
    for row in bundled:
        names = [row["name"], *(a for a in row["aliases"].split("|") if a)]
        found = {resolve(n, table) for n in names} - {None}
        if found:
            assert found == {row["id"]}, (row["id"], found)
            checked += 1
    assert checked >= 10
    assert not table.ids("drug") & {"GR1501", "FCN-159", "pCAR-19B"}  # the old code-style ids are gone
