"""Read the China backtest's inputs: trial registrations (a CTR list export) and approvals per year.

Registrations go through pipecast's CTR importer (`pipecast.ingest.ctr.read_ctr`); each is dated
from its CTR number (see `pipecast.backtest.china.registration_dates`). Approvals per year come
either in the shape of the shared China facts table (`metric, period, value`: the rows with metric
`innovative_drug_approvals` and a four-digit period) or as a plain `year, value` table with one
row per year.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

from pipecast.backtest.china import Registration, registration_dates
from pipecast.errors import InputError
from pipecast.rates import RateSet

APPROVAL_METRIC = "innovative_drug_approvals"


def load_registrations(path: str | Path, *, today: dt.date) -> tuple[list[Registration], dt.date]:
    """(registrations with a CTR number, the date of the last one): the registry list as of its last entry."""
    from pipecast.ingest.ctr import read_ctr

    result = read_ctr(path, today=today)
    records = [r for r in result.records if r.drug_names]
    if not records:
        raise InputError("no registrations with a drug name", file=str(path),
                         expected="a CTR list export with 登记号/ctr_id and 药物名称/drug_name columns")
    ids = [r.trial_id for r in records]
    # The year of the last CTR number ends where its numbering stops: date that year's ids over the year so far,
    # taking its end as the year's fraction numbered, i.e. the registry's last listed date.
    last_year = max((int(i[3:7]) for i in ids if i[:3].upper() == "CTR" and i[3:7].isdigit()), default=0)
    if not last_year:
        raise InputError("no CTR registration numbers", file=str(path), field="登记号",
                         expected="ids such as CTR20181423")
    registry_end = _registry_end(path, last_year)
    dates = registration_dates(ids, registry_end)
    out = [
        Registration(r.trial_id, dates[r.trial_id], r.drug_names[0], r.phase_text, r.title)
        for r in records if r.trial_id in dates
    ]
    return out, registry_end


def _registry_end(path: str | Path, last_year: int) -> dt.date:
    """The list's last date: from its SOURCE.txt "(YYYY-MM-DD" commit note if present, else Dec 31 of its last year."""
    source = Path(path).with_name("SOURCE.txt")
    if source.is_file():
        text = source.read_text(encoding="utf-8", errors="replace")
        match = re.search(r"Commit:\s*\w+\s*\((\d{4}-\d{2}-\d{2})", text)
        if match:
            when = dt.date.fromisoformat(match.group(1))
            if when.year == last_year:
                return when
    return dt.date(last_year, 12, 31)


def load_approval_counts(path: str | Path) -> dict[int, int]:
    """{year: approvals}; one line per error naming file, row and field."""
    name = str(path)
    file = Path(path)
    if not file.is_file():
        raise InputError("file not found", file=name, expected="a CSV of approvals per year")
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"not a readable CSV ({exc.__class__.__name__})", file=name, expected="a UTF-8 CSV") from None
    if not rows:
        raise InputError("file has no data rows", file=name, expected="one row per year")
    header = set(rows[0])
    counts: dict[int, int] = {}
    if "metric" in header:
        wanted = [(n, r.get("period", ""), r.get("value", "")) for n, r in enumerate(rows, start=2)
                  if (r.get("metric") or "").strip() == APPROVAL_METRIC and (r.get("period") or "").strip().isdigit()]
        year_field = "period"
    elif {"year", "value"} <= header:
        wanted = [(n, r.get("year", ""), r.get("value", "")) for n, r in enumerate(rows, start=2)]
        year_field = "year"
    else:
        raise InputError("missing columns", file=name, row=1,
                         expected="year,value (one row per year) or metric,period,value (shared China facts)")
    for number, year_text, value_text in wanted:
        year_text, value_text = (year_text or "").strip(), (value_text or "").strip()
        if not (year_text.isdigit() and len(year_text) == 4):
            raise InputError(f"{year_text!r} is not a year", file=name, row=number, field=year_field,
                             expected="a four-digit year (rows mixing definitions need a file of one series)")
        if not value_text.isdigit():
            raise InputError(f"{value_text!r} is not a count", file=name, row=number, field="value",
                             expected="a whole number of approvals")
        year = int(year_text)
        if year in counts:
            raise InputError(f"a second count for {year}", file=name, row=number, field=year_field,
                             expected="one row per year (one definition of 'innovative')")
        counts[year] = int(value_text)
    if not counts:
        raise InputError(f"no rows with metric {APPROVAL_METRIC!r} and a year", file=name, field="metric",
                         expected=f"rows with metric {APPROVAL_METRIC} and a four-digit period")
    return counts


def rate_sets_option(text: str, option: str = "--rates") -> dict[str, RateSet]:
    """Rate sets named in a comma list: bundled names, `china_calibrated` (shipped with pipecast) or rate files."""
    from pipecast.loading.rates import bundled_rate_set, load_rate_set
    from pipecast.rates.rateset import BUNDLED_RATE_SETS

    out: dict[str, RateSet] = {}
    for raw in text.split(","):
        name = raw.strip()
        if not name:
            continue
        if name in BUNDLED_RATE_SETS:
            out[name] = bundled_rate_set(name)
        elif name == CHINA_CALIBRATED:
            out[name] = china_calibrated_rates()
        elif Path(name).is_file():
            out[Path(name).stem] = load_rate_set(name)
        else:
            raise InputError(f"unknown rate set {name!r}", field=option,
                             expected="bundled names (" + ", ".join([*BUNDLED_RATE_SETS, CHINA_CALIBRATED])
                             + ") or rate files, comma-separated")
    if not out:
        raise InputError("no rate set given", field=option, expected="e.g. global,china,china_calibrated")
    return out


CHINA_CALIBRATED = "china_calibrated"


def china_calibrated_rates() -> RateSet:
    """The China-calibrated rate set shipped in pipecast/rates/data/china_calibrated.csv (sources in every row)."""
    from importlib import resources

    from pipecast.loading.rates import bundled_rate_set, load_rate_set
    from pipecast.rates.rateset import BUNDLED_RATE_SETS

    if CHINA_CALIBRATED in BUNDLED_RATE_SETS:
        return bundled_rate_set(CHINA_CALIBRATED)
    ref = resources.files("pipecast.rates") / "data" / "china_calibrated.csv"
    with resources.as_file(ref) as path:
        return load_rate_set(path, CHINA_CALIBRATED)
