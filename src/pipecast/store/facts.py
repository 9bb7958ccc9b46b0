"""facts.csv: dated, sourced figures, with published dates as loose as "2025-11" or "before 2024-08-20"."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

from pipecast import clock
from pipecast.domain import Source
from pipecast.errors import InputError
from pipecast.store.records import Fact
from pipecast.tabular import EARLIEST_PLAUSIBLE_DATE, parse_date, read_table

FACT_COLUMNS = ("entity", "field", "value")
FACT_DATE_COLUMNS = ("as_of", "as_of_date", "date")
FACT_OPTIONAL = (*FACT_DATE_COLUMNS, "unit", "source_title", "source_url", "source_date", "note")

_LOOSE_DATE = re.compile(
    r"(?<!\d)(\d{4})(?:\s*[-/.年]\s*(\d{1,2})(?!\d)(?:\s*[-/.月]\s*(\d{1,2})(?!\d)\s*日?)?\s*月?)?(?!\d)"
)


def parse_fact_date(text: str, *, today: dt.date | None = None) -> tuple[dt.date | None, str]:
    """A published date, exact or loose, as (latest day it can mean, wording kept if loose).

    "2024-08-20" -> that day; "2025-11" -> 2025-11-30; "2024" -> 2024-12-31; "before 2024-08-20" ->
    2024-08-20; "c.2020-2021" -> 2021-12-31 (the last date named wins); "unknown" or "" -> None.
    A loose date's end is capped at `today`. Raises ValueError for text with digits but no usable date.
    """
    today = today or clock.today()
    text = text.strip()
    if not text:
        return None, ""
    try:
        return parse_date(text), ""
    except ValueError:
        pass
    matches = list(_LOOSE_DATE.finditer(text))
    if not matches:
        if any(ch.isdigit() for ch in text):
            raise ValueError(text)
        return None, text
    year_text, month_text, day_text = matches[-1].groups()
    year = int(year_text)
    if day_text:
        when = dt.date(year, int(month_text), int(day_text))
    elif month_text:
        month = int(month_text)
        if not 1 <= month <= 12:
            raise ValueError(text)
        when = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    else:
        when = dt.date(year, 12, 31)
    if not day_text and when > today and dt.date(year, int(month_text or 1), 1) <= today:
        when = today  # a period that has begun: known by today at the latest
    return when, text


def load_facts(path: str | os.PathLike[str], *, today: dt.date | None = None) -> list[Fact]:
    """Read facts.csv/.xlsx: `entity,field,value,as_of[,unit,source_title,source_url,source_date,note]`.

    The date column may also be called `as_of_date` or `date`, and may be loose (see `parse_fact_date`).
    """
    today = today or clock.today()
    rows = read_table(Path(path), FACT_COLUMNS, FACT_OPTIONAL)
    facts = []
    for row in rows:
        date_column = next((c for c in FACT_DATE_COLUMNS if c in row.values), "")
        if not date_column:
            raise InputError("missing column(s) as_of", file=row.file, row=1,
                             expected="a header with " + ", ".join(FACT_COLUMNS) + ", as_of")
        raw = row.get(date_column)
        try:
            when, wording = parse_fact_date(raw, today=today)
        except ValueError:
            raise row.error(date_column, f"{raw!r} is not a date",
                            "a date such as 2024-08-20, 2024-08 or 2024, or a word such as 'unknown'") from None
        if when is not None and when < EARLIEST_PLAUSIBLE_DATE:
            raise row.error(date_column, f"{when} is before {EARLIEST_PLAUSIBLE_DATE}", "a plausible date")
        if when is not None and when > today:
            raise row.error(date_column, f"{when} is in the future (after {today})", f"a date on or before {today}")
        title, url = row.get("source_title"), row.get("source_url")
        source = Source(title or url, url, row.date("source_date", not_after=today, required=False)) \
            if (title or url) else None
        facts.append(Fact(
            entity=row.required("entity", "what the figure is about, e.g. a company or 'Chongqing'"),
            field=row.required("field", "what is measured, e.g. clinical_trials or funding_cny"),
            value=row.required("value", "the figure"),
            as_of=when,
            unit=row.get("unit"),
            source=source,
            note=row.get("note"),
            as_of_text=wording,
        ))
    return facts
