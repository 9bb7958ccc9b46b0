"""Shared fixtures: a SQLite URL per test, and a throwaway PostgreSQL server for the session."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

PG_ROOT = Path("/usr/lib/postgresql")

#: Skips that mean a required component is missing: under CI=true they fail the run instead.
REQUIRED_COMPONENT_MARKERS = ("postgres", "browser", "shared_data")
REQUIRED_COMPONENT_WORDS = ("postgresql", "chromium", "playwright", "shared")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Under CI=true a database, browser or shared-data test that skips is a failure, not a quiet pass."""
    report = yield
    if not (_in_ci() and report.skipped):
        return report
    reason = str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr).lower()
    marked = any(item.get_closest_marker(name) for name in REQUIRED_COMPONENT_MARKERS)
    if marked or any(word in reason for word in REQUIRED_COMPONENT_WORDS):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which requires every component: {reason}"
    return report
PG_PREFERRED = PG_ROOT / "15" / "bin"


def _pg_bindir() -> Path | None:
    candidates = [PG_PREFERRED, *sorted(PG_ROOT.glob("*/bin"), reverse=True)]
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{(tmp_path / 'pipecast.sqlite').as_posix()}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL server started for this test session on a free loopback port; stopped and deleted after.

    The server binaries refuse to run as root, so as root they run as the `postgres` user.
    """
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip(f"PostgreSQL server binaries not found (no initdb/pg_ctl under {PG_ROOT}/*/bin)")
    prefix: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the PostgreSQL server as")
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.skip("running as root and runuser is missing, so PostgreSQL cannot be started")
        prefix = [runuser, "-u", owner.pw_name, "--"]
    base = Path(tempfile.mkdtemp(prefix="pipecast-pg-"))
    if owner is not None:
        os.chown(base, owner.pw_uid, owner.pw_gid)
    data = base / "data"
    log = base / "server.log"
    pg_ctl = str(bindir / "pg_ctl")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*prefix, *args], capture_output=True, text=True, timeout=120, check=False)

    started = False
    try:
        done = run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                   "--locale=C", "--no-sync")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")
        for _ in range(5):
            port = _free_port()
            options = (f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off")
            done = run(pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start")
            if done.returncode == 0:
                started = True
                break
        if not started:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"PostgreSQL did not start: {done.stderr or done.stdout}\n{text[-2000:]}")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_db_url(postgres_url: str) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:16]
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on an embedded SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_db_url"))
