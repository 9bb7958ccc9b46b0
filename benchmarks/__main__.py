"""Run every benchmark module and print one table (and benchmarks/results.json).

`python -m benchmarks [NAME ...]` runs the modules whose names contain a NAME; PIPECAST_BENCH_SKIP=api,ingest
skips bench_api and bench_ingest (the API load test takes about 35 s).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

MODULES = (
    "benchmarks.bench_startup",
    "benchmarks.bench_exact",
    "benchmarks.bench_montecarlo",
    "benchmarks.bench_ingest",
    "benchmarks.bench_backtest",
    "benchmarks.bench_api",  # about 35 s (a 20 s load test and a 10 s saturation run); skip: PIPECAST_BENCH_SKIP=api
)


def main() -> int:
    rows: list[dict[str, Any]] = []
    only = sys.argv[1:]
    skip = [s.strip() for s in os.environ.get("PIPECAST_BENCH_SKIP", "").split(",") if s.strip()]
    for name in MODULES:
        if only and not any(o in name for o in only):
            continue
        if any(name.endswith(f"bench_{s}") for s in skip):
            print(f"== {name} skipped (PIPECAST_BENCH_SKIP)", flush=True)
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        print(f"== {name}", flush=True)
        for row in module.run():
            rows.append(row)
            ratio = f"{row['ratio']:.2f}x" if row.get("ratio") is not None else ""
            print(f"  {row['name']:<60} {row['value']:>14.4g} {row['unit']:<18} {ratio:>10}  "
                  f"{row.get('baseline', '')}", flush=True)
    out = Path(__file__).with_name("results.json")
    out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(), "rows": rows},
                              indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
