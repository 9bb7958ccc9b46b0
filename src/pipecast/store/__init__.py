"""The registry: SQLAlchemy models, Alembic migrations and the `Store` that reads and writes them.

The names below load `pipecast.store.store` (and SQLAlchemy) on first use, so that a module of this package
that needs neither (`quickread`, `revisions`, `identity`) can be imported without them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipecast.store.store import (
        CHANGES_LISTED,
        ActionRecord,
        BatchRecord,
        EventRecord,
        Fact,
        ImportSummary,
        ResolutionError,
        ReviewItem,
        Store,
        VerifyReport,
        WriteResult,
        default_db_path,
        default_db_url,
        load_facts,
        resolve_url,
    )

__all__ = [
    "CHANGES_LISTED",
    "ActionRecord",
    "BatchRecord",
    "EventRecord",
    "Fact",
    "ImportSummary",  # the old name of WriteResult, until pipecast.api and pipecast.web import WriteResult
    "ResolutionError",
    "ReviewItem",
    "Store",
    "VerifyReport",
    "WriteResult",
    "default_db_path",
    "default_db_url",
    "load_facts",
    "resolve_url",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("pipecast.store.store"), name)
    raise AttributeError(f"module 'pipecast.store' has no attribute {name!r}")
