"""What every command module shares: the app context, the store it opens, JSON output, date options."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

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


_VISIBLE = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
#: Characters a terminal may act on: C0 and C1 controls, DEL, and bidirectional overrides.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

#: What json.dumps(ensure_ascii=False) leaves raw but a terminal may act on (C0 inside strings it escapes).
_NON_JSON = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _VISIBLE:
        return _VISIBLE[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe(text: object, *, keep_newlines: bool = False) -> str:
    """Data made safe to print: control characters (ESC, BEL, C1, bidi overrides...) become visible escapes
    such as `\\x1b`; with keep_newlines, line breaks and tabs stay. Rich markup needs no escaping because the
    shared consoles never interpret markup, so `[/]` or `[link=...]` print as written."""
    string = str(text)
    if keep_newlines:
        return _CONTROL.sub(lambda m: m.group() if m.group() in "\n\t" else _visible(m), string)
    return _CONTROL.sub(_visible, string)


class SafeConsole(Console):
    """A Rich console that treats every string as plain text: no markup, no emoji codes, no highlighting, and
    control characters shown as escapes. Style output with `style=` or Text objects, not markup."""

    def render_str(  # type: ignore[override]
        self, text: str, *, markup: bool | None = None, emoji: bool | None = None, **kwargs: Any
    ) -> Text:
        return super().render_str(safe(text, keep_newlines=True), markup=False, emoji=False, **kwargs)


#: The consoles every command prints through (stdout and stderr).
console = SafeConsole(highlight=False, markup=False, emoji=False)
err_console = SafeConsole(stderr=True, highlight=False, markup=False, emoji=False)


def echo(text: object = "") -> None:
    """One line of plain output (no Rich), control characters escaped."""
    typer.echo(safe(text, keep_newlines=True))


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


def to_json(data: Any) -> str:
    """The one JSON rendering of command output: UTF-8 text, indented, dates as ISO strings, and characters a
    terminal may act on (DEL, C1 controls, bidi overrides; C0 ones JSON escapes itself) as \\u escapes."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=_json_default)
    return _NON_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    return str(value)


def echo_json(data: Any) -> None:
    """Print command output as JSON on stdout: the one JSON printer every command uses."""
    typer.echo(to_json(data))


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
