"""The rNPV's distribution by seeded simulation of each candidate's path to approval and its peak sales.

Each path draws, as the forecast's model says, the rest of the current phase (its lognormal duration
conditioned on the time already spent), every later phase's duration, success or failure in each phase,
and the peak sales (lognormal). Development costs are spent evenly over the phases reached; sales follow
the economics' profile from the approval date. The mean of the paths estimates the analytic rNPV of
`value.rnpv` (a test checks it lies within a few standard errors); the spread gives P10/P50/P90.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pipecast.domain import Asset, Phase
from pipecast.rates import DAYS_PER_MONTH, Duration, RateSet
from pipecast.value.economics import Economics
from pipecast.value.rnpv import commercial_pv, sales_annuity
from pipecast.value.timing import DAYS_PER_YEAR, candidate_timeline

if TYPE_CHECKING:
    from pipecast.engines.montecarlo import Correlation


@dataclass(frozen=True)
class Distribution:
    """Summary of simulated values (millions): mean with its standard error, and percentiles."""

    mean: float
    standard_error: float
    p10: float
    p50: float
    p90: float
    paths: int
    seed: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            "mean": self.mean,
            "standard_error": self.standard_error,
            "p10": self.p10,
            "p50": self.p50,
            "p90": self.p90,
            "paths": self.paths,
            "seed": self.seed,
        }


def summarise(samples: np.ndarray, seed: int) -> Distribution:
    n = len(samples)
    p10, p50, p90 = (float(x) for x in np.percentile(samples, [10, 50, 90]))
    se = float(samples.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
    return Distribution(float(samples.mean()), se, p10, p50, p90, n, seed)


def _lognormal_days(duration: Duration, size: int, rng: np.random.Generator) -> np.ndarray:
    median = duration.median_months * DAYS_PER_MONTH
    if duration.sigma == 0:
        return np.full(size, median)
    return median * np.exp(duration.sigma * rng.standard_normal(size))


def _conditional_days(duration: Duration, elapsed: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Durations drawn given that they exceed `elapsed` days (inverse survival of a uniform)."""
    from scipy import special

    survival_now = float(duration.survival_days(np.array([float(elapsed)]))[0])
    median = duration.median_months * DAYS_PER_MONTH
    if duration.sigma == 0 or survival_now <= 0:
        return np.full(size, max(median, float(elapsed)))
    u = rng.random(size) * survival_now
    z = -special.ndtri(np.clip(u, 1e-300, 1.0))
    return np.asarray(np.maximum(median * np.exp(duration.sigma * z), float(elapsed)))


def _spread(delta: float, days: np.ndarray, per_day_total: np.ndarray) -> np.ndarray:
    """PV at the start of spending (days / per_day_total) of a cost evenly over `days`."""
    if delta == 0:
        return np.asarray(days / per_day_total)
    return np.asarray(-np.expm1(-delta * days) / (delta * per_day_total))


def simulate_candidate(
    asset: Asset, rates: RateSet, economics: Economics, as_of: dt.date, paths: int, rng: np.random.Generator,
    *, uniform: np.ndarray | None = None, review: np.ndarray | None = None,
) -> np.ndarray:
    """rNPV (millions) of one copy of the candidate on each path.

    `uniform` (one per path, from the correlated latent of `correlated_uniforms`): the candidate is still
    alive after a phase when it is below the product of the success probabilities so far (one uniform
    decides the whole path, as in the forecast's copula); None draws each phase's outcome independently.
    `review` multiplies the filed stage's duration on each path (the forecast's review-pace shock).
    """
    rate = economics.discount_rate
    delta = math.log1p(rate) / DAYS_PER_YEAR
    peaks = economics["peak_sales_median"] * np.exp(economics.peak_sigma * rng.standard_normal(paths))
    scale = peaks / economics.peak_mean if economics.peak_mean > 0 else np.zeros(paths)
    if not asset.phase.is_active:
        if asset.phase is Phase.APPROVED:
            # Sales already under way: only the peak is uncertain.
            return scale * commercial_pv(candidate_timeline(asset, rates, as_of, horizon_days=2), economics)
        return np.zeros(paths)
    rows = rates.profile(asset.phase, asset.therapeutic_area, asset.modality)
    elapsed = max((as_of - asset.phase_start).days, 0)
    whole = _conditional_days(rows[0].duration, elapsed, paths, rng)
    rest = whole - elapsed
    value = -economics.phase_cost(rows[0].phase.value) * _spread(delta, rest, whole)
    if review is not None and rows[0].phase is Phase.FILED:
        rest = rest * review
    cumulative = rows[0].p_success
    alive = rng.random(paths) < cumulative if uniform is None else uniform < cumulative
    clock = rest
    for row in rows[1:]:
        days = _lognormal_days(row.duration, paths, rng)
        if review is not None and row.phase is Phase.FILED:
            days = days * review
        cost = economics.phase_cost(row.phase.value)
        value -= np.where(alive, cost * np.exp(-delta * clock) * _spread(delta, days, days), 0.0)
        clock = clock + days
        cumulative *= row.p_success
        alive = alive & (rng.random(paths) < row.p_success) if uniform is None else uniform < cumulative
    annuity = sales_annuity(economics.sales_profile(), rate)
    value += np.where(alive, economics.operating_margin * peaks * np.exp(-delta * clock) * annuity, 0.0)
    return value


def simulate_portfolio(
    assets: Sequence[Asset],
    rates: RateSet,
    economics_for: Callable[[Asset], Economics],
    as_of: dt.date,
    *,
    paths: int,
    seed: int,
    correlation: Correlation | None = None,
) -> tuple[Distribution, dict[str, Distribution]]:
    """(distribution of the total rNPV, per-candidate distributions of one copy).

    Without `correlation` (or with no positive rho and no review shock) every candidate and cohort copy is
    independent. With it, the forecast's Monte Carlo factors apply: each group kind's rho is the share of a
    candidate's latent variance its group's factor carries (`pipecast.engines.montecarlo.Correlation`), and
    `review_sigma` draws a per-path multiplier of the filed stage's duration from the same equiprobable
    levels as the forecast. The marginal of each candidate is unchanged, so the mean rNPV is too (up to the
    review shock's effect on discounting).
    """
    rng = np.random.default_rng(seed)
    total = np.zeros(paths)
    per: dict[str, Distribution] = {}
    uniforms: dict[str, np.ndarray] = {}
    review: np.ndarray | None = None
    if correlation is not None and correlation.active_rho:
        uniforms = correlated_uniforms(assets, correlation.active_rho, paths, rng)
    if correlation is not None and correlation.review_sigma > 0:
        levels = correlation.levels()
        review = levels[rng.integers(0, len(levels), paths)]
    for asset in assets:
        economics = economics_for(asset)
        draws = simulate_candidate(
            asset, rates, economics, as_of, paths * asset.count, rng,
            uniform=uniforms.get(asset.id), review=None if review is None else np.tile(review, asset.count),
        )
        per[asset.id] = summarise(draws[:paths], seed)
        total += draws.reshape(asset.count, paths).sum(axis=0)
    return summarise(total, seed), per


def _group_value(asset: Asset, kind: str) -> str:
    return "all" if kind == "all" else str(getattr(asset, kind, "") or "")


def correlated_uniforms(
    assets: Sequence[Asset], rho: Mapping[str, float], paths: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Per candidate, `paths * count` uniforms Phi(sum_k sqrt(rho_k) Z_k,group + sqrt(1 - sum rho) e).

    Z_k,group is one standard normal per path shared by the candidates of a group (an empty group value is
    a group of its own, as in the forecast); e is each copy's own. Cohort copies repeat the path's factors.
    """
    from scipy import special

    residual = math.sqrt(max(1.0 - sum(rho.values()), 0.0))
    factors: dict[tuple[str, str], np.ndarray] = {}
    out: dict[str, np.ndarray] = {}
    for asset in assets:
        latent = np.zeros(paths)
        for kind, share in sorted(rho.items()):
            value = " ".join(_group_value(asset, kind).casefold().split()) or f"\x00{asset.id}"
            if (kind, value) not in factors:
                factors[kind, value] = rng.standard_normal(paths)
            latent = latent + math.sqrt(share) * factors[kind, value]
        tiled = np.tile(latent, asset.count) + residual * rng.standard_normal(paths * asset.count)
        out[asset.id] = np.asarray(special.ndtr(tiled))
    return out
