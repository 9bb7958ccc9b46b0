"""`pipecast verify`: recompute the hash chain over the store's history.

Exit 0 and a one-line summary (rows per table and the chain's head hash) when the history is intact; exit 1
naming the first broken link (table, row, what differs) when a row was changed, deleted or written outside
pipecast. Record the head hash (`--json`) somewhere else to detect a deleted tail of the chain itself.
"""

from __future__ import annotations

import typer

from pipecast.commands.common import JsonOption, echo, echo_json
from pipecast.commands.store_cmds import open_store


def verify_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Check that the stored history is intact: every event, fact and resolution as it was written."""
    with open_store(ctx) as store:
        report = store.verify()
    if as_json:
        echo_json(report.as_dict())
    else:
        echo(report.describe())
    if not report.ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_command)
