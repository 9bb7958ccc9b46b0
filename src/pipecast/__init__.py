"""pipecast: a region's innovative-drug pipeline, and what it will deliver, with honest uncertainty.

    >>> import pipecast
    >>> result = pipecast.forecast(assets="ASSETS.csv", rates="global", as_of="2025-11-01")  # doctest: +SKIP

`pipecast.forecast` is a plain function (pipecast.facade.forecast); it and the other names below are
imported when first used, so that `import pipecast` (and the command line's start) stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "Asset": "pipecast.domain",
    "Organisation": "pipecast.domain",
    "Phase": "pipecast.domain",
    "PhaseEvent": "pipecast.domain",
    "Portfolio": "pipecast.domain",
    "Source": "pipecast.domain",
    "parse_phase": "pipecast.domain",
    "InputError": "pipecast.errors",
    "PipecastError": "pipecast.errors",
    "forecast": "pipecast.facade",
    "Target": "pipecast.targets",
    "parse_target": "pipecast.targets",
}

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

if TYPE_CHECKING:
    from pipecast.domain import Asset, Organisation, Phase, PhaseEvent, Portfolio, Source, parse_phase
    from pipecast.errors import InputError, PipecastError
    from pipecast.facade import forecast
    from pipecast.targets import Target, parse_target


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipecast' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
