"""The one place that reads today's date.

Shell code calls `today()` and passes the date down; core functions take dates as parameters. Tests pin
the date with the environment variable PIPECAST_TODAY (an ISO date, declared in the settings table) or by
monkeypatching `pipecast.clock.today`.
"""

from __future__ import annotations

import datetime as dt
import os

#: Environment variable that pins today's date (the "today" row of pipecast.settings.SETTINGS).
TODAY_ENV = "PIPECAST_TODAY"


def today() -> dt.date:
    """Today's date, or the date PIPECAST_TODAY pins (YYYY-MM-DD)."""
    pinned = os.environ.get(TODAY_ENV, "").strip()
    if pinned:
        try:
            return dt.date.fromisoformat(pinned)
        except ValueError:
            from pipecast.errors import InputError

            raise InputError(
                f"{pinned!r} is not a date", field=TODAY_ENV, expected="an ISO date such as 2026-12-01"
            ) from None
    return dt.date.today()  # noqa: DTZ011 - the program's one reading of the local date
