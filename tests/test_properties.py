"""Properties that must hold for any input, checked with Hypothesis (fixed derandomised runs)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipecast.domain import Phase, parse_phase
from pipecast.engines import poisson_binomial
from pipecast.engines.joint import probability_all_years_in_band
from pipecast.errors import UnknownPhaseError
from pipecast.rates import Duration
from pipecast.tabular import parse_date

probabilities = st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=150)
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True)


@SETTINGS
@given(probabilities)
def test_poisson_binomial_is_a_distribution_with_the_right_mean_and_variance(p: list[float]) -> None:
    arr = np.array(p)
    pmf = poisson_binomial(arr)
    k = np.arange(len(pmf))
    assert np.all(pmf >= 0)
    assert abs(pmf.sum() - 1) < 1e-9
    assert abs((k * pmf).sum() - arr.sum()) < 1e-7
    variance = (k**2 * pmf).sum() - (k * pmf).sum() ** 2
    assert abs(variance - (arr * (1 - arr)).sum()) < 1e-6


@SETTINGS
@given(st.lists(st.lists(st.floats(0.0, 0.3, allow_nan=False), min_size=3, max_size=3), min_size=1, max_size=12),
       st.integers(0, 2), st.integers(0, 3))
def test_joint_probability_never_exceeds_any_single_year(rows: list[list[float]], low: int, width: int) -> None:
    probs = np.array(rows)
    counts = np.ones(len(rows), dtype=int)
    high = low + width
    joint = probability_all_years_in_band(probs, counts, low, high)
    for year in range(3):
        pmf = poisson_binomial(probs[:, year])
        single = pmf[low : high + 1].sum()
        assert joint <= single + 1e-9
    assert probability_all_years_in_band(probs, counts, low, None) + 1e-12 >= joint


@SETTINGS
@given(st.text(max_size=20), st.sampled_from(["", " ", "  \t"]))
def test_parse_phase_ignores_case_and_surrounding_space(text: str, pad: str) -> None:
    """Same answer (or the same refusal) for any spelling that differs only in case and outer spaces."""
    def outcome(value: str) -> Phase | None:
        try:
            return parse_phase(value)
        except UnknownPhaseError:
            return None

    assert outcome(text) == outcome(pad + text.upper() + pad) or text.upper().lower() != text.lower()
    phase = outcome(text)
    if phase is not None:
        assert parse_phase(phase.value) is phase  # the canonical spelling maps back to itself


@pytest.mark.parametrize(
    ("text", "phase"),
    [("Phase I", Phase.PHASE1), ("phase 2/3", Phase.PHASE3), ("II期", Phase.PHASE2), ("NDA", Phase.FILED)],
)
def test_parse_phase_known_spellings(text: str, phase: Phase) -> None:
    assert parse_phase(text) is phase


def test_parse_phase_refuses_what_is_not_a_phase() -> None:
    for text in ("", "banana", "phase 7"):
        with pytest.raises(UnknownPhaseError):
            parse_phase(text)


@SETTINGS
@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_dates_round_trip_in_every_accepted_spelling(day: dt.date) -> None:
    for text in (day.isoformat(), f"{day.year}/{day.month}/{day.day}", f"{day.year}年{day.month}月{day.day}日"):
        assert parse_date(text) == day


@SETTINGS
@given(st.floats(0.5, 120), st.floats(1.01, 4.0))
def test_lognormal_duration_honours_its_median_and_90th_percentile(median: float, ratio: float) -> None:
    duration = Duration(median, median * ratio)
    days = 365.25 / 12
    assert abs(duration.survival_days(np.array([median * days]))[0] - 0.5) < 1e-9
    assert abs(duration.survival_days(np.array([median * ratio * days]))[0] - 0.1) < 1e-9
