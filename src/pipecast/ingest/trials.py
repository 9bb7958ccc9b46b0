"""One shape for a registered clinical trial, whatever registry it came from, and what it tells us.

Importers (ClinicalTrials.gov, China's drug-trial registry) turn their records into `TrialRecord`s;
`derive_history` turns the trials of one candidate into dated `PhaseEvent`s; `in_region` says why a
trial counts for a region. Kept free of I/O so the rules can be tested on hand-made records.

History rules (each one is a choice, tested in tests/test_trials.py):

* a trial counts on its start date, else on its first-posted (registration) date. China's registry
  rarely fills the first-enrolment date, and registration there follows approval of the trial
  application, which is when Chinese pipeline counts say a drug "entered" a phase;
* a trial whose date is after `as_of` (an estimated future start) or that was not yet public on
  `as_of` (first posted later) does not count: no look-ahead;
* terminated and withdrawn trials create no progress (a stopped trial is not evidence that the
  candidate moved on; if it did, another trial shows it). Suspended trials do count: they started;
* combined phases count as the later one (Phase 1/2 is Phase 2), as `parse_phase` does, and a later
  phase implies the earlier ones were passed: the Phase 1 date is the earliest date of any Phase >= 1
  trial, so the dates never run backwards;
* Phase 4, bioequivalence and phase-less trials create no event: approval dates come from the
  regulator (see `nmpa.py`), not from post-marketing trials, which do not say where or when.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pipecast.domain import Phase, PhaseEvent, Source, normalise_name

#: Progress-bearing phases, in order.
TRIAL_PHASES = (Phase.PHASE1, Phase.PHASE2, Phase.PHASE3)

# ClinicalTrials.gov overallStatus values and China-registry 试验状态 that mean "stopped for good".
_STOPPED = re.compile(r"terminated|withdrawn|终止|撤回|撤销", re.IGNORECASE)

DEFAULT_REGION = "重庆|Chongqing|Chungking"


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """A registry record, reduced to what the pipeline needs; `phase` is None when it has none."""

    registry: str  # "ctgov", "chinadrugtrials"
    trial_id: str  # NCT01234567, CTR20230354
    title: str = ""
    drug_names: tuple[str, ...] = ()
    sponsor: str = ""
    phase: Phase | None = None
    start_date: dt.date | None = None
    first_posted: dt.date | None = None
    status: str = ""
    conditions: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    last_update: dt.date | None = None
    source: Source | None = None
    phase_text: str = ""  # the registry's own spelling, kept for review
    states: tuple[str, ...] = ()  # provinces / states of the sites
    other_names: tuple[str, ...] = ()  # intervention synonyms given by the registry (codes, brands)

    @property
    def stopped(self) -> bool:
        """Terminated or withdrawn: no progress is taken from this trial."""
        return bool(_STOPPED.search(self.status))

    @property
    def event_date(self) -> dt.date | None:
        """The date the trial counts from: start, else first posted."""
        return self.start_date or self.first_posted

    @property
    def known_on(self) -> dt.date | None:
        """When the trial became public (never before it counts)."""
        date = self.event_date
        if date is None:
            return None
        return max(date, self.first_posted) if self.first_posted else date


@dataclass(frozen=True, slots=True)
class RowWarning:
    """A problem in one input row that did not stop the import; listed for the user to fix."""

    file: str
    row: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = [self.file] + ([f"row {self.row}"] if self.row is not None else [])
        where += [f"column {self.field!r}"] if self.field else []
        return f"{', '.join(where)}: {self.message}"


T = TypeVar("T")


@dataclass(slots=True)
class ImportResult(Generic[T]):
    """What an importer read, plus the rows it had to skip or patch (never silently)."""

    records: list[T] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)


def counts_on(trial: TrialRecord, as_of: dt.date) -> bool:
    """Whether the trial gives any event by `as_of` (the rules in the module docstring)."""
    if trial.phase not in TRIAL_PHASES or trial.stopped:
        return False
    date, known = trial.event_date, trial.known_on
    return date is not None and known is not None and date <= as_of and known <= as_of


def _order(trial: TrialRecord) -> tuple[dt.date, dt.date, str]:
    """Which of two trials reaching a phase dates it: the earlier, then the earlier known, then by id."""
    date, known = trial.event_date, trial.known_on
    assert date is not None
    assert known is not None
    return date, known, trial.trial_id


def keep_earliest(earliest: dict[Phase, TrialRecord], trial: TrialRecord) -> None:
    """Fold a counting trial (`counts_on`) into `earliest`: per phase, the trial that dates it so far.

    `derive_history` over the distinct values of `earliest` equals `derive_history` over every trial
    folded in, so a candidate's history needs only these (at most three) trials, not all of its records.
    """
    assert trial.phase is not None
    for phase in TRIAL_PHASES:
        if trial.phase.order >= phase.order:
            held = earliest.get(phase)
            if held is None or _order(trial) < _order(held):
                earliest[phase] = trial


def _events(trials: Sequence[TrialRecord], indication: str) -> list[PhaseEvent]:
    events = []
    for phase in TRIAL_PHASES:
        reached = [t for t in trials if t.phase is not None and t.phase.order >= phase.order]
        if not reached:
            continue
        first = min(reached, key=_order)
        date, known = first.event_date, first.known_on
        assert date is not None
        assert known is not None
        recorded = known if known > date else None
        source = first.source or Source(f"{first.registry} {first.trial_id}")
        if first.phase is not None and first.phase is not phase:
            source = Source(
                f"{source.title} (a {first.phase.value} trial implies {phase.value})", source.url, source.date
            )
        events.append(PhaseEvent(phase, date, source, indication, recorded))
    return events


def derive_history(
    trials: Iterable[TrialRecord], *, as_of: dt.date, per_indication: bool = False
) -> list[PhaseEvent]:
    """A candidate's phase history from its trials (rules in the module docstring).

    Overall by default (events without an indication); with `per_indication`, one history per
    condition named by the trials (grouped case- and width-insensitively, first spelling kept).
    """
    usable = [t for t in trials if counts_on(t, as_of)]
    if not per_indication:
        return _events(usable, "")
    groups: dict[str, list[TrialRecord]] = {}
    labels: dict[str, str] = {}
    for trial in usable:
        for condition in trial.conditions:
            key = normalise_name(condition)
            if key:
                labels.setdefault(key, condition.strip())
                groups.setdefault(key, []).append(trial)
    events = []
    for key, group in groups.items():
        events.extend(_events(group, labels[key]))
    return sorted(events, key=lambda e: (e.indication, e.date, e.phase.order))


def region_reasons(
    trial: TrialRecord,
    province: str = DEFAULT_REGION,
    *,
    local_orgs: Iterable[str] = (),
    sites: bool = True,
) -> tuple[str, ...]:
    """Why a trial belongs to a region: its sponsor's name or a known local sponsor, and its sites.

    `province` is a regular expression (default Chongqing in Chinese and English). Sponsor evidence
    says the drug is the region's; site evidence only says the trial runs there, so callers that
    count a region's pipeline should pass `sites=False` or look at the reasons.
    """
    pattern = re.compile(province, re.IGNORECASE)
    reasons = []
    if pattern.search(trial.sponsor):
        reasons.append(f"sponsor name {trial.sponsor!r} names the region")
    sponsor_key = normalise_name(trial.sponsor)
    for org in local_orgs:
        key = normalise_name(org)
        if key and sponsor_key and (key == sponsor_key or (len(key) >= 4 and key in sponsor_key)):
            reasons.append(f"sponsor {trial.sponsor!r} is the local organisation {org!r}")
            break
    if sites:
        for kind, values in (("site city", trial.cities), ("site province", trial.states)):
            for value in dict.fromkeys(values):
                if pattern.search(value):
                    reasons.append(f"{kind} {value!r}")
    return tuple(reasons)


def in_region(
    trial: TrialRecord,
    province: str = DEFAULT_REGION,
    *,
    local_orgs: Iterable[str] = (),
    sites: bool = True,
) -> bool:
    """True when `region_reasons` finds any evidence."""
    return bool(region_reasons(trial, province, local_orgs=local_orgs, sites=sites))


def split_list(text: str) -> tuple[str, ...]:
    """Split a registry cell that lists several values (；;，,、/| separated), keeping order, once each."""
    parts = (p.strip() for p in re.split(r"[;；,，、/|\n]+", text))
    return tuple(dict.fromkeys(p for p in parts if p))
