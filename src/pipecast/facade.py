"""One call from Python: `pipecast.forecast(assets=..., rates=..., as_of=..., years=...)`.

This is the shell around the pure engines: it reads files or the store, then calls the core.

    >>> import pipecast
    >>> result = pipecast.forecast(assets="examples/assets.csv", rates="global",
    ...                            as_of="2025-11-01", years="2025-2031")
    >>> round(result.outlook(2027).expected, 3) >= 0
    True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

from pipecast.clock import today
from pipecast.domain import Asset, Portfolio
from pipecast.errors import InputError
from pipecast.engines.exact import forecast_portfolio
from pipecast.engines.result import Forecast
from pipecast.rates import BUNDLED_RATE_SETS, RateSet, bundled_rate_set, load_rate_set
from pipecast.tabular import parse_date
from pipecast.targets import parse_years

DEFAULT_RATES = "china"
DEFAULT_YEARS_AHEAD = 6


def resolve_rates(rates: str | Path | RateSet | None) -> RateSet:
    if isinstance(rates, RateSet):
        return rates
    name = str(rates or DEFAULT_RATES)
    if name in BUNDLED_RATE_SETS:
        return bundled_rate_set(name)
    return load_rate_set(name)


def resolve_as_of(as_of: str | dt.date | None) -> dt.date:
    if as_of is None:
        return today()
    if isinstance(as_of, dt.date):
        return as_of
    try:
        return parse_date(as_of)
    except ValueError:
        raise InputError(
            f"cannot read date {as_of!r}", field="--as-of", expected="an ISO date such as 2025-11-01"
        ) from None


def resolve_years(years: str | Sequence[int] | None, as_of: dt.date) -> list[int]:
    if years is None:
        return list(range(as_of.year, as_of.year + DEFAULT_YEARS_AHEAD + 1))
    if isinstance(years, str):
        return parse_years(years)
    return list(years)


def load_portfolio_assets(assets: str | Path | Sequence[Asset] | None, db: str | None, as_of: dt.date) -> list[Asset]:
    if assets is None:
        from pipecast.store import Store

        with Store.open(db) as store:
            return store.assets(as_of)
    if isinstance(assets, str | Path):
        path = Path(assets)
        from pipecast.ingest.assets_file import load_assets, load_dataset

        if path.is_dir():
            return load_dataset(path, today=max(as_of, today()))
        return load_assets(path, today=as_of)
    return list(assets)


def forecast(
    assets: str | Path | Sequence[Asset] | None = None,
    *,
    rates: str | Path | RateSet | None = None,
    as_of: str | dt.date | None = None,
    years: str | Sequence[int] | None = None,
    db: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Forecast:
    """Forecast approvals per year for a file, a list of assets, or the store (when `assets` is None)."""
    when = resolve_as_of(as_of)
    rate_set = resolve_rates(rates)
    year_list = resolve_years(years, when)
    portfolio = Portfolio.of(load_portfolio_assets(assets, db, when), when)
    require_candidates(portfolio, assets)
    return forecast_portfolio(portfolio, rate_set, year_list, progress)


def require_candidates(portfolio: Portfolio, assets: object) -> None:
    """An empty portfolio is a user's mistake (an empty store, an as-of date before any event), not a 0."""
    if len(portfolio):
        return
    where = "the store" if assets is None else str(assets)
    raise InputError(
        f"no candidates known on {portfolio.as_of} in {where}",
        expected="a store loaded with `pipecast load-bundled chongqing` or `pipecast import FILE`, "
        "or a later --as-of date",
    )
