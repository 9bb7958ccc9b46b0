"""The one place that reads the clock: today's date, and the time of day for record timestamps.

Shell code calls `today()` and passes the date down; core functions take dates as parameters. Tests pin
the date with the environment variable PIPECAST_TODAY (an ISO date; the "today" row of the settings table)
or by monkeypatching `pipecast.clock.today`.
"""

from __future__ import annotations

import datetime as dt

from pipecast.settings import date_value


def today() -> dt.date:
    """Today's date, or the date PIPECAST_TODAY pins (YYYY-MM-DD)."""
    pinned = date_value("today")
    if pinned is not None:
        return pinned
    return dt.date.today()  # noqa: DTZ011 - the program's one reading of the local date


def now() -> dt.datetime:
    """The current time in UTC, for "recorded at" timestamps (audit rows, jobs, imports)."""
    return dt.datetime.now(dt.UTC)
