"""Data-quality checks over the registry's candidates: pure functions, no I/O.

Each check returns `Finding(kind, asset_id, message)`s; `check_all` runs them all. Kinds:

    conflict        two events for the same phase (and indication) on different dates: from different sources,
                    or from one source re-imported with another date (both are kept, so one of them is wrong)
    sequence        an impossible order: a later stage dated before an earlier one (phase3 before phase1,
                    approval before filing)
    stale           an active candidate with no event for `stale_years` years (default 3) as of a date
    unresolved      a candidate created from a name that matched nothing (`pipecast.domain.is_unresolved`: ids
                    such as `ctr:…`, `template:…`, or an importer's "unresolved ..." note)
    count_mismatch  the registry's clinical-stage count differs from a published count
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pipecast.domain import Asset, Phase, PhaseEvent, is_unresolved

#: Stages in the order a candidate must pass them.
SEQUENCE: tuple[Phase, ...] = (Phase.PHASE1, Phase.PHASE2, Phase.PHASE3, Phase.FILED, Phase.APPROVED)
CLINICAL: tuple[Phase, ...] = (Phase.PHASE1, Phase.PHASE2, Phase.PHASE3)
DEFAULT_STALE_YEARS = 3
#: Fact fields that publish a count of candidates in clinical trials (see data/chongqing/facts.csv).
CLINICAL_COUNT_FIELD = re.compile(r"in clinical trials \(count\)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str
    asset_id: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.kind}: {self.asset_id + ': ' if self.asset_id else ''}{self.message}"


def _src(event: PhaseEvent) -> str:
    return event.source.title if event.source else "no source"


def conflicts(assets: Iterable[Asset]) -> list[Finding]:
    """Same phase and indication, different dates (from different sources, or one source re-dated)."""
    found = []
    for asset in assets:
        by_phase: dict[tuple[Phase, str], list[PhaseEvent]] = defaultdict(list)
        for event in asset.history:
            by_phase[(event.phase, event.indication)].append(event)
        for (phase, indication), events in by_phase.items():
            dates = sorted({e.date for e in events})
            if len(dates) < 2:
                continue
            sources = {(e.source.title, e.source.url) if e.source else None for e in events}
            what = f"{phase.value}" + (f" ({indication})" if indication else "")
            listed = "; ".join(f"{e.date} [{_src(e)}]" for e in sorted(events, key=lambda e: e.date))
            how = "" if len(sources) > 1 else " from the same source (re-imported with another date?)"
            found.append(Finding("conflict", asset.id, f"{what} has {len(dates)} different dates{how}: {listed}"))
    return found


def sequences(assets: Iterable[Asset]) -> list[Finding]:
    """A later stage first reached before an earlier stage (per indication label)."""
    found = []
    for asset in assets:
        first: dict[tuple[str, Phase], PhaseEvent] = {}
        for event in asset.history:
            key = (event.indication, event.phase)
            if key not in first or event.date < first[key].date:
                first[key] = event
        indications = {i for i, _ in first}
        for indication in sorted(indications):
            reached = [(p, first[(indication, p)]) for p in SEQUENCE if (indication, p) in first]
            for i, (early, early_ev) in enumerate(reached):
                for late, late_ev in reached[i + 1:]:
                    if late_ev.date < early_ev.date:
                        label = f" ({indication})" if indication else ""
                        found.append(Finding(
                            "sequence", asset.id,
                            f"{late.value} on {late_ev.date} [{_src(late_ev)}] is before {early.value} on "
                            f"{early_ev.date} [{_src(early_ev)}]{label}",
                        ))
    return found


def _years_before(when: dt.date, years: int) -> dt.date:
    try:
        return when.replace(year=when.year - years)
    except ValueError:  # 29 February
        return when.replace(year=when.year - years, day=28)


def stale(assets: Iterable[Asset], as_of: dt.date, years: int = DEFAULT_STALE_YEARS) -> list[Finding]:
    """Active candidates (preclinical to filed) whose latest event is more than `years` years before `as_of`."""
    cutoff = _years_before(as_of, years)
    found = []
    for asset in assets:
        view = asset.as_of(as_of)
        if view is None or not view.phase.is_active:
            continue
        last = max(e.date for e in view.history)
        if last < cutoff:
            found.append(Finding(
                "stale", asset.id,
                f"no event since {last} ({view.phase.value}), more than {years} year(s) before {as_of}",
            ))
    return found


def unresolved(assets: Iterable[Asset]) -> list[Finding]:
    """Candidates made from a name nobody has matched yet (`pipecast.domain.is_unresolved`)."""
    return [
        Finding("unresolved", a.id, f"name {a.name!r} matches no known candidate; confirm or merge (`pipecast review`)")
        for a in assets
        if is_unresolved(a.id, a.note)
    ]


def clinical_count(assets: Iterable[Asset], as_of: dt.date) -> int:
    """Candidates in Phase 1-3 on `as_of`, cohorts counted by their size."""
    total = 0
    for asset in assets:
        view = asset.as_of(as_of)
        if view is not None and view.phase in CLINICAL:
            total += view.count
    return total


def count_mismatch(
    assets: Iterable[Asset], as_of: dt.date, published: int, label: str = "published count"
) -> list[Finding]:
    """The registry's clinical-stage count against a published total."""
    ours = clinical_count(assets, as_of)
    if ours == published:
        return []
    return [Finding(
        "count_mismatch", "",
        f"the registry has {ours} candidate(s) in clinical trials on {as_of}; {label} says {published} "
        f"({ours - published:+d})",
    )]


def published_clinical_count(facts: Iterable[Any], as_of: dt.date | None = None) -> tuple[int, str] | None:
    """The latest plain-integer fact whose field is a clinical-trials count (e.g. "42"), with a label.

    Takes `pipecast.store.Fact`-like objects (entity, field, value, as_of); loose values such as "~40"
    are not comparable and are skipped. Only municipality-wide figures count when any exist.
    """
    usable = [
        f for f in facts
        if CLINICAL_COUNT_FIELD.search(f.field) and f.value.strip().isdigit() and f.as_of is not None
        and (as_of is None or f.as_of <= as_of)
    ]
    wide = [f for f in usable if "municipality" in f.entity.casefold()]
    pool = wide or usable
    if not pool:
        return None
    best = max(pool, key=lambda f: f.as_of)
    return int(best.value), f"{best.entity} | {best.field} ({best.as_of})"


def check_all(
    assets: Sequence[Asset],
    *,
    as_of: dt.date,
    stale_years: int = DEFAULT_STALE_YEARS,
    published_clinical: int | None = None,
    published_label: str = "published count",
) -> list[Finding]:
    """Every check as of `as_of` (the caller's today or chosen date); the count comparison only when a
    published figure is given."""
    findings = conflicts(assets) + sequences(assets) + stale(assets, as_of, stale_years) + unresolved(assets)
    if published_clinical is not None:
        findings += count_mismatch(assets, as_of, published_clinical, published_label)
    return findings
