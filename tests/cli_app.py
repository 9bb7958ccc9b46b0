"""A small typer app that mounts the registry commands the way the main CLI does, for tests.

`--db` sets `ctx.obj = AppContext(db=...)`; a PipecastError becomes one line on stderr and exit 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import typer
from typer.testing import CliRunner

from pipecast.commands.store_cmds import register
from pipecast.errors import PipecastError
from pipecast.settings import AppContext


def make_app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)

    @app.callback()
    def main(
        ctx: typer.Context,
        db: Annotated[str, typer.Option("--db", help="SQLite path or SQLAlchemy URL.")] = "",
        json_output: Annotated[bool, typer.Option("--json-output")] = False,
    ) -> None:
        ctx.obj = AppContext(db=db, json_output=json_output)

    register(app)
    return app


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None = None


def invoke(db: str, *args: str) -> Outcome:
    """Run `pipecast --db DB ARGS...` in-process; unexpected exceptions propagate."""
    runner = CliRunner()
    result = runner.invoke(make_app(), ["--db", db, *args], catch_exceptions=True)
    exc = result.exception
    if isinstance(exc, PipecastError):
        return Outcome(exc.exit_code, result.stdout, str(exc) + "\n", exc)
    if exc is not None and not isinstance(exc, SystemExit):
        raise exc
    return Outcome(result.exit_code, result.stdout, result.stderr)
