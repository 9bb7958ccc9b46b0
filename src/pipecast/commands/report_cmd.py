"""`pipecast report`: one self-contained HTML page with the forecast, the target check and the assumptions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipecast.commands.common import DEFAULT_RATES, RatesOption

#: The plan's target used when --target is not given: 1 to 3 approvals in each year from 2027 to 2030.
DEFAULT_TARGET = "2027-2030:1-3"

# Options are declared here rather than imported from pipecast.cli, which imports this module.
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="HTML file to write.")]
AssetsOpt = Annotated[
    Path | None,
    typer.Option(
        "--assets",
        help="ASSETS.csv/.xlsx or a data-set folder. Without it the store (--db) is reported.",
    ),
]
AsOfOpt = Annotated[
    str | None, typer.Option("--as-of", help="Date the pipeline is seen from (default today).")
]
YearsOpt = Annotated[
    str | None, typer.Option("--years", help="Forecast years, e.g. 2025-2031 (default: as-of year + 6).")
]
TargetOpt = Annotated[
    str,
    typer.Option(
        "--target", help="The plan's target, e.g. 2027-2030:1-3 (1 to 3 approvals each year), or a file."
    ),
]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of the page: en or zh.")]
TitleOpt = Annotated[str | None, typer.Option("--title", help="Page title (default: a title in --lang).")]


def report(
    ctx: typer.Context,
    out: OutOpt = Path("report.html"),
    assets: AssetsOpt = None,
    rates: RatesOption = DEFAULT_RATES,
    as_of: AsOfOpt = None,
    years: YearsOpt = None,
    target: TargetOpt = DEFAULT_TARGET,
    lang: LangOpt = "en",
    title: TitleOpt = None,
) -> None:
    """Write an HTML report that opens offline: target probability, fan chart, distributions, candidates,
    pipeline funnel and every assumption.

    Example: pipecast report --out report.html --assets ASSETS.csv --rates global --as-of 2025-11-01
    """
    from pipecast.errors import InputError
    from pipecast.facade import forecast as run_forecast
    from pipecast.report.html import LANGUAGES, write_report
    from pipecast.targets import load_target

    if lang not in LANGUAGES:
        raise InputError(f"unknown language {lang!r}", field="--lang", expected=" or ".join(LANGUAGES))
    goal = load_target(target)
    db = getattr(ctx.obj, "db", "") or None
    result = run_forecast(
        str(assets) if assets else None,
        rates=rates,
        as_of=as_of,
        years=years,
        db=db,
    )
    written = write_report(out, result, goal, title=title, lang=lang)
    typer.echo(str(written))


def register(app: typer.Typer) -> None:
    app.command("report")(report)
