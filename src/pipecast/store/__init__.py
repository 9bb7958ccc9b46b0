"""The registry: SQLAlchemy models, Alembic migrations and the `Store` that reads and writes them."""

from pipecast.store.store import (
    ActionRecord,
    BatchRecord,
    EventRecord,
    Fact,
    ImportSummary,
    ResolutionError,
    ReviewItem,
    Store,
    VerifyReport,
    default_db_path,
    default_db_url,
    load_facts,
    resolve_url,
)

__all__ = [
    "ActionRecord",
    "BatchRecord",
    "EventRecord",
    "Fact",
    "ImportSummary",
    "ResolutionError",
    "ReviewItem",
    "Store",
    "VerifyReport",
    "default_db_path",
    "default_db_url",
    "load_facts",
    "resolve_url",
]
