"""The schema revisions this version ships, read from the migration files without importing Alembic or
SQLAlchemy (a reader checks a store's version against the head with one SELECT of its own)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from pipecast.errors import StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*["']?([\w.-]+|None)["']?""", re.M)
#: The table Alembic keeps the schema revision in, and the one query that reads it.
VERSION_TABLE = "alembic_version"
VERSION_QUERY = f"SELECT version_num FROM {VERSION_TABLE}"


@cache
def known_revisions() -> tuple[tuple[str, ...], str]:
    """(every revision shipped, the head) read from `migrations/versions/*.py`."""
    revisions: dict[str, str | None] = {}
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            down = found.get("down_revision")
            revisions[found["revision"]] = None if down in (None, "None") else down
    downs = set(revisions.values())
    heads = [r for r in revisions if r not in downs]
    if len(heads) != 1:
        raise StoreError(f"the packaged migrations have {len(heads)} heads ({', '.join(heads)}); reinstall pipecast")
    return tuple(revisions), heads[0]
