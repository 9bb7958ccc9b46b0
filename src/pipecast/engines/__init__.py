"""Forecast engines (pure): exact under independence, Monte Carlo where candidates move together."""

from pipecast.engines.exact import candidate_year_matrix, forecast_portfolio
from pipecast.engines.poibin import poisson_binomial
from pipecast.engines.result import Forecast, TargetCheck, YearOutlook

__all__ = [
    "Forecast",
    "TargetCheck",
    "YearOutlook",
    "candidate_year_matrix",
    "forecast_portfolio",
    "poisson_binomial",
]

