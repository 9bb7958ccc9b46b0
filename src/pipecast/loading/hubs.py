"""Regions and hubs' published counts from CSV/XLSX files (the bundled `pipecast/data/hubs` by default).

regions.csv: id, name, kind (country, province, city, district, park), parent, aliases (|-separated),
compare (yes/no: a hub in `compare-regions`), note (its coverage). A region inside itself is an error.
figures.csv: region, metric, value, qualifier, unit, period, date, date_rule, definition, source_url,
source_title, published, evidence_quote, confidence, use (yes/no), comparability.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

from pipecast.plan.hubs import HUB_METRICS, HubFigure
from pipecast.plan.kpi import Citation
from pipecast.plan.regions import Region, RegionTree
from pipecast.tabular import Row, parse_date, read_table

REGION_COLUMNS = ("id", "name", "kind")
REGION_OPTIONAL = ("parent", "aliases", "compare", "note")
FIGURE_COLUMNS = ("region", "metric", "value", "unit", "date", "source_url", "source_title")
FIGURE_OPTIONAL = ("qualifier", "period", "date_rule", "definition", "published", "evidence_quote", "confidence",
                   "use", "comparability")
YES_NO = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False, "false": False, "0": False,
          "": None}


def bundled_hub_files() -> tuple[Path, Path]:
    folder = Path(str(resources.files("pipecast.data").joinpath("hubs")))
    return folder / "regions.csv", folder / "figures.csv"


def _yes_no(row: Row, column: str, default: bool) -> bool:
    text = row.get(column).casefold()
    if text not in YES_NO:
        raise row.error(column, f"{row.get(column)!r} is not yes or no", "yes or no")
    value = YES_NO[text]
    return default if value is None else value


def load_regions(path: str | Path | None = None) -> tuple[RegionTree, list[str]]:
    """The region tree and the ids of the hubs to compare, in file order."""
    path = bundled_hub_files()[0] if path is None else Path(path)
    regions, rows, hubs = [], {}, []
    for row in read_table(path, REGION_COLUMNS, REGION_OPTIONAL):
        region = Region(row.required("id", "a region id"), row.required("name", "a region name"),
                        row.required("kind", "country, province, city, district or park"), row.get("parent"),
                        tuple(a.strip() for a in row.get("aliases").split("|") if a.strip()), row.get("note"))
        if region.id in rows:
            raise row.error("id", f"duplicate region id {region.id!r}", "unique ids")
        rows[region.id] = row.number
        regions.append(region)
        if _yes_no(row, "compare", False):
            hubs.append(region.id)
    return RegionTree(regions, file=str(path), rows=rows), hubs


def load_hub_figures(path: str | Path | None, tree: RegionTree, *, today: dt.date | None = None) -> list[HubFigure]:
    """Published counts, each with its source; refused: unknown region or metric, no source, no unit, no date."""
    path = bundled_hub_files()[1] if path is None else Path(path)
    out = []
    for row in read_table(path, FIGURE_COLUMNS, FIGURE_OPTIONAL):
        region = row.required("region", "a region id from regions.csv")
        if region not in tree:
            raise row.error("region", f"unknown region {region!r}", "a region id from regions.csv")
        metric = row.required("metric", "a metric")
        if metric not in HUB_METRICS:
            raise row.error("metric", f"unknown metric {metric!r}", "one of " + ", ".join(HUB_METRICS))
        url = row.required("source_url", "the address of the page that publishes the figure")
        if not url.startswith(("http://", "https://")):
            raise row.error("source_url", f"{url!r} is not a web address", "an address starting with http(s)://")
        date = row.date("date", not_after=today)
        assert date is not None
        qualifier = row.get("qualifier")
        if qualifier not in ("", ">", "+", "~"):
            raise row.error("qualifier", f"unknown qualifier {qualifier!r}", "blank, >, + or ~")
        published = row.get("published")
        try:
            published_date: dt.date | None = parse_date(published) if published else None
        except ValueError:
            published_date = None  # "unknown (2024)", "2025-08-21 (mirror date)": kept as text in the title's note
        out.append(HubFigure(
            region=region, metric=metric, value=row.number_in("value", 0, 1e12, "a count of at least 0"),
            unit=row.required("unit", "the unit of the figure (candidates, drugs, firms, ...)"), date=date,
            citation=Citation(url, row.required("source_title", "the title of the source"), published_date,
                              row.get("evidence_quote")),
            qualifier=qualifier, period=row.get("period"), definition=row.get("definition"),
            confidence=row.get("confidence"), comparability=row.get("comparability"),
            use=_yes_no(row, "use", True),
        ))
    return out
