"""`pipecast regions`: the store's regions with the organisations and candidates attributed to each.

    pipecast --db cq.sqlite load-bundled chongqing     loads src/pipecast/data/hubs/regions.csv into the store
    pipecast --db cq.sqlite regions [--as-of DATE] [--json]
    pipecast --db cq.sqlite pipeline --region chongqing-banan
    pipecast --db cq.sqlite forecast --region chongqing-biocity

A region's counts include every region inside it (Chongqing includes Banan, which includes the Bio City).
Organisations are attributed to the most specific region their city text or name names; candidates through
their sponsors (a cohort without a sponsor by its name), as the data knew them on --as-of.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from pipecast.commands.common import AsOfOption, JsonOption, console, echo_json, open_store, parse_date_option, text

if TYPE_CHECKING:
    from pipecast.domain import Asset
    from pipecast.store import Store

RegionOption = Annotated[
    str | None,
    typer.Option("--region", help="A region id (`pipecast regions`): only the store's candidates attributed to it "
                                  "or to a region inside it."),
]


def load_bundled_regions(store: Store, source: str) -> tuple[int, int]:
    """The bundled region tree (hubs/regions.csv) into the store, and the organisations' attribution."""
    from pipecast.loading.hubs import load_regions
    from pipecast.store.regions import save_regions

    tree, _ = load_regions()
    return save_regions(store, tree, source=source)


def region_assets(store: Store, region: str, as_of: dt.date | None) -> list[Asset]:
    from pipecast.store.regions import candidates_in

    return candidates_in(store, region.strip(), as_of)


def regions_command(ctx: typer.Context, as_of: AsOfOption = None, as_json: JsonOption = False) -> None:
    """The store's regions (outermost first) with the organisations and candidates in each (inside it included)."""
    from rich.table import Table

    from pipecast import clock
    from pipecast.store.regions import region_counts

    when = parse_date_option(as_of) or clock.today()
    with open_store(ctx) as store:
        counts = region_counts(store, when)
    if as_json:
        echo_json({"as_of": when.isoformat(), "regions": [c.as_dict() for c in counts]})
        return
    if not counts:
        console.print("No regions in the store: `pipecast load-bundled chongqing` loads the bundled ones.")
        return
    table = Table(title=f"Regions as of {when}")
    for column in ("region", "kind", "inside", "organisations", "candidates"):
        table.add_column(column, justify="right" if column in ("organisations", "candidates") else "left")
    for c in counts:
        table.add_row(text(f"{c.region.name} ({c.region.id})"), c.region.kind, text(c.region.parent or "-"),
                      str(c.organisations), str(c.candidates))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("regions")(regions_command)
