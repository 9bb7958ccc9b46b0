"""Licensing deals: the headline against the risk-adjusted value to licensor and licensee.

A payment's present value is its amount times the probability that its event happens, discounted to the
as-of date at (1 + r) ** -(days / 365.25) over the event's timing distribution (`value.timing`). An
upfront or milestone whose event happened on or before the as-of date counts at face value and is shown
as paid. The headline is the undiscounted sum of the upfront and every milestone amount (sales
milestones included, royalties not). The licensor's value is the sum of the payments' present values
plus the royalties'; the licensee's is the asset's rNPV (`value.rnpv`, the licensee bearing development
costs and earning the sales) minus the licensor's value, so the two add up to the asset's rNPV.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from pipecast.domain import PIPELINE_PHASES, Asset, Phase
from pipecast.errors import InputError
from pipecast.rates import RateSet
from pipecast.value.economics import Economics, check_discount_rate, normalise_currency
from pipecast.value.rnpv import value_candidate
from pipecast.value.sales import PeakSales, RoyaltyTier, expected_royalty, first_year_above
from pipecast.value.timing import DAYS_PER_YEAR, EventTiming, Timeline, candidate_timeline, discount_factors

#: Milestone events: a phase (paid on entering it), `approved`, or `sales` (first year net sales above X).
MILESTONE_EVENTS = (*(p.value for p in PIPELINE_PHASES if p is not Phase.PRECLINICAL), "approved", "sales")


@dataclass(frozen=True, slots=True)
class Milestone:
    event: str
    amount: float
    above: float | None = None  # for a sales milestone: the annual net sales to exceed


@dataclass(frozen=True)
class Deal:
    """A licence of `candidate` to `licensee` signed on `date`; amounts in millions of `currency`."""

    candidate: str
    currency: str
    date: dt.date
    upfront: float = 0.0
    milestones: tuple[Milestone, ...] = ()
    royalties: tuple[RoyaltyTier, ...] = ()
    licensee: str = ""
    discount_rate: float | None = None
    economics: Mapping[str, float] = field(default_factory=dict)
    origin: str = ""

    def __post_init__(self) -> None:
        validate_deal(self)

    @property
    def headline(self) -> float:
        return self.upfront + sum(m.amount for m in self.milestones)


def _bad(deal: Deal, key: str, message: str, expected: str) -> InputError:
    return InputError(f"key {key}: {message}", file=deal.origin, expected=expected)


def validate_deal(deal: Deal) -> None:
    """One-line errors naming the key: negative amounts, tiers out of order, a missing currency, a bad rate."""
    if not deal.currency.strip():
        raise _bad(deal, "currency", "missing", "a currency code such as USD or CNY (amounts are in millions)")
    if not deal.candidate.strip():
        raise _bad(deal, "candidate", "missing", "the id of a candidate in the assets file or the store")
    _non_negative(deal, "upfront", deal.upfront)
    for i, milestone in enumerate(deal.milestones):
        key = f"milestones[{i}]"
        if milestone.event not in MILESTONE_EVENTS:
            raise _bad(
                deal, f"{key}.event", f"unknown event {milestone.event!r}", "one of " + ", ".join(MILESTONE_EVENTS)
            )
        _non_negative(deal, f"{key}.amount", milestone.amount)
        if milestone.event == "sales":
            if milestone.above is None:
                raise _bad(deal, f"{key}.above", "missing", "the annual net sales a sales milestone needs exceeded")
            _non_negative(deal, f"{key}.above", milestone.above)
    previous: float | None = None
    for i, tier in enumerate(deal.royalties):
        key = f"royalties[{i}]"
        _non_negative(deal, f"{key}.above", tier.above)
        if not 0 <= tier.rate <= 1:
            raise _bad(deal, f"{key}.rate", f"{tier.rate:g} is out of range", "a royalty rate from 0 to 1, e.g. 0.05")
        if previous is not None and tier.above <= previous:
            raise _bad(
                deal,
                f"{key}.above",
                f"tier starts at {tier.above:g}, not above the previous tier's {previous:g} "
                "(tiers overlap or do not ascend)",
                "tiers in ascending order of `above`, each starting above the one before",
            )
        previous = tier.above
    if deal.discount_rate is not None:
        check_discount_rate(deal.discount_rate, deal.origin)


def _non_negative(deal: Deal, key: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise _bad(
            deal, key, f"{value:g} is negative" if value < 0 else f"{value} is not a number", "an amount of 0 or more"
        )


@dataclass(frozen=True, slots=True)
class Payment:
    kind: str  # upfront, milestone, sales_milestone, royalties
    event: str
    amount: float | None
    probability: float
    expected_date: dt.date | None
    present_value: float
    paid: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "event": self.event,
            "amount": self.amount,
            "probability": self.probability,
            "expected_date": self.expected_date.isoformat() if self.expected_date else None,
            "present_value": self.present_value,
            "paid": self.paid,
        }


@dataclass(frozen=True)
class DealValue:
    deal: Deal
    as_of: dt.date
    payments: tuple[Payment, ...]
    asset_rnpv: float
    discount_rate: float
    p_approval: float

    @property
    def licensor(self) -> float:
        return sum(p.present_value for p in self.payments)

    @property
    def licensee(self) -> float:
        return self.asset_rnpv - self.licensor

    def as_dict(self) -> dict[str, object]:
        return {
            "candidate": self.deal.candidate,
            "licensee_name": self.deal.licensee,
            "date": self.deal.date.isoformat(),
            "as_of": self.as_of.isoformat(),
            "headline": self.deal.headline,
            "currency": normalise_currency(self.deal.currency),
            "risk_adjusted": {"licensor": self.licensor, "licensee": self.licensee},
            "asset_rnpv": self.asset_rnpv,
            "discount_rate": self.discount_rate,
            "p_approval": self.p_approval,
            "payments": [p.as_dict() for p in self.payments],
        }


def _phase_payment(milestone: Milestone, timing: EventTiming, rate: float, as_of: dt.date) -> Payment:
    if timing.is_past:
        return Payment("milestone", milestone.event, milestone.amount, 1.0, timing.past_date, milestone.amount, True)
    pv = milestone.amount * timing.probability * timing.expected_discount(rate)
    return Payment("milestone", milestone.event, milestone.amount, timing.probability, timing.expected_date(as_of), pv)


def _launch_years(timeline: Timeline, n_years: int) -> tuple[np.ndarray, float]:
    """(years from the as-of date to the start of each launch year given approval, weight).

    weight = P(approval) * E[discount to approval] is applied separately; for a past approval it is 1 and
    the years are shifted back by the time since approval."""
    starts = np.arange(n_years, dtype=float)
    approval = timeline.approval
    if approval.past_date is not None:
        return starts - (timeline.as_of - approval.past_date).days / DAYS_PER_YEAR, 1.0
    return starts, approval.probability


def _sales_milestone(
    milestone: Milestone, timeline: Timeline, peak: PeakSales, profile: Sequence[float], rate: float
) -> Payment:
    """Paid at the end of the first launch year whose net sales exceed `above`."""
    approval = timeline.approval
    above = milestone.above or 0.0
    by_year = np.asarray(first_year_above(peak, profile, above))
    starts, weight = _launch_years(timeline, len(profile))
    ends = starts + 1.0
    ahead = ends >= 0
    by_year = np.where(ahead, by_year, 0.0)
    p_hit = float(by_year.sum())
    probability = weight * p_hit
    discount_at_approval = approval.expected_discount(rate)
    pv = (
        milestone.amount
        * weight
        * discount_at_approval
        * float(np.dot(by_year, discount_factors(rate, ends * DAYS_PER_YEAR)))
    )
    expected = None
    if probability > 0:
        mean_years = float(np.dot(by_year, ends)) / p_hit
        if approval.is_past:  # `ends` already count from the as-of date
            expected = timeline.as_of + dt.timedelta(days=round(mean_years * DAYS_PER_YEAR))
        else:
            expected = approval.expected_date(timeline.as_of, mean_years * DAYS_PER_YEAR)
    event = f"first year net sales above {above:g}"
    return Payment("sales_milestone", event, milestone.amount, probability, expected, pv)


def _royalties(
    tiers: Sequence[RoyaltyTier], timeline: Timeline, peak: PeakSales, profile: Sequence[float], rate: float
) -> Payment:
    starts, weight = _launch_years(timeline, len(profile))
    mids = starts + 0.5
    ahead = mids >= 0
    expected = np.array([expected_royalty(peak, share, tiers) for share in profile])
    expected = np.where(ahead, expected, 0.0)
    approval = timeline.approval
    pv = (
        weight
        * approval.expected_discount(rate)
        * float(np.dot(expected, discount_factors(rate, mids * DAYS_PER_YEAR)))
    )
    band = ", ".join(f"{t.rate:.3g} above {t.above:g}" for t in tiers)
    return Payment(
        "royalties",
        f"tiered royalties on annual net sales ({band})",
        None,
        weight,
        approval.expected_date(timeline.as_of),
        pv,
    )


def value_deal(deal: Deal, asset: Asset, rates: RateSet, economics: Economics, as_of: dt.date) -> DealValue:
    """Every payment's probability, expected date and present value, and the two sides' risk-adjusted values.

    `economics` is the candidate's, in the deal's currency; the deal's own discount rate and economics
    overrides are applied here."""
    overrides = dict(deal.economics)
    if deal.discount_rate is not None:
        overrides["discount_rate"] = deal.discount_rate
    econ = economics.with_overrides(overrides, deal.origin or "deal") if overrides else economics
    rate = econ.discount_rate
    timeline = candidate_timeline(asset, rates, as_of)
    payments: list[Payment] = []
    if deal.upfront or not deal.milestones:
        if deal.date <= as_of:
            payments.append(Payment("upfront", "signing", deal.upfront, 1.0, deal.date, deal.upfront, True))
        else:
            factor = float(discount_factors(rate, np.array([(deal.date - as_of).days]))[0])
            payments.append(Payment("upfront", "signing", deal.upfront, 1.0, deal.date, deal.upfront * factor))
    peak = PeakSales(econ["peak_sales_median"], econ.peak_sigma)
    profile = econ.sales_profile()
    for milestone in deal.milestones:
        if milestone.event == "sales":
            payments.append(_sales_milestone(milestone, timeline, peak, profile, rate))
        else:
            timing = timeline.entries[Phase(milestone.event)]
            payments.append(_phase_payment(milestone, timing, rate, as_of))
    if deal.royalties:
        payments.append(_royalties(deal.royalties, timeline, peak, profile, rate))
    asset_value = value_candidate(asset, rates, econ, as_of, timeline)
    return DealValue(deal, as_of, tuple(payments), asset_value.rnpv, rate, timeline.p_approval)
