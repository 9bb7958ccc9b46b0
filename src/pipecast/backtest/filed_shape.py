"""The FDA filed stage's duration shape (pure): one lognormal against a mixture, each fitted as of a date.

From the filings known at the as-of date D (receipts in the `window_years` before D; approvals after
D hidden, pending filings right-censored at their elapsed time), by review designation:
- one lognormal: lifelines' right-censored LogNormalFitter (`calibration.lifelines_lognormal`);
- a mixture: priority clock P, standard clock S and a resubmission tail T, by maximum likelihood with
  right-censoring, the designation known for each filing: a priority filing's duration is
  (1 - tau) P + tau T, a standard one's (1 - tau) S + tau T, with the tail's median above the
  standard clock's (mu_T = mu_S + exp(a)). The rate row's mixture weights are
  (pi (1 - tau), (1 - pi) (1 - tau), tau), pi being the priority share of the window's receipts: a
  rate row does not know a pending filing's designation, so the row is the marginal.
`shape_backtest` scores both in the same frame as the backtest's `bundled_independent` forecaster
(listed pending filings, one filed-stage row, independent, no arrivals) and per filing (timing only).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipecast.backtest.calibration import DAYS_PER_MONTH, Z90, lifelines_lognormal
from pipecast.backtest.fda import Filing, known_at
from pipecast.backtest.scores import auc, brier_score, summarise
from pipecast.domain import Phase
from pipecast.errors import InputError
from pipecast.rates import Duration, RateRow

#: Filings pending this long (months) start the tail's initial guess.
TAIL_START_MONTHS = 15.0


@dataclass(frozen=True)
class FiledFit:
    as_of: dt.date
    single: Duration
    mixture: Duration
    tail_weight: float
    priority_share: float
    filings: int
    pending: int


def _observations(view: Sequence[Filing], as_of: dt.date) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    days = np.array([max(((f.approval or as_of) - f.receipt).days, 1) for f in view], dtype=float)
    event = np.array([f.approval is not None for f in view], dtype=bool)
    priority = np.array([f.priority for f in view], dtype=bool)
    return days, event, priority


def _lognormal_terms(logs: np.ndarray, mu: float, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """(log density in log-days, log survival) of a lognormal at log-times `logs`."""
    from scipy import special

    z = (logs - mu) / sigma
    log_pdf = -0.5 * z * z - math.log(sigma) - logs - 0.5 * math.log(2 * math.pi)
    log_surv = special.log_ndtr(-z)
    return log_pdf, log_surv


def fit_mixture(
    days: np.ndarray, event: np.ndarray, priority: np.ndarray
) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float], float]:
    """((mu, sigma) of P, S, T in log-days, tau) by censored maximum likelihood."""
    from scipy import optimize

    if event.sum() < 10 or priority.all() or not priority.any():
        raise InputError("too few approved filings of each designation to fit a mixture", field="history",
                         expected="at least 10 approvals, priority and standard")
    logs = np.log(days)
    cut = math.log(TAIL_START_MONTHS * DAYS_PER_MONTH)

    def start_of(mask: np.ndarray, fallback: float) -> tuple[float, float]:
        values = logs[mask]
        if len(values) < 3:
            return fallback, -1.0
        return float(values.mean()), math.log(max(float(values.std()), 0.05))

    mp, lp = start_of(event & priority & (logs < cut), cut - 0.5)
    ms, ls = start_of(event & ~priority & (logs < cut), cut - 0.3)
    mt, lt = start_of(event & (logs >= cut), cut + 0.5)
    tau0 = min(max(float((event & (logs >= cut)).mean()), 0.02), 0.5)
    theta0 = np.array([mp, lp, ms, ls, math.log(max(mt - ms, 0.1)), lt, math.log(tau0 / (1 - tau0))])

    def unpack(theta: np.ndarray) -> tuple[float, float, float, float, float, float, float]:
        mu_p, sig_p, mu_s, sig_s = theta[0], math.exp(theta[1]), theta[2], math.exp(theta[3])
        mu_t, sig_t = theta[2] + math.exp(theta[4]), math.exp(theta[5])
        tau = 1.0 / (1.0 + math.exp(-theta[6]))
        return mu_p, sig_p, mu_s, sig_s, mu_t, sig_t, tau

    def negative_log_likelihood(theta: np.ndarray) -> float:
        mu_p, sig_p, mu_s, sig_s, mu_t, sig_t, tau = unpack(theta)
        if not 1e-4 < tau < 0.9999:
            return 1e300
        pdf_p, surv_p = _lognormal_terms(logs, mu_p, sig_p)
        pdf_s, surv_s = _lognormal_terms(logs, mu_s, sig_s)
        pdf_t, surv_t = _lognormal_terms(logs, mu_t, sig_t)
        own_pdf = np.where(priority, pdf_p, pdf_s)
        own_surv = np.where(priority, surv_p, surv_s)
        a = np.where(event, own_pdf, own_surv) + math.log(1 - tau)
        b = np.where(event, pdf_t, surv_t) + math.log(tau)
        return -float(np.logaddexp(a, b).sum())

    fit = optimize.minimize(negative_log_likelihood, theta0, method="Nelder-Mead",
                            options={"xatol": 1e-7, "fatol": 1e-9, "maxiter": 20000, "maxfev": 20000})
    mu_p, sig_p, mu_s, sig_s, mu_t, sig_t, tau = unpack(fit.x)
    return (mu_p, sig_p), (mu_s, sig_s), (mu_t, sig_t), tau


def _months(mu: float, sigma: float) -> tuple[float, float]:
    return math.exp(mu) / DAYS_PER_MONTH, math.exp(mu + Z90 * sigma) / DAYS_PER_MONTH


def fit_filed(filings: Sequence[Filing], as_of: dt.date, window_years: int = 10) -> FiledFit:
    """One lognormal and the P/S/T mixture of the filed stage, from what was known at `as_of`."""
    first = dt.date(as_of.year - window_years, as_of.month, min(as_of.day, 28))
    view = [f for f in known_at(filings, as_of) if f.receipt > first]
    days, event, priority = _observations(view, as_of)
    mu, sigma, _ = lifelines_lognormal(days, event)
    single = Duration(*_months(mu, sigma))
    p, s, t, tau = fit_mixture(days, event, priority)
    share = float(priority.mean())
    weights = [share * (1 - tau), (1 - share) * (1 - tau), tau]
    parts = [_months(*p), _months(*s), _months(*t)]
    mixture = Duration.mixture(weights, [m for m, _ in parts], [q for _, q in parts])
    return FiledFit(as_of, single, mixture, tau, share, len(view), int((~event).sum()))


def _timing(filings: Sequence[Filing], as_of: dt.date, duration: Duration, horizon_days: int = 365
            ) -> tuple[list[float], list[bool]]:
    truth = {(f.row, f.receipt): f.approval for f in filings}
    probabilities, outcomes = [], []
    for f in known_at(filings, as_of):
        if f.approval is not None:
            continue
        e = float((as_of - f.receipt).days)
        s_e, s_h = duration.survival_days(np.array([e, e + horizon_days]))
        probabilities.append(float((s_e - s_h) / s_e) if s_e > 0 else 1.0)
        approved = truth[(f.row, f.receipt)]
        outcomes.append(approved is not None and (approved - as_of).days <= horizon_days)
    return probabilities, outcomes


def shape_backtest(
    filings: Sequence[Filing], as_of_years: Sequence[int], p_success: float, window_years: int = 10
) -> dict[str, object]:
    """Scores of the one-lognormal and the mixture filed row, one year ahead, as of each Dec 31."""
    from pipecast.backtest.fda import approvals_per_year
    from pipecast.backtest.runner import bundled_independent_pmfs

    observed_by_year = approvals_per_year(filings)
    pmfs: dict[str, list[np.ndarray]] = {"single": [], "mixture": []}
    timing: dict[str, tuple[list[float], list[bool]]] = {"single": ([], []), "mixture": ([], [])}
    observed, fits = [], []
    for year in as_of_years:
        as_of = dt.date(year, 12, 31)
        fit = fit_filed(filings, as_of, window_years)
        fits.append(fit)
        observed.append(observed_by_year.get(year + 1, 0))
        for name, duration in (("single", fit.single), ("mixture", fit.mixture)):
            row = RateRow(Phase.FILED, p_success, duration)
            pmfs[name].append(bundled_independent_pmfs(filings, as_of, [year + 1], row)[0])
            probabilities, outcomes = _timing(filings, as_of, duration)
            timing[name][0].extend(probabilities)
            timing[name][1].extend(outcomes)
    out: dict[str, object] = {"as_of_years": list(as_of_years), "observed": observed, "fits": [
        {"as_of": f.as_of.isoformat(), "single": [f.single.median_months, f.single.p90_months],
         "mixture": [[w, c.median_months, c.p90_months] for w, c in f.mixture.components],
         "tail_weight": f.tail_weight, "priority_share": f.priority_share, "filings": f.filings,
         "pending": f.pending} for f in fits]}
    for name in ("single", "mixture"):
        summary = summarise([list(p) for p in pmfs[name]], observed)
        summary.pop("pit", None)
        probabilities, outcomes = timing[name]
        summary["timing_brier"] = brier_score(probabilities, outcomes)
        summary["timing_auc"] = auc(probabilities, outcomes)
        summary["expected"] = [float(np.dot(np.arange(len(p)), p)) for p in pmfs[name]]
        out[name] = summary
    return out
