"""`pipecast scenarios compare|solve`: scenarios from YAML files, Monte Carlo on common random numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pipecast.commands.common import DEFAULT_RATES, RatesOption

console = Console()

AssetsOpt = Annotated[
    Path | None,
    typer.Option("--assets", help="ASSETS.csv/.xlsx or a data-set folder; without it the store (--db) is used."),
]
TargetOpt = Annotated[str, typer.Option("--target", help="Target, e.g. 2027-2030:1-3, or a file holding one.")]
PathsOpt = Annotated[int, typer.Option("--paths", help="Monte Carlo paths per scenario.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same numbers.")]
EngineOpt = Annotated[str, typer.Option("--engine", help="numpy, dask or jax.")]
SchedulerOpt = Annotated[
    str | None, typer.Option("--scheduler", help="Dask scheduler tcp://HOST:PORT (default: a local cluster).")
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Date the pipeline is seen from (default today).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _inputs(ctx: typer.Context, assets: Path | None, as_of: str | None) -> tuple[Any, list]:
    from pipecast.facade import load_portfolio_assets, resolve_as_of

    when = resolve_as_of(as_of)
    db = getattr(ctx.obj, "db", "") or None
    return when, load_portfolio_assets(str(assets) if assets else None, db, when)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Scenarios declared in YAML: compare them, or solve for a lever.", no_args_is_help=True)

    @group.command("compare")
    def compare_cmd(
        ctx: typer.Context,
        base: Annotated[Path, typer.Argument(help="The reference scenario (YAML).")],
        others: Annotated[list[Path], typer.Argument(help="Scenarios to compare with it.")],
        target: TargetOpt,
        assets: AssetsOpt = None,
        rates: RatesOption = DEFAULT_RATES,
        as_of: AsOfOpt = None,
        paths: PathsOpt = 10_000,
        seed: SeedOpt = 0,
        engine: EngineOpt = "numpy",
        scheduler: SchedulerOpt = None,
        json_output: JsonOpt = False,
    ) -> None:
        """Compare scenarios on the same random numbers: P(target) and its change, with MC errors.

        Example: pipecast scenarios compare base.yaml fast-review.yaml --target 2027-2030:1-3 --assets ASSETS.csv
        """
        from pipecast.scenarios import compare
        from pipecast.targets import load_target

        goal = load_target(target)
        when, asset_list = _inputs(ctx, assets, as_of)
        result = compare(
            base, others, goal, paths, seed, assets=asset_list, rates=rates, as_of=when,
            engine=engine, scheduler=scheduler,
        )
        if json_output:
            _print_json(result.to_json())
            return
        table = Table(title=f"Scenarios vs {result.outcomes[0].name}: target {goal}, {paths:,} paths, seed {seed}")
        for column in ("scenario", f"P(all {goal.band()})", "change", f"P(all >= {goal.low})", "change",
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

    @group.command("solve")
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
        assets: AssetsOpt = None,
        rates: RatesOption = DEFAULT_RATES,
        as_of: AsOfOpt = None,
        paths: PathsOpt = 4000,
        seed: SeedOpt = 0,
        engine: EngineOpt = "numpy",
        scheduler: SchedulerOpt = None,
        json_output: JsonOpt = False,
    ) -> None:
        """Smallest lever value at which P(target) reaches --prob (bisection on common random numbers).

        Example: pipecast scenarios solve --target 2027-2030:1+ --prob 0.8 --lever new_phase2_per_year --assets A.csv
        """
        from pipecast.scenarios.solve import DEFAULT_BOUNDS, ENTRANT_BOUNDS, solve
        from pipecast.targets import load_target

        goal = load_target(target)
        when, asset_list = _inputs(ctx, assets, as_of)
        default = DEFAULT_BOUNDS.get(lever, ENTRANT_BOUNDS)
        bounds = (default[0] if low is None else low, default[1] if high is None else high)
        result = solve(
            goal, prob, lever, bounds, assets=asset_list, as_of=when, base=base, rates=rates,
            paths=paths, seed=seed, engine=engine, scheduler=scheduler,
        )
        if json_output:
            _print_json(result.to_json())
            return
        console.print(result.message)

    app.add_typer(group, name="scenarios")
