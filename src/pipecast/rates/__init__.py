"""Phase success probabilities and durations: the assumptions every forecast rests on."""

from pipecast.rates.rateset import (
    BUNDLED_RATE_SETS,
    Duration,
    RateRow,
    RateSet,
    bundled_rate_set,
    load_rate_set,
)

__all__ = [
    "BUNDLED_RATE_SETS",
    "Duration",
    "RateRow",
    "RateSet",
    "bundled_rate_set",
    "load_rate_set",
]
