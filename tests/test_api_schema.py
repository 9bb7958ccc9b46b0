"""A property-based run of the OpenAPI schema (schemathesis): every operation, bounded examples, as an admin
(so requests reach the endpoints' own checks), and no answer may be a server error (5xx)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from test_api_support import add_users, build_bundled, copy_store

from pipecast.api import ApiSettings, create_app

MAX_EXAMPLES = 12
_TOKENS: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("schema")
    db = str(copy_store(build_bundled(folder), folder))
    _TOKENS.update(add_users(db))
    app = create_app(ApiSettings(db=db, max_paths=2000, sync_paths=500, login_attempts=1000))
    with TestClient(app):  # runs the lifespan: the store is open while the property run goes on
        yield schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
def test_no_server_error(case: Any) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {_TOKENS['admin']}"}, checks=[not_a_server_error])
