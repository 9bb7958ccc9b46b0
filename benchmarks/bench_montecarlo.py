"""Monte Carlo benchmarks: `run()` returns rows {name, value, unit, baseline, ratio}.

- numpy throughput (candidate-paths/s) on a 20,000-candidate synthetic portfolio vs a plain
  per-candidate Python loop of the same model (timed on a subsample and scaled);
- memory flat in paths: tracemalloc peak of the simulation for two path counts;
- dask LocalCluster (2 worker processes) vs numpy on one core.
Run: .venv/bin/python benchmarks/bench_montecarlo.py
"""

from __future__ import annotations

import datetime as dt
import json
import time
import tracemalloc
from typing import Any

import numpy as np

from pipecast.engines.montecarlo import Correlation, build_plan, run_blocks, simulate
from pipecast.loading.rates import bundled_rate_set
from pipecast.synthetic import synthetic_portfolio
from pipecast.targets import parse_target

AS_OF = dt.date(2025, 11, 1)
YEARS = list(range(2026, 2036))
N = 20_000


def _row(name: str, value: float, unit: str, baseline: float | None) -> dict[str, Any]:
    ratio = value / baseline if baseline else None
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio}


def _python_loop(plan: Any, paths: int, candidates: int) -> float:
    """Seconds per candidate-path for the same model written as a loop over candidates and paths."""
    rng = np.random.default_rng(0)
    table = plan.thresholds[0][:candidates].astype(float) / 2**32
    start = time.perf_counter()
    counts = np.zeros(plan.n_years, dtype=np.int64)
    for _ in range(paths):
        for i in range(candidates):
            u = rng.random()
            row = table[i]
            if u < row[-1]:
                year = plan.bin_year[int(np.searchsorted(row, u, side="right"))]
                if year >= 0:
                    counts[year] += 1
    return (time.perf_counter() - start) / (paths * candidates)


def run() -> list[dict[str, Any]]:
    rows = []
    portfolio = synthetic_portfolio(N, seed=1, as_of=AS_OF)
    rates = bundled_rate_set("china")
    target = parse_target("2027-2030:50+")
    plan, _ = build_plan(
        portfolio, rates, YEARS, paths=4096, seed=1, correlation=Correlation(), target=target
    )
    run_blocks(plan, 0, 2)  # warm up
    start = time.perf_counter()
    run_blocks(plan, 0, plan.n_blocks)
    kernel = plan.n_slots * plan.paths / (time.perf_counter() - start)
    loop = 1.0 / _python_loop(plan, 20, 500)
    rows.append(_row("numpy kernel, 20k candidates x 10 years", kernel, "candidate-paths/s", loop))
    start = time.perf_counter()
    simulate(portfolio, rates, YEARS, paths=4096, seed=1, target=target)
    whole = plan.n_slots * 4096 / (time.perf_counter() - start)
    rows.append(_row("numpy simulate() incl. exact tables", whole, "candidate-paths/s", loop))
    plan_c, _ = build_plan(
        portfolio, rates, YEARS, paths=1024, seed=1, target=target,
        correlation=Correlation(rho={"sponsor": 0.2, "therapeutic_area": 0.1}, review_sigma=0.2, sponsor_stop=0.02),
    )
    start = time.perf_counter()
    run_blocks(plan_c, 0, plan_c.n_blocks)
    correlated = plan_c.n_slots * plan_c.paths / (time.perf_counter() - start)
    rows.append(_row("numpy kernel, copula + shock + sponsor stop", correlated, "candidate-paths/s", kernel))
    peaks = []
    small = synthetic_portfolio(2000, seed=2, as_of=AS_OF)
    for paths in (2_000, 20_000):
        tracemalloc.start()
        simulate(small, rates, YEARS, paths=paths, seed=1, target=target, chunk_paths=1024)
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    rows.append(_row("peak memory, 2k candidates, 20,000 paths", peaks[1], "MiB", peaks[0]))
    try:
        import dask.distributed
    except ImportError:
        return rows
    distributed: Any = dask.distributed  # untyped library
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        simulate(portfolio, rates, YEARS, paths=256, seed=1, target=target, engine="dask", scheduler=client)
        start = time.perf_counter()
        simulate(portfolio, rates, YEARS, paths=8192, seed=1, target=target, engine="dask",
                 scheduler=client, chunk_paths=1024)
        dask_rate = plan.n_slots * 8192 / (time.perf_counter() - start)
    start = time.perf_counter()
    simulate(portfolio, rates, YEARS, paths=8192, seed=1, target=target)
    numpy_rate = plan.n_slots * 8192 / (time.perf_counter() - start)
    rows.append(_row("dask LocalCluster 2 workers, simulate()", dask_rate, "candidate-paths/s", numpy_rate))
    return rows


if __name__ == "__main__":
    for row in run():
        print(json.dumps(row))
