"""The `pipecast` command. It only builds objects from arguments and turns errors into one line."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipecast.commands.common import DEFAULT_RATES, RatesOption
from pipecast.errors import PipecastError
from pipecast.settings import AppContext, from_env, setting

app = typer.Typer(
    name="pipecast",
    help=(
        "Watch a region's innovative-drug pipeline and forecast, with honest uncertainty, how many "
        "candidates will be approved each year, and how likely a plan's target is to be met."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

#: Command groups mounted when their module is present; each exposes register(app).
COMMAND_MODULES = (
    "pipecast.commands.store_cmds",
    "pipecast.commands.report_cmd",
    "pipecast.commands.ingest_cmds",
    "pipecast.commands.scenario_cmds",
    "pipecast.commands.verify_cmd",
    "pipecast.commands.backtest_cmd",
    "pipecast.commands.rates_cmd",
)


@app.callback()
def main_callback(
    ctx: typer.Context,
    db: Annotated[str, typer.Option("--db", help=setting("db").help, envvar=setting("db").env)] = "",
) -> None:
    ctx.obj = AppContext(db=db or from_env("db"))


AssetsOpt = Annotated[
    Path | None,
    typer.Option(
        "--assets",
        help="ASSETS.csv/.xlsx (id,name,sponsor,modality,therapeutic_area,phase,phase_start[,count]) "
        "or a data-set folder. Without it the store (--db) is forecast.",
    ),
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Date the pipeline is seen from (default today).")]
YearsOpt = Annotated[
    str | None, typer.Option("--years", help="Forecast years, e.g. 2025-2031 (default: as-of year + 6).")
]
TargetOpt = Annotated[
    str | None,
    typer.Option("--target", help="A plan's target, e.g. 2027-2030:1-3 (1 to 3 approvals in each year), or a file."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of tables.")]


@app.command()
def forecast(
    ctx: typer.Context,
    assets: AssetsOpt = None,
    rates: RatesOption = DEFAULT_RATES,
    as_of: AsOfOpt = None,
    years: YearsOpt = None,
    target: TargetOpt = None,
    json_output: JsonOpt = False,
    method: Annotated[
        str, typer.Option("--method", help="exact (independent candidates) or montecarlo (correlation allowed).")
    ] = "exact",
    paths: Annotated[int, typer.Option("--paths", min=100, help="Monte Carlo paths.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Monte Carlo seed: the same seed gives the same numbers.")] = 0,
    engine: Annotated[str, typer.Option("--engine", help="Monte Carlo engine: numpy, dask or jax.")] = "numpy",
    scheduler: Annotated[
        str, typer.Option("--scheduler", help="Dask scheduler tcp://HOST:PORT (default: a local cluster).")
    ] = "",
    rho: Annotated[
        list[str] | None,
        typer.Option("--rho", help="Copula correlation of success within a group, e.g. sponsor=0.2 (repeatable)."),
    ] = None,
    review_sigma: Annotated[
        float, typer.Option("--review-sigma", help="Spread (log sd) of a shared review-time multiplier per path.")
    ] = 0.0,
    sponsor_stop: Annotated[
        float, typer.Option("--sponsor-stop", help="Per path, probability that a sponsor's candidates all stop.")
    ] = 0.0,
) -> None:
    """Forecast approvals per year: expected number and the distribution (pmf) of the count.

    Example: pipecast forecast --assets ASSETS.csv --rates RATES.csv --as-of 2025-11-01 --years 2025-2031 --json
    """
    from pipecast.domain import Portfolio
    from pipecast.errors import InputError
    from pipecast.facade import forecast as run_forecast
    from pipecast.facade import (
        load_portfolio_assets,
        require_candidates,
        resolve_as_of,
        resolve_rates,
        resolve_years,
    )
    from pipecast.targets import load_target

    goal = load_target(target) if target else None
    if method not in ("exact", "montecarlo"):
        raise InputError(f"unknown method {method!r}", field="--method", expected="exact or montecarlo")
    if method == "montecarlo":
        from pipecast.engines.montecarlo import Correlation, parse_group_rho, simulate

        when = resolve_as_of(as_of)
        chosen = load_portfolio_assets(str(assets) if assets else None, ctx.obj.db or None, when)
        portfolio = Portfolio.of(chosen, when)
        require_candidates(portfolio, assets)
        correlation = Correlation(rho=parse_group_rho(rho), review_sigma=review_sigma, sponsor_stop=sponsor_stop)
        result = simulate(
            portfolio, resolve_rates(rates), resolve_years(years, when), paths=paths, seed=seed,
            correlation=correlation, engine=engine, scheduler=scheduler or None, target=goal,
        )
    else:
        result = _with_progress(
            lambda progress: run_forecast(
                str(assets) if assets else None,
                rates=rates,
                as_of=as_of,
                years=years,
                db=ctx.obj.db or None,
                progress=progress,
            ),
            enabled=not json_output,
        )
    if json_output:
        _print_json(result.to_json(goal))
        return
    show_forecast(result, goal)


def _with_progress(work: Any, *, enabled: bool) -> Any:
    """Run work(progress) with a progress bar that appears only if it takes longer than a second."""
    if not enabled or not sys.stderr.isatty():
        return work(None)
    from rich.progress import Progress

    with Progress(console=err_console, transient=True) as bar:
        task = bar.add_task("forecasting", total=None)
        return work(lambda n: bar.advance(task, n))


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def show_forecast(result: Any, goal: Any) -> None:
    """Readable tables: per-year outlook, target check, top candidates, assumptions."""
    table = Table(title=f"Approvals per year, as of {result.as_of} ({result.method})")
    for column in ("year", "on record", "expected", "P(0)", "P(>=1)", "90% range"):
        table.add_column(column, justify="right")
    if goal is not None:
        table.add_column(f"P({goal.band()})", justify="right")
    for o in result.outlooks:
        cells = [
            str(o.year),
            str(o.observed),
            f"{o.expected:.2f}",
            f"{o.pmf[0]:.1%}",
            f"{o.p_between(1, None):.1%}",
            f"{o.quantile(0.05)}-{o.quantile(0.95)}",
        ]
        if goal is not None:
            cells.append(f"{o.p_between(goal.low, goal.high):.1%}" if o.year in goal.years else "")
        table.add_row(*cells)
    console.print(table)
    if goal is not None:
        check = result.check(goal)
        console.print(
            f"Target {goal}: met in every year {goal.first_year}-{goal.last_year} with probability "
            f"[bold]{check.all_years_in_band:.1%}[/bold]; at least {goal.low} in every year: "
            f"[bold]{check.all_years_at_least_low:.1%}[/bold]"
        )
        if check.missing_years:
            console.print(f"[yellow]Years outside the forecast range: {check.missing_years}[/yellow]")
        top = Table(title="Candidates that carry the target (leave-one-out)")
        columns = ("candidate", "phase", f"P(approved {goal.first_year}-{goal.last_year})",
                   f"adds to P(>={goal.low} every year)")
        for column in columns:
            top.add_column(column)
        for c in check.contributors[:10]:
            top.add_row(
                f"{c.name} ({c.asset_id})", c.phase, f"{c.expected_in_range:.1%}", f"{c.delta_probability:+.1%}"
            )
        console.print(top)
    funnel = result.funnel()
    console.print(
        "Pipeline: " + ", ".join(f"{k} {v}" for k, v in funnel.items() if v) + f" ({len(result.assets)} rows)"
    )
    rate_set = result.rate_set
    rates = Table(title=f"Rate set {rate_set.name}: general rows ({len(rate_set.rows)} rows in all)")
    for column in ("phase", "P(success)", "median months", "p90 months"):
        rates.add_column(column)
    rates.add_column("source", no_wrap=True, overflow="ellipsis", max_width=30)
    for row in rate_set.rows:
        if not (row.therapeutic_area or row.modality):
            rates.add_row(row.phase.value, f"{row.p_success:.3f}", f"{row.duration.median_months:.1f}",
                          f"{row.duration.p90_months:.1f}", row.source)
    console.print(rates)
    console.print(f"Every rate row and its full source: {rate_set.origin or rate_set.name}, the report, or --json.")


def _mount_command_modules() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        module.register(app)


_mount_command_modules()


def main() -> None:
    """Entry point: user mistakes become one line on stderr and exit status 2, never a traceback."""
    try:
        app()
    except PipecastError as exc:
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":  # python -m pipecast.cli
    main()
