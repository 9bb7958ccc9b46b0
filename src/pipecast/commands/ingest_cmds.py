"""Import and data-quality commands: `ingest ctgov|ctr|nmpa|template|announcements PATH` and `check`.

Errors are PipecastError subclasses; the main CLI prints one line and exits 2.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipecast import clock
from pipecast.commands.common import (
    JsonOption,
    SheetOption,
    echo,
    echo_json,
    err_console,
    open_store,
    parse_date_option,
    print_import_summary,
)
from pipecast.errors import InputError
from pipecast.ingest.quality import DEFAULT_STALE_YEARS, check_all, published_clinical_count

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress as Bar

    from pipecast.ingest.registry_import import Kind
    from pipecast.ingest.summary import ImportSummary, Progress

RegionOption = Annotated[
    str,
    typer.Option("--region", help="Required: keep only records of this region, by sponsor name or a trial site "
                                  "there (NMPA: by holder). 重庆 or Chongqing mean every spelling of Chongqing; "
                                  "or a regular expression; or all to keep every record."),
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")]
PathArgument = Annotated[Path, typer.Argument(help="The registry export (CSV, XLSX, JSON or zip).")]
SitesOption = Annotated[
    Path | None, typer.Option("--sites", help="China registry only: a separate site file joined on 登记号."),
]


class ProgressBar:
    """The import's progress display: called with the records read so far, then `writing` with the
    candidates written to the store (the same bar, relabelled, so it keeps moving through the write)."""

    def __init__(self, bar: Bar, label: str) -> None:
        self._bar = bar
        self._task = bar.add_task(label, total=None, unit="records")

    def __call__(self, records: int) -> None:
        self._bar.update(self._task, completed=records)

    def writing(self, candidates: int) -> None:
        self._bar.update(self._task, description="writing to the store", completed=candidates,
                         unit="candidates written")


@contextlib.contextmanager
def progress_bar(label: str, console: Console | None) -> Iterator[ProgressBar | None]:
    """A progress display on `console` (stderr) counting records read, then candidates written; or None (no
    display) without a console. Transient: it disappears when the import ends, leaving only the summary.
    """
    if console is None:
        yield None
        return
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as Bar

    with Bar(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,} {task.fields[unit]}"),
             TimeElapsedColumn(), console=console, transient=True) as bar:
        yield ProgressBar(bar, label)


def _writing(bar: ProgressBar | None) -> Progress | None:
    return bar.writing if bar is not None else None


def _progress_console(as_json: bool) -> Console | None:
    """stderr for the progress bar: only on a terminal, and never with --json."""
    return None if as_json or not err_console.is_terminal else err_console


def _report(summary: ImportSummary, as_json: bool) -> None:
    notes = [f"warning: {warning}" for warning in summary.warnings]
    if summary.kind in ("template", "announcements"):
        notes += [f"unresolved: {asset_id} (new candidate; confirm or merge)" for asset_id in summary.unresolved]
    if summary.changes_omitted:
        notes.insert(0, f"... and {summary.changes_omitted} more change(s) not listed")
    print_import_summary(summary, as_json, notes)


def _ingest(ctx: typer.Context, kind: Kind, path: Path, region: str, dry_run: bool, as_json: bool, *,
            sites: Path | None = None, sheet: str | None = None) -> None:
    from pipecast.ingest.registry_import import import_registry, region_pattern

    if not path.exists():
        raise InputError("file not found", file=str(path))
    region_pattern(region)  # a bad pattern is an error before the store is opened
    today = clock.today()
    with open_store(ctx, preview=dry_run) as store, \
            progress_bar(f"reading {path.name}", _progress_console(as_json)) as progress:
        summary = import_registry(store, kind, path, region=region, today=today, dry_run=dry_run, sites=sites,
                                  sheet=sheet, progress=progress, write_progress=_writing(progress))
    _report(summary, as_json)


def ingest_ctgov(ctx: typer.Context, path: PathArgument, region: RegionOption,
                 dry_run: DryRunOption = False, as_json: JsonOption = False) -> None:
    """Import ClinicalTrials.gov API v2 JSON (a study, a page, or a bulk zip)."""
    _ingest(ctx, "ctgov", path, region, dry_run, as_json)


def ingest_ctr(ctx: typer.Context, path: PathArgument, region: RegionOption,
               dry_run: DryRunOption = False, as_json: JsonOption = False, sites: SitesOption = None,
               sheet: SheetOption = None) -> None:
    """Import a China drug-trial registry export (chinadrugtrials.org.cn; CSV in UTF-8 or GBK, or XLSX)."""
    _ingest(ctx, "ctr", path, region, dry_run, as_json, sites=sites, sheet=sheet)


def ingest_nmpa(ctx: typer.Context, path: PathArgument, region: RegionOption,
                dry_run: DryRunOption = False, as_json: JsonOption = False, sheet: SheetOption = None) -> None:
    """Import an NMPA approval list (国药准字 numbers with 批准日期): one approved event per row."""
    _ingest(ctx, "nmpa", path, region, dry_run, as_json, sheet=sheet)


def ingest_template(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Any spreadsheet (CSV or XLSX), one candidate per row.")],
    mapping: Annotated[str, typer.Option("--map", metavar="COL=field,...|FILE.yaml",
                                         help="Which column holds which field, e.g. 名称=name,阶段=phase,"
                                              "起始日期=phase_start; or a YAML mapping file.")],
    date_format: Annotated[str, typer.Option("--date-format", metavar="FORMAT",
                                             help="strptime format of the date columns, e.g. %d/%m/%Y "
                                                  "for day-first dates (default: ISO or year-first).")] = "",
    sheet: SheetOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Import an arbitrary spreadsheet through a column mapping (needs name or id, phase and phase_start)."""
    from pipecast.ingest.template import import_template, mapping_option

    columns = mapping_option(mapping, date_format=date_format)
    if not path.exists():
        raise InputError("file not found", file=str(path))
    today = clock.today()
    with open_store(ctx, preview=dry_run) as store, \
            progress_bar(f"reading {path.name}", _progress_console(as_json)) as progress:
        summary = import_template(store, path, columns, today=today, dry_run=dry_run, sheet=sheet, progress=progress,
                                  write_progress=_writing(progress))
    _report(summary, as_json)


def ingest_announcements(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Announcements (CSV or XLSX): drug,event,date,source_url,"
                                              "source_title[,indication,sponsor,note].")],
    sheet: SheetOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Import company announcements as dated, sourced phase events (source URL and date required)."""
    from pipecast.ingest.announcements import import_announcements

    if not path.exists():
        raise InputError("file not found", file=str(path))
    today = clock.today()
    with open_store(ctx, preview=dry_run) as store, \
            progress_bar(f"reading {path.name}", _progress_console(as_json)) as progress:
        summary = import_announcements(store, path, today=today, dry_run=dry_run, sheet=sheet, progress=progress,
                                       write_progress=_writing(progress))
    _report(summary, as_json)


def check_command(
    ctx: typer.Context,
    as_of: Annotated[str | None, typer.Option("--as-of", metavar="DATE", help="Check as of DATE (default today).")]
    = None,
    stale_years: Annotated[int, typer.Option("--stale-years", min=1, help="Years without an event that make a "
                                             "candidate stale.")] = DEFAULT_STALE_YEARS,
    published: Annotated[int | None, typer.Option("--published-clinical", min=0, help="Published count of "
                         "candidates in clinical trials (default: the latest such fact in the store).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Data-quality findings: conflicts, impossible sequences, stale and unresolved candidates, counts."""
    when = parse_date_option(as_of, "--as-of") or clock.today()
    with open_store(ctx) as store:
        assets = store.assets()
        label = "--published-clinical"
        if published is None:
            found = published_clinical_count(store.facts(), when)
            if found is not None:
                published, label = found
    findings = check_all(assets, as_of=when, stale_years=stale_years, published_clinical=published,
                         published_label=label)
    if as_json:
        echo_json({"as_of": when.isoformat(), "candidates": len(assets),
                    "findings": [f.as_dict() for f in findings]})
        return
    echo(f"{len(findings)} finding(s) over {len(assets)} candidate(s) as of {when}")
    for finding in findings:
        echo(f"  {finding}")


def register(app: typer.Typer) -> None:
    """Mount `ingest ctgov|ctr|nmpa|template|announcements` and `check` on the main app."""
    ingest_app = typer.Typer(help="Import registry exports, spreadsheets and announcements into the registry.",
                             no_args_is_help=True)
    ingest_app.command("ctgov")(ingest_ctgov)
    ingest_app.command("ctr")(ingest_ctr)
    ingest_app.command("nmpa")(ingest_nmpa)
    ingest_app.command("template")(ingest_template)
    ingest_app.command("announcements")(ingest_announcements)
    app.add_typer(ingest_app, name="ingest")
    app.command("check")(check_command)
