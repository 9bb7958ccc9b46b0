"""A property-based run of the OpenAPI schema (schemathesis): every operation, bounded examples, as an admin
(so requests reach the endpoints' own checks), and no answer may be a server error (5xx)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from pipecast.api import ApiSettings, create_app
from test_api_support import add_users, build_bundled, copy_store

MAX_EXAMPLES = 12


def test_no_operation_answers_a_server_error(tmp_path: Path) -> None:
    db = str(copy_store(build_bundled(tmp_path), tmp_path))
    tokens = add_users(db)
    headers = {"Authorization": f"Bearer {tokens['admin']}"}
    app = create_app(ApiSettings(db=db, max_paths=2000, sync_paths=500, login_attempts=1000))
    ran: list[str] = []
    with TestClient(app):  # runs the lifespan: the store stays open during the property run
        schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
        for result in schema.get_all_operations():
            assert isinstance(result, Ok), result
            operation = result.ok()
            ran.append(operation.label)

            @given(case=operation.as_strategy())
            @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                case.call_and_validate(headers=headers, checks=[not_a_server_error])

            run()
    assert "POST /api/v1/candidates/{candidate_id}/events" in ran
    assert len(ran) >= 15
