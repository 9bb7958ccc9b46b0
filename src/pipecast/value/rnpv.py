"""Risk-adjusted NPV of a candidate: probability-weighted, discounted development costs and sales.

    rNPV = commercial - development
    development = sum over phases still to run of
                  P(reach phase) * cost * E[discount to phase start] * E[spread of the cost over the phase]
    commercial  = P(approval) * E[discount to approval] * margin * E[peak] * sum_n share_n * d((n - 1/2) years)

A phase's cost is spent evenly over the phase (the factor E[(1 - v**D) / (delta * D)], v = the daily
discount factor), whether the phase then succeeds or not; for the current phase only the rest is counted
(what was spent before the as-of date is sunk). Sales in launch year n arrive mid-year. Durations are
independent of each other and of success (the forecast's model), so each expectation factorises.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipecast.domain import Asset
from pipecast.rates import RateSet
from pipecast.value.economics import Economics
from pipecast.value.timing import DAYS_PER_YEAR, PhaseSpan, Timeline, candidate_timeline, discount_factors


def spread_factor(rate: float, days: np.ndarray) -> np.ndarray:
    """(1 - v**d) / (delta * d): the present value at its start of 1 spent evenly over d days (1 at d = 0)."""
    delta = math.log1p(rate) / DAYS_PER_YEAR
    d = np.asarray(days, dtype=float)
    out = np.ones_like(d)
    positive = d > 0
    if delta != 0:
        x = delta * d[positive]
        out[positive] = -np.expm1(-x) / x
    return out


def phase_cost_pv(span: PhaseSpan, cost: float, rate: float) -> float:
    """Expected present value (at the as-of date) of a phase's cost still to be spent."""
    if cost == 0:
        return 0.0
    if span.rest is not None:
        # Current phase: cost / D per day over the rest R = D - elapsed.
        r = np.arange(len(span.rest), dtype=float)
        total = r + span.elapsed_days
        delta = math.log1p(rate) / DAYS_PER_YEAR
        with np.errstate(divide="ignore", invalid="ignore"):
            if delta != 0:
                per_day = np.where(total > 0, -np.expm1(-delta * r) / (delta * np.maximum(total, 1)), 1.0)
            else:
                per_day = np.where(total > 0, r / np.maximum(total, 1), 1.0)
        return cost * float(np.dot(span.rest, per_day))
    start = span.start
    days = np.arange(len(span.duration), dtype=float)
    return (
        start.probability
        * cost
        * start.expected_discount(rate)
        * float(np.dot(span.duration, spread_factor(rate, days)))
    )


def sales_annuity(profile: Sequence[float], rate: float) -> float:
    """Present value at launch of sales shares `profile` (launch years 1, 2, ...), each mid-year."""
    years = np.arange(len(profile), dtype=float) + 0.5
    return float(np.dot(np.asarray(profile, dtype=float), discount_factors(rate, years * DAYS_PER_YEAR)))


@dataclass(frozen=True)
class CandidateValue:
    """The analytic rNPV of one candidate (per copy; `count` copies for a cohort), in millions."""

    asset_id: str
    name: str
    phase: str
    count: int
    p_approval: float
    expected_launch: dt.date | None
    development_pv: float
    commercial_pv: float
    currency: str

    @property
    def rnpv(self) -> float:
        return self.commercial_pv - self.development_pv

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.asset_id,
            "name": self.name,
            "phase": self.phase,
            "count": self.count,
            "p_approval": self.p_approval,
            "expected_launch": self.expected_launch.isoformat() if self.expected_launch else None,
            "development_pv": self.development_pv,
            "commercial_pv": self.commercial_pv,
            "rnpv": self.rnpv,
            "rnpv_total": self.rnpv * self.count,
        }


def development_pv(timeline: Timeline, economics: Economics) -> float:
    rate = economics.discount_rate
    return sum(phase_cost_pv(span, economics.phase_cost(span.phase.value), rate) for span in timeline.spans)


def commercial_pv(timeline: Timeline, economics: Economics) -> float:
    """Expected discounted after-tax operating cash flow from sales (0 once sales are over)."""
    rate = economics.discount_rate
    approval = timeline.approval
    if approval.probability == 0:
        return 0.0
    profile = economics.sales_profile()
    if approval.past_date is not None:
        # Approved already: launch year n pays at (n - 1/2) years after approval; only what is still ahead counts.
        years_done = (timeline.as_of - approval.past_date).days / DAYS_PER_YEAR
        when = np.arange(len(profile), dtype=float) + 0.5 - years_done
        ahead = when >= 0
        shares = np.asarray(profile, dtype=float)[ahead]
        annuity = float(np.dot(shares, discount_factors(rate, when[ahead] * DAYS_PER_YEAR)))
        return economics.operating_margin * economics.peak_mean * annuity
    return (
        approval.probability
        * approval.expected_discount(rate)
        * economics.operating_margin
        * economics.peak_mean
        * sales_annuity(profile, rate)
    )


def value_candidate(
    asset: Asset, rates: RateSet, economics: Economics, as_of: dt.date, timeline: Timeline | None = None
) -> CandidateValue:
    line = timeline or candidate_timeline(asset, rates, as_of)
    return CandidateValue(
        asset_id=asset.id,
        name=asset.name,
        phase=asset.phase.value,
        count=asset.count,
        p_approval=line.p_approval,
        expected_launch=line.approval.expected_date(as_of),
        development_pv=development_pv(line, economics),
        commercial_pv=commercial_pv(line, economics),
        currency=economics.currency,
    )
