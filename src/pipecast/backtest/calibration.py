"""Fit a rate set from observed phase transitions (pure): success by beta-binomial, durations censored.

Input: one `Transition` per candidate-phase spell: the phase, the day it was entered, and, if it has
ended by the as-of date, the day it ended and whether the candidate advanced (or failed). Spells
still open at the as-of date are right-censored.

- Success probability: Beta(s p0, s (1 - p0)) prior from the prior rate set's row (p0) with prior
  strength s (pseudo-observations), updated with the spells that ended: posterior
  Beta(s p0 + advanced, s (1 - p0) + failed). The posterior mean is the fitted p; its central 95%
  credible interval is reported. Open spells say nothing yet about success and are left out.
- Duration: lognormal by maximum likelihood with right-censoring. In pipecast's model a phase lasts
  a duration D whatever its outcome, and p decides whether it leads on (see engines.timing), so
  every ended spell is an event (advanced or failed) and every open spell is censored at its
  elapsed time. Leaving the open spells out would bias durations short (recent long spells missing).
  The fit is lifelines' `LogNormalFitter` (right-censored maximum likelihood; imported only when a
  fit runs); its 95% interval of the median comes from lifelines' variance matrix. `censored_lognormal`
  is an independent numpy/scipy implementation of the same likelihood, kept as the tests' check.
Phases without data keep the prior row.

Phase spells from a store's histories (`transitions_from_assets`): each candidate's history as known at
the as-of date; every event in a pipeline phase opens a spell of that phase, and the next event that
is a later phase (or approval) ends it as advanced, a discontinuation ends it as failed; a spell with
no later event (or a suspension) is open. Repeated events of the same phase continue the spell; an
event of an earlier phase is ignored. A cohort counts as `count` spells.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pipecast.domain import PIPELINE_PHASES, Asset, Phase
from pipecast.errors import InputError
from pipecast.rates import Duration, RateRow, RateSet

#: Default prior strength: the prior counts as this many observed spells.
DEFAULT_PRIOR_STRENGTH = 10.0
DAYS_PER_MONTH = 365.25 / 12
Z90 = 1.2815515655446004
Z975 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Transition:
    phase: Phase
    entered: dt.date
    ended: dt.date | None = None
    advanced: bool | None = None  # None while the spell is open


@dataclass(frozen=True)
class CalibratedPhase:
    phase: Phase
    row: RateRow
    advanced: int
    failed: int
    open_spells: int
    prior_p: float
    prior_strength: float
    p_interval: tuple[float, float]
    median_interval_months: tuple[float, float] | None

    @property
    def from_data(self) -> bool:
        return self.advanced + self.failed + self.open_spells > 0


def beta_binomial_posterior(
    advanced: int, failed: int, prior_p: float, prior_strength: float
) -> tuple[float, tuple[float, float]]:
    """Posterior mean and central 95% credible interval of the success probability."""
    from scipy import stats

    a = prior_strength * prior_p + advanced
    b = prior_strength * (1.0 - prior_p) + failed
    if a <= 0 or b <= 0:
        raise InputError("prior strength and prior p leave no mass", field="prior",
                         expected="0 < prior p < 1 and prior strength > 0")
    return a / (a + b), (float(stats.beta.ppf(0.025, a, b)), float(stats.beta.ppf(0.975, a, b)))


def censored_lognormal(
    days: Sequence[float] | np.ndarray, event: Sequence[bool] | np.ndarray
) -> tuple[float, float, tuple[float, float]]:
    """(mu, sigma, 95% interval of mu) of a lognormal fitted to durations in days, right-censored where not event."""
    from scipy import optimize, special

    t = np.maximum(np.asarray(days, dtype=float), 0.5)
    e = np.asarray(event, dtype=bool)
    if not e.any():
        raise InputError("no ended spell to fit a duration to", field="history",
                         expected="at least one phase spell that ended (a later phase or a stop)")
    logs = np.log(t)

    def negative_log_likelihood(theta: np.ndarray) -> float:
        mu, log_sigma = float(theta[0]), float(theta[1])
        sigma = math.exp(log_sigma)
        z = (logs - mu) / sigma
        log_pdf = -0.5 * z[e] ** 2 - math.log(sigma) - logs[e] - 0.5 * math.log(2 * math.pi)
        log_survival = np.log(np.maximum(0.5 * special.erfc(z[~e] / math.sqrt(2.0)), 1e-300))
        return -float(log_pdf.sum() + log_survival.sum())

    start = np.array([float(logs[e].mean()), math.log(max(float(logs[e].std()), 0.1))])
    fit = optimize.minimize(negative_log_likelihood, start, method="Nelder-Mead",
                            options={"xatol": 1e-9, "fatol": 1e-11, "maxiter": 4000})
    mu, sigma = float(fit.x[0]), math.exp(float(fit.x[1]))
    # Observed information by central differences (BFGS's running inverse Hessian is not reliable).
    h = 1e-4
    hessian = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            di, dj = np.eye(2)[i] * h, np.eye(2)[j] * h
            hessian[i, j] = (
                negative_log_likelihood(fit.x + di + dj) - negative_log_likelihood(fit.x + di - dj)
                - negative_log_likelihood(fit.x - di + dj) + negative_log_likelihood(fit.x - di - dj)
            ) / (4 * h * h)
    try:
        variance = float(np.linalg.inv(hessian)[0, 0])
    except np.linalg.LinAlgError:
        variance = math.inf
    se = math.sqrt(variance) if variance > 0 else math.inf
    return mu, sigma, (mu - Z975 * se, mu + Z975 * se)


def lifelines_lognormal(
    days: Sequence[float] | np.ndarray, event: Sequence[bool] | np.ndarray
) -> tuple[float, float, tuple[float, float]]:
    """(mu, sigma, 95% interval of mu): lifelines' right-censored LogNormalFitter on durations in days."""
    import warnings

    from lifelines import LogNormalFitter

    t = np.maximum(np.asarray(days, dtype=float), 0.5)
    e = np.asarray(event, dtype=bool)
    if not e.any():
        raise InputError("no ended spell to fit a duration to", field="history",
                         expected="at least one phase spell that ended (a later phase or a stop)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitter = LogNormalFitter().fit(t, event_observed=e)
    mu, sigma = float(fitter.mu_), float(fitter.sigma_)
    variance = float(fitter.variance_matrix_.loc["mu_", "mu_"])
    se = math.sqrt(variance) if variance > 0 and math.isfinite(variance) else math.inf
    return mu, sigma, (mu - Z975 * se, mu + Z975 * se)


def _spells_of(asset: Asset) -> list[Transition]:
    """The phase spells of one candidate's (already cut) history."""
    out: list[Transition] = []
    current: tuple[Phase, dt.date] | None = None
    for event in asset.history:
        phase = event.phase
        if current is None:
            if phase.is_active:
                current = (phase, event.date)
            continue
        if phase is Phase.DISCONTINUED:
            out.append(Transition(current[0], current[1], event.date, False))
            current = None
        elif phase.order > current[0].order and (phase.is_active or phase is Phase.APPROVED):
            out.append(Transition(current[0], current[1], event.date, True))
            current = (phase, event.date) if phase.is_active else None
    if current is not None:
        out.append(Transition(current[0], current[1]))
    return out


def transitions_from_assets(assets: Iterable[Asset], as_of: dt.date) -> list[Transition]:
    """Phase spells of every candidate as known at `as_of` (events dated and recorded by then)."""
    out: list[Transition] = []
    for asset in assets:
        known = asset.as_of(as_of)
        if known is None:
            continue
        out.extend(_spells_of(known) * known.count)
    return out


def calibrate(
    transitions: Sequence[Transition],
    prior: RateSet,
    as_of: dt.date,
    prior_strength: float = DEFAULT_PRIOR_STRENGTH,
    source: str = "",
) -> list[CalibratedPhase]:
    """One calibrated general row per pipeline phase; spells entered after as_of are ignored."""
    out = []
    for phase in PIPELINE_PHASES:
        spells = [t for t in transitions if t.phase is phase and t.entered <= as_of]
        closed = [t.ended is not None and t.ended <= as_of and t.advanced is not None for t in spells]
        ended = [t for t, c in zip(spells, closed, strict=True) if c]
        open_spells = [t for t, c in zip(spells, closed, strict=True) if not c]
        advanced = sum(1 for t in ended if t.advanced)
        failed = len(ended) - advanced
        prior_row = prior.row(phase)
        p, interval = beta_binomial_posterior(advanced, failed, prior_row.p_success, prior_strength)
        duration, median_interval = prior_row.duration, None
        done = ended
        if done:
            days = [((t.ended or as_of) - t.entered).days for t in done]
            days += [(as_of - t.entered).days for t in open_spells]
            mu, sigma, (lo, hi) = lifelines_lognormal(days, [True] * len(done) + [False] * len(open_spells))
            median = math.exp(mu) / DAYS_PER_MONTH
            duration = Duration(median, math.exp(mu + Z90 * sigma) / DAYS_PER_MONTH)
            median_interval = (math.exp(lo) / DAYS_PER_MONTH, math.exp(hi) / DAYS_PER_MONTH)
        note = (
            f"calibrated as of {as_of}: {advanced} advanced, {failed} failed, {len(open_spells)} open; "
            f"prior {prior.name} p={prior_row.p_success:.3f} strength {prior_strength:g}; "
            f"p 95% credible {interval[0]:.3f}-{interval[1]:.3f}"
            + (f"; median 95% {median_interval[0]:.1f}-{median_interval[1]:.1f} months" if median_interval else
               "; duration from the prior (no completed spell)")
        )
        row = RateRow(phase, p, duration, source=source or f"calibrated from data, prior {prior.name}", note=note)
        out.append(CalibratedPhase(phase, row, advanced, failed, len(open_spells), prior_row.p_success,
                                   prior_strength, interval, median_interval))
    return out
