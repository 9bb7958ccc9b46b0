"""The FDA backtest over 10 as-of years, and the exact engine with a shared factor (K nodes) on 20,000 candidates.

Issue 9 asks: the backtest of 10 as-of years runs in seconds; the exact engine with a factor of K nodes
stays within K times the independent engine's time.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from pipecast.engines.factors import DEFAULT_NODES, lognormal_nodes, mixture_count_pmf
from pipecast.engines.poibin import poisson_binomial

FDA_FILE = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "fda_cder_nme_1985_2019"
            / "cder_nme_new_biologic_approvals_1985_2019.csv")
N_CANDIDATES = 20_000
N_YEARS = 10


def run() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if FDA_FILE.is_file():
        from pipecast.backtest.runner import backtest_range
        from pipecast.loading.fda import load_fda_filings

        filings = load_fda_filings(FDA_FILE)
        t0 = time.perf_counter()
        result = backtest_range(filings, list(range(2009, 2019)), 1)
        seconds = time.perf_counter() - t0
        rows.append({"name": "FDA backtest, as of 2009-2018, one year ahead (model + 2 baselines)",
                     "value": seconds, "unit": "s",
                     "baseline": f"80% coverage {result['done_when']['coverage_80']:.0%}", "ratio": None})
    rng = np.random.default_rng(1)
    p = rng.uniform(0.0, 0.02, size=(N_CANDIDATES, N_YEARS))
    poisson_binomial(p[:, :1])  # warm-up
    t0 = time.perf_counter()
    poisson_binomial(p)
    independent_s = time.perf_counter() - t0
    z, w = lognormal_nodes(0.2, DEFAULT_NODES)
    t0 = time.perf_counter()
    for year in range(N_YEARS):
        mixture_count_pmf(p[:, year], z, w)
    factor_s = time.perf_counter() - t0
    rows.append({"name": f"exact with a year factor ({DEFAULT_NODES} nodes), {N_CANDIDATES:,} x {N_YEARS} years",
                 "value": factor_s, "unit": "s", "baseline": f"independent: {independent_s:.3f} s",
                 "ratio": factor_s / independent_s})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
