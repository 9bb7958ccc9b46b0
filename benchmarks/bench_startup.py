"""Start-up cost: `pipecast forecast` on the bundled Chongqing store, as a ratio to `python -c "import numpy"`.

Both are timed in the same run, alternating, as whole processes (interpreter start included); the figure is
the ratio of the medians. The store is built first with `pipecast --db TMP load-bundled chongqing` so that the
forecast reads a current schema. Run it alone with `python -m benchmarks.bench_startup`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RUNS = 7
#: What issue 7 measured on main before the start-up work, for the record.
BEFORE_RATIO = 12.0


def _pipecast() -> list[str]:
    script = Path(sys.executable).with_name("pipecast")
    return [str(script)] if script.exists() else [sys.executable, "-m", "pipecast.cli"]


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return elapsed


def measure(runs: int = RUNS) -> dict[str, float]:
    """Median seconds of `pipecast forecast` and of `python -c "import numpy"`, and their ratio."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    folder = Path(tempfile.mkdtemp(prefix="pipecast-bench-"))
    try:
        db = str(folder / "chongqing.sqlite")
        build = subprocess.run([*_pipecast(), "--db", db, "load-bundled", "chongqing"],
                               capture_output=True, text=True, env=env, check=False)
        if build.returncode != 0:
            raise RuntimeError(f"load-bundled failed: {build.stderr.strip()}")
        forecast = [*_pipecast(), "--db", db, "forecast", "--as-of", "2026-12-01", "--years", "2026-2032"]
        numpy = [sys.executable, "-c", "import numpy"]
        _time(forecast, env)  # warm the file cache once
        _time(numpy, env)
        cli: list[float] = []
        base: list[float] = []
        for _ in range(runs):
            cli.append(_time(forecast, env))
            base.append(_time(numpy, env))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cli_median, base_median = statistics.median(cli), statistics.median(base)
    return {"forecast_s": cli_median, "numpy_s": base_median, "ratio": cli_median / base_median}


def run() -> list[dict[str, Any]]:
    figures = measure()
    return [
        {
            "name": "startup: pipecast forecast (bundled store), median",
            "value": figures["forecast_s"],
            "unit": "s",
            "ratio": figures["ratio"],
            "baseline": f'python -c "import numpy" {figures["numpy_s"]:.3f} s; aim <= 4x (was {BEFORE_RATIO:.0f}x)',
        }
    ]


if __name__ == "__main__":
    result = measure()
    print(f"pipecast forecast {result['forecast_s']:.3f} s, import numpy {result['numpy_s']:.3f} s, "
          f"ratio {result['ratio']:.2f}x")
