"""`pipecast report`: one self-contained HTML page with the forecast, the target check and the assumptions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipecast.commands.common import (
    AsOfOption,
    AssetsOption,
    LangOption,
    RatesOption,
    ReportTargetOption,
    YearsOption,
    context_db,
    echo,
)
from pipecast.settings import from_env

OutOpt = Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Page title (default: a title in --lang).")]


def report(
    ctx: typer.Context,
    out: OutOpt = Path("report.html"),
    assets: AssetsOption = None,
    rates: RatesOption = None,
    as_of: AsOfOption = None,
    years: YearsOption = None,
    target: ReportTargetOption = None,
    lang: LangOption = None,
    title: TitleOpt = None,
    value: Annotated[bool, typer.Option("--value", help="Add a Value section: deals' risk-adjusted value against "
                                        "their headline, pipeline rNPV, the 2025 Chongqing measures' cost per "
                                        "expected approval, and a tornado of the rNPV's sensitivity.")] = False,
    arrivals: Annotated[bool | None, typer.Option(
        "--arrivals/--no-arrivals", show_default=False,
        help="Add approvals from candidates not yet known, shown apart. Default: on for the store, off for "
        "--assets.")] = None,
    plan: Annotated[bool, typer.Option("--plan", help="Add a Plan section: each target of the bundled plan with "
                                       "its verdict (as `pipecast plan`) and the hubs side by side (as "
                                       "`pipecast compare-regions`).")] = False,
) -> None:
    """Write an HTML report that opens offline: target probability, fan chart, distributions, candidates,
    pipeline funnel and every assumption. The forecast years are extended to cover every year of the target.

    Example: pipecast report --out report.html --assets ASSETS.csv --rates global --as-of 2025-11-01
    """
    from pipecast.errors import InputError
    from pipecast.facade import forecast as run_forecast
    from pipecast.facade import resolve_target
    from pipecast.report.html import LANGUAGES, write_report

    language = lang if lang is not None else from_env("language")
    if language not in LANGUAGES:
        raise InputError(f"unknown language {language!r}", field="--lang", expected=" or ".join(LANGUAGES))
    goal = resolve_target(target if target is not None else from_env("report_target"))
    assert goal is not None
    result = run_forecast(str(assets) if assets else None, rates=rates, as_of=as_of, years=years, target=goal,
                          db=context_db(ctx), arrivals=arrivals)
    summary = None
    if value:  # the Value section (pipecast.report.value_section), with the store's recorded deals if any
        from pipecast.report.value_section import compute_value_summary, recorded_deals

        summary = compute_value_summary(result, stored_deals=recorded_deals(context_db(ctx), assets is None))
    plan_summary = None
    if plan:  # the Plan section (pipecast.report.plan_section), on the same candidates, rate set and date
        from pipecast.facade import load_inputs
        from pipecast.report.plan_section import compute_plan

        chosen = load_inputs(str(assets) if assets else None, context_db(ctx), result.as_of).assets
        plan_summary = compute_plan(chosen, result.rate_set, result.as_of)
    written = write_report(out, result, goal, title=title, lang=language, value=summary, plan=plan_summary)
    echo(str(written))
    for line in result.warnings:
        echo(f"warning: {line}", err=True)


def register(app: typer.Typer) -> None:
    app.command("report")(report)
