"""`/api/v1/value/...`: each answer equals `pipecast value ... --json` on the same store (parsed JSON), errors
come in the API's error shape, and readers may ask."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli_app import invoke
from shared_paths import REPO_ROOT
from test_api_support import Api, build_bundled, copy_store, make_api

V1 = "/api/v1/value"
GR1803 = REPO_ROOT / "examples" / "deals" / "gr1803.yaml"
SCENARIO = REPO_ROOT / "examples" / "scenarios" / "chongqing" / "fast-review.yaml"
AS_OF = "2026-12-01"


@pytest.fixture(scope="module")
def bundled_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_bundled(tmp_path_factory.mktemp("bundled"))


@pytest.fixture
def api(bundled_file: Path, tmp_path: Path):  # type: ignore[no-untyped-def]
    yield from make_api(str(copy_store(bundled_file, tmp_path)))


def cli_json(db: str, *args: str) -> Any:
    outcome = invoke(db, "value", *args, "--json")
    assert outcome.exit_code == 0, outcome.stderr
    return json.loads(outcome.stdout)


def test_deal_by_name_and_by_mapping_equal_the_cli(api: Api) -> None:
    expected = cli_json(api.db, "deal", str(GR1803), "--as-of", "2025-06-04", "--rates", "china")
    by_name = api.client.post(f"{V1}/deal", json={"deal": "gr1803", "as_of": "2025-06-04", "rates": "china"},
                              headers=api.auth("viewer"))
    assert by_name.status_code == 200, by_name.text
    assert by_name.json() == expected
    terms = yaml.safe_load(GR1803.read_text(encoding="utf-8"))
    terms["date"] = str(terms["date"])
    by_terms = api.client.post(f"{V1}/deal", json={"deal": terms, "as_of": "2025-06-04", "rates": "china"},
                               headers=api.auth("viewer"))
    assert by_terms.status_code == 200, by_terms.text
    assert by_terms.json()["risk_adjusted"] == expected["risk_adjusted"]
    assert expected["headline"] == pytest.approx(712.0)  # the sourced headline, independent of the code


def test_candidate_and_pipeline_equal_the_cli(api: Api) -> None:
    expected = cli_json(api.db, "candidate", "genrix-gr1803", "--as-of", AS_OF, "--rates", "china",
                        "--paths", "2000", "--seed", "7")
    got = api.client.get(f"{V1}/candidates/genrix-gr1803",
                         params={"as_of": AS_OF, "rates": "china", "paths": 2000, "seed": 7},
                         headers=api.auth("viewer"))
    assert got.status_code == 200, got.text
    assert got.json() == expected
    pipeline = cli_json(api.db, "pipeline", "--as-of", AS_OF, "--rates", "china", "--paths", "1000", "--seed", "3")
    answer = api.client.get(f"{V1}/pipeline", params={"as_of": AS_OF, "rates": "china", "paths": 1000, "seed": 3},
                            headers=api.auth("viewer"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == pipeline
    correlated = cli_json(api.db, "pipeline", "--as-of", AS_OF, "--rates", "china", "--paths", "1000", "--seed", "3",
                          "--rho", "sponsor=0.4", "--review-sigma", "0.3")
    answer = api.client.get(f"{V1}/pipeline", params={"as_of": AS_OF, "rates": "china", "paths": 1000, "seed": 3,
                                                      "rho": "sponsor=0.4", "review_sigma": 0.3},
                            headers=api.auth("viewer"))
    assert answer.json() == correlated
    assert correlated["correlation"]["rho"] == {"sponsor": 0.4}
    spread = correlated["montecarlo"]["p90"] - correlated["montecarlo"]["p10"]
    assert spread > pipeline["montecarlo"]["p90"] - pipeline["montecarlo"]["p10"]  # the option takes effect
    # The total is the sum over candidates of rNPV x count (recomputed here from the parts).
    assert pipeline["rnpv"] == pytest.approx(sum(c["rnpv"] * c["count"] for c in pipeline["candidates"]))


def test_programme_with_and_without_scenarios_equals_the_cli(api: Api) -> None:
    expected = cli_json(api.db, "programme", "chongqing-2025", "--as-of", AS_OF, "--rates", "china",
                        "--scenario", str(SCENARIO))
    scenario = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    got = api.client.post(f"{V1}/programme", json={"programme": "chongqing-2025", "as_of": AS_OF, "rates": "china",
                                                   "scenarios": [scenario]}, headers=api.auth("viewer"))
    assert got.status_code == 200, got.text
    answer = got.json()
    for under in (*answer["scenarios"], *expected["scenarios"]):
        under.pop("scenario_file")
    assert answer == expected
    plain = api.client.post(f"{V1}/programme", json={"programme": "chongqing-2025", "as_of": AS_OF,
                                                     "rates": "china"}, headers=api.auth("viewer")).json()
    assert "scenarios" not in plain
    assert plain["cost_per_expected_approval"] == pytest.approx(plain["expected_outlay"] / plain["expected_approvals"])


def test_errors_come_in_the_api_shape(api: Api) -> None:
    viewer = api.auth("viewer")
    cases = [
        (api.client.post(f"{V1}/deal", json={"deal": "no-such-deal"}, headers=viewer), 422, "deal"),
        (api.client.post(f"{V1}/deal", json={"deal": {"candidate": "genrix-gr1803", "currency": "USD",
                                                      "date": "2025-06-04", "upfront": -5}}, headers=viewer),
         422, None),
        (api.client.post(f"{V1}/deal", json={"deal": "gr1803", "rates": "mars"}, headers=viewer), 422, "rates"),
        (api.client.get(f"{V1}/candidates/no-such-candidate", headers=viewer), 404, "candidate_id"),
        (api.client.post(f"{V1}/programme", json={"programme": {"name": "x", "bogus": 1}}, headers=viewer),
         422, None),
        (api.client.get(f"{V1}/pipeline", params={"paths": 10**9}, headers=viewer), 422, "paths"),
    ]
    for response, status, field in cases:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert set(error) == {"code", "message", "field"}
        if field is not None:
            assert error["field"] == field
    assert "upfront" in cases[1][0].json()["error"]["message"]
    assert "bogus" in cases[4][0].json()["error"]["message"]
    assert api.client.get(f"{V1}/pipeline").status_code == 401  # readers only, not anonymous visitors
