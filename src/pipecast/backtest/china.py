"""The China backtest model (pure): NMPA innovative approvals per year, forecast from trial registrations.

Input: China drug-trial registrations (CTR numbers CTR<year><seq>), as the registry listed them, and
NMPA innovative-drug approvals per year. The question: run through a rate set, does the pipeline of
drugs in clinical trials at an as-of date D (plus the drugs that enter trials later) forecast how
many innovative drugs NMPA approves each year?

Registrations are trials, not drugs. `drug_key` folds a trial's first listed drug name into one key:
bracketed text (brand names, strengths, makers) removed, then `pipecast.matching.keys` (case, width
and punctuation folded, dosage forms such as 注射用…/…注射液/…片/Injection removed, salt forms such
as 盐酸…/…mesylate removed): 注射用SHR-1210, SHR-1210注射液 and SHR1210 are one drug. One drug:
- its phase at D is the highest phase of its trials registered on or before D, entered on the date
  of the first registration at that phase;
- bioequivalence trials (phase "BE", or 生物等效 in the title) and phase 4 trials are left out, and
  so is every drug that has one known at D: a BE study needs a marketed reference product and a
  phase 4 study a marketed drug, so such a drug is a generic or already on the market in China;
- trials whose title states no phase count as phase 1 when the title names a pharmacokinetic or
  tolerability study (药代/药动/耐受/首次人体/PK), else as phase 2 (an efficacy trial of unstated phase);
- `novel_only` (the default cohort) keeps drugs whose key holds a development code (letters then
  at least two digits, e.g. SHR1210, HLX10, BGB3111; not a target such as 抗CD20 or IL17):
  NMPA's innovative count is of drugs marketed
  nowhere before, and an INN-named drug in a Chinese trial is mostly a generic, a biosimilar or an
  import. It is a proxy: coded biosimilars stay in, INN-named novel drugs drop out.

Registration dates: the list gives only the CTR number, so a registration is dated by its sequence
number within its year, spread evenly over that year (over the year up to the registry's last date
for the last year). Nothing else about a trial (status, which was read in 2018) is used.

Arrivals: drugs whose first eligible registration falls after D (or after the registry's last date)
enter at the phase of that registration; per phase, a Poisson number a year fitted on the last
`arrival_years` complete years known at D (2013, the registry's first year, is left out: it holds
the backlog of trials already under way): their linear trend projected to each year (floored at 0),
or with `arrival_trend` off their mean. Each goes through the same rates from the day it arrives.
Because a Poisson count of arrivals thinned by independent approval chances is again Poisson, the
approvals from arrivals in a year are Poisson with the summed mean, convolved with the pipeline's
Poisson-binomial.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipecast.domain import Phase
from pipecast.engines.exact import year_windows
from pipecast.engines.poibin import poisson_binomial
from pipecast.engines.timing import Profile, approval_year_probabilities
from pipecast.matching import keys
from pipecast.rates import RateSet

CLINICAL = (Phase.PHASE1, Phase.PHASE2, Phase.PHASE3)
_BRACKETED = re.compile(r"[(（\[【][^)）\]】]*[)）\]】]")
#: A development code: 1-6 letters then 2+ digits, not a target name after 抗 (anti-) and not CD/IL numbers.
_CODE = re.compile(r"(?<!抗)(?<![a-z])(?!cd\d|il\d)[a-z]{1,6}\d{2,}")
_PK_TITLE = re.compile(r"药代|药动|耐受|首次人体|人体药代|\bpk\b", re.IGNORECASE)
_CTR_ID = re.compile(r"^CTR(\d{4})(\d{4,5})$", re.IGNORECASE)

#: First registry year: registrations then include trials already under way (left out of the arrival rate).
BACKLOG_YEAR = 2013
#: Arrival months: each arrival year is integrated over 12 mid-month arrival days.
ARRIVAL_POINTS = 12


@dataclass(frozen=True, slots=True)
class Registration:
    """One trial registration as the list shows it: id, registration date, drug cell, phase label, title."""

    trial_id: str
    registered: dt.date
    drug: str
    phase_text: str
    title: str


@dataclass(frozen=True, slots=True)
class Drug:
    """One drug of the pipeline at the as-of date."""

    key: str
    name: str
    phase: Phase
    entered: dt.date
    trials: int


def drug_key(name: str) -> str:
    """The dedup key of a drug cell (see the module docstring); empty for a blank name."""
    text = _BRACKETED.sub("", name).strip() or name.strip()
    return keys(text, "drug")[2] if text else ""


def is_novel_key(key: str) -> bool:
    """Whether a drug key holds a development code (letters then two or more digits)."""
    return bool(_CODE.search(key))


def trial_kind(registration: Registration) -> str:
    """'be', 'phase4' or 'clinical' for one registration."""
    label = registration.phase_text.strip().upper()
    if label.startswith("BE") or "生物等效" in registration.title:
        return "be"
    if label.startswith("IV"):
        return "phase4"
    return "clinical"


def trial_phase(registration: Registration) -> Phase:
    """The clinical phase of a clinical registration: stated in the title (I, II, III, I/II...), else inferred."""
    label = registration.phase_text.strip().upper()
    numerals = {"I": Phase.PHASE1, "II": Phase.PHASE2, "III": Phase.PHASE3}
    stated = [numerals[p] for p in label.split("/") if p in numerals]
    if stated:
        return max(stated, key=CLINICAL.index)
    return Phase.PHASE1 if _PK_TITLE.search(registration.title) else Phase.PHASE2


def registration_dates(ids: Sequence[str], last_date: dt.date) -> dict[str, dt.date]:
    """Date per CTR id: sequence number within its year spread evenly over the year (to `last_date` in its year).

    The spread uses the largest sequence number of each year in `ids`; ids that are not CTR numbers are left out.
    """
    parsed: dict[str, tuple[int, int]] = {}
    top: dict[int, int] = {}
    for trial_id in ids:
        match = _CTR_ID.match(trial_id.strip())
        if not match:
            continue
        year, seq = int(match.group(1)), int(match.group(2))
        parsed[trial_id] = (year, seq)
        top[year] = max(top.get(year, 0), seq)
    out: dict[str, dt.date] = {}
    for trial_id, (year, seq) in parsed.items():
        start = dt.date(year, 1, 1)
        end = last_date if year == last_date.year else dt.date(year, 12, 31)
        span = max((end - start).days, 0)
        out[trial_id] = start + dt.timedelta(days=round(span * (seq - 0.5) / top[year]))
    return out


def known_at(registrations: Iterable[Registration], as_of: dt.date) -> list[Registration]:
    """Registrations dated on or before the as-of date: all that a forecaster then could see."""
    return [r for r in registrations if r.registered <= as_of]


def _by_drug(registrations: Iterable[Registration]) -> dict[str, list[Registration]]:
    groups: dict[str, list[Registration]] = {}
    for registration in registrations:
        key = drug_key(registration.drug)
        if key:
            groups.setdefault(key, []).append(registration)
    return groups


def pipeline_at(registrations: Iterable[Registration], as_of: dt.date, *, novel_only: bool = True) -> list[Drug]:
    """The drugs in clinical trials at the as-of date, one per drug key (rules in the module docstring)."""
    drugs = []
    for key, trials in _by_drug(known_at(registrations, as_of)).items():
        if novel_only and not is_novel_key(key):
            continue
        if any(trial_kind(t) != "clinical" for t in trials):
            continue
        phased = sorted(((trial_phase(t), t.registered, t) for t in trials), key=lambda x: x[1])
        top = max((p for p, _, _ in phased), key=CLINICAL.index)
        entered = min(d for p, d, _ in phased if p is top)
        first = min(phased, key=lambda x: x[1])[2]
        drugs.append(Drug(key, first.drug, top, entered, len(trials)))
    return sorted(drugs, key=lambda d: (d.entered, d.key))


def arrivals_per_year(
    registrations: Iterable[Registration], as_of: dt.date, *, novel_only: bool = True
) -> dict[int, Counter[Phase]]:
    """Per calendar year up to the as-of date: drugs first seen that year, by the phase of that first trial.

    Uses only registrations known at the as-of date; a drug later found to be a generic (a BE or phase 4
    trial known at D) is not counted.
    """
    out: dict[int, Counter[Phase]] = {}
    for key, trials in _by_drug(known_at(registrations, as_of)).items():
        if (novel_only and not is_novel_key(key)) or any(trial_kind(t) != "clinical" for t in trials):
            continue
        first = min(trials, key=lambda t: t.registered)
        out.setdefault(first.registered.year, Counter())[trial_phase(first)] += 1
    return out


@dataclass(frozen=True)
class ChinaSettings:
    novel_only: bool = True
    arrivals: bool = True
    #: Project arrivals on the linear trend of their window (else the window's mean).
    arrival_trend: bool = True
    #: Complete years known at the as-of date (after the backlog year) that the arrival rate is fitted on.
    arrival_years: int = 4


@dataclass(frozen=True)
class ChinaYear:
    year: int
    pmf: np.ndarray
    expected_pipeline: float
    expected_arrivals: float

    @property
    def expected(self) -> float:
        return float(np.dot(np.arange(len(self.pmf)), self.pmf))


@dataclass(frozen=True)
class ChinaForecast:
    as_of: dt.date
    known_until: dt.date
    years: list[ChinaYear]
    pipeline: list[Drug]
    arrivals: ArrivalRate


def arrival_rate(
    registrations: Sequence[Registration], known_until: dt.date, settings: ChinaSettings
) -> ArrivalRate:
    """Drugs entering each phase per year, fitted on the last complete years known at `known_until`."""
    counts = arrivals_per_year(registrations, known_until, novel_only=settings.novel_only)
    last_complete = known_until.year if known_until >= dt.date(known_until.year, 12, 31) else known_until.year - 1
    window = tuple(y for y in range(last_complete - settings.arrival_years + 1, last_complete + 1)
                   if y > BACKLOG_YEAR)
    if not window:
        return ArrivalRate({p: 0.0 for p in CLINICAL}, {p: 0.0 for p in CLINICAL}, 0.0, ())
    centre = float(np.mean(window))
    means, slopes = {}, {}
    for phase in CLINICAL:
        values = np.array([counts.get(y, Counter())[phase] for y in window], dtype=float)
        means[phase] = float(values.mean())
        slopes[phase] = (float(np.polyfit(np.array(window, dtype=float), values, 1)[0])
                         if settings.arrival_trend and len(window) > 1 else 0.0)
    return ArrivalRate(means, slopes, centre, window)


@dataclass(frozen=True)
class ArrivalRate:
    """Mean arrivals a year per phase at the window's centre year, and their linear trend (0: flat)."""

    mean: dict[Phase, float]
    slope: dict[Phase, float]
    centre: float
    window: tuple[int, ...]

    def at(self, phase: Phase, year: int) -> float:
        return max(0.0, self.mean.get(phase, 0.0) + self.slope.get(phase, 0.0) * (year - self.centre))


def _arrival_means(rate: ArrivalRate, rates: RateSet, start: dt.date, years: Sequence[int]) -> np.ndarray:
    """Expected approvals per forecast year from arrivals between `start` and the end of the last forecast year.

    The arrival period is cut into 12 equal slices per forecast year; a slice's arrivals (rate x its length)
    all enter at its midpoint and go through the rates of their phase from elapsed 0.
    """
    end = dt.date(max(years) + 1, 1, 1)
    days = (end - start).days
    n_points = ARRIVAL_POINTS * len(years)
    slice_years = days / 365.25 / n_points
    out = np.zeros(len(years))
    profiles = {phase: Profile(rates.profile(phase)) for phase in CLINICAL}
    zero = np.zeros(1, dtype=np.int64)
    for i in range(n_points):
        when = start + dt.timedelta(days=int((i + 0.5) * days / n_points))
        windows = year_windows(when, years)
        for phase, profile in profiles.items():
            lam = rate.at(phase, when.year)
            if lam > 0:
                out += lam * slice_years * approval_year_probabilities(profile, zero, windows)[0]
    return out


def forecast_china(
    registrations: Sequence[Registration],
    as_of: dt.date,
    years: Sequence[int],
    rates: RateSet,
    settings: ChinaSettings | None = None,
    *,
    registry_end: dt.date | None = None,
) -> ChinaForecast:
    """Count pmf per year: the pipeline at D, independent, plus Poisson arrivals after D (or the registry's end).

    `registry_end` is the last date the registrations cover; anything after min(D, registry_end) is an
    arrival. Both the pipeline and the arrival rate use only registrations on or before that date.
    """
    settings = settings or ChinaSettings()
    known_until = min(as_of, registry_end) if registry_end else as_of
    view = known_at(registrations, known_until)
    pipeline = pipeline_at(view, known_until, novel_only=settings.novel_only)
    windows = year_windows(as_of, years)
    probabilities = np.zeros((len(pipeline), len(years)))
    by_phase: dict[Phase, list[int]] = {}
    for i, drug in enumerate(pipeline):
        by_phase.setdefault(drug.phase, []).append(i)
    for phase, members in by_phase.items():
        elapsed = np.array([(as_of - pipeline[i].entered).days for i in members], dtype=np.int64)
        probabilities[members] = approval_year_probabilities(Profile(rates.profile(phase)), elapsed, windows)
    rate = arrival_rate(view, known_until, settings) if settings.arrivals else ArrivalRate({}, {}, 0.0, ())
    arrival_means = _arrival_means(rate, rates, known_until, years) if rate.window else np.zeros(len(years))
    out = []
    for j, year in enumerate(years):
        pmf = poisson_binomial(probabilities[:, j]) if len(pipeline) else np.ones(1)
        if arrival_means[j] > 0:
            pmf = np.convolve(pmf, _poisson(arrival_means[j]))
        out.append(ChinaYear(year, pmf / pmf.sum(), float(probabilities[:, j].sum()), float(arrival_means[j])))
    return ChinaForecast(as_of, known_until, out, pipeline, rate)


def _poisson(mean: float) -> np.ndarray:
    from pipecast.backtest.baselines import poisson_pmf

    return poisson_pmf(mean)


def counts_known_at(counts: Mapping[int, int], as_of: dt.date) -> dict[int, int]:
    """Yearly approval counts of the years complete on or before the as-of date."""
    return {y: c for y, c in counts.items() if dt.date(y, 12, 31) <= as_of}
