"""Plain data for the pipeline: candidates, their dated phase history, organisations, cohorts.

Nothing here does I/O. Everything the engines need is a frozen dataclass so a portfolio can be
hashed, compared and passed between processes without surprises.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipecast.errors import InputError, UnknownPhaseError


class Phase(enum.StrEnum):
    """Development stages, in order; `discontinued` and `suspended` are terminal states, not stages."""

    PRECLINICAL = "preclinical"
    PHASE1 = "phase1"
    PHASE2 = "phase2"
    PHASE3 = "phase3"
    FILED = "filed"
    APPROVED = "approved"
    DISCONTINUED = "discontinued"
    SUSPENDED = "suspended"

    @property
    def is_active(self) -> bool:
        """True for a stage from which approval can still follow."""
        return self in PIPELINE_PHASES

    @property
    def order(self) -> int:
        return _ORDER[self]


#: Stages that still lead to approval, in order. Each needs a rate row.
PIPELINE_PHASES: tuple[Phase, ...] = (
    Phase.PRECLINICAL,
    Phase.PHASE1,
    Phase.PHASE2,
    Phase.PHASE3,
    Phase.FILED,
)
_ORDER = {p: i for i, p in enumerate(Phase)}

# Spellings seen in registries, press releases and spreadsheets. Combined phases count as the later
# one (phase1/2 -> phase2), as the BIO/Informa success-rate studies do.
_PHASE_WORDS: dict[str, Phase] = {
    "preclinical": Phase.PRECLINICAL,
    "pre-clinical": Phase.PRECLINICAL,
    "discovery": Phase.PRECLINICAL,
    "临床前": Phase.PRECLINICAL,
    "ind": Phase.PHASE1,
    "ind approved": Phase.PHASE1,
    "ind cleared": Phase.PHASE1,
    "early phase 1": Phase.PHASE1,
    "early_phase1": Phase.PHASE1,
    "phase 0": Phase.PHASE1,
    "临床试验申请": Phase.PHASE1,
    "nda": Phase.FILED,
    "bla": Phase.FILED,
    "nda/bla": Phase.FILED,
    "filed": Phase.FILED,
    "filing": Phase.FILED,
    "submitted": Phase.FILED,
    "registration": Phase.FILED,
    "pre-registration": Phase.FILED,
    "under review": Phase.FILED,
    "上市申请": Phase.FILED,
    "申报上市": Phase.FILED,
    "approved": Phase.APPROVED,
    "approval": Phase.APPROVED,
    "launched": Phase.APPROVED,
    "marketed": Phase.APPROVED,
    "已上市": Phase.APPROVED,
    "上市": Phase.APPROVED,
    "获批上市": Phase.APPROVED,
    "discontinued": Phase.DISCONTINUED,
    "terminated": Phase.DISCONTINUED,
    "withdrawn": Phase.DISCONTINUED,
    "终止": Phase.DISCONTINUED,
    "suspended": Phase.SUSPENDED,
    "on hold": Phase.SUSPENDED,
    "暂停": Phase.SUSPENDED,
}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "1": "1", "2": "2", "3": "3", "4": "4"}
_NUMBERED = {"1": Phase.PHASE1, "2": Phase.PHASE2, "3": Phase.PHASE3}
_PHASE_RE = re.compile(
    r"^(?:phase|ph|stage|p)?\s*\.?\s*(iv|iii|ii|i|[1-4])(?:[a-c])?"
    r"(?:\s*[/\-–~,&]\s*(?:phase|ph|p)?\s*(iv|iii|ii|i|[1-4])(?:[a-c])?)?\s*(?:期|trial|study)?$"
)


# UnknownPhaseError (an InputError and a ValueError) is declared with the other errors in pipecast.errors.


ACCEPTED_PHASE_HELP = (
    "one of preclinical, phase1, phase2, phase3, filed, approved, discontinued, suspended "
    "(or a spelling such as 'Phase II', 'Ph 3', 'IND', 'NDA', 'BLA', 'I期', 'III期', '上市申请')"
)


def parse_phase(text: str) -> Phase:
    """Map a free-text phase label to a Phase; combined phases map to the later one."""
    raw = unicodedata.normalize("NFKC", str(text)).strip().lower()
    raw = re.sub(r"\s+", " ", raw)
    if not raw:
        raise UnknownPhaseError(f"empty phase; expected {ACCEPTED_PHASE_HELP}")
    try:
        return Phase(raw.replace(" ", ""))
    except ValueError:
        pass
    if raw in _PHASE_WORDS:
        return _PHASE_WORDS[raw]
    compact = raw.replace("phase ", "phase").replace("期临床", "期")
    match = _PHASE_RE.match(compact.replace(" ", "")) or _PHASE_RE.match(compact)
    if match:
        numbers = [_ROMAN[g] for g in match.groups() if g]
        top = max(numbers)
        if top == "4":
            return Phase.APPROVED
        return _NUMBERED[top]
    raise UnknownPhaseError(f"unknown phase {text!r}; expected {ACCEPTED_PHASE_HELP}")


@dataclass(frozen=True, slots=True)
class Source:
    """Where a fact comes from: a URL or registry id, with the date it was published or retrieved."""

    title: str
    url: str = ""
    date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class PhaseEvent:
    """A candidate reached `phase` on `date` (the approval date for `approved`)."""

    phase: Phase
    date: dt.date
    source: Source | None = None
    indication: str = ""
    recorded: dt.date | None = None  # when the fact became known; None means "on `date`"

    @property
    def known_on(self) -> dt.date:
        return self.recorded or self.date


class OrgKind(enum.StrEnum):
    COMPANY = "company"
    INSTITUTE = "institute"
    PARK = "park"
    CLUSTER = "cluster"
    DEPARTMENT = "department"  # a government department (support cases, pipecast.cases)


@dataclass(frozen=True, slots=True)
class Organisation:
    id: str
    name: str
    kind: OrgKind = OrgKind.COMPANY
    aliases: tuple[str, ...] = ()
    city: str = ""
    parent_id: str = ""


@dataclass(frozen=True, slots=True)
class Asset:
    """A candidate drug, or a cohort of `count` unnamed candidates that share one phase and date.

    Published figures are often only counts ("42 in clinical trials"): a cohort lets them enter the
    forecast as `count` independent copies without inventing names.
    """

    id: str
    name: str
    history: tuple[PhaseEvent, ...]
    sponsor: str = ""
    modality: str = ""
    therapeutic_area: str = ""
    indication: str = ""
    target: str = ""
    nmpa_class: str = ""
    jurisdiction: str = "CN"
    aliases: tuple[str, ...] = ()
    count: int = 1
    note: str = ""

    def __post_init__(self) -> None:
        if self.count < 1:
            raise InputError(f"asset {self.id}: count must be a positive integer, got {self.count}", field="count",
                             expected="a whole number of candidates, 1 or more")
        if not self.history:
            raise InputError(f"asset {self.id}: needs at least one phase event", field="history",
                             expected="at least one dated phase event")
        ordered = tuple(sorted(self.history, key=lambda e: (e.date, e.phase.order)))
        object.__setattr__(self, "history", ordered)

    @property
    def is_cohort(self) -> bool:
        return self.count > 1 or self.id.startswith("cohort:")

    def as_of(self, when: dt.date) -> Asset | None:
        """The asset as the data knew it on `when`; None if nothing was known yet (no look-ahead)."""
        known = tuple(e for e in self.history if e.date <= when and e.known_on <= when)
        if not known:
            return None
        if known == self.history:
            return self
        return _replace_history(self, known)

    @property
    def current(self) -> PhaseEvent:
        """The latest event: the phase the candidate is in and when it got there."""
        return self.history[-1]

    @property
    def phase(self) -> Phase:
        return self.current.phase

    @property
    def phase_start(self) -> dt.date:
        return self.current.date

    @property
    def approval_date(self) -> dt.date | None:
        for event in self.history:
            if event.phase is Phase.APPROVED:
                return event.date
        return None


def _replace_history(asset: Asset, history: tuple[PhaseEvent, ...]) -> Asset:
    from dataclasses import replace

    return replace(asset, history=history)


@dataclass(frozen=True, slots=True)
class Portfolio:
    """The candidates a forecast runs on, with the date it describes."""

    assets: tuple[Asset, ...]
    as_of: dt.date
    label: str = ""
    sources: tuple[Source, ...] = field(default=())

    @classmethod
    def of(cls, assets: Iterable[Asset], as_of: dt.date, label: str = "") -> Portfolio:
        known = [a.as_of(as_of) for a in assets]
        return cls(tuple(a for a in known if a is not None), as_of, label)

    def by_phase(self) -> dict[Phase, int]:
        counts = {p: 0 for p in Phase}
        for asset in self.assets:
            counts[asset.phase] += asset.count
        return counts

    def __len__(self) -> int:
        return len(self.assets)


#: Id prefixes of candidates an importer made from a name that matched no known candidate.
UNRESOLVED_PREFIXES: tuple[str, ...] = ("ctgov:", "ctr:", "nmpa:", "template:", "announcement:")
#: The word an importer's note begins with for such a candidate ("unresolved name '...' from ...").
UNRESOLVED_NOTE = "unresolved"


def is_unresolved(asset_id: str, note: str = "") -> bool:
    """Whether a candidate came from a name that matched nothing and awaits review (merge or confirm)."""
    return asset_id.startswith(UNRESOLVED_PREFIXES) or note.startswith(UNRESOLVED_NOTE + " ")


def normalise_name(text: str) -> str:
    """Case-, width- and punctuation-folded form of a name, for alias matching."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\s\-_.,;:'\"()（）【】\[\]/·]+", "", folded)


def unique_ids(assets: Sequence[Asset]) -> list[str]:
    """Ids that occur more than once (an import error)."""
    seen: set[str] = set()
    dupes: list[str] = []
    for asset in assets:
        if asset.id in seen:
            dupes.append(asset.id)
        seen.add(asset.id)
    return dupes


def sponsors(org: Organisation, asset: Asset) -> bool:
    """Whether the asset's sponsor text names this organisation (its name or any alias, folded)."""
    text = normalise_name(asset.sponsor)
    if not text:
        return False
    return any(len(key) >= 3 and key in text for key in map(normalise_name, (org.name, *org.aliases)))
