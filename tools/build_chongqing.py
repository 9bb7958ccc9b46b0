"""Build the bundled Chongqing data set (assets.csv, events.csv) from its source records.

    .venv/bin/python tools/build_chongqing.py [--out FOLDER] [--check]

Inputs, in src/pipecast/data/chongqing/sources/ (every row cites its source; see the data folder's README):

* announcements.csv - each dated phase event as the source reports it: the drug name as the source writes
  it, the event wording, the date, source URL/title. Read with the announcements importer
  (`pipecast.ingest.announcements.read_announcements`: wording -> phase, dates and URLs checked).
* candidates.csv - the named candidates: id, name, aliases and attributes (with the attribute sources).
* cohorts.csv - the published counts without names: the arithmetic (`count_formula`), the count's date.

Each announcement's drug name is resolved through the candidates' names and aliases plus the bundled Chongqing
alias table (`pipecast.ingest.resolve`); a name that resolves to no candidate, or to two, stops the build.
A cohort's count is its formula evaluated; its phase-start date is the count's date minus half the phase's
median duration in the bundled global rate set (rounded to whole days, 365.25/12 days a month).

Writes assets.csv and events.csv (into the data folder unless --out); --check compares instead of writing.
"""

from __future__ import annotations

import argparse
import ast
import csv
import datetime as dt
import io
import json
import operator
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipecast.domain import Phase
from pipecast.errors import InputError
from pipecast.ingest.announcements import read_announcements, resolve_announcements
from pipecast.ingest.resolve import candidate_table, chongqing_table
from pipecast.loading.rates import bundled_rate_set
from pipecast.tabular import read_table

DATA = Path(__file__).resolve().parents[1] / "src" / "pipecast" / "data" / "chongqing"
SOURCES = DATA / "sources"
ASSET_HEADER = ("id", "name", "aliases", "sponsor", "modality", "therapeutic_area", "indication", "target",
                "nmpa_class", "jurisdiction", "count", "note", "source_title", "source_url", "source_date")
EVENT_HEADER = ("asset_id", "phase", "date", "indication", "source_title", "source_url", "source_date", "recorded",
                "note")
CANDIDATE_COLUMNS = ("id", "name")
CANDIDATE_OPTIONAL = ("aliases", "sponsor", "modality", "therapeutic_area", "indication", "target", "nmpa_class",
                      "jurisdiction", "note", "source_title", "source_url", "source_date", "attribute_sources")
COHORT_COLUMNS = ("id", "name", "phase", "count_formula", "count_as_of", "source_title", "source_url")
COHORT_OPTIONAL = ("note", "source_date")
DAYS_PER_MONTH = 365.25 / 12

_OPS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}


def evaluate(formula: str) -> int:
    """Whole-number arithmetic: + - * / parentheses and round(); nothing else is allowed."""

    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return float(_OPS[type(node.op)](walk(node.left), walk(node.right)))
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "round"
                and len(node.args) == 1 and not node.keywords):
            return round(walk(node.args[0]))
        raise ValueError(f"not allowed in a count formula: {ast.dump(node)}")

    value = walk(ast.parse(formula, mode="eval"))
    if value != int(value) or value < 1:
        raise ValueError(f"{formula} = {value}, not a positive whole number")
    return int(value)


def _as_of(sources: Path) -> dt.date:
    meta = json.loads((sources.parent / "dataset.json").read_text(encoding="utf-8"))
    return dt.date.fromisoformat(meta["as_of"])


def build(sources: Path = SOURCES, *, as_of: dt.date | None = None) -> tuple[str, str]:
    """The text of assets.csv and events.csv built from the source files."""
    as_of = as_of or _as_of(sources)
    candidates = read_table(sources / "candidates.csv", CANDIDATE_COLUMNS, CANDIDATE_OPTIONAL)
    named = [(r.get("id"), (r.get("name"), *[a for a in r.get("aliases").split("|") if a.strip()]))
             for r in candidates]
    table = candidate_table(named, chongqing_table())
    records = read_announcements(sources / "announcements.csv", today=as_of)
    known = {r.get("id") for r in candidates}
    events: dict[str, list[list[str]]] = {r.get("id"): [] for r in candidates}
    for rec, target in zip(records, resolve_announcements(records, table), strict=True):
        if not target.resolved or target.id not in known:
            raise rec.row.error("drug", f"{rec.drug!r} does not resolve to one candidate in candidates.csv"
                                + (f" ({target.hint})" if target.hint else ""),
                                "a name or alias of a candidate (add it to the candidate's aliases)")
        ev = rec.event
        src = ev.source
        assert src is not None
        events[target.id].append([
            target.id, ev.phase.value, ev.date.isoformat(), ev.indication, src.title, src.url,
            src.date.isoformat() if src.date else "", ev.recorded.isoformat() if ev.recorded else "", rec.note,
        ])
    asset_rows: list[list[str]] = []
    event_rows: list[list[str]] = []
    for row in candidates:
        asset_id = row.get("id")
        if not events[asset_id]:
            raise row.error("id", f"candidate {asset_id!r} has no announcement", "at least one dated event")
        asset_rows.append([row.get(c) if c != "count" else "1" for c in ASSET_HEADER])
        event_rows.extend(sorted(events[asset_id], key=lambda e: (e[2], Phase(e[1]).order)))
    rates = bundled_rate_set("global")
    for row in read_table(sources / "cohorts.csv", COHORT_COLUMNS, COHORT_OPTIONAL):
        try:
            count = evaluate(row.get("count_formula"))
        except (ValueError, SyntaxError) as exc:
            raise row.error("count_formula", str(exc), "arithmetic such as 42 - 11 - 4") from None
        phase = Phase(row.required("phase", "a pipeline phase"))
        counted = row.date("count_as_of", not_after=as_of)
        assert counted is not None
        half = round(rates.row(phase).duration.median_months / 2 * DAYS_PER_MONTH)
        start = counted - dt.timedelta(days=half)
        values = {"id": row.get("id"), "name": row.get("name"), "jurisdiction": "CN", "count": str(count),
                  "note": row.get("note"), "source_title": row.get("source_title"),
                  "source_url": row.get("source_url"), "source_date": row.get("source_date")}
        asset_rows.append([values.get(c, "") for c in ASSET_HEADER])
        event_rows.append([
            row.get("id"), phase.value, start.isoformat(), "", row.get("source_title"), row.get("source_url"),
            row.get("source_date"), counted.isoformat(),
            f"cohort of {count}; count as of {counted}; assumed phase start (see asset note)",
        ])
    return _csv(ASSET_HEADER, asset_rows), _csv(EVENT_HEADER, event_rows)


def _csv(header: tuple[str, ...], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=SOURCES)
    parser.add_argument("--out", type=Path, default=None, help="folder to write (default: the data folder)")
    parser.add_argument("--check", action="store_true", help="compare with the files instead of writing")
    args = parser.parse_args(argv)
    out = args.out or args.sources.parent
    try:
        assets, events = build(args.sources)
    except InputError as exc:
        print(f"build_chongqing: {exc}", file=sys.stderr)
        return 2
    if args.check:
        stale = [n for n, text in (("assets.csv", assets), ("events.csv", events))
                 if not (out / n).exists() or (out / n).read_text(encoding="utf-8") != text]
        for name in stale:
            print(f"build_chongqing: {out / name} differs from the build", file=sys.stderr)
        return 1 if stale else 0
    out.mkdir(parents=True, exist_ok=True)
    (out / "assets.csv").write_text(assets, encoding="utf-8")
    (out / "events.csv").write_text(events, encoding="utf-8")
    print(f"wrote {out / 'assets.csv'} and {out / 'events.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
