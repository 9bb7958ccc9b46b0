"""Regions as first-class objects (pure): country, province, city, district, park, each inside a parent.

A region tree refuses an unknown kind, a duplicate id, an unknown parent and a cycle (a park inside
itself, or inside a region inside it). Organisations are attributed to the most specific region whose
name or alias their city text names; candidates to the region of the organisation that sponsors them.
`candidates_in(region)` is then a query: the candidates attributed to the region or to any region inside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipecast.domain import Asset, Organisation, normalise_name, sponsors
from pipecast.errors import InputError

REGION_KINDS = ("country", "province", "city", "district", "park")


@dataclass(frozen=True, slots=True)
class Region:
    id: str
    name: str
    kind: str
    parent: str = ""
    aliases: tuple[str, ...] = ()
    note: str = ""


class RegionTree:
    """Validated regions; `rows` maps an id to its row number in the file (for error messages)."""

    def __init__(self, regions: Sequence[Region], *, file: str = "", rows: Mapping[str, int] | None = None) -> None:
        rows = rows or {}
        self.file = file
        self.regions: dict[str, Region] = {}
        for region in regions:
            row = rows.get(region.id)
            if region.kind not in REGION_KINDS:
                raise InputError(f"unknown region kind {region.kind!r}", file=file, row=row, field="kind",
                                 expected="one of " + ", ".join(REGION_KINDS))
            if region.id in self.regions:
                raise InputError(f"duplicate region id {region.id!r}", file=file, row=row, field="id",
                                 expected="unique ids")
            self.regions[region.id] = region
        for region in regions:
            if region.parent and region.parent not in self.regions:
                raise InputError(f"unknown parent {region.parent!r}", file=file, row=rows.get(region.id),
                                 field="parent", expected="the id of another region in the file, or blank")
        for region in regions:
            self._check_cycle(region, rows)

    def _check_cycle(self, region: Region, rows: Mapping[str, int]) -> None:
        path = [region.id]
        current = region
        while current.parent:
            if current.parent in path:
                loop = " -> ".join([*path[path.index(current.parent):], current.parent])
                raise InputError(f"region cycle: {loop}", file=self.file, row=rows.get(region.id), field="parent",
                                 expected="a parent that is not the region itself or inside it")
            path.append(current.parent)
            current = self.regions[current.parent]

    def __contains__(self, region_id: object) -> bool:
        return region_id in self.regions

    def get(self, region_id: str) -> Region:
        try:
            return self.regions[region_id]
        except KeyError:
            raise InputError(f"unknown region {region_id!r}", field="--region",
                             expected="one of " + ", ".join(sorted(self.regions))) from None

    def ancestors(self, region_id: str) -> list[str]:
        """The region's parent, its parent's parent, ... up to the top."""
        out = []
        current = self.get(region_id)
        while current.parent:
            out.append(current.parent)
            current = self.regions[current.parent]
        return out

    def within(self, region_id: str, ancestor: str) -> bool:
        """Whether `region_id` is `ancestor` or lies inside it."""
        return region_id == ancestor or ancestor in self.ancestors(region_id)

    def depth(self, region_id: str) -> int:
        return len(self.ancestors(region_id))

    def locate(self, text: str) -> str | None:
        """The most specific region whose name or an alias occurs in `text` (folded), or None."""
        folded = normalise_name(text)
        if not folded:
            return None
        best: tuple[int, int, str] | None = None
        for region in self.regions.values():
            for key in map(normalise_name, (region.name, *region.aliases)):
                if len(key) >= 2 and key in folded:
                    rank = (self.depth(region.id), len(key), region.id)
                    if best is None or rank > best:
                        best = rank
        return best[2] if best else None


def attribute_organisations(organisations: Sequence[Organisation], tree: RegionTree) -> dict[str, str | None]:
    """Organisation id -> the more specific of the regions its city text and its name name (None: neither)."""
    out: dict[str, str | None] = {}
    for org in organisations:
        found = [r for r in (tree.locate(org.city), tree.locate(org.name)) if r is not None]
        out[org.id] = max(found, key=tree.depth) if found else None
    return out


def candidate_regions(
    assets: Sequence[Asset], organisations: Sequence[Organisation], tree: RegionTree
) -> dict[str, frozenset[str]]:
    """Asset id -> the regions of every organisation that sponsors it (a candidate co-developed in two cities
    belongs to both, as the bundled attribution rule says); a cohort without a sponsor is attributed by its
    name ("Chongqing clinical-stage candidates ...")."""
    return regions_of_candidates(assets, organisations, attribute_organisations(organisations, tree), tree)


def regions_of_candidates(
    assets: Sequence[Asset], organisations: Sequence[Organisation], org_regions: Mapping[str, str | None],
    tree: RegionTree,
) -> dict[str, frozenset[str]]:
    """`candidate_regions` with the organisations' regions given (`org_regions`: as stored, say)."""
    placed = [(o, r) for o in organisations if (r := org_regions.get(o.id)) is not None]
    out: dict[str, frozenset[str]] = {}
    for asset in assets:
        found = {region for org, region in placed if sponsors(org, asset)}
        if not found and asset.is_cohort and not asset.sponsor and (named := tree.locate(asset.name)):
            found.add(named)
        out[asset.id] = frozenset(found)
    return out


def candidates_in(
    region_id: str, assets: Sequence[Asset], organisations: Sequence[Organisation], tree: RegionTree
) -> list[Asset]:
    """The candidates attributed to `region_id` or to a region inside it."""
    tree.get(region_id)
    regions = candidate_regions(assets, organisations, tree)
    return [a for a in assets if any(tree.within(r, region_id) for r in regions[a.id])]
