"""The alert scan in the shell: the registry's snapshot (phases, deals, plan targets' verdicts), a scan, and the
scan run after every committed change-making write.

`after_change(store)` is the hook `Store.changed()` runs (the command line activates it for each command, the
API sets it on its store): one query when nobody watches anything, else a scan of the registry as of today,
so watchers get their digest without a manual step. Queued e-mails are still sent by `pipecast alerts send`.
`ensure_baseline` runs the first scan (the baseline) when someone starts watching, so the next change is news.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipecast.store import Store

Tags = dict[str, frozenset[tuple[str, str]]]


def _region_tags(regions: frozenset[str], tree: object) -> set[tuple[str, str]]:
    from pipecast.plan.regions import RegionTree

    assert isinstance(tree, RegionTree)
    out: set[tuple[str, str]] = set()
    for region in regions:
        out |= {("region", r) for r in (region, *tree.ancestors(region))}
    return out


def registry_snapshot(store: Store, today: dt.date, *, targets: bool = True) -> tuple[dict[str, str], Tags,
                                                                                     dict[str, str]]:
    """(snapshot, tags, labels) of the registry on `today`: phases, deals and (optionally) target verdicts."""
    from pipecast.domain import normalise_name, sponsors
    from pipecast.loading.hubs import load_regions
    from pipecast.plan.regions import candidate_regions
    from pipecast.store.money import deals

    assets = store.assets()
    orgs = store.organisations()
    tree, _ = load_regions()
    regions = candidate_regions(assets, orgs, tree)
    snapshot: dict[str, str] = {}
    tags: Tags = {}
    labels: dict[str, str] = {}
    asset_tags: dict[str, set[tuple[str, str]]] = {}
    for a in assets:
        mine = {("candidate", a.id)} | {("company", o.id) for o in orgs if sponsors(o, a)}
        mine |= _region_tags(regions.get(a.id, frozenset()), tree)
        asset_tags[a.id] = mine
        key = f"phase:{a.id}"
        snapshot[key], tags[key], labels[key] = a.phase.value, frozenset(mine), f"{a.name} ({a.id})"
    names = {normalise_name(n): o.id for o in orgs for n in (o.id, o.name, *o.aliases) if n}
    for d in deals(store):
        key = f"deal:{d.key}"
        mine = set(asset_tags.get(d.candidate, set()))
        mine |= {("company", names[n]) for n in (normalise_name(d.licensor), normalise_name(d.licensee)) if n in names}
        snapshot[key] = f"{d.licensor} -> {d.licensee} ({d.date_text})"
        tags[key], labels[key] = frozenset(mine), d.asset or d.candidate or d.key
    if targets:
        _target_snapshot(assets, today, tree, snapshot, tags, labels)
    return snapshot, tags, labels


def _target_snapshot(assets: Sequence[object], today: dt.date, tree: object, snapshot: dict[str, str], tags: Tags,
                     labels: dict[str, str]) -> None:
    from pipecast.domain import Asset
    from pipecast.facade import resolve_rates
    from pipecast.loading.plan import load_figures, load_targets
    from pipecast.plan.verdict import evaluate

    goals = load_targets()
    known = [a for a in assets if isinstance(a, Asset)]
    for status in evaluate(goals, load_figures(None, goals), known, resolve_rates(None), today):
        key = f"risk:{status.target.id}"
        region = status.target.region
        mine = {("target", status.target.id)} | (_region_tags(frozenset({region}), tree) if region else set())
        snapshot[key], tags[key], labels[key] = status.verdict, frozenset(mine), status.target.id


def scan_registry(store: Store, today: dt.date, *, targets: bool = True) -> tuple[int, int]:
    """Scan the registry as of `today`: (changes found, digests written)."""
    from pipecast.store.alerts import scan

    snapshot, tags, labels = registry_snapshot(store, today, targets=targets)
    changes, made = scan(store, snapshot, tags, labels, today)
    return len(changes), len(made)


def after_change(store: object) -> None:
    """After a committed change-making write: scan, unless nobody watches anything (then one query)."""
    from pipecast import clock
    from pipecast.store import Store
    from pipecast.store.alerts import watching

    assert isinstance(store, Store)
    if watching(store):
        scan_registry(store, clock.today())


def ensure_baseline(store: Store) -> None:
    """The store's first scan (its baseline), if it has none yet: what is there when watching starts is not news."""
    from pipecast import clock
    from pipecast.store.alerts import has_baseline

    if not has_baseline(store):
        scan_registry(store, clock.today())
