"""Forecast engines: exact under independence, Monte Carlo where candidates move together."""

from pipecast.forecast.exact import candidate_year_matrix, forecast_portfolio
from pipecast.forecast.poibin import poisson_binomial
from pipecast.forecast.result import Forecast, TargetCheck, YearOutlook

__all__ = [
    "Forecast",
    "TargetCheck",
    "YearOutlook",
    "candidate_year_matrix",
    "forecast_portfolio",
    "poisson_binomial",
]


def _install_call() -> None:
    """Make `pipecast.forecast(...)` one call while `pipecast.forecast` stays the engines' package."""
    import sys
    import types

    class _CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            from pipecast.facade import forecast

            return forecast(*args, **kwargs)

    sys.modules[__name__].__class__ = _CallableModule


_install_call()
