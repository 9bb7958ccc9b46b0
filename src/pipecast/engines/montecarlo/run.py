"""`simulate`: the Monte Carlo of the exact engine's model, with the correlations it cannot express."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pipecast.domain import Portfolio
from pipecast.engines.montecarlo.correlation import Correlation
from pipecast.engines.montecarlo.entrants import Entrants
from pipecast.engines.montecarlo.plan import BLOCK_PATHS, REFERENCE_ENGINE, Plan, PlanMeta, build_plan
from pipecast.engines.montecarlo.result import MonteCarloForecast, TargetTallies
from pipecast.engines.montecarlo.tallies import Tallies, merge_tallies
from pipecast.errors import InputError
from pipecast.rates import RateSet
from pipecast.targets import Target

DEFAULT_CHUNK_PATHS = 4096


def simulate(
    portfolio: Portfolio,
    rates: RateSet,
    years: Sequence[int],
    *,
    paths: int,
    seed: int,
    correlation: Correlation | None = None,
    engine: str = REFERENCE_ENGINE,
    chunk_paths: int = DEFAULT_CHUNK_PATHS,
    target: Target | None = None,
    scheduler: Any = None,
    entrants: Sequence[Entrants] = (),
    keep_paths: bool | None = None,
) -> MonteCarloForecast:
    """Monte Carlo forecast: same numbers for the same seed whatever the engine or chunking.

    `target` is tallied during the simulation (memory stays flat in `paths`); without one, per-path
    yearly counts are kept (int32, paths x years) so that `check()` works for any target afterwards.
    `paths` and `seed` have no default here: the shell passes the settings table's (`pipecast.settings`).
    `engine` is "numpy", "dask" (scheduler: None for a LocalCluster, "tcp://host:port", or a
    distributed Client) or "jax".
    """
    from pipecast.engines.backends import get_backend

    corr = correlation or Correlation()
    keep = (target is None) if keep_paths is None else keep_paths
    if chunk_paths < 1:
        raise InputError(f"chunk_paths = {chunk_paths}", field="chunk_paths", expected="a positive integer")
    plan, meta = build_plan(
        portfolio, rates, years, paths=paths, seed=seed, correlation=corr, target=target,
        entrants=entrants, keep_paths=keep,
    )
    per_chunk = -(-chunk_paths // BLOCK_PATHS)
    chunks = [(b, min(b + per_chunk, plan.n_blocks)) for b in range(0, plan.n_blocks, per_chunk)]
    backend = get_backend(engine, scheduler=scheduler)
    tallies = merge_tallies(backend.run(plan, chunks))
    return _assemble(plan, meta, tallies, rates, corr, target, backend.name, seed)


def _assemble(
    plan: Plan,
    meta: PlanMeta,
    tallies: Tallies,
    rates: RateSet,
    corr: Correlation,
    target: Target | None,
    engine: str,
    seed: int,
) -> MonteCarloForecast:
    n = plan.paths
    counts = meta.counts
    probabilities = tallies.slot_years / n / np.maximum(counts, 1)[:, None]
    probabilities[meta.approved] = meta.exact[meta.approved]
    contrib = tallies.contrib / n / np.maximum(counts, 1) if target is not None else None
    forecast = MonteCarloForecast(
        as_of=meta.as_of,
        years=list(meta.years),
        assets=meta.assets,
        probabilities=probabilities,
        p_approval=meta.q * (1.0 - meta.stop),
        counts=counts,
        rate_set=rates,
        method="montecarlo",
        paths=n,
        seed=seed,
        engine=engine,
        correlation=corr,
        simulated_target=target,
        histograms=tallies.hist,
        target_tallies=TargetTallies(
            tallies.target_in_band, tallies.target_floor, tallies.all_in_band, tallies.all_floor, contrib
        ),
        path_counts=tallies.path_counts,
        entrant_expected=plan.entrant_mu.mean(axis=0),
    )
    forecast.mc_error = forecast.error_estimates(target)
    return forecast
