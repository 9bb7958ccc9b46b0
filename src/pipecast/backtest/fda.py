"""The FDA filed-stage backtest model (pure): how many novel approvals will FDA make each year?

What a forecaster knew at the as-of date D (see `known_at`): every filing received on or before D,
its review designation, and the approvals on or before D. Later approvals are hidden before
anything is fitted, so the forecast cannot depend on them.

The model, each part fitted only on that view:
- Durations. Receipt-to-approval time of filings that get approved, by review designation
  (priority / standard), as an empirical distribution: Kaplan-Meier over filings received in the
  `duration_window_years` before D, with filings still pending at D right-censored at their
  elapsed time. Its hazard follows the data, so a filing pending for years is not "due soon".
- Never-approved filings. The compilation lists only filings that were eventually approved. A
  pending filing is therefore not treated as sure to be approved: it is one of the applications
  FDA had on its desk, of which only a share P_EVENTUALLY_APPROVED are ever approved (Sacks et al.
  2014, below). With the time-to-approval CDF F among approved filings, a filing pending e days is
  approved in year y with probability  p (F(b - r) - F(a - r)) / (1 - p F(e))  (a mixture "cure"
  model), and the expected never-approved filings still on the desk, (1 - p F(e)) / (p (1 - F(e)))
  - 1 per listed pending filing, enter as a Poisson count with the same per-filing probability.
- Arrivals. Filings received after D: a negative binomial number per year (mean: the linear trend
  of the `arrival_window_years` before D projected to the year, at least half the mean of the
  `arrival_recent_years` before D, or that recent mean with `arrival_trend` off; variance around the
  trend of the window; Poisson when under-dispersed) with the recent designation mix, each flowing
  through the same durations from elapsed 0, integrated over its arrival day within the year.
- Years move together. A year-level lognormal multiplier z_y (mean 1) on the year's approval
  intensity (every pending filing's probability and the arrivals' mean). Its log-sd is the
  maximum-likelihood value, on a grid, over the one-year-ahead forecasts of the
  `factor_window_years` years before D (outcomes known at D); integrated exactly with
  Gauss-Hermite nodes (`pipecast.engines.factors`).

Source of the approval share: Sacks LV, Shamsuddin HH, Yasinskaya YI, Bouri K, Lanthier ML,
Sherman RE. Scientific and regulatory reasons for delay and denial of FDA approval of initial
applications for new drugs, 2000-2012. JAMA 2014;311(4):378-384, doi:10.1001/jama.2013.282542:
"Of the 302 identified NME applications, 151 (50%) were approved when first submitted and 222
(73.5%) were ultimately approved."
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from pipecast.engines.factors import lognormal_nodes, mixture_count_pmf
from pipecast.errors import InputError

#: Share of NME applications first submitted 2000-2012 that were ultimately approved (Sacks et al. 2014).
P_EVENTUALLY_APPROVED = 222 / 302

#: Days on the duration grid (receipt to approval); the compilation's longest is under 30 years.
GRID_DAYS = 366 * 40

#: Log-sd values tried for the year factor, and its levels (mean multipliers) when the level is fitted.
FACTOR_GRID = tuple(round(0.05 * i, 3) for i in range(0, 13))
FACTOR_LEVELS = tuple(round(0.8 + 0.025 * i, 3) for i in range(0, 25))

DESIGNATIONS = ("priority", "standard")


@dataclass(frozen=True, slots=True)
class Filing:
    """One application: receipt date, approval date (None: not approved as seen), priority review."""

    receipt: dt.date
    approval: dt.date | None
    priority: bool
    row: int = 0

    @property
    def designation(self) -> str:
        return "priority" if self.priority else "standard"


@dataclass(frozen=True)
class ModelSettings:
    p_eventually_approved: float = P_EVENTUALLY_APPROVED
    duration_window_years: int = 10
    arrival_recent_years: int = 3
    arrival_window_years: int = 10
    factor_window_years: int = 10
    year_factor: bool = True
    arrivals: bool = True
    by_designation: bool = True
    never_approved: bool = True
    factor_level: bool = True  # fit the factor's level (mean multiplier)
    factor_spread: bool = True  # fit the factor's spread (log-sd); False: log-sd 0
    factor_sigma: float | None = None  # fixed log-sd (level 1) instead of the fitted factor
    duration_half_life_years: float | None = None  # weight filings by receipt date (recent count more)
    arrival_trend: bool = True  # project receipts on the linear trend of the arrival window


@dataclass(frozen=True)
class YearForecast:
    year: int
    pmf: np.ndarray
    expected_pending: float
    expected_arrivals: float

    @property
    def expected(self) -> float:
        return float(np.dot(np.arange(len(self.pmf)), self.pmf))


@dataclass(frozen=True)
class FdaForecast:
    as_of: dt.date
    years: tuple[YearForecast, ...]
    factor_sigma: float
    arrival_mean: float
    arrival_variance: float
    pending: int
    notes: tuple[str, ...] = field(default=())
    factor_level: float = 1.0


def known_at(filings: Sequence[Filing], as_of: dt.date) -> list[Filing]:
    """What was knowable on `as_of`: filings received by then, approvals after it hidden."""
    return [
        replace(f, approval=f.approval if f.approval is not None and f.approval <= as_of else None)
        for f in filings
        if f.receipt <= as_of
    ]


def approvals_per_year(filings: Sequence[Filing]) -> dict[int, int]:
    counts = Counter(f.approval.year for f in filings if f.approval is not None)
    return dict(counts)


def kaplan_meier_cdf(
    durations: Sequence[int],
    approved: Sequence[bool],
    n_days: int = GRID_DAYS,
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """F[t] = P(duration <= t days) by (weighted) Kaplan-Meier, right-censored where `approved` is False.

    Beyond the last event F stays flat. Events are counted before censorings at the same day.
    """
    d = np.asarray(durations, dtype=np.int64)
    e = np.asarray(approved, dtype=bool)
    w = np.ones(len(d)) if weights is None else np.asarray(weights, dtype=float)
    cdf = np.zeros(n_days)
    if len(d) == 0 or not e.any():
        return cdf
    d = np.clip(d, 0, n_days - 1)
    events = np.bincount(d[e], weights=w[e], minlength=n_days)[:n_days]
    exits = np.bincount(d, weights=w, minlength=n_days)[:n_days]
    at_risk = w.sum() - np.concatenate(([0.0], np.cumsum(exits)[:-1]))
    tiny = 1e-12 * w.sum()
    factor = np.where(at_risk > tiny, 1.0 - events / np.maximum(at_risk, tiny), 1.0)
    survival = np.cumprod(np.clip(factor, 0.0, 1.0))
    return 1.0 - survival


def _year_bounds(as_of: dt.date, year: int) -> tuple[int, int]:
    """Day offsets from as_of of [Jan 1 of year, Jan 1 of year + 1), clipped at 0."""
    start = (dt.date(year, 1, 1) - as_of).days
    end = (dt.date(year + 1, 1, 1) - as_of).days
    return max(start, 0), max(end, 0)


@dataclass(frozen=True)
class _Durations:
    cdf: dict[str, np.ndarray]
    priority_share: float


def fit_durations(view: Sequence[Filing], as_of: dt.date, settings: ModelSettings) -> _Durations:
    """Kaplan-Meier CDFs by designation from filings received in the window before as_of."""
    first = dt.date(as_of.year - settings.duration_window_years, as_of.month, min(as_of.day, 28))
    window = [f for f in view if f.receipt > first]
    cdf: dict[str, np.ndarray] = {}
    pooled = kaplan_meier_cdf(*_observations(window, as_of, settings))
    for designation in DESIGNATIONS:
        group = [f for f in window if f.designation == designation] if settings.by_designation else window
        cdf[designation] = kaplan_meier_cdf(*_observations(group, as_of, settings)) if len(group) >= 20 else pooled
    recent = [f for f in view if f.receipt.year > as_of.year - settings.arrival_recent_years]
    share = sum(f.priority for f in recent) / len(recent) if recent else 0.5
    return _Durations(cdf, share)


def _observations(
    filings: Sequence[Filing], as_of: dt.date, settings: ModelSettings
) -> tuple[list[int], list[bool], int, list[float] | None]:
    days = [((f.approval or as_of) - f.receipt).days for f in filings]
    weights = None
    if settings.duration_half_life_years:
        half_life = settings.duration_half_life_years * 365.25
        weights = [0.5 ** ((as_of - f.receipt).days / half_life) for f in filings]
    return days, [f.approval is not None for f in filings], GRID_DAYS, weights


def _pending_probabilities(
    pending: Sequence[Filing], as_of: dt.date, years: Sequence[int], durations: _Durations, settings: ModelSettings
) -> tuple[np.ndarray, np.ndarray]:
    """(listed filings' probabilities N x Y, never-approved filings' expected approvals per year (Y,))."""
    p = settings.p_eventually_approved if settings.never_approved else 1.0
    listed = np.zeros((len(pending), len(years)))
    phantom = np.zeros(len(years))
    for i, f in enumerate(pending):
        cdf = durations.cdf[f.designation]
        elapsed = (as_of - f.receipt).days
        f_e = cdf[min(elapsed, len(cdf) - 1)]
        for j, year in enumerate(years):
            a, b = _year_bounds(as_of, year)
            # approved on day offset o in [a, b) from as_of  <=>  duration in [elapsed + a, elapsed + b - 1]
            mass = cdf[min(elapsed + b - 1, len(cdf) - 1)] - cdf[min(elapsed + a - 1, len(cdf) - 1)] if b > a else 0.0
            listed[i, j] = p * mass / (1.0 - p * f_e) if p * f_e < 1.0 else 0.0
            if settings.never_approved and f_e < 1.0:
                phantom[j] += mass / (1.0 - f_e) - listed[i, j]
    return listed, phantom


def _arrival_rate(view: Sequence[Filing], as_of: dt.date, settings: ModelSettings) -> tuple[float, float]:
    """(mean, variance) of listed filings received per year, from complete years up to as_of's year."""
    last = as_of.year if as_of >= dt.date(as_of.year, 12, 31) else as_of.year - 1
    counts = Counter(f.receipt.year for f in view)
    recent = [counts.get(y, 0) for y in range(last - settings.arrival_recent_years + 1, last + 1)]
    longer = [counts.get(y, 0) for y in range(last - settings.arrival_window_years + 1, last + 1)]
    mean = float(np.mean(recent))
    variance = float(np.var(longer, ddof=1)) if len(longer) > 1 else mean
    # Counts with a trend look over-dispersed around their mean; the variance is taken around the trend.
    if len(longer) > 2:
        x = np.arange(len(longer))
        slope, intercept = np.polyfit(x, longer, 1)
        variance = float(np.sum((np.asarray(longer) - (slope * x + intercept)) ** 2) / (len(longer) - 2))
    return mean, variance


def _arrival_means(
    view: Sequence[Filing], as_of: dt.date, years: Sequence[int], mean: float, settings: ModelSettings
) -> np.ndarray:
    """Expected listed receipts in each forecast year: the recent mean, or the window's linear trend."""
    if not settings.arrival_trend:
        return np.full(len(years), mean)
    last = as_of.year if as_of >= dt.date(as_of.year, 12, 31) else as_of.year - 1
    counts = Counter(f.receipt.year for f in view)
    window = list(range(last - settings.arrival_window_years + 1, last + 1))
    slope, intercept = np.polyfit(window, [counts.get(y, 0) for y in window], 1)
    projected: np.ndarray = np.maximum(np.array([slope * y + intercept for y in years]), 0.5 * mean)
    return projected


def _arrival_yield(as_of: dt.date, years: Sequence[int], durations: _Durations) -> np.ndarray:
    """A[y', y]: P(a filing arriving uniformly in forecast year y' is approved in year y | approved)."""
    out = np.zeros((len(years), len(years)))
    mix = {"priority": durations.priority_share, "standard": 1.0 - durations.priority_share}
    for i, arrival_year in enumerate(years):
        a0, b0 = _year_bounds(as_of, arrival_year)
        if b0 <= a0:
            continue
        arrival_days = np.arange(a0, b0)
        for j, year in enumerate(years):
            a, b = _year_bounds(as_of, year)
            for designation, weight in mix.items():
                cdf = durations.cdf[designation]
                # arrival on offset t, approval on t + T in [a, b)  <=>  T in [a - t, b - 1 - t]
                hi = np.clip(b - 1 - arrival_days, 0, len(cdf) - 1)
                lo = np.clip(a - 1 - arrival_days, 0, len(cdf) - 1)
                upper = np.where(b - 1 - arrival_days >= 0, cdf[hi], 0.0)
                got = upper - np.where(a - 1 - arrival_days >= 0, cdf[lo], 0.0)
                out[i, j] += weight * float(np.mean(got))
    return out


@dataclass(frozen=True)
class _YearInputs:
    """Everything one year's pmf needs: listed probabilities, extra mean, extra shape, approvals already in."""

    probabilities: np.ndarray
    extra_mean: float
    extra_shape: float | None
    certain: int
    never_approved_mean: float = 0.0


def _year_inputs(
    view: Sequence[Filing], as_of: dt.date, years: Sequence[int], durations: _Durations, settings: ModelSettings
) -> tuple[list[_YearInputs], int, float, float]:
    pending = [f for f in view if f.approval is None]
    listed, phantom = _pending_probabilities(pending, as_of, years, durations, settings)
    mean, variance = _arrival_rate(view, as_of, settings)
    shape = mean * mean / (variance - mean) if variance > mean else None
    per_year = _arrival_means(view, as_of, years, mean, settings)
    arrivals = per_year @ _arrival_yield(as_of, years, durations) if settings.arrivals else np.zeros(len(years))
    already = approvals_per_year(view)
    inputs = []
    for j, year in enumerate(years):
        extra = float(phantom[j] + arrivals[j])
        # Thinning keeps a negative binomial's shape, so approvals from arrivals are NB(arrivals[j], shape);
        # the never-approved filings add a Poisson. One NB with the combined mean and the same variance,
        # m_p + m_a + m_a^2 / shape, stands for their sum (shape scaled by (m_p + m_a)^2 / m_a^2).
        extra_shape = None
        if shape is not None and arrivals[j] > 0:
            extra_shape = shape * (extra / arrivals[j]) ** 2
        inputs.append(_YearInputs(listed[:, j], extra, extra_shape, already.get(year, 0), float(phantom[j])))
    return inputs, len(pending), mean, variance


def _year_pmf(inputs: _YearInputs, sigma: float, level: float = 1.0) -> np.ndarray:
    z, w = lognormal_nodes(sigma)
    pmf = mixture_count_pmf(
        inputs.probabilities, level * z, w, extra_mean=inputs.extra_mean, extra_shape=inputs.extra_shape
    )
    return np.concatenate((np.zeros(inputs.certain), pmf)) if inputs.certain else pmf


#: Multipliers on which P(observed | z) is tabulated when the factor is fitted (log-spaced, 0.25 to 4).
_TABLE_LOG_Z = np.linspace(math.log(0.25), math.log(4.0), 97)


def _history(view: Sequence[Filing], as_of: dt.date, settings: ModelSettings) -> list[tuple[_YearInputs, int]]:
    """One-year-ahead forecast inputs for the past years known at as_of, each refitted as of its own Dec 31."""
    last = as_of.year if as_of >= dt.date(as_of.year, 12, 31) else as_of.year - 1
    counts = approvals_per_year(view)
    past: list[tuple[_YearInputs, int]] = []
    for year in range(last - settings.factor_window_years + 1, last + 1):
        then = dt.date(year - 1, 12, 31)
        seen = known_at(view, then)
        inputs, _, _, _ = _year_inputs(seen, then, [year], fit_durations(seen, then, settings), settings)
        past.append((inputs[0], counts.get(year, 0)))
    return past


def _likelihood_table(inputs: _YearInputs, observed: int) -> np.ndarray:
    """P(N = observed | z) for z on the tabulated multipliers."""
    table = np.empty(len(_TABLE_LOG_Z))
    for i, log_z in enumerate(_TABLE_LOG_Z):
        pmf = _year_pmf(inputs, 0.0, math.exp(log_z))
        table[i] = pmf[observed] if observed < len(pmf) else 0.0
    return table


def fit_year_factor(view: Sequence[Filing], as_of: dt.date, settings: ModelSettings) -> tuple[float, float]:
    """(level, log-sd) of the year factor by maximum likelihood on past years' one-year-ahead forecasts.

    Each past forecast is made as of its own Dec 31 from what was known then (durations refitted), so
    the level measures how the model ran against outcomes out of sample (e.g. review pace speeding up),
    and the log-sd how much years moved together beyond the Poisson-binomial spread.
    """
    tables = [_likelihood_table(inputs, observed) for inputs, observed in _history(view, as_of, settings)]
    levels = FACTOR_LEVELS if settings.factor_level else (1.0,)
    best, best_ll = (1.0, 0.0), -math.inf
    for sigma in FACTOR_GRID if settings.factor_spread else (0.0,):
        z, w = lognormal_nodes(sigma)
        for level in levels:
            log_z = np.log(level * z)
            ll = 0.0
            for table in tables:
                ll += math.log(max(float(w @ np.interp(log_z, _TABLE_LOG_Z, table)), 1e-300))
            if ll > best_ll + 1e-9:
                best, best_ll = (level, sigma), ll
    return best


def forecast_fda(
    filings: Sequence[Filing], as_of: dt.date, years: Sequence[int], settings: ModelSettings | None = None
) -> FdaForecast:
    """Forecast approvals per year from what was known on `as_of` (later approvals are hidden first)."""
    settings = settings or ModelSettings()
    if any(y < as_of.year for y in years):
        raise InputError(f"forecast years {min(years)}-{max(years)} start before the as-of year {as_of.year}",
                         field="--years", expected="years from the as-of year on")
    view = known_at(filings, as_of)
    durations = fit_durations(view, as_of, settings)
    level, sigma = 1.0, 0.0
    if settings.factor_sigma is not None:
        sigma = settings.factor_sigma
    elif settings.year_factor:
        level, sigma = fit_year_factor(view, as_of, settings)
    inputs, n_pending, mean, variance = _year_inputs(view, as_of, years, durations, settings)
    out = []
    for year, item in zip(years, inputs, strict=True):
        pmf = _year_pmf(item, sigma, level)
        pending = float(item.probabilities.sum()) + item.never_approved_mean
        arrivals = item.extra_mean - item.never_approved_mean
        total = float(np.dot(np.arange(len(pmf)), pmf)) - item.certain
        scale = total / (pending + arrivals) if pending + arrivals > 0 else 1.0
        out.append(YearForecast(year, pmf, item.certain + pending * scale, arrivals * scale))
    return FdaForecast(as_of, tuple(out), sigma, mean, variance, n_pending, factor_level=level)


def timing_probabilities(
    filings: Sequence[Filing], as_of: dt.date, horizon_days: int, settings: ModelSettings | None = None
) -> tuple[list[float], list[bool]]:
    """Per listed pending filing: P(approved within horizon | eventually approved) and whether it was.

    The file holds only filings that were approved, so this scores timing, not success.
    """
    settings = settings or ModelSettings()
    view = known_at(filings, as_of)
    durations = fit_durations(view, as_of, settings)
    truth = {(f.row, f.receipt): f.approval for f in filings}
    probabilities, outcomes = [], []
    for f in view:
        if f.approval is not None:
            continue
        cdf = durations.cdf[f.designation]
        e = (as_of - f.receipt).days
        f_e = cdf[min(e, len(cdf) - 1)]
        f_h = cdf[min(e + horizon_days, len(cdf) - 1)]
        probabilities.append(float((f_h - f_e) / (1.0 - f_e)) if f_e < 1.0 else 0.0)
        approved = truth[(f.row, f.receipt)]
        outcomes.append(approved is not None and (approved - as_of).days <= horizon_days)
    return probabilities, outcomes
