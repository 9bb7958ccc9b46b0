"""Where a store lives: the default SQLite file, plain paths and URLs, and the SQLAlchemy engine.

Writers are serialised: on SQLite a write transaction starts with `BEGIN IMMEDIATE` (a second writer
waits up to `BUSY_TIMEOUT_MS`), on PostgreSQL with a transaction-scoped advisory lock. So two imports
of the same file at once run one after the other, and the second finds everything known.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipecast.errors import StoreError

if TYPE_CHECKING:  # SQLAlchemy is imported where an engine is made: the paths and URLs need none of it
    from sqlalchemy import Connection, Engine

DB_FILE_NAME = "pipecast.sqlite"
#: How long a SQLite writer waits for another one to finish before giving up.
BUSY_TIMEOUT_MS = 60_000
#: Execution option that marks a connection's transaction as a write (see `write_lock`).
WRITE_OPTION = "pipecast_write"
#: The PostgreSQL advisory lock key every pipecast write transaction holds ("pipecast" in ASCII, truncated).
PG_WRITE_LOCK = 0x7069706563617374 & 0x7FFFFFFFFFFFFFFF


def default_db_path() -> Path:
    """`pipecast.sqlite` in the user's data directory (created when a write first opens the store)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("pipecast", appauthor=False)) / DB_FILE_NAME


def default_db_url() -> str:
    return sqlite_url(default_db_path())


def sqlite_url(path: str | os.PathLike[str]) -> str:
    return "sqlite:///" + Path(path).expanduser().resolve().as_posix()


def resolve_url(url_or_path: str | os.PathLike[str] | None) -> str:
    """None -> the default SQLite file; a plain path -> SQLite at that path; a URL -> as is.

    `postgresql://` and `postgres://` URLs without a driver get psycopg 3, the driver pipecast ships with.
    """
    if url_or_path is None or str(url_or_path).strip() == "":
        return default_db_url()
    text_ = os.fspath(url_or_path).strip()
    if "://" not in text_:
        return sqlite_url(text_)
    scheme, rest = text_.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + rest
    return text_


def one_line(exc: BaseException) -> str:
    """The first line of a database error, without SQLAlchemy's wrapping."""
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return lines[0] if lines else type(orig).__name__


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database or another dialect."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return None
    return Path(database)


def make_engine(url: str, *, create: bool) -> tuple[Engine, str]:
    """An engine for `url` and the URL as shown to users (no password).

    A SQLite file that does not exist is created (with its folder) only when `create` is True; otherwise it
    is a StoreError naming the path, and nothing is created.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError
    from sqlalchemy.pool import StaticPool

    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"cannot parse database URL {url!r} (expected a SQLite file path or a URL such as "
            "postgresql+psycopg://user@host/db)"
        ) from None
    shown = parsed.render_as_string(hide_password=True)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is None:
            kwargs |= {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        elif not path.exists():
            if not create:
                raise StoreError(f"no pipecast store at {path} (create one with `pipecast load-bundled "
                                 "chongqing` or `pipecast import FILE`, or choose one with --db)")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the folder for database {path}: {exc}") from None
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise StoreError(f"cannot use database {shown}: {one_line(exc)}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine, shown


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # pipecast emits BEGIN itself (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Reads begin deferred; writes take the write lock at once, so a second writer waits its turn."""
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def write_lock(conn: Connection) -> None:
    """On PostgreSQL, wait for (and hold until commit) the lock every pipecast writer takes."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy import text

        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_WRITE_LOCK})
