"""The two file shapes for candidates.

* ASSETS.csv, the forecast contract: one row per candidate or cohort, its current phase and when it
  got there: `id,name,sponsor,modality,therapeutic_area,phase,phase_start[,count]`.
* A data set folder: `assets.csv` (one row per candidate or cohort, with attributes and a source) and
  `events.csv` (one dated, sourced phase event per row) - full history, for the store and as-of views.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from pipecast import clock
from pipecast.domain import (
    ACCEPTED_PHASE_HELP,
    Asset,
    Organisation,
    OrgKind,
    Phase,
    PhaseEvent,
    Source,
    parse_phase,
)
from pipecast.errors import InputError, UnknownPhaseError
from pipecast.tabular import Note, Row, closing_rows, open_table, parse_date, read_table

ASSET_COLUMNS = ("id", "name", "sponsor", "modality", "therapeutic_area", "phase", "phase_start")
ASSET_OPTIONAL = ("count", "indication", "target", "nmpa_class", "jurisdiction", "aliases", "note",
                  "source_title", "source_url", "source_date")

DATASET_ASSET_COLUMNS = ("id", "name")
DATASET_ASSET_OPTIONAL = ("aliases", "sponsor", "modality", "therapeutic_area", "indication", "target",
                          "nmpa_class", "jurisdiction", "count", "note", "source_title", "source_url",
                          "source_date")
EVENT_COLUMNS = ("asset_id", "phase", "date")
EVENT_OPTIONAL = ("indication", "source_title", "source_url", "source_date", "recorded", "note")


def _phase(row: Row, column: str = "phase") -> Phase:
    try:
        return parse_phase(row.required(column, ACCEPTED_PHASE_HELP))
    except UnknownPhaseError as exc:
        raise row.error(column, str(exc)) from None


def _source(row: Row, *, not_after: dt.date | None = None) -> Source | None:
    title = row.get("source_title")
    url = row.get("source_url")
    if not (title or url):
        return None
    return Source(title or url, url, row.date("source_date", not_after=not_after, required=False))


def _split_aliases(text: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in text.split("|") if a.strip())


def _asset(row: Row, asset_id: str, history: tuple[PhaseEvent, ...]) -> Asset:
    """The attributes both file shapes share, read from one row."""
    return Asset(
        id=asset_id,
        name=row.get("name") or asset_id,
        history=history,
        sponsor=row.get("sponsor"),
        modality=row.get("modality"),
        therapeutic_area=row.get("therapeutic_area"),
        indication=row.get("indication"),
        target=row.get("target"),
        nmpa_class=row.get("nmpa_class"),
        jurisdiction=row.get("jurisdiction") or "CN",
        aliases=_split_aliases(row.get("aliases")),
        count=row.positive_int("count"),
        note=row.get("note"),
    )


def load_assets(
    path: str | Path, *, today: dt.date | None = None, sheet: str | None = None, notes: list[Note] | None = None
) -> list[Asset]:
    """Read ASSETS.csv/.xlsx; every row becomes one asset whose history is its current phase.

    Dates after `today` (default `pipecast.clock.today()`) are errors. `sheet` and `notes` as in
    `pipecast.tabular.open_table`: without a `notes` list, merged cells, another sheet or a non-comma
    separator are errors rather than notes.
    """
    today = today or clock.today()
    where, _, rows = open_table(path, ASSET_COLUMNS, ASSET_OPTIONAL, sheet=sheet, notes=notes)
    assets: list[Asset] = []
    seen: dict[str, int] = {}
    with closing_rows(rows) as stream:
        for row in stream:
            asset_id = row.required("id", "a unique candidate id")
            if asset_id in seen:
                raise row.error("id", f"duplicate id {asset_id!r} (first on row {seen[asset_id]})", "unique ids")
            seen[asset_id] = row.number
            phase = _phase(row)
            start = row.date("phase_start", not_after=today)
            assert start is not None
            event = PhaseEvent(phase, start, _source(row, not_after=today))
            assets.append(_asset(row, asset_id, (event,)))
    if not assets:
        raise InputError("no candidates in file", file=where, expected="at least one data row")
    return assets


def load_dataset(folder: str | Path, *, today: dt.date | None = None) -> list[Asset]:
    """Read a data set folder (assets.csv + events.csv) into assets with their full dated history.

    Dates after `today` (default `pipecast.clock.today()`) are errors.
    """
    today = today or clock.today()
    folder = Path(folder)
    asset_rows = read_table(folder / "assets.csv", DATASET_ASSET_COLUMNS, DATASET_ASSET_OPTIONAL)
    event_rows = read_table(folder / "events.csv", EVENT_COLUMNS, EVENT_OPTIONAL)
    known = {}
    for row in asset_rows:
        asset_id = row.required("id", "a unique candidate id")
        if asset_id in known:
            raise row.error("id", f"duplicate id {asset_id!r}", "unique ids")
        known[asset_id] = row
    history: dict[str, list[PhaseEvent]] = defaultdict(list)
    for row in event_rows:
        asset_id = row.required("asset_id", "an id from assets.csv")
        if asset_id not in known:
            raise row.error("asset_id", f"unknown asset {asset_id!r}", "an id listed in assets.csv")
        date = row.date("date", not_after=today)
        assert date is not None
        recorded = row.date("recorded", not_after=today, required=False)
        history[asset_id].append(
            PhaseEvent(_phase(row), date, _source(row, not_after=today), row.get("indication"), recorded)
        )
    assets = []
    for asset_id, row in known.items():
        if not history[asset_id]:
            raise row.error("id", f"asset {asset_id!r} has no event in events.csv", "at least one phase event")
        assets.append(_asset(row, asset_id, tuple(history[asset_id])))
    return assets


ORGANISATION_COLUMNS = ("id", "name", "kind")
ORGANISATION_OPTIONAL = ("city", "parent_id", "aliases", "source_title", "source_url", "note")


def load_organisations(path: str | Path) -> list[Organisation]:
    """Read organisations.csv: companies, institutes, parks and clusters, each row with its source."""
    rows = read_table(path, ORGANISATION_COLUMNS, ORGANISATION_OPTIONAL)
    kinds = ", ".join(k.value for k in OrgKind)
    organisations: list[Organisation] = []
    seen: set[str] = set()
    for row in rows:
        org_id = row.required("id", "a unique organisation id")
        if org_id in seen:
            raise row.error("id", f"duplicate id {org_id!r}", "unique ids")
        seen.add(org_id)
        try:
            kind = OrgKind(row.required("kind", kinds).lower())
        except ValueError:
            raise row.error("kind", f"unknown kind {row.get('kind')!r}", f"one of {kinds}") from None
        organisations.append(Organisation(org_id, row.required("name", "a name"), kind,
                                          _split_aliases(row.get("aliases")), row.get("city"), row.get("parent_id")))
    for org, row in zip(organisations, rows, strict=True):
        if org.parent_id and org.parent_id not in seen:
            raise row.error("parent_id", f"unknown parent {org.parent_id!r}", "an id listed in the same file")
    return organisations


__all__ = ["load_assets", "load_dataset", "load_organisations", "parse_date"]
