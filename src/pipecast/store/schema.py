"""The schema version: checked with one SELECT; Alembic is imported and run only when the store is behind.

The known revisions are read from the migration files' `revision = ...` / `down_revision = ...` lines, so
checking a current store costs no Alembic import.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from pipecast.errors import StoreError
from pipecast.store.urls import WRITE_OPTION, one_line, write_lock

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*["']?([\w.-]+|None)["']?""", re.M)


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


def current_revision(conn: Connection) -> str | None:
    """The store's schema revision; None for an empty database."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def ensure_current(engine: Engine, shown: str, *, create: bool) -> None:
    """Bring the schema to the head revision; a no-op (one SELECT) when it is there already.

    StoreError for a revision this version does not know, or (with `create` False) a database with no
    pipecast schema at all.
    """
    known, head = known_revisions()
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
        if current == head:
            return
        _check(current, known, shown, create=create)
        with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
            write_lock(conn)
            if current_revision(conn) != head:  # another process may have upgraded it meanwhile
                _upgrade(conn)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot open database {shown}: {one_line(exc)}") from None


def _check(current: str | None, known: tuple[str, ...], shown: str, *, create: bool) -> None:
    if current is not None and current not in known:
        raise StoreError(f"database {shown} is at schema version {current!r}, which this version of pipecast "
                         "does not know (upgrade pipecast)")
    if current is None and not create:
        raise StoreError(f"database {shown} holds no pipecast store (create one with `pipecast load-bundled "
                         "chongqing` or `pipecast import FILE`)")


def _upgrade(conn: Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
