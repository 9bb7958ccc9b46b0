"""Life after approval: the bundled facts (every row sourced, each traced to the shared fact files), bad rows
as one-line errors, the funnel's last stage against a hand count, `pipecast assets show` and `plan --json`."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest

from cli_app import invoke
from pipecast.domain import Asset, Phase, PhaseEvent
from pipecast.errors import InputError
from pipecast.loading.post_approval import REQUIRED, bundled_post_approval, load_post_approval
from pipecast.plan.post_approval import PostApprovalFact, summarise
from shared_paths import SHARED_DATA

D = dt.date


def test_bundled_rows_are_sourced_and_in_the_shared_fact_files() -> None:
    facts = load_post_approval()
    assert {(f.candidate, f.kind) for f in facts} == {("genrix-gr1501", "nrdl"), ("fochon-fcn437", "nrdl")}
    shared = SHARED_DATA / "chongqing"
    if not shared.is_dir():
        pytest.skip(f"shared data not found at {shared}")
    text = "".join((shared / name).read_text(encoding="utf-8") for name in ("facts.csv", "updates_2026-12.csv"))
    for fact in facts:
        assert fact.source_url in text, fact
        assert fact.quote.split("...")[0].strip()[:40] in text, fact


def _approved(asset_id: str, on: D, count: int = 1) -> Asset:
    return Asset(asset_id, asset_id.upper(), (PhaseEvent(Phase.FILED, D(2020, 1, 1)), PhaseEvent(Phase.APPROVED, on)),
                 count=count)


def _fact(candidate: str, kind: str, value: str, on: D) -> PostApprovalFact:
    return PostApprovalFact(candidate, kind, value, on, "a source", "https://example.org/x")


def test_summary_against_hand_count() -> None:
    assets = [_approved("a", D(2024, 8, 20)), _approved("b", D(2025, 5, 1)), _approved("c", D(2026, 6, 1)),
              Asset("d", "D", (PhaseEvent(Phase.PHASE3, D(2023, 1, 1)),))]
    facts = [_fact("a", "nrdl", "listed", D(2026, 1, 1)), _fact("a", "provinces", "20", D(2025, 6, 1)),
             _fact("a", "provinces", "30", D(2026, 3, 1)), _fact("a", "patients", "10,000", D(2026, 3, 1)),
             _fact("b", "hospitals", "120", D(2025, 12, 1)), _fact("c", "nrdl", "listed", D(2027, 1, 1)),
             _fact("d", "nrdl", "listed", D(2025, 1, 1))]
    out = summarise(assets, facts, D(2026, 12, 1))
    # approved by 2026-12-01: a, b, c (d is in phase 3); listed: a only (c's listing is dated later)
    assert (out["approved"], out["nrdl_listed"], out["with_provinces"], out["with_hospitals"]) == (3, 1, 1, 1)
    a = out["candidates"][0]
    assert (a["nrdl"], a["provinces"], a["patients"]) == ("2026-01-01", 30, 10000)  # the latest figure
    assert out["patients_reached"] == 10000
    earlier = summarise(assets, facts, D(2025, 12, 31))  # no look-ahead
    assert (earlier["approved"], earlier["nrdl_listed"], earlier["candidates"][0]["provinces"]) == (2, 0, 20)


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = [*REQUIRED, "unit", "date_text"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


GOOD = {"candidate": "a", "kind": "provinces", "value": "30", "date": "2026-01-01", "source_title": "t",
        "source_url": "https://example.org"}


@pytest.mark.parametrize(("change", "match"), [
    ({"source_url": ""}, "source_url"),
    ({"source_url": "example.org"}, "not a web address"),
    ({"kind": "sales"}, "unknown kind"),
    ({"value": "about thirty"}, "not a number"),
    ({"value": "30.5"}, "not a whole number"),
    ({"date": "soon"}, "date"),
])
def test_bad_rows_are_one_line_errors(tmp_path: Path, change: dict[str, str], match: str) -> None:
    path = _write(tmp_path / "post_approval.csv", [GOOD, GOOD | change])
    with pytest.raises(InputError, match=match) as caught:
        load_post_approval(path)
    assert "row 3" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_assets_show_and_plan_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPECAST_TODAY", "2026-12-01")
    db = str(tmp_path / "pa.sqlite")
    assert invoke(db, "load-bundled", "chongqing").exit_code == 0
    shown = json.loads(invoke(db, "assets", "show", "GR1501", "--json").stdout)
    assert [f["date"] for f in shown["post_approval"]] == ["2026-01-01", "2026-01-29"]
    assert "after approval: nrdl" in invoke(db, "assets", "show", "GR1501").stdout
    plan = json.loads(invoke(db, "plan", "--as-of", "2026-12-01", "--json").stdout)["post_approval"]
    # approved on record by 2026-12-01 (docs/plan.md): GR1501, fovinaciclib, FCN-159, pCAR-19B, GR1801;
    # NRDL-listed in the bundled facts: GR1501 and fovinaciclib (effective 2026-01-01)
    assert plan["approved"] == 5
    assert {c["candidate"] for c in plan["candidates"] if c["nrdl"]} == {"genrix-gr1501", "fochon-fcn437"}
    before = json.loads(invoke(db, "plan", "--as-of", "2025-12-31", "--json").stdout)["post_approval"]
    assert before["nrdl_listed"] == 0  # listings dated 2026-01-01 are not seen on 2025-12-31
    assert bundled_post_approval().is_file()
    assert dataclasses.is_dataclass(load_post_approval()[0])
