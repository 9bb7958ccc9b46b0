"""One call from Python: `pipecast.forecast(assets=..., rates=..., as_of=..., years=..., target=...)`.

This is the shell around the pure engines: it reads files or the store, reads defaults from the settings
table, then calls the core. Every forecast it returns knows `data_as_of` (the latest dated event or fact it
used), `stale_ids` (candidates `pipecast check` flags stale) and `warnings` (plain sentences: years extended
to cover the target, data older than the as-of date, the share of P(target) resting on stale candidates).

    >>> import pipecast
    >>> result = pipecast.forecast(assets="examples/assets.csv", rates="global",
    ...                            as_of="2025-11-01", years="2025-2031")
    >>> round(result.outlook(2027).expected, 3) >= 0
    True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipecast.clock import today
from pipecast.domain import Asset, Portfolio
from pipecast.errors import InputError, OptionConflictError
from pipecast.rates import RateSet
from pipecast.settings import from_env, int_value, resolve_db
from pipecast.targets import Target, parse_years

if TYPE_CHECKING:
    from pipecast.engines.result import Forecast

#: Forecast years must lie in this range (dates beyond it are not meaningful for a pipeline forecast).
FIRST_YEAR = 1900
LAST_YEAR = 2200
METHODS = ("exact", "montecarlo")
#: Options that only the Monte Carlo method uses: Python keyword -> command-line option.
MONTECARLO_ONLY: dict[str, str] = {
    "paths": "--paths",
    "seed": "--seed",
    "engine": "--engine",
    "scheduler": "--scheduler",
    "rho": "--rho",
    "review_sigma": "--review-sigma",
    "sponsor_stop": "--sponsor-stop",
}
#: How the share of P(target) resting on stale candidates is defined (shown in help texts and JSON).
STALE_SHARE_DEFINITION = (
    "P(target met) minus P(target met) recomputed without the candidates `pipecast check` flags stale"
)


def resolve_rates(rates: str | Path | RateSet | None) -> RateSet:
    """A RateSet as given, a bundled one by name, or a rate file; None: the settings table's default."""
    from pipecast.loading.rates import resolve_rate_set

    return resolve_rate_set(rates if rates is not None else from_env("rates"))


def resolve_as_of(as_of: str | dt.date | None) -> dt.date:
    from pipecast.tabular import parse_date

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
    """The forecast years as given, or the as-of year and `years_ahead` (settings) more; always within
    FIRST_YEAR-LAST_YEAR and not all before the as-of year."""
    if years is None:
        year_list = list(range(as_of.year, as_of.year + int_value("years_ahead") + 1))
    elif isinstance(years, str):
        year_list = parse_years(years)
    else:
        year_list = sorted({int(y) for y in years})
    check_years(year_list, as_of)
    return year_list


def check_years(years: Sequence[int], as_of: dt.date) -> None:
    if not years:
        raise InputError("no forecast years", field="--years", expected="YEAR or FIRST-LAST, e.g. 2025-2031")
    if as_of.year > LAST_YEAR:
        raise InputError(f"{as_of} is too far ahead", field="--as-of",
                         expected=f"a date in or before {LAST_YEAR}")
    if years[0] < FIRST_YEAR or years[-1] > LAST_YEAR:
        raise InputError(f"years {years[0]}-{years[-1]} are out of range", field="--years",
                         expected=f"years from {FIRST_YEAR} to {LAST_YEAR}")
    if as_of.year > years[-1]:
        raise InputError(
            f"the as-of date {as_of} is after every forecast year ({years[0]}-{years[-1]})",
            field="--as-of", expected=f"a date on or before {years[-1]}-12-31, or later --years",
        )


def cover_target(years: list[int], target: Target | None) -> tuple[list[int], str | None]:
    """Forecast years extended to a contiguous range covering every year of the target, and the warning
    that says so (None when nothing changed). A target is never computed on a subset of its years."""
    if target is None or all(y in years for y in target.years):
        return years, None
    first, last = min(years[0], target.first_year), max(years[-1], target.last_year)
    extended = list(range(first, last + 1))
    note = (
        f"forecast years extended from {_span(years)} to {_span(extended)} to cover every year of the "
        f"target {target}"
    )
    return extended, note


def _span(years: Sequence[int]) -> str:
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def resolve_target(target: Target | str | None) -> Target | None:
    if target is None or isinstance(target, Target):
        return target
    from pipecast.loading.targets import load_target

    return load_target(target)


def check_method_options(method: str, given: Mapping[str, object], *, cli: bool = False) -> None:
    """Every option takes effect or is an error: Monte Carlo options need the Monte Carlo method, and a
    scheduler needs the dask engine. `given` maps Python keywords to values (None or empty: not given)."""
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}", field="--method", expected="exact or montecarlo")
    named = [key for key, value in given.items() if value is not None and value != [] and value != ()]
    if method != "montecarlo" and named:
        key = named[0]
        text = f"{MONTECARLO_ONLY[key]} needs --method montecarlo" if cli else f"{key}= needs method='montecarlo'"
        raise OptionConflictError(
            f"{text}: the exact method treats candidates as independent and draws no random paths",
            option=MONTECARLO_ONLY[key],
        )
    engine = given.get("engine") or from_env("engine")
    if given.get("scheduler") is not None and engine != "dask":
        text = "--scheduler needs --engine dask" if cli else "scheduler= needs engine='dask'"
        raise OptionConflictError(text, option="--scheduler")


@dataclass(frozen=True, slots=True)
class Inputs:
    """What a forecast reads: the candidates as known on the as-of date and the latest date the data holds."""

    assets: list[Asset]
    data_as_of: dt.date | None


def latest_date(assets: Iterable[Asset], fact_dates: Iterable[dt.date | None] = (), *,
                as_of: dt.date | None = None) -> dt.date | None:
    """The latest dated event (its date, when recorded, its source's date) or fact, not after `as_of`."""
    dates: list[dt.date] = [d for d in fact_dates if d is not None]
    for asset in assets:
        for event in asset.history:
            dates.append(event.date)
            if event.recorded is not None:
                dates.append(event.recorded)
            if event.source is not None and event.source.date is not None:
                dates.append(event.source.date)
    if as_of is not None:
        dates = [d for d in dates if d <= as_of]
    return max(dates) if dates else None


def load_inputs(assets: str | Path | Sequence[Asset] | None, db: str | None, as_of: dt.date) -> Inputs:
    """Candidates from a file, a data-set folder, a list, or the store (assets None), and their data date."""
    if assets is None:
        from pipecast.store.quickread import read_inputs

        where = resolve_db(db)
        found = read_inputs(where, as_of)  # SQLite at the head revision, without SQLAlchemy: a fast start
        if found is None:
            from pipecast.store import Store

            with Store.open(where) as store:
                found = store.assets(as_of), store.facts(as_of=as_of)
        chosen, facts = found
        return Inputs(chosen, latest_date(chosen, (f.as_of for f in facts), as_of=as_of))
    if isinstance(assets, str | Path):
        path = Path(assets)
        from pipecast.ingest.assets_file import load_assets, load_dataset

        chosen = load_dataset(path, today=max(as_of, today())) if path.is_dir() else load_assets(path, today=as_of)
    else:
        chosen = list(assets)
    views = [v for v in (a.as_of(as_of) for a in chosen) if v is not None]
    return Inputs(chosen, latest_date(views, as_of=as_of))


def load_portfolio_assets(assets: str | Path | Sequence[Asset] | None, db: str | None, as_of: dt.date) -> list[Asset]:
    return load_inputs(assets, db, as_of).assets


@dataclass(frozen=True, slots=True)
class Method:
    """How to compute: the method and, for Monte Carlo, its settings (`forecast` fills them from the
    arguments or the settings table; the exact method uses none of them)."""

    name: str = "exact"
    paths: int = 0
    seed: int = 0
    engine: str = ""
    scheduler: str | None = None
    rho: Mapping[str, float] | Sequence[str] | None = None
    review_sigma: float = 0.0
    sponsor_stop: float = 0.0

    def run(self, portfolio: Portfolio, rates: RateSet, years: list[int], target: Target | None,
            progress: Callable[[int], None] | None = None) -> Forecast:
        if self.name == "exact":
            from pipecast.engines.exact import forecast_portfolio

            return forecast_portfolio(portfolio, rates, years, progress)
        from pipecast.engines.montecarlo import Correlation, simulate
        from pipecast.loading.options import parse_group_rho

        # A rate set's shared review-pace factor is the Monte Carlo engine's review shock (--review-sigma,
        # when given, replaces it).
        review_sigma = self.review_sigma or rates.factor_sigma
        correlation = Correlation(rho=parse_group_rho(self.rho), review_sigma=review_sigma,
                                  sponsor_stop=self.sponsor_stop)
        return simulate(portfolio, rates, years, paths=self.paths, seed=self.seed, correlation=correlation,
                        engine=self.engine, scheduler=self.scheduler, target=target)


def forecast(
    assets: str | Path | Sequence[Asset] | None = None,
    *,
    rates: str | Path | RateSet | None = None,
    as_of: str | dt.date | None = None,
    years: str | Sequence[int] | None = None,
    target: Target | str | None = None,
    db: str | None = None,
    method: str | None = None,
    paths: int | None = None,
    seed: int | None = None,
    engine: str | None = None,
    scheduler: str | None = None,
    rho: Mapping[str, float] | Sequence[str] | None = None,
    review_sigma: float | None = None,
    sponsor_stop: float | None = None,
    progress: Callable[[int], None] | None = None,
    arrivals: bool | None = None,
) -> Forecast:
    """Forecast approvals per year for a file, a list of assets, or the store (when `assets` is None).

    `arrivals`: add approvals from candidates not yet known (new phase entries per phase per year, fitted on
    the entries known at the as-of date; `engines.arrivals`), shown apart. None: on for a forecast of the
    store with the exact method, off for a file or a list of assets (and for Monte Carlo, which does not
    simulate arrivals: `arrivals=True` with it is an error).

    None means the settings table's default (environment variable, else built-in). With a `target` the
    years are extended to cover it (a warning says so). Monte Carlo keywords (`paths`, `seed`, `engine`,
    `scheduler`, `rho`, `review_sigma`, `sponsor_stop`) need `method="montecarlo"`: otherwise an error.
    """
    how = choose_method(method, {"paths": paths, "seed": seed, "engine": engine, "scheduler": scheduler,
                                 "rho": rho, "review_sigma": review_sigma, "sponsor_stop": sponsor_stop})
    return forecast_with(how, assets, rates=rates, as_of=as_of, years=years, target=target, db=db,
                         progress=progress, arrivals=arrivals)


def choose_method(method: str | None, given: Mapping[str, Any], *, cli: bool = False) -> Method:
    """The method (None: the settings table's) with its Monte Carlo settings, after checking that every
    option given takes effect (`given`: Python keyword -> value or None; `cli` names options as flags)."""
    chosen = method if method is not None else from_env("method")
    check_method_options(chosen, given, cli=cli)
    if chosen != "montecarlo":
        return Method()
    return Method(chosen, **_montecarlo_settings(given))


def _montecarlo_settings(given: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "paths": int_value("paths", given["paths"]),
        "seed": int_value("seed", given["seed"]),
        "engine": given["engine"] or from_env("engine"),
        "scheduler": given["scheduler"],
        "rho": given["rho"],
        "review_sigma": given["review_sigma"] or 0.0,
        "sponsor_stop": given["sponsor_stop"] or 0.0,
    }


def forecast_with(
    how: Method,
    assets: str | Path | Sequence[Asset] | None = None,
    *,
    rates: str | Path | RateSet | None = None,
    as_of: str | dt.date | None = None,
    years: str | Sequence[int] | None = None,
    target: Target | str | None = None,
    db: str | None = None,
    progress: Callable[[int], None] | None = None,
    arrivals: bool | None = None,
) -> Forecast:
    """`forecast` with the method already chosen and checked (the CLI checks options with their flags)."""
    with_arrivals = use_arrivals(arrivals, how, from_store=assets is None)
    when = resolve_as_of(as_of)
    goal = resolve_target(target)
    rate_set = resolve_rates(rates)
    year_list = resolve_years(years, when)
    year_list, extended = cover_target(year_list, goal)
    check_years(year_list, when)
    inputs = load_inputs(assets, db, when)
    portfolio = Portfolio.of(inputs.assets, when)
    require_candidates(portfolio, assets)
    result = how.run(portfolio, rate_set, year_list, goal, progress)
    if with_arrivals:
        import numpy as np

        from pipecast.engines.arrivals import arrival_year_means, fit_arrivals

        fit = fit_arrivals(inputs.assets, when)
        result.arrival_means = arrival_year_means(fit, rate_set, when, year_list)
        result.arrival_fit = fit.to_json()
        if result.factor_nodes:  # the arrivals' approvals given each value of the shared factor
            from pipecast.engines.exact import factor_rate_sets

            for node, (_, _, given) in zip(result.factor_nodes, factor_rate_sets(rate_set), strict=True):
                node.arrival_means = arrival_year_means(fit, given, when, year_list)
            result.arrival_means = np.sum([node.weight * node.arrival_means for node in result.factor_nodes
                                           if node.arrival_means is not None], axis=0)
    from pipecast.loading.validation import validation_for

    result.validation = validation_for(rate_set)
    notes = [extended] if extended else []
    notes += _data_age_warnings(inputs.data_as_of, when)
    stale = _stale_ids(portfolio)
    if stale:
        share = stale_share(result, goal, portfolio, rate_set, how, frozenset(stale)) if goal is not None else None
        notes.append(_stale_warning(result, stale, goal, share))
        result.stale_share = share
    result.data_as_of = inputs.data_as_of
    result.warnings = tuple(notes)
    result.stale_ids = frozenset(stale)
    return result


def use_arrivals(arrivals: bool | None, how: Method, *, from_store: bool, cli: bool = False) -> bool:
    """Whether to add arrivals: as asked, else on for the store with the exact method (see `forecast`)."""
    if arrivals and how.name != "exact":
        raise OptionConflictError(
            ("--arrivals needs --method exact" if cli else "arrivals=True needs method='exact'")
            + ": the Monte Carlo engine does not simulate candidates not yet known",
            option="--arrivals",
        )
    if arrivals is None:
        return from_store and how.name == "exact"
    return arrivals


def _data_age_warnings(data_as_of: dt.date | None, when: dt.date) -> list[str]:
    if data_as_of is None:
        return [f"no dated event or fact on or before {when}: the age of the data is unknown"]
    limit = int_value("stale_days")
    age = (when - data_as_of).days
    if age > limit:
        return [
            f"data may be stale: the latest dated event or fact used is {data_as_of}, {age} days before the "
            f"as-of date {when} (more than {limit}); events since then are not in this forecast"
        ]
    return []


def _stale_ids(portfolio: Portfolio) -> list[str]:
    from pipecast.ingest.quality import stale

    return sorted({finding.asset_id for finding in stale(portfolio.assets, portfolio.as_of)})


def stale_share(result: Forecast, goal: Target, portfolio: Portfolio, rates: RateSet, how: Method,
                stale: Collection[str]) -> float:
    """How much of P(target met in every year) rests on the `stale` candidates: STALE_SHARE_DEFINITION.

    The exact method takes them out of the joint distribution it already has (no new timing); Monte Carlo
    simulates the rest again with the same settings."""
    rest = Portfolio.of([a for a in portfolio.assets if a.id not in stale], portfolio.as_of)
    if how.name == "exact":
        with_all = result.probability_met(goal)
        return with_all if not len(rest) else with_all - result.probability_met(goal, without=stale)
    with_all = result.check(goal).all_years_in_band
    if not len(rest):
        return float(with_all)
    without = how.run(rest, rates, list(result.years), goal).check(goal).all_years_in_band
    return float(with_all - without)


def _stale_warning(result: Forecast, stale: Sequence[str], goal: Target | None, share: float | None) -> str:
    from pipecast.ingest.quality import DEFAULT_STALE_YEARS

    shown = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
    head = (f"{len(stale)} candidate(s) flagged stale by `pipecast check` (no event for more than "
            f"{DEFAULT_STALE_YEARS} years): {shown}")
    if goal is not None and share is not None:
        return f"{head}; {share * 100:.1f} points of P(target {goal}) rest on them"
    rows = [i for i, a in enumerate(result.assets) if a.id in set(stale)]
    expected = float((result.probabilities[rows] * result.counts[rows, None]).sum()) if rows else 0.0
    return f"{head}; they carry {expected:.2f} of the expected approvals in {_span(result.years)}"


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
