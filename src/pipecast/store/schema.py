"""The schema version: checked with one SELECT; Alembic is imported and run only when the store is behind.

The known revisions are read from the migration files' `revision = ...` / `down_revision = ...` lines, so
checking a current store costs no Alembic import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from pipecast.errors import StoreError
from pipecast.store.revisions import MIGRATIONS_DIR, VERSION_QUERY, VERSION_TABLE, known_revisions
from pipecast.store.urls import WRITE_OPTION, one_line, write_lock

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["MIGRATIONS_DIR", "alembic_config", "current_revision", "ensure_current", "known_revisions"]


def current_revision(conn: Connection) -> str | None:
    """The store's schema revision; None for an empty database."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(text(VERSION_QUERY)).scalar()


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
