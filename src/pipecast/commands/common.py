"""What every command module shares: safe terminal output, the one JSON printer, the shared options (each
declared once, defaults from the settings table), the app context and the store it opens.

Printing: use `console` / `err_console` (they never interpret Rich markup or emoji codes found in data, and
show control characters as visible escapes), `echo` for plain lines, `echo_json` for JSON. Build styled
output with `style=` or `rich.text.Text`, never by pasting data into markup.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from pipecast.errors import InputError
from pipecast.settings import AppContext, resolve_db, setting

if TYPE_CHECKING:
    from pipecast.store import Store

# ---- safe text

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

    def render_str(
        self, text: str, *, markup: bool | None = None, emoji: bool | None = None, **kwargs: Any
    ) -> Text:
        return super().render_str(safe(text, keep_newlines=True), markup=False, emoji=False, **kwargs)


#: The consoles every command prints through (stdout and stderr).
console = SafeConsole(highlight=False, markup=False, emoji=False)
err_console = SafeConsole(stderr=True, highlight=False, markup=False, emoji=False)


def text(value: object, style: str = "") -> Text:
    """A Rich Text of data, control characters escaped: use it instead of Text(...) for anything from data
    (Text objects do not pass through the console's string rendering)."""
    return Text(safe(value), style=style)


def name_and_id(name: str, asset_id: str, mark: str = "", detail: str = "") -> Text:
    """A table cell: the name (wraps at spaces), an optional detail line (a sponsor), then the id on a line of
    its own, dimmed, so that a narrow terminal never breaks an id mid-token (pair with `id_width` for the
    column's minimum width)."""
    cell = text(name)
    if detail:
        cell.append("\n")
        cell.append_text(text(detail, style="italic"))
    cell.append("\n")
    cell.append_text(text(asset_id + (f" {mark}" if mark else ""), style="dim"))
    return cell


def id_width(ids: Iterable[str], reserve: int, extra: int = 0) -> int:
    """Minimum width of a column holding ids: the longest id (+extra), unless the terminal leaves less than
    that once `reserve` columns are kept for the rest of the table (then the longest ids fold)."""
    widest = max((len(i) + extra for i in ids), default=8)
    return max(8, min(widest, console.width - reserve))


def echo(text: object = "", *, err: bool = False) -> None:
    """One line of plain output (no Rich), control characters escaped."""
    typer.echo(safe(text, keep_newlines=True), err=err)


# ---- JSON


def to_json(data: Any) -> str:
    """The one JSON rendering of command output: UTF-8 text, indented, dates as ISO strings, and characters a
    terminal may act on (DEL, C1 controls, bidi overrides; C0 ones JSON escapes itself) as \\u escapes."""
    text = json.dumps(data, ensure_ascii=False, indent=2, default=_json_default)
    return _NON_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def echo_json(data: Any) -> None:
    """Print command output as JSON on stdout: the one JSON printer every command uses."""
    typer.echo(to_json(data))


def print_import_summary(summary: Any, as_json: bool, notes: list[str]) -> None:
    """An import's summary: JSON for machines, or its one-line description, its changes and `notes`."""
    if as_json:
        echo_json(summary.as_dict())
        return
    echo(summary.describe())
    for line in [*summary.changes, *notes]:
        echo(f"  {line}")


# ---- option value types: their messages become `error: --OPTION: MESSAGE`


class _Number:
    """A number parser with bounds whose failure reads `expected a positive integer, got 0` (used as a Typer
    `parser`; Click adds the option's name)."""

    def __init__(self, kind: type[int] | type[float], low: float | None, high: float | None, words: str) -> None:
        self.kind = kind
        self.low = low
        self.high = high
        self.words = words
        self.__name__ = words

    def __call__(self, value: Any) -> Any:
        if isinstance(value, self.kind) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = self.kind(str(value).strip())
            except ValueError:
                raise typer.BadParameter(f"expected {self.words}, got {str(value)!r}") from None
        if number != number or (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise typer.BadParameter(f"expected {self.words}, got {value}")
        return number


POSITIVE_INT = _Number(int, 1, None, "a positive integer")
NON_NEGATIVE_INT = _Number(int, 0, None, "a whole number >= 0")
NON_NEGATIVE_FLOAT = _Number(float, 0.0, None, "a number >= 0")
PROBABILITY = _Number(float, 0.0, 1.0, "a probability between 0 and 1")


def _help(name: str, text: str = "") -> str:
    """Help text from the settings table: what it is, its default and its environment variable."""
    item = setting(name)
    return f"{text or item.help} [default: {item.describe_default()}; env {item.env}]"


# ---- shared options, each declared once (defaults None: the facade reads the settings table, and None
# tells "not given" apart from "given the default value")

DbOption = Annotated[str | None, typer.Option("--db", help=_help("db"), show_default=False)]
AssetsOption = Annotated[
    Path | None,
    typer.Option(
        "--assets",
        help="ASSETS.csv/.xlsx (id,name,sponsor,modality,therapeutic_area,phase,phase_start[,count]) "
        "or a data-set folder. Without it the store (--db) is used.",
    ),
]
AsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help=f"Date the pipeline is seen from (default today; env {setting('today').env} "
                 "pins today)."),
]
YearsOption = Annotated[
    str | None,
    typer.Option(
        "--years",
        help="Forecast years, e.g. 2025-2031 (default: the as-of year and "
        f"{setting('years_ahead').default} more; env {setting('years_ahead').env}). Extended, with a warning, "
        "to cover every year of --target.",
    ),
]
TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target",
        help="A plan's target, e.g. 2027-2030:1-3 (1 to 3 approvals in each year 2027-2030), or a file holding one.",
    ),
]
ReportTargetOption = Annotated[
    str | None,
    typer.Option("--target", help=_help("report_target", "The plan's target, e.g. 2027-2030:1-3, or a file.")),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")]
#: The worksheet option of every command that reads a spreadsheet (import, ingest ...): declared once, here.
SheetOption = Annotated[
    str | None,
    typer.Option("--sheet", metavar="NAME", help="XLSX only: the worksheet to read (default: the first; a "
                                                 "workbook with several sheets gets a warning naming the others)."),
]
RatesOption = Annotated[
    str | None,
    typer.Option(
        "--rates",
        help=_help("rates", setting("rates").help + " RATES.csv columns: phase,p_success,median_months,p90_months"
                   "[,therapeutic_area,modality]."),
    ),
]
MethodOption = Annotated[str | None, typer.Option("--method", help=_help("method"))]
PathsOption = Annotated[
    int | None, typer.Option("--paths", parser=POSITIVE_INT, help=_help("paths"), show_default=False)
]
SolvePathsOption = Annotated[
    int | None, typer.Option("--paths", parser=POSITIVE_INT, help=_help("solve_paths"), show_default=False)
]
SeedOption = Annotated[
    int | None, typer.Option("--seed", parser=NON_NEGATIVE_INT, help=_help("seed"), show_default=False)
]
EngineOption = Annotated[str | None, typer.Option("--engine", help=_help("engine"))]
SchedulerOption = Annotated[
    str | None,
    typer.Option("--scheduler", help="Dask scheduler tcp://HOST:PORT (default: a local cluster; --engine dask)."),
]
LangOption = Annotated[str | None, typer.Option("--lang", help=_help("language"))]

# ---- context and store


def app_context(ctx: typer.Context) -> AppContext:
    obj = ctx.find_object(AppContext)
    return obj if obj is not None else AppContext()


def context_db(ctx: typer.Context) -> str | None:
    """The database the user chose (--db before or after the command, PIPECAST_DB, PIPECAST_DATA_DIR), or
    None for the store's default."""
    return resolve_db(app_context(ctx).db)


@contextlib.contextmanager
def open_store(ctx: typer.Context, *, preview: bool = False) -> Iterator[Store]:
    """The context's store. A preview (dry run) against a SQLite file that does not exist yet uses an
    empty in-memory store, so that looking never creates the file."""
    from pipecast.store import Store, resolve_url

    app_ctx = app_context(ctx)
    url = resolve_url(resolve_db(app_ctx.db))
    if preview and url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        store = Store.open("sqlite://")
    else:
        store = app_ctx.store()
    try:
        yield store
    finally:
        store.close()


def parse_date_option(text: str | None, option: str = "--as-of") -> dt.date | None:
    from pipecast.tabular import parse_date

    if text is None or not text.strip():
        return None
    try:
        return parse_date(text)
    except ValueError:
        raise InputError(f"{text!r} is not a date", field=option, expected="an ISO date such as 2024-08-20") from None
