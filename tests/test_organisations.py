"""Organisations: the bundled ones load with the data set, and each lists the candidates it sponsors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from cli_app import invoke
from pipecast.errors import InputError
from pipecast.ingest.assets_file import load_organisations

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "src" / "pipecast" / "data" / "chongqing"


def test_bundled_organisations_carry_a_source_and_sponsor_the_right_candidates(tmp_path: Path) -> None:
    orgs = list(csv.DictReader((BUNDLED / "organisations.csv").open(encoding="utf-8")))
    assert orgs
    assert all(row["source_url"].startswith("http") and row["source_title"] for row in orgs)
    db = str(tmp_path / "o.sqlite")
    assert invoke(db, "load-bundled", "chongqing").exit_code == 0
    result = invoke(db, "orgs", "--json")
    assert result.exit_code == 0, result.stderr
    listed = {row["id"]: row for row in json.loads(result.stdout)}
    assert {row["id"] for row in orgs} == set(listed)
    # Independent count: rows of assets.csv whose sponsor names Genrix.
    assets = list(csv.DictReader((BUNDLED / "assets.csv").open(encoding="utf-8")))
    genrix = sorted(a["id"] for a in assets if "Genrix" in a["sponsor"] or "智翔金泰" in a["sponsor"])
    assert sorted(listed["org:genrix"]["candidates"]) == genrix
    assert len(genrix) == 6
    assert listed["org:fochon"]["parent_id"] == "org:fosun-pharma"
    assert listed["park:bio-city"]["kind"] == "park"


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("org:x,X,factory,,,", "kind", "unknown kind"),
        ("org:x,X,company,,org:nobody,", "parent_id", "unknown parent"),
        ("org:a,Again,company,,,", "id", "duplicate id"),
    ],
)
def test_bad_organisation_rows_name_row_and_column(tmp_path: Path, row: str, column: str, message: str) -> None:
    path = tmp_path / "organisations.csv"
    path.write_text("id,name,kind,city,parent_id,aliases\norg:a,A,company,,,\n" + row + "\n", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_organisations(path)
    text = str(caught.value)
    assert "row 3" in text
    assert f"column '{column}'" in text
    assert message in text
