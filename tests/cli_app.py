"""Run the real command line (`pipecast.cli.run`, what the `pipecast` entry point runs) in-process.

Output is captured from stdout and stderr; a user error comes back as exit status 2 and one line on stderr.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass

from pipecast.cli import run


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


def invoke(db: str, *args: str) -> Outcome:
    """Run `pipecast --db DB ARGS...`; unexpected exceptions propagate."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(["--db", db, *args])
    return Outcome(code, out.getvalue(), err.getvalue())
