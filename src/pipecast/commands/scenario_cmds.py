"""`pipecast scenarios compare|solve`: scenarios from YAML files, Monte Carlo on common random numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from pipecast.commands.common import (
    AsOfOption,
    AssetsOption,
    EngineOption,
    JsonOption,
    PathsOption,
    RatesOption,
    SchedulerOption,
    SeedOption,
    SolvePathsOption,
    console,
    context_db,
    echo,
    echo_json,
    text,
)
from pipecast.settings import from_env, int_value

if TYPE_CHECKING:
    from pipecast.domain import Asset
    from pipecast.targets import Target

TargetOpt = Annotated[str, typer.Option("--target", help="Target, e.g. 2027-2030:1-3, or a file holding one.")]


def _inputs(ctx: typer.Context, assets: Path | None, as_of: str | None,
            target: str) -> tuple[Target, dt.date, list[Asset], list[str]]:
    """The target, the as-of date, the candidates and the warnings about the data's age. The simulation
    covers every year of the target."""
    from pipecast.facade import (
        _data_age_warnings,
        check_years,
        load_inputs,
        require_candidates,
        resolve_as_of,
        resolve_target,
    )

    goal = resolve_target(target)
    assert goal is not None
    when = resolve_as_of(as_of)
    check_years(goal.years, when)
    inputs = load_inputs(str(assets) if assets else None, context_db(ctx), when)
    from pipecast.domain import Portfolio

    require_candidates(Portfolio.of(inputs.assets, when), assets)
    return goal, when, inputs.assets, _data_age_warnings(inputs.data_as_of, when)


def _engine(engine: str | None, scheduler: str | None) -> str:
    from pipecast.facade import check_method_options

    check_method_options("montecarlo", {"engine": engine, "scheduler": scheduler}, cli=True)
    return engine or from_env("engine")


def compare_cmd(
    ctx: typer.Context,
    base: Annotated[Path, typer.Argument(help="The reference scenario (YAML).")],
    others: Annotated[list[Path], typer.Argument(help="Scenarios to compare with it.")],
    target: TargetOpt,
    assets: AssetsOption = None,
    rates: RatesOption = None,
    as_of: AsOfOption = None,
    paths: PathsOption = None,
    seed: SeedOption = None,
    engine: EngineOption = None,
    scheduler: SchedulerOption = None,
    json_output: JsonOption = False,
) -> None:
    """Compare scenarios on the same random numbers: P(target) and its change, with MC errors.

    Example: pipecast scenarios compare base.yaml fast-review.yaml --target 2027-2030:1-3 --assets ASSETS.csv
    """
    from pipecast.loading.scenarios import compare

    goal, when, asset_list, warnings = _inputs(ctx, assets, as_of, target)
    n_paths = paths if paths is not None else int_value("paths")
    n_seed = seed if seed is not None else int_value("seed")
    result = compare(
        base, others, goal, paths=n_paths, seed=n_seed, assets=asset_list, rates=rates or from_env("rates"), as_of=when,
        engine=_engine(engine, scheduler), scheduler=scheduler,
    )
    if json_output:
        echo_json(result.to_json() | {"warnings": warnings})
        return
    table = Table(title=f"Scenarios vs {result.outcomes[0].name}: target {goal}, {n_paths:,} paths, seed {n_seed}")
    table.add_column("scenario", overflow="fold")
    for column in (f"P(all {goal.band()})", "change", f"P(all >= {goal.low})", "change",
                   "expected in target years", "change"):
        table.add_column(column, justify="right")
    for o in result.outcomes:
        cells = [o.name]
        for key in ("all_years_in_band", "all_years_at_least_low", "expected_total"):
            percent = key != "expected_total"
            value, error = o.figures[key], o.errors[key]
            cells.append(f"{value:.1%} ±{error:.1%}" if percent else f"{value:.2f} ±{error:.2f}")
            if o.difference:
                d, e = o.difference[key], o.difference_error[key]
                cells.append(f"{d:+.1%} ±{e:.1%}" if percent else f"{d:+.2f} ±{e:.2f}")
            else:
                cells.append("")
        table.add_row(*cells)
    console.print(table)
    console.print("± is one Monte Carlo standard error; changes are paired on common random numbers.")
    for line in warnings:
        console.print(Text("Warning: ", style="bold yellow") + text(line))


def solve_cmd(
    ctx: typer.Context,
    target: TargetOpt,
    prob: Annotated[float, typer.Option("--prob", help="Probability the target should reach.")] = 0.8,
    lever: Annotated[str, typer.Option("--lever", help="new_<phase>_per_year or success_multiplier.")] = (
        "new_phase2_per_year"
    ),
    low: Annotated[float | None, typer.Option("--low", help="Lower bound of the lever.")] = None,
    high: Annotated[float | None, typer.Option("--high", help="Upper bound of the lever.")] = None,
    base: Annotated[Path | None, typer.Option("--base", help="Scenario the lever is applied to.")] = None,
    assets: AssetsOption = None,
    rates: RatesOption = None,
    as_of: AsOfOption = None,
    paths: SolvePathsOption = None,
    seed: SeedOption = None,
    engine: EngineOption = None,
    scheduler: SchedulerOption = None,
    json_output: JsonOption = False,
) -> None:
    """Smallest lever value at which P(target) reaches --prob (bisection on common random numbers).

    Example: pipecast scenarios solve --target 2027-2030:1+ --prob 0.8 --lever new_phase2_per_year --assets A.csv
    """
    from pipecast.loading.scenarios import solve
    from pipecast.scenarios.solve import DEFAULT_BOUNDS, ENTRANT_BOUNDS

    goal, when, asset_list, warnings = _inputs(ctx, assets, as_of, target)
    default = DEFAULT_BOUNDS.get(lever, ENTRANT_BOUNDS)
    bounds = (default[0] if low is None else low, default[1] if high is None else high)
    result = solve(
        goal, prob, lever, bounds, assets=asset_list, as_of=when, base=base, rates=rates or from_env("rates"),
        paths=paths if paths is not None else int_value("solve_paths"),
        seed=seed if seed is not None else int_value("seed"), engine=_engine(engine, scheduler),
        scheduler=scheduler,
    )
    if json_output:
        echo_json(result.to_json() | {"warnings": warnings})
        return
    echo(result.message)
    for line in warnings:
        echo(f"Warning: {line}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Scenarios declared in YAML: compare them, or solve for a lever.", no_args_is_help=True)
    group.command("compare")(compare_cmd)
    group.command("solve")(solve_cmd)
    app.add_typer(group, name="scenarios")
