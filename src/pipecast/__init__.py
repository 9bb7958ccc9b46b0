"""pipecast: a region's innovative-drug pipeline, and what it will deliver, with honest uncertainty.

    >>> import pipecast
    >>> result = pipecast.forecast(assets="ASSETS.csv", rates="global", as_of="2025-11-01")  # doctest: +SKIP
"""

from pipecast.domain import Asset, Organisation, Phase, PhaseEvent, Portfolio, Source, parse_phase
from pipecast.errors import InputError, PipecastError
from pipecast.facade import forecast
from pipecast.targets import Target, parse_target

__version__ = "0.1.0"

__all__ = [
    "Asset",
    "InputError",
    "Organisation",
    "Phase",
    "PhaseEvent",
    "PipecastError",
    "Portfolio",
    "Source",
    "Target",
    "__version__",
    "forecast",
    "parse_phase",
    "parse_target",
]
