"""`pipecast backtest ...`: forecasts made from what was known at a past date, scored against what happened."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from pipecast.commands.common import console, echo_json, parse_date_option, safe
from pipecast.errors import InputError

backtest_app = typer.Typer(
    name="backtest",
    help="Backtests on real history: forecast from a past date, compare with what happened, score "
    "against naive baselines.",
    no_args_is_help=True,
)

FileArg = Annotated[
    Path,
    typer.Argument(help="The FDA CDER NME compilation as CSV (FDA Receipt Date, FDA Approval Date, Review "
                   "Designation), e.g. ../shared/data/fda_cder_nme_1985_2019/"
                   "cder_nme_new_biologic_approvals_1985_2019.csv"),
]

_YEAR_RANGE = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*$")


def _year_range(text: str, option: str) -> list[int]:
    match = _YEAR_RANGE.match(text)
    if not match:
        raise InputError(f"{text!r} is not a year range", field=option, expected="YEAR or FIRST-LAST, e.g. 2009-2018")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first or last - first > 60:
        raise InputError(f"{text!r} is not a year range", field=option,
                         expected="FIRST-LAST with FIRST <= LAST, at most 60 years")
    return list(range(first, last + 1))


def fda_nme(
    file: FileArg,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Forecast from this date, e.g. 2014-12-31.")] = None,
    years: Annotated[
        str | None, typer.Option("--years", help="Years to forecast with --as-of, e.g. 2015-2016 (default: next year).")
    ] = None,
    as_of_range: Annotated[
        str | None,
        typer.Option("--as-of-range", help="Backtest every Dec 31 of these years, e.g. 2009-2018 (not with --as-of)."),
    ] = None,
    horizon: Annotated[
        int, typer.Option("--horizon", min=1, max=5, help="With --as-of-range: score the year this many years ahead.")
    ] = 1,
    year_factor: Annotated[
        bool, typer.Option("--year-factor/--no-year-factor", help="Shared year-level pace factor fitted on history.")
    ] = True,
    arrivals: Annotated[
        bool, typer.Option("--arrivals/--no-arrivals", help="Filings received after the as-of date.")
    ] = True,
    arrival_trend: Annotated[
        bool, typer.Option("--arrival-trend/--flat-arrivals", help="Project receipts on their 10-year trend.")
    ] = True,
    by_designation: Annotated[
        bool, typer.Option("--by-designation/--pooled-durations", help="Durations by priority/standard review.")
    ] = True,
    never_approved: Annotated[
        bool,
        typer.Option("--never-approved/--listed-only", help="Add the expected never-approved filings (Sacks 2014)."),
    ] = True,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the randomised PIT draws.")] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")] = False,
) -> None:
    """Forecast FDA novel approvals per year from the filings pending at a past date (and those that
    arrive later); compare with the approvals that happened, against naive baselines.

    Example: pipecast backtest fda-nme FILE --as-of 2014-12-31 --years 2015-2016 --json
    Example: pipecast backtest fda-nme FILE --as-of-range 2009-2018 --horizon 1
    """
    from pipecast.backtest.fda import ModelSettings
    from pipecast.backtest.runner import backtest_range, forecast_years, last_complete_year
    from pipecast.domain import Phase
    from pipecast.loading.fda import load_fda_filings
    from pipecast.loading.rates import bundled_rate_set

    if (as_of is None) == (as_of_range is None):
        raise InputError("give exactly one of --as-of and --as-of-range", field="--as-of",
                         expected="--as-of DATE [--years A-B] or --as-of-range A-B [--horizon N]")
    if as_of_range is not None and years is not None:
        raise InputError("--years goes with --as-of", field="--years", expected="--horizon with --as-of-range")
    if as_of is not None and horizon != 1:
        raise InputError("--horizon goes with --as-of-range", field="--horizon", expected="--years with --as-of")
    filings = load_fda_filings(file)
    first_receipt = min(f.receipt for f in filings)
    last_year = last_complete_year(filings)
    settings = ModelSettings(year_factor=year_factor, arrivals=arrivals, by_designation=by_designation,
                             never_approved=never_approved, arrival_trend=arrival_trend)
    bundled_row = bundled_rate_set("global").row(Phase.FILED)
    if as_of is not None:
        when = parse_date_option(as_of)
        assert when is not None
        wanted = _year_range(years, "--years") if years else [when.year + 1]
        _check_history(when, first_receipt, "--as-of")
        if wanted[0] < when.year:
            raise InputError(f"year {wanted[0]} is before the as-of date {when}", field="--years",
                             expected=f"years from {when.year} on")
        result = forecast_years(filings, when, wanted, settings, bundled_row, seed)
        if json_output:
            echo_json(result)
        else:
            _show_forecast(result)
        return
    assert as_of_range is not None
    as_of_years = _year_range(as_of_range, "--as-of-range")
    _check_history(dt.date(as_of_years[0], 12, 31), first_receipt, "--as-of-range")
    if as_of_years[-1] + horizon > last_year:
        raise InputError(f"year {as_of_years[-1] + horizon} is after the file's last approvals ({last_year})",
                         field="--as-of-range", expected=f"as-of years up to {last_year - horizon}")
    result = backtest_range(filings, as_of_years, horizon, settings, bundled_row, seed)
    if json_output:
        echo_json(result)
    else:
        _show_range(result)


def _check_history(when: dt.date, first_receipt: dt.date, option: str) -> None:
    if (when - first_receipt).days < 366 * 12:
        raise InputError(f"{when} leaves under 12 years of history in the file (first receipt {first_receipt})",
                         field=option, expected=f"a date from {first_receipt.year + 12} on")


def _show_forecast(result: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"FDA novel approvals forecast as of {result['as_of']}")
    for column in ("year", "expected", "from pipeline", "from arrivals", "80% interval", "observed"):
        table.add_column(column, justify="right")
    from pipecast.backtest.scores import central_interval

    for row in result["years"]:
        lo, hi = central_interval(row["pmf"], 0.8)
        observed = row["observed"]
        table.add_row(str(row["year"]), f"{row['expected']:.1f}", f"{row['expected_from_pipeline']:.1f}",
                      f"{row['expected_from_arrivals']:.1f}", f"{lo}-{hi}", "" if observed is None else str(observed))
    console.print(table)
    _show_scores(result["scores"])
    model = result["model"]
    for warning in result["warnings"]:
        console.print(safe(f"warning: {warning}"))
    console.print(safe(
        f"Model: durations {model['durations']}; year factor level {model['year_factor_level']:.3f}, "
        f"log-sd {model['year_factor_log_sd']:.3f}; "
        f"arrivals {model['arrivals_per_year_mean']:.1f} listed filings a year; "
        f"P(eventually approved) {model['p_eventually_approved']:.3f}."
    ))


def _show_scores(scores: dict[str, Any]) -> None:
    from rich.table import Table

    if not scores or not next(iter(scores.values())).get("years"):
        return
    table = Table(title="Scores (log score: higher is better; CRPS: lower is better)")
    for column in ("forecaster", "years", "mean log score", "mean CRPS", "bias", "50% cov", "80% cov", "95% cov"):
        table.add_column(column, justify="right")
    for name, s in scores.items():
        cov = s["coverage"]
        table.add_row(name, str(s["years"]), f"{s['mean_log_score']:.3f}", f"{s['mean_crps']:.2f}",
                      f"{s['bias']:+.2f}", *(f"{cov[k]['hits']}/{cov[k]['years']}" for k in ("50%", "80%", "95%")))
    console.print(table)


def _show_range(result: dict[str, Any]) -> None:
    from rich.table import Table

    names = [n for n in ("model", "poisson_last_year", "negative_binomial", "bundled_independent")
             if n in result["scores"]]
    table = Table(title=f"FDA novel approvals, {result['horizon']} year(s) ahead: expected [80% interval]")
    for column in ("as of", "year", "observed", *names):
        table.add_column(column, justify="right")
    for row in result["rows"]:
        cells = [f"{row[n]['expected']:.1f} [{row[n]['interval_80'][0]}-{row[n]['interval_80'][1]}]" for n in names]
        table.add_row(row["as_of"], str(row["year"]), str(row["observed"]), *cells)
    console.print(table)
    _show_scores(result["scores"])
    for warning in result["warnings"]:
        console.print(safe(f"warning: {warning}"))
    done = result["done_when"]
    timing = result["per_filing_timing"]
    console.print(safe(
        f"80% intervals held {done['coverage_80']:.0%} of years (target 70-90%: "
        f"{'met' if done['coverage_80_in_70_90'] else 'not met'}); mean log score {done['mean_log_score_model']:.3f} "
        f"vs negative binomial {done['mean_log_score_negative_binomial']:.3f} "
        f"({'beats it' if done['beats_negative_binomial'] else 'does not beat it'})."
    ))
    if timing["filings"]:
        console.print(safe(f"Per filing ({timing['what']}): Brier {timing['brier']:.3f}, AUC {timing['auc']:.3f} "
                           f"over {timing['filings']} filing-dates."))


def register(app: typer.Typer) -> None:
    backtest_app.command("fda-nme")(fda_nme)
    app.add_typer(backtest_app, name="backtest")
