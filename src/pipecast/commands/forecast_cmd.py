"""`pipecast forecast`: approvals per year, the target check, who carries it, and the assumptions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from pipecast.commands.common import (
    NON_NEGATIVE_FLOAT,
    PROBABILITY,
    AsOfOption,
    AssetsOption,
    EngineOption,
    JsonOption,
    MethodOption,
    PathsOption,
    RatesOption,
    SchedulerOption,
    SeedOption,
    TargetOption,
    YearsOption,
    console,
    context_db,
    echo_json,
    err_console,
    id_width,
    name_and_id,
    text,
)
from pipecast.commands.regions_cmd import RegionOption
from pipecast.errors import OptionConflictError
from pipecast.settings import setting

if TYPE_CHECKING:
    from pathlib import Path

    from pipecast.domain import Asset
    from pipecast.engines.result import Forecast
    from pipecast.targets import Target

#: The mark after a stale candidate in the terminal tables; explained in a footnote.
STALE_MARK = "†"
#: Width the contributors table needs besides the candidate column (phase, two figures, borders, padding).
OTHER_COLUMNS_WIDTH = 40

RhoOption = Annotated[
    list[str] | None,
    typer.Option("--rho", help="Copula correlation of success within a group, e.g. sponsor=0.2 (repeatable; "
                 "--method montecarlo)."),
]
ReviewSigmaOption = Annotated[
    float | None,
    typer.Option("--review-sigma", parser=NON_NEGATIVE_FLOAT, show_default=False,
                 help="Spread (log sd) of a shared review-time multiplier per path (--method montecarlo)."),
]
ArrivalsOption = Annotated[
    bool | None,
    typer.Option("--arrivals/--no-arrivals", show_default=False,
                 help="Add approvals from candidates not yet known (new phase entries per phase per year fitted on "
                 "the entries known at the as-of date), shown apart. Default: on for the store (exact method), off "
                 "for --assets."),
]
SponsorStopOption = Annotated[
    float | None,
    typer.Option("--sponsor-stop", parser=PROBABILITY, show_default=False,
                 help="Per path, probability that a sponsor's candidates all stop (--method montecarlo)."),
]


def forecast(
    ctx: typer.Context,
    assets: AssetsOption = None,
    rates: RatesOption = None,
    as_of: AsOfOption = None,
    years: YearsOption = None,
    target: TargetOption = None,
    json_output: JsonOption = False,
    method: MethodOption = None,
    paths: PathsOption = None,
    seed: SeedOption = None,
    engine: EngineOption = None,
    scheduler: SchedulerOption = None,
    rho: RhoOption = None,
    review_sigma: ReviewSigmaOption = None,
    sponsor_stop: SponsorStopOption = None,
    arrivals: ArrivalsOption = None,
    region: RegionOption = None,
) -> None:
    """Forecast approvals per year: expected number and the distribution (pmf) of the count.

    With --target, also the probability the target is met in every one of its years (the forecast years are
    extended to cover it), who carries it, and the share of it resting on stale candidates (P(target met)
    minus P(target met) recomputed without the candidates `pipecast check` flags stale). A warning says when
    the as-of date is more than {stale_days} days ({stale_env}) past the latest dated event or fact used.
    --paths, --seed, --engine, --scheduler, --rho, --review-sigma and --sponsor-stop need --method montecarlo.

    Example: pipecast forecast --assets ASSETS.csv --rates RATES.csv --as-of 2025-11-01 --years 2025-2031 --json
    """
    from pipecast.facade import choose_method, forecast_with, resolve_target, use_arrivals

    how = choose_method(method, {"paths": paths, "seed": seed, "engine": engine, "scheduler": scheduler,
                                 "rho": rho or None, "review_sigma": review_sigma, "sponsor_stop": sponsor_stop},
                        cli=True)
    with_arrivals = use_arrivals(arrivals, how, from_store=assets is None, cli=True)
    goal = resolve_target(target)
    chosen: str | list[Asset] | None = str(assets) if assets else None
    if region is not None:
        chosen, arrivals = _region_candidates(ctx, region, assets, as_of), with_arrivals
    result = _with_progress(
        lambda progress: forecast_with(how, chosen, rates=rates, as_of=as_of,
                                       years=years, target=goal, db=context_db(ctx), progress=progress,
                                       arrivals=arrivals),
        enabled=not json_output,
    )
    if json_output:
        echo_json(result.to_json(goal))
        return
    show_forecast(result, goal)


def _region_candidates(ctx: typer.Context, region: str, assets: Path | None, as_of: str | None) -> list[Asset]:
    """The store's candidates (as of --as-of) attributed to --region or a region inside it."""
    from pipecast.commands.common import open_store
    from pipecast.commands.regions_cmd import region_assets
    from pipecast.facade import resolve_as_of

    if assets is not None:
        raise OptionConflictError("--region filters the store's candidates: drop --assets (or use `pipecast plan "
                                  "--assets ... --region`)", option="--region")
    with open_store(ctx) as store:
        return region_assets(store, region, resolve_as_of(as_of))


def _with_progress(work: Callable[[Callable[[int], None] | None], Forecast], *, enabled: bool) -> Forecast:
    """Run work(progress) with a transient progress bar on a terminal."""
    if not enabled or not sys.stderr.isatty():
        return work(None)
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("forecasting", total=None)
        return work(lambda n: bar.advance(task, n))


def show_forecast(result: Forecast, goal: Target | None) -> None:
    """Readable tables: per-year outlook, target check, top candidates, assumptions, then the warnings."""
    data_note = f", data as of {result.data_as_of}" if result.data_as_of else ""
    table = Table(title=f"Approvals per year, as of {result.as_of} ({result.method}{data_note})")
    split = result.arrival_means is not None
    columns = ("year", "on record", "expected", *(("from\npipeline", "from\narrivals")
                                                  if split else ()), "P(0)", "P(>=1)", "90% range")
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    if goal is not None:
        table.add_column(f"P({goal.band()})", justify="right", no_wrap=True)
    for o in result.outlooks:
        split_cells = [f"{o.from_pipeline:.2f}", f"{o.from_arrivals:.2f}"] if split else []
        cells = [str(o.year), str(o.observed), f"{o.expected:.2f}", *split_cells, f"{o.pmf[0]:.1%}",
                 f"{o.p_between(1, None):.1%}", f"{o.quantile(0.05)}-{o.quantile(0.95)}"]
        if goal is not None:
            cells.append(f"{o.p_between(goal.low, goal.high):.1%}" if o.year in goal.years else "")
        table.add_row(*cells)
    console.print(table)
    for line in result.warnings:
        console.print(Text("Warning: ", style="bold yellow") + text(line))
    if goal is not None:
        _show_target(result, goal)
    funnel = result.funnel()
    console.print("Pipeline: " + ", ".join(f"{k} {v}" for k, v in funnel.items() if v)
                  + f" ({len(result.assets)} rows)")
    _show_rates(result)
    _show_validation(result)


def _show_validation(result: Forecast) -> None:
    """Which backtest applies to the rate set and how its intervals scored (or "not validated")."""
    from pipecast.loading.validation import validation_lines

    for line in validation_lines(result.validation):
        console.print(text(f"Validation ({result.rate_set.name}): {line}"))
    if result.validation is not None:
        console.print(text(f"Details and the commands that reproduce them: {result.validation['details']}",
                           style="dim"))
    if result.arrival_fit is not None:
        rates = ", ".join(f"{k} {v:g}" for k, v in result.arrival_fit["per_year"].items() if v)
        console.print(text(f"Arrivals: new phase entries a year ({rates or 'none'}), Poisson, fitted on "
                           f"{result.arrival_fit['fitted_on']} entries known at {result.as_of}."))


def _show_target(result: Forecast, goal: Target) -> None:
    check = result.check(goal)
    console.print(Text.assemble(
        f"Target {goal}: met in every year {goal.first_year}-{goal.last_year} with probability ",
        (f"{check.all_years_in_band:.1%}", "bold"),
        f"; at least {goal.low} in every year: ",
        (f"{check.all_years_at_least_low:.1%}", "bold"),
    ))
    if result.arrival_means is not None:
        alone = result.probability_met(goal, pipeline_only=True)
        console.print(text(f"  with candidates not yet known (arrivals): {check.all_years_in_band:.1%}; from today's "
                           f"pipeline alone (independent, no arrivals): {alone:.1%}"))
    if check.missing_years:
        console.print(text(f"Years outside the forecast range: {check.missing_years}", style="yellow"))
    shown = check.contributors[:10]
    top = Table(title="Candidates that carry the target (leave-one-out)")
    # Ids are never broken: the column is at least as wide as the longest id (names wrap at spaces).
    width = id_width((c.asset_id for c in shown), reserve=OTHER_COLUMNS_WIDTH, extra=len(STALE_MARK) + 1)
    top.add_column("candidate / id", overflow="fold", min_width=width)
    top.add_column("phase", no_wrap=True)
    top.add_column(f"P(approved\n{goal.first_year}-{goal.last_year})", justify="right", no_wrap=True)
    top.add_column(f"adds to\nP(>={goal.low} every\nyear)", justify="right", no_wrap=True)
    marked = False
    for c in shown:
        stale = c.asset_id in result.stale_ids
        marked = marked or stale
        top.add_row(name_and_id(c.name, c.asset_id, STALE_MARK if stale else ""), c.phase, f"{c.expected_in_range:.1%}",
                    f"{c.delta_probability:+.1%}")
    console.print(top)
    if result.stale_ids:
        share = "" if result.stale_share is None else (
            f"; {result.stale_share * 100:.1f} points of P(target) rest on them (P(target met) minus P(target "
            "met) recomputed without them)"
        )
        from pipecast.ingest.quality import DEFAULT_STALE_YEARS

        where = " (marked above)" if marked else ""
        console.print(text(f"{STALE_MARK} stale{where}: {len(result.stale_ids)} candidate(s) `pipecast check` "
                           f"flags (no event for more than {DEFAULT_STALE_YEARS} years){share}.", style="dim"))


def _show_rates(result: Forecast) -> None:
    rate_set = result.rate_set
    rates = Table(title=f"Rate set {rate_set.name}: general rows ({len(rate_set.rows)} rows in all)")
    rates.add_column("phase", no_wrap=True, min_width=len("preclinical"))
    for column in ("P(success)", "median\nmonths", "p90\nmonths"):
        rates.add_column(column, justify="right", no_wrap=True)
    rates.add_column("source", no_wrap=True, overflow="ellipsis", max_width=max(20, console.width - 52))
    for row in rate_set.rows:
        if not (row.therapeutic_area or row.modality):
            rates.add_row(row.phase.value, f"{row.p_success:.3f}", f"{row.duration.median_months:.1f}",
                          f"{row.duration.p90_months:.1f}", row.source)
    console.print(rates)
    console.print(f"Every rate row and its full source: {rate_set.origin or rate_set.name}, the report, or --json.")


forecast.__doc__ = (forecast.__doc__ or "").replace("{stale_days}", setting("stale_days").default).replace(
    "{stale_env}", setting("stale_days").env)


def register(app: typer.Typer) -> None:
    app.command("forecast")(forecast)
