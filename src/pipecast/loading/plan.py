"""Plan targets and their entered figures from CSV/XLSX files (the bundled Chongqing ones by default).

plan_targets.csv: id, plan, region, label, metric, comparator, low, high, unit, first_year, last_year,
counted_from, source_url, source_title, source_date, quote, note (one row per target, each with its source).
plan_figures.csv: kpi_id, date, value, qualifier, unit, source_url, source_title, source_date, quote, note.
Every problem is one InputError naming the file, row and column.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

from pipecast.errors import InputError
from pipecast.plan.kpi import Citation, KpiFigure, KpiTarget, check_figure, check_target
from pipecast.tabular import Row, read_table

TARGET_COLUMNS = ("id", "metric", "comparator", "unit", "first_year", "last_year", "source_url", "source_title")
TARGET_OPTIONAL = ("plan", "region", "label", "low", "high", "counted_from", "source_date", "quote", "note")
FIGURE_COLUMNS = ("kpi_id", "date", "value", "unit", "source_url", "source_title")
FIGURE_OPTIONAL = ("qualifier", "source_date", "quote", "note")
QUALIFIERS = ("", ">", "+", "~", "<")


def bundled_plan_files(name: str = "chongqing") -> tuple[Path, Path]:
    folder = Path(str(resources.files("pipecast.data").joinpath(name)))
    return folder / "plan_targets.csv", folder / "plan_figures.csv"


def _optional_number(row: Row, column: str) -> float | None:
    if not row.get(column):
        return None
    return row.number_in(column, -1e15, 1e15, "a number")


def _year(row: Row, column: str) -> int:
    value = row.number_in(column, 1900, 2200, "a year such as 2027")
    if value != int(value):
        raise row.error(column, f"{row.get(column)} is not a whole year", "a year such as 2027")
    return int(value)


def _citation(row: Row, today: dt.date | None) -> Citation:
    url = row.required("source_url", "the address of the page that publishes it")
    if not url.startswith(("http://", "https://")):
        raise row.error("source_url", f"{url!r} is not a web address", "an address starting with http:// or https://")
    return Citation(url, row.required("source_title", "the title of the source"),
                    row.date("source_date", not_after=today, required=False), row.get("quote"))


def target_from_row(row: Row, today: dt.date | None = None) -> KpiTarget:
    target = KpiTarget(
        id=row.required("id", "a unique target id"),
        plan=row.get("plan"),
        region=row.get("region"),
        label=row.get("label") or row.get("id"),
        metric=row.get("metric"),
        comparator=row.get("comparator"),
        low=_optional_number(row, "low"),
        high=_optional_number(row, "high"),
        unit=row.get("unit"),
        first_year=_year(row, "first_year"),
        last_year=_year(row, "last_year"),
        citation=_citation(row, today),
        counted_from=row.date("counted_from", required=False),
        note=row.get("note"),
    )
    check_target(target, file=row.file, row=row.number)
    return target


def load_targets(path: str | Path | None = None, *, today: dt.date | None = None) -> list[KpiTarget]:
    """The targets of a plan file (None: the bundled Chongqing plan)."""
    path = bundled_plan_files()[0] if path is None else Path(path)
    targets: list[KpiTarget] = []
    seen: set[str] = set()
    for row in read_table(path, TARGET_COLUMNS, TARGET_OPTIONAL):
        target = target_from_row(row, today)
        if target.id in seen:
            raise row.error("id", f"duplicate target id {target.id!r}", "unique ids")
        seen.add(target.id)
        targets.append(target)
    if not targets:
        raise InputError("no targets in the file", file=str(path), expected="one row per target")
    return targets


def load_figures(path: str | Path | None, targets: list[KpiTarget], *, today: dt.date | None = None) -> list[KpiFigure]:
    """Entered actual figures (None: the bundled Chongqing figures), each checked against its target's unit."""
    path = bundled_plan_files()[1] if path is None else Path(path)
    by_id = {t.id: t for t in targets}
    figures = []
    for row in read_table(path, FIGURE_COLUMNS, FIGURE_OPTIONAL):
        qualifier = row.get("qualifier")
        if qualifier not in QUALIFIERS:
            raise row.error("qualifier", f"unknown qualifier {qualifier!r}", "blank, >, +, ~ or <")
        date = row.date("date", not_after=today)
        assert date is not None
        figure = KpiFigure(row.required("kpi_id", "a target id"), date,
                           row.number_in("value", -1e15, 1e15, "a number"), row.get("unit"),
                           Citation(row.get("source_url"), row.get("source_title"),
                                    row.date("source_date", not_after=today, required=False), row.get("quote")),
                           qualifier, row.get("note"))
        check_figure(figure, by_id.get(figure.kpi_id), file=row.file, row=row.number)
        if not figure.citation.url.startswith(("http://", "https://")):
            raise row.error("source_url", f"{figure.citation.url!r} is not a web address",
                            "an address starting with http:// or https://")
        figures.append(figure)
    return figures
