"""Backtests (pure): scores for count forecasts, naive baselines, and the FDA filed-stage model."""

from pipecast.backtest.baselines import (
    negative_binomial_history,
    negative_binomial_pmf,
    poisson_last_year,
    poisson_pmf,
)
from pipecast.backtest.scores import (
    Coverage,
    auc,
    bias,
    brier_score,
    central_interval,
    coverage,
    expected_value,
    log_score,
    randomised_pit,
    randomised_pits,
    ranked_probability_score,
    summarise,
    wilson_interval,
)

__all__ = [
    "Coverage",
    "auc",
    "bias",
    "brier_score",
    "central_interval",
    "coverage",
    "expected_value",
    "log_score",
    "negative_binomial_history",
    "negative_binomial_pmf",
    "poisson_last_year",
    "poisson_pmf",
    "randomised_pit",
    "randomised_pits",
    "ranked_probability_score",
    "summarise",
    "wilson_interval",
]
