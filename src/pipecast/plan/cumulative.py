"""The cumulative target, exactly: "10 innovative drugs approved in total by 2027".

The total on the deadline is the approvals already on record (certain) plus, for each candidate still in
the pipeline, a Bernoulli variable: approved by the deadline or not, with probability the sum of its
per-year approval probabilities up to the deadline's year (a candidate is approved at most once, so the
years are disjoint events). The candidates are independent, so the number of further approvals is
Poisson-binomial; P(target met) = P(further >= need - on record), summed from its exact pmf.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipecast.domain import Asset, Phase, Portfolio
from pipecast.engines.exact import candidate_year_matrix
from pipecast.engines.poibin import poisson_binomial
from pipecast.rates import RateSet


@dataclass(frozen=True)
class CumulativeOutlook:
    """The distribution of the total on the deadline: on_record + K, with pmf[k] = P(K = k)."""

    on_record: int
    need: int
    pmf: np.ndarray
    deadline: dt.date

    @property
    def expected_more(self) -> float:
        return float((np.arange(len(self.pmf)) * self.pmf).sum())

    @property
    def expected_total(self) -> float:
        return self.on_record + self.expected_more

    @property
    def p_met(self) -> float:
        """P(on_record + K >= need)."""
        more = self.need - self.on_record
        if more <= 0:
            return 1.0
        if more >= len(self.pmf):
            return 0.0
        return float(min(self.pmf[more:].sum(), 1.0))

    def quantile(self, q: float) -> int:
        """The total's q-quantile."""
        return self.on_record + int(np.searchsorted(np.cumsum(self.pmf), q - 1e-12))


def outlook_from_probabilities(
    p_by_deadline: Sequence[float] | np.ndarray,
    counts: Sequence[int] | np.ndarray | None,
    on_record: int,
    need: int,
    deadline: dt.date,
) -> CumulativeOutlook:
    """The exact outlook for independent candidates with P(approved by the deadline) = p (cohorts: counts)."""
    p = np.clip(np.asarray(p_by_deadline, dtype=float), 0.0, 1.0)
    if len(p) == 0:
        return CumulativeOutlook(on_record, need, np.ones(1), deadline)
    n = None if counts is None else np.asarray(counts, dtype=np.int64)
    return CumulativeOutlook(on_record, need, poisson_binomial(p, n), deadline)


def approvals_on_record(assets: Sequence[Asset], as_of: dt.date, counted_from: dt.date | None) -> list[Asset]:
    """Candidates known on `as_of` to be approved on or after `counted_from` (None: ever) and by `as_of`."""
    found = []
    for asset in assets:
        view = asset.as_of(as_of)
        if view is None or view.phase is not Phase.APPROVED:
            continue
        approved = view.approval_date or view.phase_start
        if approved <= as_of and (counted_from is None or approved >= counted_from):
            found.append(view)
    return found


def approval_by_deadline(
    assets: Sequence[Asset], rates: RateSet, as_of: dt.date, deadline: dt.date
) -> tuple[list[Asset], np.ndarray]:
    """The candidates still in the pipeline on `as_of` and each one's P(approved by the deadline year's end)."""
    portfolio = Portfolio.of(assets, as_of)
    pipeline = [a for a in portfolio.assets if a.phase.is_active]
    if not pipeline or deadline < as_of:
        return pipeline, np.zeros(len(pipeline))
    years = list(range(as_of.year, deadline.year + 1))
    probabilities, _ = candidate_year_matrix(pipeline, rates, as_of, years)
    return pipeline, probabilities.sum(axis=1)


def cumulative_outlook(
    assets: Sequence[Asset],
    rates: RateSet,
    as_of: dt.date,
    deadline: dt.date,
    need: int,
    counted_from: dt.date | None = None,
) -> tuple[CumulativeOutlook, list[Asset]]:
    """P(at least `need` approved in total by `deadline`) as known on `as_of`, and the approvals on record."""
    record = approvals_on_record(assets, as_of, counted_from)
    on_record = sum(a.count for a in record)
    pipeline, p = approval_by_deadline(assets, rates, as_of, deadline)
    counts = np.array([a.count for a in pipeline], dtype=np.int64)
    return outlook_from_probabilities(p, counts, on_record, need, deadline), record
