"""What every command module shares: the app context, the store it opens, JSON output, date options."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from pipecast.errors import InputError
from pipecast.settings import AppContext, setting
from pipecast.store import Store, resolve_url
from pipecast.tabular import parse_date

#: The rate-set option every forecasting command takes, with its default and variable from the settings table.
RatesOption = Annotated[
    str,
    typer.Option(
        "--rates",
        help=setting("rates").help + " RATES.csv columns: phase,p_success,median_months,p90_months"
        "[,therapeutic_area,modality].",
        envvar=setting("rates").env,
    ),
]
DEFAULT_RATES = setting("rates").default


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_object(AppContext)
    return obj if obj is not None else AppContext()


@contextlib.contextmanager
def open_store(ctx: typer.Context, *, preview: bool = False) -> Iterator[Store]:
    """The context's store. A preview (dry run) against a SQLite file that does not exist yet uses an
    empty in-memory store, so that looking never creates the file."""
    app_ctx = app_context(ctx)
    url = resolve_url(app_ctx.db or None)
    if preview and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        store = Store.open("sqlite://")
    else:
        store = app_ctx.store()
    try:
        yield store
    finally:
        store.close()


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def print_import_summary(summary: Any, as_json: bool, notes: list[str]) -> None:
    """An import's summary: JSON for machines, or its one-line description, its changes and `notes`."""
    if as_json:
        echo_json(summary.as_dict())
        return
    typer.echo(summary.describe())
    for line in [*summary.changes, *notes]:
        typer.echo(f"  {line}")


def parse_date_option(text: str | None, option: str = "--as-of") -> dt.date | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date", field=option, expected="an ISO date such as 2024-08-20") from None
