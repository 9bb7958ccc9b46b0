"""`pipecast report --plan`: the report's Plan section carries the verdicts of `pipecast plan` and the hub
table of `pipecast compare-regions` (both run as subprocesses on the same store: a second path through the
program), in English and Chinese; without --plan the section is absent.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from pipecast.report.format import format_probability

TODAY = "2026-12-01"
PIPECAST = [sys.executable, "-c", "import sys; from pipecast.cli import main; sys.exit(main())"]


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([*PIPECAST, *args], capture_output=True, text=True, env=env, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("planreport")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPECAST_")}
    env |= {"PIPECAST_DB": str(folder / "cq.sqlite"), "PIPECAST_TODAY": TODAY, "PIPECAST_RATES": "china"}
    _cli(env, "load-bundled", "chongqing")
    out: dict[str, Any] = {
        "plan": json.loads(_cli(env, "plan", "--as-of", TODAY, "--json")),
        "hubs": json.loads(_cli(env, "compare-regions", "--as-of", TODAY, "--json")),
    }
    for lang in ("en", "zh"):
        path = folder / f"report-{lang}.html"
        _cli(env, "report", "--plan", "--as-of", TODAY, "--lang", lang, "--out", str(path))
        out[lang] = path.read_text(encoding="utf-8")
    plain = folder / "plain.html"
    _cli(env, "report", "--as-of", TODAY, "--out", str(plain))
    out["plain"] = plain.read_text(encoding="utf-8")
    return out


def _data(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="pipecast-data">(.*?)</script>', page, re.S)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def _section(page: str, section_id: str) -> str:
    found = re.search(rf'<section id="{section_id}".*?</section>', page, re.S)
    assert found is not None, section_id
    return found.group(0)


def test_plan_section_is_the_commands_numbers(made: dict[str, Any]) -> None:
    data = _data(made["en"])["plan"]
    assert data["as_of"] == TODAY
    got = {t["id"]: t for t in data["targets"]}
    for t in made["plan"]["targets"]:
        assert got[t["id"]]["p_met"] == t["p_met"], t["id"]
        assert got[t["id"]]["verdict"] == t["verdict"], t["id"]
        assert got[t["id"]]["expected"] == t["expected"], t["id"]
    hubs = {h["region"]: h for h in data["hubs"]}
    assert data["years"] == made["hubs"]["years"]
    for h in made["hubs"]["hubs"]:
        assert hubs[h["region"]]["expected_total"] == h["expected_total"], h["region"]
        assert hubs[h["region"]]["funnel"] == h["funnel"], h["region"]


def test_plan_section_shows_each_verdict_and_each_hub(made: dict[str, Any]) -> None:
    section = html.unescape(_section(made["en"], "plan"))
    assert "The plan's targets" in section
    for t in made["plan"]["targets"]:
        assert t["label"] in section
        assert t["reason"] in section
        if t["p_met"] is not None:
            assert format_probability(t["p_met"]) in section
    regions = html.unescape(_section(made["en"], "regions"))
    for h in made["hubs"]["hubs"]:
        assert h["name"] in regions
        if h["expected_total"] is not None:
            assert f"{h['expected_total']:.2f}" in regions
    assert '"fig-plan-total"' in made["en"]
    assert '"fig-plan-hubs"' in made["en"]


def test_plan_section_in_chinese(made: dict[str, Any]) -> None:
    section = html.unescape(_section(made["zh"], "plan"))
    assert "规划目标" in section
    assert "有风险" in section
    assert "累计 ≥ 10 个的概率" in section
    assert "各地对比" in _section(made["zh"], "regions")


def test_without_the_option_there_is_no_plan_section(made: dict[str, Any]) -> None:
    assert '<section id="plan"' not in made["plain"]
    assert '<section id="regions"' not in made["plain"]
    assert "plan" not in _data(made["plain"])
