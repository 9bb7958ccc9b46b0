"""`pipecast value deal|candidate|pipeline|programme`: risk-adjusted values from the forecast's own model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from pipecast.commands.common import (
    AsOfOption,
    AssetsOption,
    JsonOption,
    RatesOption,
    context_db,
    echo,
    echo_json,
)

EconomicsOpt = Annotated[
    Path | None,
    typer.Option(
        "--economics",
        help="ECONOMICS.csv (parameter,value[,therapeutic_area,modality,source...]); "
        "default: the bundled sourced table.",
    ),
]
CurrencyOpt = Annotated[str, typer.Option("--currency", help="Currency of the values: USD or CNY (millions).")]
PathsOpt = Annotated[int | None, typer.Option("--paths", min=100, show_default=False,
                                              help="Monte Carlo paths for P10/P50/P90 (default: setting `paths`).")]
RhoOpt = Annotated[
    list[str] | None,
    typer.Option("--rho", help="Monte Carlo: the forecast's copula correlation of success within a group, e.g. "
                 "sponsor=0.2 (repeatable; sponsor, therapeutic_area, modality, target, all)."),
]
ReviewSigmaOpt = Annotated[
    float | None,
    typer.Option("--review-sigma", min=0.0, max=5.0, show_default=False,
                 help="Monte Carlo: log sd of a per-path multiplier of the filed stage's duration (the "
                 "forecast's review shock; default with --rho: the rate set's factor_sigma)."),
]
SeedOpt = Annotated[int | None, typer.Option("--seed", show_default=False, help="Monte Carlo seed: the same seed gives "
                                             "the same numbers (default: setting `seed`).")]


def _assets(ctx: typer.Context, assets: Path | None, when: dt.date) -> list[Any]:
    from pipecast.domain import Portfolio
    from pipecast.facade import load_portfolio_assets

    chosen = load_portfolio_assets(str(assets) if assets else None, context_db(ctx), when)
    return list(Portfolio.of(chosen, when).assets)


def deal(
    ctx: typer.Context,
    deal_file: Annotated[
        Path,
        typer.Argument(help="DEAL.yaml: candidate, currency, date, upfront, milestones, royalties; "
                       "or `gr1803` for the bundled GR1803 terms."),
    ],
    assets: AssetsOption = None,
    rates: RatesOption = None,
    as_of: AsOfOption = None,
    economics: EconomicsOpt = None,
    json_output: JsonOption = False,
) -> None:
    """A licensing deal's headline against its risk-adjusted value to licensor and licensee.

    Example: pipecast value deal examples/deals/gr1803.yaml --as-of 2025-06-04 --json
    """
    from pipecast.facade import resolve_as_of, resolve_rates
    from pipecast.loading.deals import bundled_deal_path, load_deal
    from pipecast.valuation import deal_json

    with bundled_deal_path(str(deal_file)) as path:
        the_deal = load_deal(path)
    when = resolve_as_of(as_of)
    out = deal_json(the_deal, str(deal_file), _assets(ctx, assets, when), resolve_rates(rates), economics, when)
    if json_output:
        echo_json(out)
        return
    echo(f"Deal {the_deal.candidate} -> {the_deal.licensee or '(licensee)'} signed {the_deal.date}, seen on {when}")
    echo(
        f"Headline {out['headline']:,.1f} {out['currency']} million; risk-adjusted to the licensor "
        f"{out['risk_adjusted']['licensor']:,.1f}, to the licensee {out['risk_adjusted']['licensee']:,.1f} "
        f"(asset rNPV {out['asset_rnpv']:,.1f}; P(approval) {out['p_approval']:.1%}; "
        f"discount rate {out['discount_rate']:.1%})"
    )
    for p in out["payments"]:
        amount = "" if p["amount"] is None else f"{p['amount']:,.1f}"
        state = "paid" if p["paid"] else f"p={p['probability']:.1%}"
        echo(
            f"  {p['kind']:16} {p['event'][:48]:48} {amount:>9} {state:>9} {p['expected_date'] or ''!s:>10} "
            f"PV {p['present_value']:,.2f}"
        )


def candidate(
    ctx: typer.Context,
    candidate_id: Annotated[str, typer.Argument(help="Candidate id, e.g. genrix-gr1803.")],
    assets: AssetsOption = None,
    rates: RatesOption = None,
    as_of: AsOfOption = None,
    economics: EconomicsOpt = None,
    currency: CurrencyOpt = "USD",
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    rho: RhoOpt = None,
    review_sigma: ReviewSigmaOpt = None,
    json_output: JsonOption = False,
) -> None:
    """A candidate's rNPV: analytic expectation and its Monte Carlo P10/P50/P90.

    Example: pipecast value candidate genrix-gr1803 --as-of 2026-12-01 --json
    """
    from pipecast.facade import resolve_as_of, resolve_rates
    from pipecast.settings import int_value
    from pipecast.valuation import candidate_json, correlation_from

    when = resolve_as_of(as_of)
    n_paths, n_seed = int_value("paths", paths), int_value("seed", seed)
    rate_set = resolve_rates(rates)
    out = candidate_json(_assets(ctx, assets, when), candidate_id, rate_set, economics, currency, when,
                         paths=n_paths, seed=n_seed, correlation=correlation_from(rho, review_sigma, rate_set))
    if json_output:
        echo_json(out)
        return
    mc = out["montecarlo"]
    echo(
        f"{out['name']} ({out['id']}), {out['phase']}, seen on {when}: "
        f"rNPV {out['rnpv']:,.1f} {out['currency']} million (development {out['development_pv']:,.1f}, "
        f"commercial {out['commercial_pv']:,.1f}; P(approval) {out['p_approval']:.1%})"
    )
    echo(
        f"Monte Carlo ({mc['paths']} paths, seed {n_seed}): mean {mc['mean']:,.1f} +/- {mc['standard_error']:,.1f}; "
        f"P10 {mc['p10']:,.1f}, P50 {mc['p50']:,.1f}, P90 {mc['p90']:,.1f}"
    )
    even = out["break_even_peak_sales_median"]
    echo("Break-even median peak sales: " + (f"{even:,.1f}" if isinstance(even, float) else "n/a"))
    echo("Inputs that move rNPV most (each -20% / +20%):")
    for row in out["tornado"]:
        echo(f"  {row['input']:30} {row['rnpv_low']:10,.1f} {row['rnpv_high']:10,.1f}")


def pipeline(
    ctx: typer.Context,
    assets: AssetsOption = None,
    rates: RatesOption = None,
    as_of: AsOfOption = None,
    economics: EconomicsOpt = None,
    currency: CurrencyOpt = "USD",
    paths: PathsOpt = None,
    seed: SeedOpt = None,
    rho: RhoOpt = None,
    review_sigma: ReviewSigmaOpt = None,
    json_output: JsonOption = False,
) -> None:
    """The pipeline's rNPV (cohorts count each copy) with its Monte Carlo P10/P50/P90.

    Example: pipecast --db pipecast.sqlite value pipeline --as-of 2026-12-01 --json
    """
    from pipecast.domain import Portfolio
    from pipecast.facade import require_candidates, resolve_as_of, resolve_rates
    from pipecast.settings import int_value
    from pipecast.valuation import correlation_from, pipeline_json

    when = resolve_as_of(as_of)
    n_paths, n_seed = int_value("paths", paths), int_value("seed", seed)
    chosen = _assets(ctx, assets, when)
    require_candidates(Portfolio(tuple(chosen), when), assets)
    rate_set = resolve_rates(rates)
    out = pipeline_json(chosen, rate_set, economics, currency, when, paths=n_paths, seed=n_seed,
                        correlation=correlation_from(rho, review_sigma, rate_set))
    if json_output:
        echo_json(out)
        return
    for v in out["candidates"]:
        echo(
            f"  {v['id']:34} {v['phase']:12} x{v['count']:<3} P(appr) {v['p_approval']:6.1%}  rNPV {v['rnpv']:10,.1f}"
            f"  total {v['rnpv_total']:10,.1f}"
        )
    total = out["montecarlo"]
    echo(
        f"Pipeline rNPV on {when}: {out['rnpv']:,.1f} {out['currency']} million; Monte Carlo mean "
        f"{total['mean']:,.1f} +/- {total['standard_error']:,.1f}, "
        f"P10 {total['p10']:,.1f}, P50 {total['p50']:,.1f}, P90 {total['p90']:,.1f}"
    )


def programme(
    ctx: typer.Context,
    programme_file: Annotated[Path, typer.Argument(help="PROGRAMME.yaml, e.g. the bundled Chongqing 2025 measures.")],
    assets: AssetsOption = None,
    rates: RatesOption = None,
    as_of: AsOfOption = None,
    economics: EconomicsOpt = None,
    scenarios: Annotated[
        list[Path] | None,
        typer.Option(
            "--scenario",
            help="SCENARIO.yaml (repeatable): the same figures with the scenario's levers applied to the "
            "candidates and rates, new entrants included.",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """A support programme's expected outlay and timing against expected approvals: cost per expected approval.

    PROGRAMME_FILE may be `chongqing-2025` for the bundled 2025 measures.
    Example: pipecast --db pipecast.sqlite value programme chongqing-2025 --as-of 2026-12-01 --json
    """
    from pipecast.facade import resolve_as_of, resolve_rates
    from pipecast.loading.deals import bundled_programme_path, load_programme
    from pipecast.loading.scenarios import load_scenario
    from pipecast.valuation import programme_json

    with bundled_programme_path(str(programme_file)) as path:
        the_programme = load_programme(path)
    when = resolve_as_of(as_of)
    loaded = [(load_scenario(path), str(path)) for path in scenarios or ()]
    out = programme_json(the_programme, _assets(ctx, assets, when), resolve_rates(rates), economics, when, loaded)
    if json_output:
        echo_json(out)
        return
    echo(f"{the_programme.name}, valid {the_programme.valid_from} to {the_programme.valid_until}, seen on {when}")
    for figures in (out, *out.get("scenarios", ())):
        _echo_programme(figures)


def _echo_programme(out: dict[str, Any]) -> None:
    cost = out["cost_per_expected_approval"]
    echo(f"[{out['scenario']}]")
    echo(
        f"  Expected outlay {out['expected_outlay']:,.1f} {out['currency']} million "
        f"(due to date {out['due_to_date']:,.1f}); "
        f"expected approvals {out['expected_approvals']:.2f}; cost per expected approval "
        + (f"{cost:,.1f}" if cost is not None else "n/a (no approval expected)")
    )
    echo("  By year: " + ", ".join(f"{y} {v:,.1f}" for y, v in dict(out["outlay_by_year"]).items()))
    echo(f"  rNPV of the candidates supported: {out['rnpv_created']:,.1f} {out['rnpv_currency']} million")
    extras = [
        ("annual revenue from approvals", out["annual_revenue_from_approvals"], ",.1f"),
        ("jobs from approvals", out["jobs_from_approvals"], ",.0f"),
        ("outlay per job", out["cost_per_job"], ",.3f"),
    ]
    shown = [f"{label} {value:{fmt}}" for label, value, fmt in extras if value is not None]
    if shown:
        echo("  " + "; ".join(shown))



def _money(amount: float | None, currency: str) -> str:
    return "unknown" if amount is None else f"{currency} {amount:,.1f}m".strip()


def deals(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    candidate_id: Annotated[str | None, typer.Option("--candidate", help="Only deals on this candidate id.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Recorded licensing deals (dated, sourced; amounts as published, `unknown` where none is).

    Example: pipecast --db pipecast.sqlite value deals --json
    """
    from pipecast.commands.common import open_store, parse_date_option
    from pipecast.store.money import deals as stored_deals

    when = parse_date_option(as_of)
    with open_store(ctx) as store:
        found = stored_deals(store, when, candidate_id)
    if json_output:
        echo_json([d.as_dict() for d in found])
        return
    echo(f"{len(found)} deal(s)" + (f" dated on or before {when}" if when else ""))
    for d in found:
        echo(f"  {d.date_text:11} {d.licensor} -> {d.licensee}: {d.asset or d.candidate}")
        echo(
            f"    upfront {_money(d.upfront, d.currency)}, development/regulatory milestones "
            f"{_money(d.development_milestones, d.currency)}, "
            f"sales milestones {_money(d.sales_milestones, d.currency)}, headline {_money(d.headline, d.currency)}"
            + (f"; royalties {d.royalties}" if d.royalties else "")
        )
        echo(f"    {d.status}; source: {d.source_title} {d.source_url}".replace("    ; ", "    "))


def funding(
    ctx: typer.Context,
    as_of: AsOfOption = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="Only this kind: loan, grant, subsidy, reward, equity, fund or investment."),
    ] = None,
    candidate_id: Annotated[str | None, typer.Option("--candidate", help="Only events tied to this candidate.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Recorded funding events: loans, grants, subsidies, rewards, equity rounds, funds, investments.

    Example: pipecast --db pipecast.sqlite value funding --kind equity --json
    """
    from pipecast.commands.common import open_store, parse_date_option
    from pipecast.store.money import funding as stored_funding

    when = parse_date_option(as_of)
    with open_store(ctx) as store:
        found = stored_funding(store, when, kind, candidate_id)
    if json_output:
        echo_json([f.as_dict() for f in found])
        return
    echo(f"{len(found)} funding event(s)" + (f" dated on or before {when}" if when else ""))
    for f in found:
        terms = [x for x in (
            f"rate {f.rate:.2%}" if f.rate is not None else "",
            f"term {f.term_months:g} months" if f.term_months is not None else "",
            f"collateral {f.collateral}" if f.collateral else "",
            f.round, f"{f.projects} projects" if f.projects else "",
        ) if x]
        echo(f"  {f.date_text:11} {f.kind:10} {_money(f.amount, f.currency):>16}  {f.recipient}"
             + (f" (from {f.funder})" if f.funder else ""))
        echo("    " + "; ".join([*terms, f.programme, f"source: {f.source_title} {f.source_url}"]).replace("; ;", ";"))


def record(
    ctx: typer.Context,
    path: Annotated[
        Path,
        typer.Argument(help="DEAL.yaml with `source: {title, url, date}`, or a folder holding deals.csv and/or "
                       "funding.csv (the bundled data set's columns)."),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and count; write nothing.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Record deals and funding events in the store: append-only, chained, idempotent by key.

    Example: pipecast --db pipecast.sqlite value record examples/deals/gr1803.yaml
    """
    from pipecast.commands.store_cmds import open_store
    from pipecast.errors import InputError
    from pipecast.loading.deals import deal_record
    from pipecast.store.money import add_money, read_money_folder

    if path.is_dir():
        deal_list, funding_list = read_money_folder(path)
        if not deal_list and not funding_list:
            raise InputError("no deals.csv or funding.csv in the folder", file=str(path),
                             expected="a folder with deals.csv and/or funding.csv")
    elif path.suffix.lower() in (".yaml", ".yml"):
        deal_list, funding_list = [deal_record(path)], []
    else:
        raise InputError("not a DEAL.yaml or a folder", file=str(path),
                         expected="a DEAL.yaml, or a folder with deals.csv and/or funding.csv")
    with open_store(ctx, write=True, preview=dry_run) as store:
        added = add_money(store, deal_list, funding_list, dry_run=dry_run)
    out = {"file": str(path), "deals_added": added[0], "funding_events_added": added[1], "dry_run": dry_run}
    if json_output:
        echo_json(out)
        return
    verb = "would add" if dry_run else "added"
    echo(f"{path}: {verb} {added[0]} deal(s) and {added[1]} funding event(s)")


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Risk-adjusted values: deals, candidate and pipeline rNPV, support programmes.", no_args_is_help=True
    )
    group.command("deal")(deal)
    group.command("candidate")(candidate)
    group.command("pipeline")(pipeline)
    group.command("programme")(programme)
    group.command("deals")(deals)
    group.command("funding")(funding)
    group.command("record")(record)
    app.add_typer(group, name="value")
