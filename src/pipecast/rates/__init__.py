"""Phase success probabilities and durations: the assumptions every forecast rests on (no file reading:
rate files and the bundled tables are read by `pipecast.loading.rates`)."""

from pipecast.rates.rateset import BUNDLED_RATE_SETS, DAYS_PER_MONTH, Duration, RateRow, RateSet

__all__ = [
    "BUNDLED_RATE_SETS",
    "DAYS_PER_MONTH",
    "Duration",
    "RateRow",
    "RateSet",
]
