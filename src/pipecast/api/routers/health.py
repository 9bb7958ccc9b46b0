"""GET /api/v1/health: the server answers and its store can be read (no credentials needed)."""

from __future__ import annotations

from fastapi import APIRouter

from pipecast import __version__
from pipecast.api.deps import StateDep
from pipecast.api.schemas import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic, summary="Liveness and the store's schema version")
def health(state: StateDep) -> HealthPublic:
    counts = state.store.table_counts()
    return HealthPublic(status="ok", version=__version__, schema_version=state.store.schema_version(),
                        candidates=counts.get("assets", 0))
