"""The figures of `pipecast value deal|candidate|pipeline|programme` as JSON-ready dicts.

Shell code shared by the CLI (`pipecast.commands.value_cmd`) and the API (`pipecast.api.routers.value`), so
both give the same JSON for the same store: the callers load the candidates, rates and files; this module
picks the economics and runs the pure `pipecast.value` functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipecast.errors import InputError

if TYPE_CHECKING:
    from pipecast.domain import Asset
    from pipecast.engines.montecarlo import Correlation
    from pipecast.rates import RateSet
    from pipecast.scenarios import Scenario
    from pipecast.value.deals import Deal
    from pipecast.value.economics import Economics
    from pipecast.value.programme import Programme

EconomicsFor = Callable[["Asset"], "Economics"]


def economics_for(table_path: Path | None, currency: str) -> EconomicsFor:
    """Per candidate, the most specific default (or `table_path`'s) economics converted to `currency`."""
    from pipecast.loading.economics import bundled_economics, load_economics
    from pipecast.value.economics import CURRENCIES, normalise_currency

    if normalise_currency(currency) not in CURRENCIES:
        raise InputError(f"unknown currency {currency!r}", field="--currency", expected="USD or CNY (also RMB)")
    table = load_economics(table_path) if table_path else bundled_economics()

    def pick(asset: Asset) -> Economics:
        return table.for_candidate(asset.therapeutic_area, asset.modality).converted(currency)

    return pick


def find_candidate(assets: Sequence[Asset], candidate: str, origin: str, key: str, when: dt.date) -> Asset:
    for asset in assets:
        if asset.id == candidate:
            return asset
    known = ", ".join(a.id for a in assets[:8]) + (" ..." if len(assets) > 8 else "")
    raise InputError(
        f"key {key}: unknown candidate {candidate!r} (not known on {when})",
        file=origin,
        expected=f"the id of a candidate in the assets file or the store ({known})",
    )


def deal_json(the_deal: Deal, origin: str, assets: Sequence[Asset], rates: RateSet,
              economics: Path | None, when: dt.date) -> dict[str, Any]:
    from pipecast.value.deals import value_deal
    from pipecast.value.economics import CURRENCIES, normalise_currency

    if normalise_currency(the_deal.currency) not in CURRENCIES:
        raise InputError(
            f"key currency: no exchange rate for {the_deal.currency!r} to convert the default economics",
            file=origin,
            expected="USD or CNY (also RMB)",
        )
    asset = find_candidate(assets, the_deal.candidate, origin, "candidate", when)
    econ = economics_for(economics, normalise_currency(the_deal.currency))(asset)
    out: dict[str, Any] = value_deal(the_deal, asset, rates, econ, when).as_dict()
    return out


def candidate_json(assets: Sequence[Asset], candidate_id: str, rates: RateSet, economics: Path | None,
                   currency: str, when: dt.date, *, paths: int, seed: int,
                   correlation: Correlation | None = None) -> dict[str, Any]:
    from pipecast.value.montecarlo import simulate_portfolio
    from pipecast.value.rnpv import value_candidate
    from pipecast.value.sensitivity import break_even_peak_sales, tornado

    asset = find_candidate(assets, candidate_id, "CANDIDATE", "id", when)
    pick = economics_for(economics, currency)
    econ = pick(asset)
    value = value_candidate(asset, rates, econ, when)
    _, per = simulate_portfolio([asset], rates, pick, when, paths=paths, seed=seed, correlation=correlation)
    return {
        **value.as_dict(),
        "currency": econ.currency,
        "as_of": when.isoformat(),
        "montecarlo": per[asset.id].as_dict(),
        "economics": dict(econ.values),
        "break_even_peak_sales_median": break_even_peak_sales(asset, rates, econ, when),
        "tornado": [s.as_dict() for s in tornado(asset, rates, econ, when)],
    }


def pipeline_json(assets: Sequence[Asset], rates: RateSet, economics: Path | None, currency: str,
                  when: dt.date, *, paths: int, seed: int,
                  correlation: Correlation | None = None) -> dict[str, Any]:
    from pipecast.value.montecarlo import simulate_portfolio
    from pipecast.value.rnpv import value_candidate

    pick = economics_for(economics, currency)
    values = [value_candidate(a, rates, pick(a), when) for a in assets]
    total, _ = simulate_portfolio(assets, rates, pick, when, paths=paths, seed=seed, correlation=correlation)
    out: dict[str, Any] = {
        "as_of": when.isoformat(),
        "currency": pick(assets[0]).currency if assets else currency.upper(),
        "rnpv": sum(v.rnpv * v.count for v in values),
        "montecarlo": total.as_dict(),
        "candidates": [v.as_dict() for v in values],
    }
    if correlation is not None:
        out["correlation"] = correlation.describe()
    return out


def programme_json(the_programme: Programme, assets: Sequence[Asset], rates: RateSet, economics: Path | None,
                   when: dt.date, scenarios: Sequence[tuple[Scenario, str]] | None = None) -> dict[str, Any]:
    """The programme's figures; with `scenarios` ((scenario, label) pairs) `scenarios: [...]` too."""
    from pipecast.value.economics import normalise_currency
    from pipecast.value.programme import evaluate_programme, evaluate_under_scenario

    pick = economics_for(economics, normalise_currency(the_programme.currency))
    out: dict[str, Any] = evaluate_programme(the_programme, list(assets), rates, pick, when).as_dict()
    if scenarios:
        out["scenarios"] = [
            {**evaluate_under_scenario(the_programme, scenario, list(assets), rates, pick, when).as_dict(),
             "scenario_file": label}
            for scenario, label in scenarios
        ]
    return out


def correlation_from(rho: Sequence[str] | dict[str, float] | None, review_sigma: float | None,
                     rates: RateSet) -> Correlation | None:
    """The forecast's Monte Carlo factors (`--rho sponsor=0.2`, `--review-sigma`), or None when neither is
    given (independent candidates). As in the forecast, a rate set's `factor_sigma` is the review shock
    when `review_sigma` is not given."""
    from pipecast.engines.montecarlo import Correlation
    from pipecast.loading.options import parse_group_rho

    if not rho and review_sigma is None:
        return None
    sigma = review_sigma if review_sigma is not None else rates.factor_sigma
    return Correlation(rho=parse_group_rho(rho), review_sigma=sigma)
