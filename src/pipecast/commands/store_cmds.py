"""Registry commands: import, export, assets list|show, load-bundled, pipeline; and entity resolution:
review (scored merge suggestions, never applied), merge, split, undo, actions (the audit log).

Every command gets the chosen database from `ctx.obj` (a `pipecast.settings.AppContext`) and reports
bad input by raising a `PipecastError`, which the main CLI turns into one line on stderr and exit 2.
Human output is a rich table; `--json` prints JSON for machines.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from pipecast import clock
from pipecast.commands.common import (
    AsOfOption,
    JsonOption,
    SheetOption,
    console,
    context_db,
    echo,
    echo_json,
    id_width,
    name_and_id,
    parse_date_option,
)
from pipecast.commands.regions_cmd import RegionOption, load_bundled_regions, region_assets
from pipecast.domain import Asset, Organisation, Phase, PhaseEvent, Source, parse_phase, sponsors
from pipecast.errors import InputError, UnknownPhaseError
from pipecast.ingest.assets_file import ASSET_COLUMNS, load_assets, load_dataset, load_organisations
from pipecast.matching import resolve_onto
from pipecast.store import ActionRecord, Fact, Store, WriteResult, load_facts, resolve_url
from pipecast.store.urls import sqlite_file

if TYPE_CHECKING:
    from pipecast.tabular import Note

#: The ASSETS.csv contract as `export` writes it: the required columns, then every optional one.
EXPORT_COLUMNS = (*ASSET_COLUMNS, "count", "indication", "target", "nmpa_class", "jurisdiction", "aliases",
                  "note", "source_title", "source_url", "source_date")
TABLE_SUFFIXES = (".csv", ".xlsx", ".xlsm")



# --------------------------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def open_store(ctx: typer.Context, *, write: bool = False, preview: bool = False) -> Iterator[Store]:
    """The store the user chose (--db, PIPECAST_DB, or the default file).

    Reads (`write` False) open an existing store only: a missing one is an error naming its path, and nothing
    is created. Writes create it. A preview (dry run) against a SQLite file that does not exist yet runs on
    an empty in-memory store, so that looking never creates the file.
    """
    url = resolve_url(context_db(ctx))
    path = sqlite_file(url)
    if preview and path is not None and not path.exists():
        store = Store.open("sqlite://")
    else:
        store = Store.open(url, create=write and not preview)
    try:
        yield store
    finally:
        store.close()


def parse_phase_option(text: str | None, option: str = "--phase") -> Phase | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_phase(text)
    except UnknownPhaseError:
        raise InputError(
            f"unknown phase {text!r}", field=option,
            expected="one of " + ", ".join(p.value for p in Phase) + " (or a spelling such as 'Phase II')",
        ) from None


def source_dict(source: Source | None) -> dict[str, Any] | None:
    if source is None:
        return None
    return {"title": source.title, "url": source.url, "date": source.date.isoformat() if source.date else None}


def event_dict(event: PhaseEvent) -> dict[str, Any]:
    return {
        "phase": event.phase.value,
        "date": event.date.isoformat(),
        "indication": event.indication,
        "recorded": event.recorded.isoformat() if event.recorded else None,
        "source": source_dict(event.source),
    }


def asset_dict(asset: Asset) -> dict[str, Any]:
    return {
        "id": asset.id,
        "name": asset.name,
        "sponsor": asset.sponsor,
        "modality": asset.modality,
        "therapeutic_area": asset.therapeutic_area,
        "indication": asset.indication,
        "target": asset.target,
        "nmpa_class": asset.nmpa_class,
        "jurisdiction": asset.jurisdiction,
        "aliases": list(asset.aliases),
        "count": asset.count,
        "note": asset.note,
        "phase": asset.phase.value,
        "phase_start": asset.phase_start.isoformat(),
        "approval_date": asset.approval_date.isoformat() if asset.approval_date else None,
        "history": [event_dict(e) for e in asset.history],
    }


def read_input(path: Path, *, sheet: str | None = None, notes: list[Note] | None = None,
               ) -> tuple[list[Asset], list[Fact], list[Organisation], str]:
    """Parse an ASSETS.csv/.xlsx file or a data set folder (assets.csv + events.csv [+ facts.csv]).

    Everything is read and checked before the store is touched, so bad input writes nothing. `sheet` picks
    a workbook's worksheet; with a `notes` list, what the reader did for the user (another sheet ignored,
    merged cells filled, a separator other than a comma) is noted there instead of being an error.
    """
    if not path.exists():
        raise InputError("file not found", file=str(path),
                         expected="an ASSETS .csv/.xlsx file or a folder with assets.csv and events.csv")
    if path.is_dir():
        if sheet is not None:
            raise InputError(f"--sheet {sheet!r} given for a folder", file=str(path),
                             expected="--sheet only with an .xlsx file")
        assets = load_dataset(path)
        facts_file = path / "facts.csv"
        facts = load_facts(facts_file) if facts_file.exists() else []
        orgs_file = path / "organisations.csv"
        organisations = load_organisations(orgs_file) if orgs_file.exists() else []
        return assets, facts, organisations, "dataset"
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise InputError(f"unsupported file type {path.suffix or '(none)'!r}", file=str(path),
                         expected="a .csv or .xlsx file, or a folder with assets.csv and events.csv")
    return load_assets(path, sheet=sheet, notes=notes), [], [], "assets"


def _print_summary(summary: WriteResult, as_json: bool, *, show_changes: bool, notes: Sequence[str] = ()) -> None:
    """The write's summary; `notes` (what the reader did, e.g. another sheet ignored) as warnings."""
    if as_json:
        data = summary.as_dict()
        data["warnings"] = [*data["warnings"], *notes]
        echo_json(data)
        return
    prefix = "Dry run, nothing written. " if summary.dry_run else ""
    echo(prefix + summary.describe())
    for note in notes:
        echo(f"  warning: {note}")
    if show_changes:
        for line in summary.changes:
            echo("  " + line)
        if summary.changes_omitted:
            echo(f"  ... and {summary.changes_omitted} more change(s) not listed")


def resolve_through_store(store: Store, assets: list[Asset]) -> list[Asset]:
    """Incoming candidates filed under the stored candidate each one is (by id, name or alias; see
    `pipecast.matching.resolve_onto`), so that loading order does not change identity. A candidate so filed
    keeps its own id and name as aliases."""
    known = [(a.id, (a.name, *a.aliases)) for a in store.assets() if not a.is_cohort]
    onto = resolve_onto(((a.id, (a.name, *a.aliases)) for a in assets if not a.is_cohort), known)
    out = []
    for asset in assets:
        target = onto.get(asset.id)
        if target is None:
            out.append(asset)
            continue
        out.append(replace(asset, id=target, aliases=tuple(dict.fromkeys((*asset.aliases, asset.id, asset.name)))))
    return out


def _import(ctx: typer.Context, path: Path, label: str, *, dry_run: bool, as_json: bool,
            resolve: bool = False, sheet: str | None = None) -> WriteResult:
    notes: list[Note] = []
    assets, facts, organisations, kind = read_input(path, sheet=sheet, notes=notes)
    with open_store(ctx, write=True, preview=dry_run) as store:
        if resolve:
            assets = resolve_through_store(store, assets)
        summary = store.import_data(assets=assets, facts=facts, organisations=organisations, source_file=path,
                                    source_name=label, kind=kind, dry_run=dry_run)
    _print_summary(summary, as_json, show_changes=dry_run, notes=[n.message for n in notes])
    return summary


# --------------------------------------------------------------------------------------------- export


def _export_rows(assets: list[Asset]) -> list[list[Any]]:
    rows = []
    for asset in assets:
        source = asset.current.source
        rows.append([
            asset.id, asset.name, asset.sponsor, asset.modality, asset.therapeutic_area, asset.phase.value,
            asset.phase_start.isoformat(), asset.count, asset.indication, asset.target, asset.nmpa_class,
            asset.jurisdiction, "|".join(asset.aliases), asset.note,
            source.title if source else "", source.url if source else "",
            source.date.isoformat() if source and source.date else "",
        ])
    return rows


def write_table(path: Path, rows: list[list[Any]], header: tuple[str, ...] = EXPORT_COLUMNS) -> None:
    """Write a header and rows as CSV (UTF-8) or XLSX by suffix, atomically (a temp file, then rename)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise InputError(f"unsupported export type {path.suffix or '(none)'!r}", file=str(path),
                         expected="a path ending in .csv or .xlsx")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError("folder does not exist", file=str(path), expected="an existing folder")
    handle, tmp_name = tempfile.mkstemp(prefix=".pipecast-export-", suffix=suffix, dir=folder)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        if suffix == ".csv":
            import csv

            with open(tmp, "w", newline="", encoding="utf-8") as out:
                writer = csv.writer(out)
                writer.writerow(header)
                writer.writerows(rows)
        else:
            import openpyxl

            book = openpyxl.Workbook()
            sheet = book.active
            assert sheet is not None
            sheet.title = "assets"
            sheet.append(list(header))
            for row in rows:
                sheet.append(row)
            for line in sheet.iter_rows(min_row=2):
                for cell in line:
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        cell.data_type = "s"  # text, never a formula
            book.save(tmp)
        tmp.replace(path)
    except OSError as exc:
        raise InputError(f"cannot write: {exc.strerror or exc}", file=str(path)) from None
    finally:
        tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------- bundled data


def _bundled_root() -> Traversable:
    return resources.files("pipecast") / "data"


def bundled_datasets() -> list[str]:
    """Names of the data set folders shipped in `pipecast/data/` (each with assets.csv and events.csv)."""
    root = _bundled_root()
    try:
        children = list(root.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(c.name for c in children if c.is_dir() and (c / "assets.csv").is_file())


@contextlib.contextmanager
def bundled_dataset_path(name: str) -> Iterator[Path]:
    """A real folder holding the bundled data set `name` (copied out if the package is zipped)."""
    available = bundled_datasets()
    if name not in available:
        raise InputError(f"unknown bundled data set {name!r}", field="NAME",
                         expected="one of " + (", ".join(available) or "(none installed)"))
    ref = _bundled_root() / name
    if isinstance(ref, Path):
        yield ref
        return
    with tempfile.TemporaryDirectory(prefix="pipecast-bundled-") as tmp:
        target = Path(tmp) / name
        target.mkdir()
        for child in ref.iterdir():
            if child.is_file():
                with child.open("rb") as src, open(target / child.name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        yield target


# --------------------------------------------------------------------------------------------- commands


def import_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="ASSETS .csv/.xlsx file, or a data set folder "
                                              "(assets.csv + events.csv, optionally facts.csv).")],
    sheet: SheetOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Import candidates into the registry: all or nothing, idempotent, history only appended."""
    _import(ctx, path, str(path), dry_run=dry_run, as_json=as_json, sheet=sheet)


def export_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Output file; .csv or .xlsx by suffix.")],
    as_of: AsOfOption = None,
) -> None:
    """Export the registry in the ASSETS.csv contract (readable back by `pipecast import`)."""
    when = parse_date_option(as_of)
    with open_store(ctx) as store:
        assets = store.assets(when)
    write_table(path, _export_rows(assets))
    suffix = f" as of {when}" if when else ""
    echo(f"Wrote {len(assets)} asset(s){suffix} to {path}")


def _assets_table(assets: list[Asset], title: str = "") -> Table:
    table = Table(title=title or None, show_lines=False)
    # The id sits under the name on a line of its own and is never broken; names and sponsors wrap, uncut.
    # A narrow terminal gets the sponsor in the same cell (name, sponsor, id) so that the other columns fit.
    stacked = console.width < 100
    table.add_column("name / sponsor / id" if stacked else "name / id", overflow="fold",
                     min_width=id_width((a.id for a in assets), reserve=36 if stacked else 56))
    if not stacked:
        table.add_column("sponsor", overflow="fold")
    table.add_column("phase", no_wrap=True)
    table.add_column("since", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    for asset in assets:
        cell = name_and_id(asset.name, asset.id, detail=asset.sponsor if stacked else "")
        table.add_row(cell, *([] if stacked else [asset.sponsor]), asset.phase.value,
                      asset.phase_start.isoformat(), str(asset.count))
    return table


def assets_list_command(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    phase: Annotated[str | None, typer.Option("--phase", help="Only candidates now in this phase.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List candidates with their current phase (or the phase they were in on --as-of)."""
    when = parse_date_option(as_of)
    wanted = parse_phase_option(phase)
    with open_store(ctx) as store:
        assets = store.assets(when)
    if wanted is not None:
        assets = [a for a in assets if a.phase is wanted]
    if as_json:
        echo_json([asset_dict(a) for a in assets])
        return
    title = f"{len(assets)} candidate(s)" + (f" as of {when}" if when else "")
    console.print(_assets_table(assets, title))


def assets_show_command(
    ctx: typer.Context,
    id_or_alias: Annotated[str, typer.Argument(metavar="ID_OR_ALIAS", help="Asset id, alias or name.")],
    as_json: JsonOption = False,
) -> None:
    """Show one candidate with its full dated history and sources."""
    with open_store(ctx) as store:
        asset = store.asset(id_or_alias)
        records = store.history(asset.id)
    from pipecast.loading.post_approval import fact_line, facts_of  # life after approval (issue 12)

    after = facts_of(asset.id)
    if as_json:
        data = asset_dict(asset) | {"post_approval": [f.as_dict() for f in after]}
        data["records"] = [
            event_dict(r.event) | {"id": r.id, "recorded_at": r.recorded_at.isoformat(), "import_batch": r.batch_id,
                                   "import_file": r.batch_file, "stored_under": r.stored_asset_id or asset.id}
            for r in records
        ]
        echo_json(data)
        return
    console.print(f"{asset.id}  {asset.name}", style="bold")
    for fact in after:
        console.print(f"  {fact_line(fact)}")
    details = [
        ("sponsor", asset.sponsor), ("modality", asset.modality), ("therapeutic area", asset.therapeutic_area),
        ("indication", asset.indication), ("target", asset.target), ("NMPA class", asset.nmpa_class),
        ("jurisdiction", asset.jurisdiction), ("aliases", ", ".join(asset.aliases)),
        ("count", str(asset.count) if asset.count != 1 else ""), ("note", asset.note),
        ("phase", f"{asset.phase.value} since {asset.phase_start}"),
    ]
    for label, value in details:
        if value:
            console.print(f"  {label}: {value}")
    table = Table(title="History (every recorded event, oldest first)", show_lines=True)
    table.add_column("date", no_wrap=True)
    table.add_column("phase", no_wrap=True)
    table.add_column("known on", no_wrap=True)
    table.add_column("source", ratio=1, overflow="fold")
    table.add_column("imported", no_wrap=True)
    table.add_column("event", no_wrap=True)
    for r in records:
        event = r.event
        source = event.source
        cited = ""
        if source is not None:
            cited = source.title + (f"\n{source.url}" if source.url and source.url != source.title else "")
            cited += f"\n(published {source.date})" if source.date else ""
        if event.indication:
            cited = f"[{event.indication}] " + cited
        table.add_row(
            event.date.isoformat(), event.phase.value, event.known_on.isoformat(), cited,
            f"{r.recorded_at:%Y-%m-%d}" + (f"\nbatch {r.batch_id}" if r.batch_id is not None else ""),
            str(r.id) + (f"\nfrom {r.stored_asset_id}" if r.stored_asset_id else ""),
        )
    console.print(table)


def load_bundled_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Bundled data set, e.g. chongqing.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write nothing.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Load a data set shipped with pipecast (assets, dated events and facts) into the registry."""
    with bundled_dataset_path(name) as folder:
        _import(ctx, folder, f"bundled:{name}", dry_run=dry_run, as_json=as_json, resolve=True)
        if not dry_run:  # the data set's deals.csv and funding.csv (pipecast.store.money)
            from pipecast.store.money import import_money_folder

            with open_store(ctx, write=True) as store:
                added = import_money_folder(store, folder)
                regions, placed = load_bundled_regions(store, f"bundled:hubs/regions.csv ({name})")
            if not as_json and any(added):
                echo(f"  deals added: {added[0]}, funding events added: {added[1]}")
            if not as_json:
                echo(f"  regions: {regions}, organisations attributed to one: {placed}")


def pipeline_command(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
    region: RegionOption = None,
) -> None:
    """The pipeline as it stood on --as-of (default today): counts by phase and the candidates (with --region,
    those attributed to the region or a region inside it)."""
    when = parse_date_option(as_of) or clock.today()
    with open_store(ctx) as store:
        assets = store.assets(when) if region is None else region_assets(store, region, when)
    counts = {p: 0 for p in Phase}
    for asset in assets:
        counts[asset.phase] += asset.count
    active = sum(n for p, n in counts.items() if p.is_active)
    if as_json:
        echo_json({
            "as_of": when.isoformat(),
            "counts": {p.value: n for p, n in counts.items()},
            "active": active,
            "total": sum(counts.values()),
            "assets": [asset_dict(a) for a in sorted(assets, key=lambda a: (a.phase.order, a.id))],
        })
        return
    table = Table(title=f"Pipeline as of {when}")
    table.add_column("phase")
    table.add_column("candidates", justify="right")
    for phase, n in counts.items():
        table.add_row(phase.value, str(n))
    table.add_row("active (preclinical-filed)", str(active), style="bold")
    console.print(table)
    ordered = sorted(assets, key=lambda a: (a.phase.order, a.id))
    console.print(_assets_table(ordered, f"{len(ordered)} candidate record(s)"))


# --------------------------------------------------------------------------------------------- entity resolution

ReasonOption = Annotated[str, typer.Option("--reason", help="Why (required; kept in the audit log).")]
ByOption = Annotated[
    str | None, typer.Option("--by", metavar="NAME", help="Who does it (default: your OS user name).")
]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Check and show what would change; write nothing.")]


def parse_event_ids(text: str | None, option: str = "--events") -> list[int]:
    """'12,13 14' -> [12, 13, 14]."""
    if text is None or not text.strip():
        return []
    ids = []
    for part in text.replace(",", " ").split():
        try:
            ids.append(int(part))
        except ValueError:
            raise InputError(f"{part!r} is not an event id", field=option,
                             expected="event ids from `pipecast assets show ID`, e.g. 12,13") from None
    return ids


def _action_line(action: ActionRecord) -> str:
    return f"action {action.id}: {action.describe()} (by {action.actor}: {action.reason})"


def review_command(
    ctx: typer.Context,
    threshold: Annotated[float, typer.Option("--threshold", help="Only matches scoring at least this (0-1).")] = 0.0,
    as_json: JsonOption = False,
) -> None:
    """Unresolved candidates (ctr:, ctgov:, nmpa: ids) with scored matches, for review; nothing is merged."""
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold {threshold} is out of range", field="--threshold", expected="0 to 1")
    with open_store(ctx) as store:
        items = store.review_matches(threshold)
    if as_json:
        echo_json([item.as_dict() for item in items])
        return
    if not items:
        echo("Nothing to review: no unresolved candidates.")
        return
    table = Table(title=f"{len(items)} unresolved candidate(s): confirm with `pipecast merge INTO FROM --reason ...`",
                  show_lines=True)
    table.add_column("unresolved", overflow="fold")
    table.add_column("name", overflow="fold")
    table.add_column("may be", overflow="fold")
    table.add_column("score", justify="right")
    table.add_column("why", ratio=1, overflow="fold")
    for item in items:
        if not item.matches:
            table.add_row(item.asset_id, item.name, "(no match)", "", "")
            continue
        for i, match in enumerate(item.matches):
            table.add_row(item.asset_id if i == 0 else "", item.name if i == 0 else "",
                          match.asset_id, f"{match.score:.2f}", match.reason)
    console.print(table)


def merge_command(
    ctx: typer.Context,
    into: Annotated[str, typer.Argument(metavar="INTO", help="The candidate that stays.")],
    sources: Annotated[list[str], typer.Argument(metavar="FROM...", help="Candidates that are the same drug.")],
    reason: ReasonOption,
    by: ByOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Merge candidates into one: audited and undoable (`pipecast undo`); no event is rewritten."""
    json_out = as_json
    with open_store(ctx, preview=dry_run) as store:
        if dry_run:
            merged = store.plan_merge(into, sources, reason=reason, actor=by)
            if json_out:
                echo_json({"dry_run": True, "into": into, "from": sources,
                            "result": asset_dict(merged) if merged is not None else None})
                return
            echo(f"Dry run, nothing written. Would merge {', '.join(sources)} into {into}.")
            if merged is not None:
                echo(f"  {merged.id}: {merged.phase.value} since {merged.phase_start}, "
                           f"{len(merged.history)} event(s); aliases: {', '.join(merged.aliases) or '-'}")
            return
        action_id = store.merge(into, sources, reason=reason, actor=by)
        action = next(a for a in store.actions() if a.id == action_id)
    if json_out:
        echo_json(action.as_dict())
        return
    echo(_action_line(action))
    echo(f"  undo with: pipecast undo {action_id} --reason TEXT")


def split_command(
    ctx: typer.Context,
    asset_id: Annotated[str, typer.Argument(metavar="ID", help="The candidate to split.")],
    new_id: Annotated[str, typer.Option("--new-id", help="Id of the new candidate that gets the events.")],
    reason: ReasonOption,
    events: Annotated[
        str | None, typer.Option("--events", help="Event ids to move, e.g. 12,13 (see `pipecast assets show`).")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Move the events whose source title or URL contains TEXT.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Name of the new candidate (default: its id).")] = None,
    by: ByOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Move chosen events of a candidate to a new one: audited and undoable; no event is rewritten."""
    event_ids = parse_event_ids(events)
    with open_store(ctx, preview=dry_run) as store:
        action_id = store.split(asset_id, new_id=new_id, event_ids=event_ids, source=source, name=name,
                                reason=reason, actor=by, dry_run=dry_run)
        action = None if dry_run else next(a for a in store.actions() if a.id == action_id)
    if action is None:
        if as_json:
            echo_json({"dry_run": True, "id": asset_id, "new_id": new_id, "events": event_ids, "source": source})
        else:
            echo(f"Dry run, nothing written. Would split {asset_id} into {new_id}.")
        return
    if as_json:
        echo_json(action.as_dict())
        return
    echo(_action_line(action))
    echo(f"  undo with: pipecast undo {action_id} --reason TEXT")


def undo_command(
    ctx: typer.Context,
    action_id: Annotated[int, typer.Argument(metavar="ACTION_ID", help="A merge or split from `pipecast actions`.")],
    reason: ReasonOption,
    by: ByOption = None,
    dry_run: DryRunOption = False,
    as_json: JsonOption = False,
) -> None:
    """Reverse a merge or split; recorded as a new action, the original kept and marked undone."""
    with open_store(ctx, preview=dry_run) as store:
        undo_id = store.undo(action_id, reason=reason, actor=by, dry_run=dry_run)
        action = None if dry_run else next(a for a in store.actions() if a.id == undo_id)
    if action is None:
        if as_json:
            echo_json({"dry_run": True, "undoes": action_id})
        else:
            echo(f"Dry run, nothing written. Would undo action {action_id}.")
        return
    if as_json:
        echo_json(action.as_dict())
        return
    echo(_action_line(action))


def actions_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The audit log of merges, splits and undos, oldest first."""
    with open_store(ctx) as store:
        actions = store.actions()
    if as_json:
        echo_json([a.as_dict() for a in actions])
        return
    if not actions:
        echo("No merges, splits or undos recorded.")
        return
    table = Table(title=f"{len(actions)} resolution action(s)", show_lines=True)
    table.add_column("id", justify="right")
    table.add_column("when", no_wrap=True)
    table.add_column("by")
    table.add_column("action", ratio=1, overflow="fold")
    table.add_column("reason", ratio=1, overflow="fold")
    for a in actions:
        table.add_row(str(a.id), f"{a.created_at:%Y-%m-%d %H:%M}", a.actor, a.describe(), a.reason)
    console.print(table)


def orgs_command(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """Organisations (companies, institutes, parks, clusters) with the candidates each sponsors."""
    when = parse_date_option(as_of)
    with open_store(ctx) as store:
        organisations = store.organisations()
        assets = store.assets(when)
    rows: list[dict[str, Any]] = []
    for org in organisations:
        sponsored = [a for a in assets if sponsors(org, a)]
        rows.append({"id": org.id, "name": org.name, "kind": org.kind.value, "city": org.city,
                     "parent_id": org.parent_id, "aliases": list(org.aliases),
                     "candidates": [a.id for a in sponsored],
                     "by_phase": {p.value: sum(a.count for a in sponsored if a.phase is p)
                                  for p in Phase if any(a.phase is p for a in sponsored)}})
    if as_json:
        echo_json(rows)
        return
    table = Table(title=f"Organisations ({len(rows)})")
    for column in ("id", "name", "kind", "city", "parent", "candidates by phase"):
        table.add_column(column)
    for row in rows:
        phases = ", ".join(f"{k} {v}" for k, v in row["by_phase"].items()) or "-"
        table.add_row(row["id"], row["name"], row["kind"], row["city"], row["parent_id"], phases)
    console.print(table)


def register(app: typer.Typer) -> None:
    """Mount the registry commands on the main app."""
    app.command("import")(import_command)
    app.command("export")(export_command)
    assets_app = typer.Typer(help="Candidates in the registry.", no_args_is_help=True)
    assets_app.command("list")(assets_list_command)
    assets_app.command("show")(assets_show_command)
    app.add_typer(assets_app, name="assets")
    app.command("load-bundled")(load_bundled_command)
    app.command("pipeline")(pipeline_command)
    app.command("orgs")(orgs_command)
    app.command("review")(review_command)
    app.command("merge")(merge_command)
    app.command("split")(split_command)
    app.command("undo")(undo_command)
    app.command("actions")(actions_command)
