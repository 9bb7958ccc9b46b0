"""`pipecast plan` (each target of a plan: actual, trend, forecast, P(met), verdict) and `pipecast
compare-regions` (hubs side by side from their published counts, with the same rate set)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipecast.commands.common import (
    AsOfOption,
    AssetsOption,
    JsonOption,
    RatesOption,
    YearsOption,
    app_context,
    console,
    context_db,
    echo_json,
    parse_date_option,
    text,
)
from pipecast.errors import InputError, OptionConflictError

if TYPE_CHECKING:
    from pipecast.domain import Asset, Organisation
    from pipecast.plan.hubs import HubComparison
    from pipecast.plan.verdict import KpiStatus

TargetsFileOption = Annotated[
    Path | None, typer.Option("--targets", help="plan_targets.csv (default: the bundled Chongqing plan's targets).")
]
FiguresFileOption = Annotated[
    Path | None,
    typer.Option("--figures", help="plan_figures.csv: entered actuals with sources (default: the bundled ones)."),
]
RegionOption = Annotated[
    str | None,
    typer.Option("--region", help="A region id (see regions.csv): only what is attributed to it or inside it."),
]
RegionsFileOption = Annotated[
    Path | None, typer.Option("--regions", help="regions.csv: id,name,kind,parent,... (default: bundled hubs).")
]
HubFiguresOption = Annotated[
    Path | None, typer.Option("--hub-figures", help="Hubs' published counts, figures.csv (default: bundled).")
]


def _as_of(value: str | None) -> dt.date:
    from pipecast.clock import today

    return parse_date_option(value) or today()


def _registry(ctx: typer.Context, assets: Path | None, when: dt.date) -> tuple[list[Asset], list[Organisation]]:
    """Candidates (all known on `when`) and organisations from --assets or the store."""
    from pipecast.facade import load_inputs

    if assets is not None and app_context(ctx).db:
        raise OptionConflictError("--assets and --db do not go together: give one source of candidates",
                                  option="--assets")
    from pipecast.domain import Portfolio
    from pipecast.facade import require_candidates

    chosen = load_inputs(str(assets) if assets else None, context_db(ctx), when).assets
    require_candidates(Portfolio.of(chosen, when), str(assets) if assets else None)
    return chosen, _organisations(ctx, assets)


def _organisations(ctx: typer.Context, assets: Path | None) -> list[Organisation]:
    if assets is None:
        from pipecast.store import Store

        with Store.open(context_db(ctx)) as store:
            return store.organisations()
    folder = assets if assets.is_dir() else assets.parent
    path = folder / "organisations.csv"
    if not path.is_file():
        return []
    from pipecast.ingest.assets_file import load_organisations

    return load_organisations(path)


def plan_command(
    ctx: typer.Context,
    assets: AssetsOption = None,
    as_of: AsOfOption = None,
    rates: RatesOption = None,
    targets: TargetsFileOption = None,
    figures: FiguresFileOption = None,
    region: RegionOption = None,
    regions_file: RegionsFileOption = None,
    json_output: JsonOption = False,
) -> None:
    """Each target of a plan: target, actual (counted from the registry where pipecast can, else entered
    figures with sources), trend, forecast, P(target met) and on track / at risk with the reason.

    Example: pipecast --db cq.sqlite plan --as-of 2026-12-01
    """
    from pipecast.facade import resolve_rates
    from pipecast.loading.hubs import load_regions
    from pipecast.loading.plan import load_figures, load_targets
    from pipecast.plan.regions import candidates_in
    from pipecast.plan.verdict import evaluate

    if regions_file is not None and region is None:
        raise OptionConflictError("--regions needs --region: the region file is only read to resolve it",
                                  option="--regions")
    when = _as_of(as_of)
    goals = load_targets(targets, today=when if targets else None)
    entered = load_figures(figures, goals, today=when if figures else None)
    rate_set = resolve_rates(rates)
    candidates, organisations = _registry(ctx, assets, when)
    if region is not None:
        tree, _ = load_regions(regions_file)
        candidates = candidates_in(region, candidates, organisations, tree)
        goals = [g for g in goals if g.region in tree and tree.within(g.region, region)]
        if not goals:
            raise InputError(f"no target of the plan lies in region {region!r}", field="--region",
                             expected="a region that holds a target, e.g. chongqing")
    statuses = evaluate(goals, entered, candidates, rate_set, when)
    from pipecast.loading.post_approval import load_post_approval
    from pipecast.plan.post_approval import summarise

    after = summarise(candidates, load_post_approval(assets if assets is not None and assets.is_dir() else None), when)
    if json_output:
        echo_json({"as_of": when, "rate_set": rate_set.name, "region": region,
                   "candidates": sum(a.count for a in candidates), "on_track_threshold": _threshold(),
                   "targets": [s.as_dict() for s in statuses], "post_approval": after})
        return
    _print_plan(statuses, when, rate_set.name)
    console.print(f"after approval: {after['approved']} approved, {after['nrdl_listed']} listed in the NRDL, "
         f"{after['with_provinces']} with a published province count, {after['with_patients']} with patients reached")


def _threshold() -> float:
    from pipecast.plan.verdict import ON_TRACK

    return ON_TRACK


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


VERDICT_STYLE = {"on track": "green", "met": "green", "at risk": "red", "missed": "red"}


def _print_plan(statuses: list[KpiStatus], when: dt.date, rate_name: str) -> None:
    from rich.table import Table

    table = Table(title=f"Plan targets as of {when} (rate set {rate_name}; on track: P(met) >= {_threshold()})")
    for column in ("target", "bound", "actual", "P(met)", "verdict"):
        table.add_column(column, overflow="fold")
    for s in statuses:
        shown = "-" if s.actual is None else (f"{s.actual.value:g}" if s.actual.source == "registry"
                                               else s.actual.label)
        actual = shown if s.actual is None else f"{shown} ({s.actual.date})"
        table.add_row(text(s.target.label), text(s.target.bound_text()), text(actual), _p(s.p_met),
                      text(s.verdict, VERDICT_STYLE.get(s.verdict, "")))
    console.print(table)
    for s in statuses:
        console.print(text(f"{s.target.id} [{s.target.unit}]: {s.verdict}: {s.reason}",
                           VERDICT_STYLE.get(s.verdict, "")))
        actual_source = "" if s.actual is None else f" (actual from {s.actual.source})"
        console.print(text(f"  trend: {s.trend or '-'}{actual_source}"))
        if s.forecast:
            console.print(text(f"  forecast: {s.forecast}"))
        console.print(text(f"  source: {s.target.citation.title} ({s.target.citation.url})"))
        if s.verdict == "cannot judge" and s.target.note:
            console.print(text(f"  note: {s.target.note}"))


def compare_command(
    as_of: AsOfOption = None,
    years: YearsOption = None,
    rates: RatesOption = None,
    region: RegionOption = None,
    regions_file: RegionsFileOption = None,
    hub_figures: HubFiguresOption = None,
    json_output: JsonOption = False,
) -> None:
    """Hubs side by side: a cohort pipeline from each hub's published counts (phase split rule in
    docs/plan.md), its funnel, exact approval forecasts from the same rate set, per firm where a firm count
    is published, and a note on what each hub's data covers. Default years: the three after the as-of year.

    Example: pipecast compare-regions --as-of 2026-12-01 --json
    """
    from pipecast.facade import resolve_rates
    from pipecast.loading.hubs import load_hub_figures, load_regions
    from pipecast.plan.hubs import compare_hubs
    from pipecast.targets import parse_years

    when = _as_of(as_of)
    year_list = parse_years(years) if years else list(range(when.year + 1, when.year + 4))
    if year_list[-1] < when.year:
        raise InputError(f"every year of {years} is before the as-of date {when}", field="--years",
                         expected=f"years from {when.year} on")
    year_list = [y for y in year_list if y >= when.year]
    tree, hubs = load_regions(regions_file)
    figures = load_hub_figures(hub_figures, tree, today=when if hub_figures else None)
    chosen = [tree.get(h) for h in hubs]
    if region is not None:
        tree.get(region)
        chosen = [r for r in chosen if tree.within(r.id, region)]
        if not chosen:
            raise InputError(f"no hub lies in region {region!r}", field="--region",
                             expected="a region holding a hub, e.g. china or chongqing")
    rate_set = resolve_rates(rates)
    rows = compare_hubs(chosen, figures, rate_set, when, year_list)
    if json_output:
        echo_json({"as_of": when, "years": year_list, "rate_set": rate_set.name,
                   "hubs": [r.as_dict() for r in rows]})
        return
    _print_hubs(rows, when, year_list, rate_set.name)


def _cell(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _print_hubs(rows: list[HubComparison], when: dt.date, years: list[int], rate_name: str) -> None:
    from rich.table import Table

    table = Table(title=f"Hubs side by side as of {when} (rate set {rate_name}, exact engine, cohorts from "
                  "published counts)")
    for column in ("hub", "pre/P1/P2/P3/filed", *(f"E[{y}]" for y in years), "E[total]", "per 100 firms"):
        table.add_column(column, overflow="fold")
    for r in rows:
        funnel = "/".join(str(v) for v in r.pipeline.stages.values()) if r.pipeline.total else "not published"
        cells: list[Any] = [text(f"{r.region.name} ({r.region.kind})"), funnel,
                            *(_cell(r.expected(y)) for y in years), _cell(r.expected_total),
                            _cell(r.per_100_firms(r.expected_total), 3)]
        table.add_row(*cells)
    console.print(table)
    for r in rows:
        published = "; ".join(f"{f.period}: {f.shown}" for f in r.published) or "none in the data"
        firms = f"{r.firms.shown} {r.firms.unit} ({r.firms.date})" if r.firms else "not published"
        console.print(text(f"{r.region.name}: published approvals {published}; firms {firms}."))
        console.print(text(f"  coverage: {r.coverage}"))
    if all(r.population is None for r in rows):
        console.print(text("Per capita: not computed (no sourced population figure in the hub data)."))


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_command)
    app.command("compare-regions")(compare_command)
