"""Regions in the store (migration 0008): the region tree and which region each organisation lies in.

`save_regions` writes a region file's tree (validated together with the regions already stored: a region cycle,
a park inside itself, is a one-line InputError and nothing is written) and the attribution of the store's
organisations (`pipecast.plan.regions.attribute_organisations`: the most specific region their city text or
name names). `candidates_in` is then a query on the store: the candidates (as of a date) attributed, through
a sponsor, to the region or to any region inside it; a cohort without a sponsor by its name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from pipecast.domain import Asset
from pipecast.plan.regions import Region, RegionTree, attribute_organisations, regions_of_candidates
from pipecast.store.models import Base

if TYPE_CHECKING:
    from pipecast.store.store import Store


class RegionRow(Base):
    __tablename__ = "regions"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("regions.id"), index=True, nullable=True)
    aliases: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text, default="")


class OrganisationRegionRow(Base):
    __tablename__ = "organisation_regions"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    region_id: Mapped[str] = mapped_column(ForeignKey("regions.id"), index=True)
    source: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True, slots=True)
class RegionCount:
    region: Region
    organisations: int  # attributed to the region or a region inside it
    candidates: int  # candidate records (a cohort counts its size) attributed to it or a region inside it

    def as_dict(self) -> dict[str, object]:
        return {"id": self.region.id, "name": self.region.name, "kind": self.region.kind,
                "parent": self.region.parent or None, "organisations": self.organisations,
                "candidates": self.candidates}


def _tree(session: Session) -> RegionTree:
    rows = list(session.scalars(select(RegionRow).order_by(RegionRow.id)))
    return RegionTree([Region(r.id, r.name, r.kind, r.parent_id or "",
                              tuple(a for a in r.aliases.split("|") if a)) for r in rows], file="the store's regions")


def save_regions(store: Store, tree: RegionTree, *, source: str) -> tuple[int, int]:
    """Write `tree`'s regions and attribute the store's organisations to them: (regions, organisations
    attributed). InputError (nothing written) when the regions with those already stored form a cycle."""
    from pipecast.store import views

    def work(session: Session) -> tuple[int, int]:
        stored = {r.id: r for r in session.scalars(select(RegionRow))}
        merged = {rid: Region(r.id, r.name, r.kind, r.parent_id or "", tuple(a for a in r.aliases.split("|") if a))
                  for rid, r in stored.items()}
        merged.update(tree.regions)
        checked = RegionTree(list(merged.values()), file=tree.file)  # a cycle across old and new: one line
        for region in sorted(tree.regions.values(), key=lambda r: checked.depth(r.id)):
            row = stored.get(region.id)
            if row is None:
                row = RegionRow(id=region.id)
                session.add(row)
            row.name, row.kind, row.parent_id = region.name, region.kind, region.parent or None
            row.aliases, row.source = "|".join(region.aliases), source
            session.flush()
        orgs = views.organisations(session)
        placed = 0
        for org_id, region_id in attribute_organisations(orgs, checked).items():
            if region_id is None:
                continue
            link = session.get(OrganisationRegionRow, org_id)
            if link is None:
                session.add(OrganisationRegionRow(organisation_id=org_id, region_id=region_id, source=source))
            else:
                link.region_id, link.source = region_id, source
            placed += 1
        return len(tree.regions), placed

    return store._write(work)


def region_tree(store: Store) -> RegionTree:
    """The stored regions (an empty tree before any are loaded)."""
    return store._read(_tree)


def organisation_regions(store: Store) -> dict[str, str]:
    """Organisation id -> its region."""
    def work(session: Session) -> dict[str, str]:
        return {r.organisation_id: r.region_id for r in session.scalars(select(OrganisationRegionRow))}

    return store._read(work)


def _attributed(store: Store, assets: Sequence[Asset], tree: RegionTree) -> Mapping[str, frozenset[str]]:
    return regions_of_candidates(assets, store.organisations(), organisation_regions(store), tree)


def candidates_in(store: Store, region_id: str, as_of: dt.date | None = None) -> list[Asset]:
    """The candidates (as of `as_of`) attributed to `region_id` or a region inside it; InputError for a region
    the store does not know."""
    tree = region_tree(store)
    tree.get(region_id)
    assets = store.assets(as_of)
    regions = _attributed(store, assets, tree)
    return [a for a in assets if any(tree.within(r, region_id) for r in regions[a.id])]


def region_counts(store: Store, as_of: dt.date | None = None) -> list[RegionCount]:
    """Every stored region (outermost first, then by id) with its organisations and candidates, inside it included."""
    tree = region_tree(store)
    assets = store.assets(as_of)
    regions = _attributed(store, assets, tree)
    orgs = organisation_regions(store)
    out = []
    for region in sorted(tree.regions.values(), key=lambda r: (tree.depth(r.id), r.id)):
        n_orgs = sum(1 for r in orgs.values() if tree.within(r, region.id))
        n_assets = sum(a.count for a in assets if any(tree.within(r, region.id) for r in regions[a.id]))
        out.append(RegionCount(region, n_orgs, n_assets))
    return out
