"""Run every benchmark module and print one table (and benchmarks/results.json)."""

from __future__ import annotations

import importlib
import json
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
)


def main() -> int:
    rows: list[dict[str, Any]] = []
    only = sys.argv[1:]
    for name in MODULES:
        if only and not any(o in name for o in only):
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
