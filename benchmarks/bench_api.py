"""Loopback load test of the REST API: 50 concurrent users against `pipecast serve`'s app under uvicorn.

A temporary store is loaded with the bundled Chongqing data and given a viewer with a token; `pipecast serve`
(uvicorn) runs in its own process on 127.0.0.1 (a free port); 50 asyncio users (httpx) each loop, for a bounded
time, over a mix of reads (search by a Chinese name, a candidate page, the list sorted and paged) and a
cached forecast (the same request as the first, answered from the forecast cache after one computation).

Two runs, both reported (p50 and p99 per kind, requests per second, errors):

* **users**: each user waits a think time drawn uniformly from 0.5-1.5 s between its requests (as a locust
  `between(0.5, 1.5)` user does; seeded), the users starting spread over the first second: 50 people at work.
* **saturation**: the same 50 users with no think time: the most the server answers, and the queue it builds.

Never part of the test suite: `python -m benchmarks.bench_api [USERS_SECONDS [SATURATION_SECONDS]]`
(default 20 and 10); `python -m benchmarks` runs it too unless PIPECAST_BENCH_SKIP names `api`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CLIENTS = 50
DEFAULT_SECONDS = 20.0
SATURATION_SECONDS = 10.0
THINK = (0.5, 1.5)
SEED = 20261201
FORECAST = {"as_of": "2025-11-01", "years": "2025-2031", "target": "2027-2030:1-3"}
REQUESTS: tuple[tuple[str, str, str, dict[str, Any] | None], ...] = (
    ("search", "GET", "/api/v1/candidates?q=%E8%B5%9B%E7%AB%8B%E5%A5%87", None),
    ("candidate", "GET", "/api/v1/candidates/genrix-gr1501", None),
    ("list", "GET", "/api/v1/candidates?sort=-phase_start&limit=20&offset=0", None),
    ("forecast (cached)", "POST", "/api/v1/forecasts", FORECAST),
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare(folder: Path) -> tuple[str, str]:
    from pipecast.cli import run
    from pipecast.store import Store, users

    db = str(folder / "bench.sqlite")
    with contextlib.redirect_stdout(io.StringIO()):
        assert run(["--db", db, "load-bundled", "chongqing"]) == 0
    with Store.open(db) as store, users.session_scope(store, write=True) as session:
        user = users.add_user(session=session, name="bench", role="viewer")
        token = users.issue_token(session=session, user_id=user.id)
    return db, token


@contextlib.contextmanager
def _server(db: str, port: int) -> Iterator[None]:
    """`pipecast serve` in its own process (so that the clients' work does not share its interpreter)."""
    import httpx

    command = [sys.executable, "-m", "pipecast.cli", "--db", db, "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(400):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise RuntimeError("pipecast serve did not start: " + (process.stderr.read(2000) if process.stderr
                                                                    else b"").decode(errors="replace"))
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


async def _load(base: str, token: str, seconds: float,
                think: tuple[float, float] | None) -> tuple[dict[str, list[float]], int, int, float]:
    """(latencies per kind, errors, requests, seconds elapsed) of CLIENTS users for `seconds`."""
    import httpx

    latencies: dict[str, list[float]] = {name: [] for name, *_ in REQUESTS}
    errors = 0
    done = 0
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        warm = await client.post("/api/v1/forecasts", json=FORECAST)  # fills the forecast cache
        warm.raise_for_status()
        began = time.perf_counter()
        deadline = began + seconds

        async def worker(offset: int) -> None:
            nonlocal errors, done
            rng = random.Random(SEED + offset)
            if think is not None:
                await asyncio.sleep(rng.uniform(0, 1))  # users arrive over the first second
            i = offset
            while time.perf_counter() < deadline:
                name, method, url, body = REQUESTS[i % len(REQUESTS)]
                i += 1
                start = time.perf_counter()
                try:
                    response = await client.request(method, url, json=body)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies[name].append(time.perf_counter() - start)
                done += 1
                errors += 0 if ok else 1
                if think is not None:
                    await asyncio.sleep(rng.uniform(*think))

        await asyncio.gather(*(worker(n) for n in range(CLIENTS)))
        elapsed = time.perf_counter() - began
    return latencies, errors, done, elapsed


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _rows(label: str, latencies: dict[str, list[float]], errors: int, done: int,
          elapsed: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, values in latencies.items():
        rows.append({"name": f"api {label} {name}: p50", "value": _percentile(values, 0.5) * 1000,
                     "unit": "ms", "ratio": None, "baseline": f"{len(values)} requests"})
        rows.append({"name": f"api {label} {name}: p99", "value": _percentile(values, 0.99) * 1000,
                     "unit": "ms", "ratio": None, "baseline": ""})
    every = [v for values in latencies.values() for v in values]
    rows.append({"name": f"api {label} all: p50 / p99", "value": _percentile(every, 0.5) * 1000, "unit": "ms",
                 "ratio": None, "baseline": f"p99 {_percentile(every, 0.99) * 1000:.1f} ms"})
    rows.append({"name": f"api {label} all: requests per second", "value": done / elapsed, "unit": "req/s",
                 "ratio": None, "baseline": f"mean {statistics.fmean(every) * 1000:.1f} ms" if every else ""})
    rows.append({"name": f"api {label} all: errors", "value": float(errors), "unit": "responses", "ratio": None,
                 "baseline": f"of {done}"})
    return rows


def run(seconds: float = DEFAULT_SECONDS, saturation_seconds: float = SATURATION_SECONDS) -> list[dict[str, Any]]:
    """The users run (think time) for `seconds`, then the saturation run for `saturation_seconds` (0: none)."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="pipecast-bench-api-") as tmp:
        db, token = _prepare(Path(tmp))
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        with _server(db, port):
            users = f"{CLIENTS} users, think {THINK[0]:g}-{THINK[1]:g} s"
            rows += _rows(f"[{users}]", *asyncio.run(_load(base, token, seconds, THINK)))
            if saturation_seconds > 0:
                rows += _rows(f"[{CLIENTS} users, no think]",
                              *asyncio.run(_load(base, token, saturation_seconds, None)))
    return rows


if __name__ == "__main__":  # python -m benchmarks.bench_api [USERS_SECONDS [SATURATION_SECONDS]]
    args = [float(a) for a in sys.argv[1:3]]
    print(json.dumps(run(*args), indent=2))
