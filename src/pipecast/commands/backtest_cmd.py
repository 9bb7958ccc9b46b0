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
                   "Designation), such as FDA's public compilation of NME and new biologic approvals "
                   "1985-2019"),
]

HtmlOption = Annotated[
    Path | None,
    typer.Option("--html", help="Also write an HTML page (forecast fan, coverage, PIT histogram) to this file; "
                 "it opens offline."),
]

FDA_NOTES = (
    "Scores the FDA filed stage only (NDA/BLA receipt to approval), one agency, a decade of rising approvals.",
    "Ten years give wide uncertainty: see the Wilson intervals of the coverage.",
    "The compilation lists only filings that were eventually approved; the model adds the expected "
    "never-approved filings from a published share (Sacks et al. 2014).",
)

_YEAR_RANGE = re.compile(r"^\s*(\d{4})\s*(?:-\s*(\d{4}))?\s*$")

#: --seed of every backtest; not given: the settings table's `seed`.
SeedOption = Annotated[int | None, typer.Option("--seed", show_default=False,
                                                help="Seed of the randomised PIT draws (default: setting `seed`).")]



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
    seed: SeedOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")] = False,
    html_out: HtmlOption = None,
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
        result = forecast_years(filings, when, wanted, settings, bundled_row, _seed(seed))
        _maybe_html(html_out, result, f"FDA novel approvals: backtest as of {when}", FDA_NOTES)
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
    result = backtest_range(filings, as_of_years, horizon, settings, bundled_row, _seed(seed))
    _maybe_html(html_out, result, f"FDA novel approvals: backtest as of Dec 31 {as_of_range}, "
                f"{horizon} year(s) ahead", FDA_NOTES)
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


# ---------------------------------------------------------------------------------------------- html page


def render_html(result: dict[str, Any], title: str, notes: tuple[str, ...] | list[str]) -> str:
    """The backtest page as a string: plotly.js from the installed package, the report's CSS and CSP."""
    from plotly.offline import get_plotlyjs

    from pipecast.backtest.page import render_page
    from pipecast.report.style import CSP, CSS, PLOT_SCRIPT

    meta = f"Forecast as of {result.get('as_of') or ', '.join(r['as_of'] for r in result.get('rows', [])[:1])}"
    if "rows" in result:
        rows = result["rows"]
        meta = f"As-of dates {rows[0]['as_of']} to {rows[-1]['as_of']}, {result['horizon']} year(s) ahead"
    warnings = [f"warning: {w}" for w in result.get("warnings", [])]
    return render_page(result, title=title, meta=meta, notes=[*warnings, *notes], plotly_js=get_plotlyjs(),
                       css=CSS, plot_script=PLOT_SCRIPT, csp=CSP)


def _maybe_html(path: Path | None, result: dict[str, Any], title: str, notes: tuple[str, ...] | list[str]) -> None:
    if path is None:
        return
    if path.exists() and path.is_dir():
        raise InputError("is a folder", file=str(path), field="--html", expected="a file name such as backtest.html")
    if not path.parent.is_dir():
        raise InputError("folder does not exist", file=str(path), field="--html",
                         expected="a file in an existing folder")
    page = render_html(result, title, notes)
    path.write_text(page, encoding="utf-8")
    console.print(safe(f"wrote {path}"))


# ---------------------------------------------------------------------------------------------- china

CHINA_NOTES = (
    "Registrations are trials, not drugs: one drug per normalised name (brackets, dosage and salt forms removed), "
    "its phase the highest of its trials; bioequivalence and phase 4 trials, and drugs that have one, are left out.",
    "The default cohort keeps drugs with a development code in the name (a proxy for 'new anywhere'); coded "
    "biosimilars stay in and INN-named novel drugs drop out.",
    "One as-of date and correlated multi-year forecasts: the years are not independent tests.",
    "The registry list ends in August 2018 and covers only the registrations listed then; imported Class 1 drugs "
    "tested abroad never enter it.",
)


def china(
    registry: Annotated[Path, typer.Argument(help="China drug-trial registry list export (CTR ids, drug names, "
                                             "phase), such as the public 2013-2018 registry scrape")],
    counts: Annotated[Path, typer.Argument(help="NMPA innovative approvals per year: year,value rows, or the shared "
                                           "China facts table (metric innovative_drug_approvals)")],
    as_of: Annotated[str, typer.Option("--as-of", help="Forecast from this date.")] = "2018-12-31",
    years: Annotated[str | None, typer.Option("--years", help="Years to forecast, e.g. 2019-2025 (default: the "
                                              "year after the as-of date to the last year with a count).")] = None,
    rates: Annotated[str, typer.Option("--rates", help="Rate sets to compare, comma-separated: bundled names, "
                                       "china_calibrated, or rate files.")] = "global,china,china_calibrated",
    novel_only: Annotated[bool, typer.Option("--novel-only/--all-drugs", help="Only drugs with a development code "
                                             "in the name (the proxy for innovative drugs).")] = True,
    arrivals: Annotated[bool, typer.Option("--arrivals/--no-arrivals", help="Drugs entering trials after the "
                                           "as-of date (or after the registry's end).")] = True,
    arrival_trend: Annotated[bool, typer.Option("--arrival-trend/--flat-arrivals", help="Project arrivals on "
                                                "their trend over the fitted years.")] = True,
    registry_end: Annotated[str | None, typer.Option("--registry-end", help="Last date the registry list covers "
                                                     "(default: from SOURCE.txt beside it, else Dec 31 of its "
                                                     "last CTR year).")] = None,
    seed: SeedOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")] = False,
    html_out: HtmlOption = None,
) -> None:
    """Does a rate set fit China? Forecast NMPA innovative approvals per year from the drugs in registered
    trials at a past date (and those entering later); compare with the counts, against naive baselines.

    Example: pipecast backtest china REGISTRY.csv COUNTS.csv --as-of 2018-12-31 --years 2019-2025
    """
    from pipecast import clock
    from pipecast.backtest.china import ChinaSettings
    from pipecast.backtest.china_run import run_china
    from pipecast.loading.china import load_approval_counts, load_registrations, rate_sets_option

    when = parse_date_option(as_of)
    assert when is not None
    rate_sets = rate_sets_option(rates)
    approval_counts = load_approval_counts(counts)
    registrations, end = load_registrations(registry, today=clock.today())
    if registry_end is not None:
        given = parse_date_option(registry_end, "--registry-end")
        assert given is not None
        end = given
    first = min(r.registered for r in registrations)
    if when < dt.date(first.year + 1, 12, 31):
        raise InputError(f"{when} leaves under a complete year of registrations (first {first})", field="--as-of",
                         expected=f"a date from {first.year + 1}-12-31 on")
    wanted = _year_range(years, "--years") if years else list(range(when.year + 1, max(approval_counts) + 1))
    if not wanted or wanted[0] <= when.year - (0 if when.month == 12 and when.day == 31 else 1):
        raise InputError(f"the years must come after the as-of date {when}", field="--years",
                         expected=f"years from {when.year + 1} on")
    settings = ChinaSettings(novel_only=novel_only, arrivals=arrivals, arrival_trend=arrival_trend)
    result = run_china(registrations, approval_counts, when, wanted, rate_sets, settings, registry_end=end,
                       seed=_seed(seed))
    _maybe_html(html_out, result, f"China: NMPA innovative approvals, backtest as of {when}", CHINA_NOTES)
    if json_output:
        echo_json(result)
        return
    _show_years(result, "NMPA innovative approvals: expected [80% interval]")
    _show_scores(result["scores"])
    pipeline = result["pipeline"]
    console.print(safe(
        f"Pipeline known at {result['registry_known_until']}: {pipeline['drugs']} drugs "
        f"({', '.join(f'{k} {v}' for k, v in sorted(pipeline['by_phase'].items()))}); arrivals fitted on "
        f"{', '.join(map(str, pipeline['arrival_window'])) or 'no year'}."
    ))
    for warning in result["warnings"]:
        console.print(safe(f"warning: {warning}"))


# ---------------------------------------------------------------------------------------------- chongqing

CHONGQING_NOTES = (
    "Small numbers: a handful of candidates and one to two scored years; a single approval moves every score.",
    "The history records a phase only where a dated source was found: a candidate can look earlier-stage at the "
    "as-of date than it was, so the pipeline forecast runs low for reasons of data, not only of rates.",
    "Named candidates only as known at the as-of date (events dated and recorded on or before it); cohorts "
    "published later do not exist for the forecaster. No arrivals.",
)


def chongqing(
    as_of: Annotated[str, typer.Option("--as-of", help="Forecast from this date, e.g. 2024-01-01.")],
    years: Annotated[str | None, typer.Option("--years", help="Years to forecast (default: the as-of year to the "
                                              "data set's as-of year).")] = None,
    rates: Annotated[str, typer.Option("--rates", help="Rate sets to compare, comma-separated.")]
    = "global,china,china_calibrated",
    data: Annotated[Path | None, typer.Option("--data", help="A data set folder with dated history (default: the "
                                              "bundled Chongqing data set).")] = None,
    seed: SeedOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")] = False,
    html_out: HtmlOption = None,
    arrivals: Annotated[bool, typer.Option("--arrivals", help="Also score each rate set with arrivals (new phase "
                                           "entries fitted on the history known at the as-of date), as NAME+arrivals.")]
    = False,
    factor_sigma: Annotated[float | None, typer.Option("--factor-sigma", min=0.0, max=2.0, help="Also score each "
                            "rate set with a shared review-pace factor of this log-sd, as NAME+factor.")] = None,
) -> None:
    """Forecast Chongqing's first approvals per year from the bundled history as it stood on a date, and
    compare with the approvals on record since.

    Example: pipecast backtest chongqing --as-of 2024-01-01
    """
    from pipecast import clock
    from pipecast.backtest.chongqing import run_chongqing
    from pipecast.loading.china import rate_sets_option
    from pipecast.loading.history import bundled_dataset_folder, load_history

    when = parse_date_option(as_of)
    assert when is not None
    rate_sets = rate_sets_option(rates)
    if factor_sigma:
        from dataclasses import replace

        from pipecast.domain import Phase
        from pipecast.rates import RateSet

        rate_sets = {**rate_sets, **{
            f"{name}+factor": RateSet(f"{name}+factor", tuple(
                replace(r, factor_sigma=factor_sigma) if r.phase is Phase.FILED else r for r in rs.rows), rs.origin)
            for name, rs in rate_sets.items()}}
    assets, data_as_of = load_history(data or bundled_dataset_folder("chongqing"), today=clock.today())
    if when >= data_as_of:
        raise InputError(f"{when} is not before the data set's as-of date {data_as_of}", field="--as-of",
                         expected=f"a date before {data_as_of}")
    wanted = _year_range(years, "--years") if years else list(range(when.year, data_as_of.year + 1))
    if wanted[0] < when.year:
        raise InputError(f"year {wanted[0]} is before the as-of date {when}", field="--years",
                         expected=f"years from {when.year} on")
    result = run_chongqing(assets, when, wanted, rate_sets, data_as_of=data_as_of, seed=_seed(seed), arrivals=arrivals)
    _maybe_html(html_out, result, f"Chongqing: first approvals, backtest as of {when}", CHONGQING_NOTES)
    if json_output:
        echo_json(result)
        return
    _show_years(result, "Chongqing first approvals: expected [80% interval]")
    _show_scores(result["scores"])
    per = result["per_candidate"]
    if result["scored_years"]:
        scored = "; ".join(f"{n}: expected {per[n]['expected']:.2f}, Brier {per[n]['brier']:.3f}"
                           for n in result["forecasters"] if n in per and per[n]["brier"] is not None)
        console.print(safe(f"Per candidate ({per['what']}): {per['approved']} approved of "
                           f"{len(per['candidates'])} named; {scored}"))
    else:
        console.print(safe(f"no complete year after {when} in the data set (as of {data_as_of}): nothing scored"))


def _show_years(result: dict[str, Any], title: str) -> None:
    from rich.table import Table

    names = result["forecasters"]
    table = Table(title=title)
    for column in ("year", "observed", *names):
        table.add_column(column, justify="right")
    for row in result["years"]:
        observed = row["observed"]
        shown = "" if observed is None else str(observed)
        if observed is None and row.get("observed_so_far"):
            shown = f"({row['observed_so_far']} so far)"
        cells = [f"{row[n]['expected']:.1f} [{row[n]['interval_80'][0]}-{row[n]['interval_80'][1]}]" for n in names]
        table.add_row(str(row["year"]), shown, *cells)
    console.print(table)


def register(app: typer.Typer) -> None:
    backtest_app.command("fda-nme")(fda_nme)
    backtest_app.command("china")(china)
    backtest_app.command("chongqing")(chongqing)
    app.add_typer(backtest_app, name="backtest")


def _seed(seed: int | None) -> int:
    from pipecast.settings import int_value

    return int_value("seed", seed)
