"""Background forecast jobs in a thread pool, and a small cache of forecast results.

A long Monte Carlo run is submitted here and the request answers 202 at once with the job's URL; the job
reports progress and keeps its result (JSON text) for GET /api/v1/jobs/{id}. The pool is the app's own, so
a long run never holds up other requests.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from pipecast import clock
from pipecast.errors import PipecastError

#: Finished jobs kept for GET /jobs/{id}; the oldest go first.
MAX_KEPT_JOBS = 200


@dataclass
class Job:
    id: str
    status: str = "queued"
    progress: int = 0
    created_at: dt.datetime = field(default_factory=clock.now)
    finished_at: dt.datetime | None = None
    result_json: str | None = None
    error: tuple[str, str, str | None] | None = None  # code, message, field


Work = Callable[[Callable[[int], None]], str]


class JobRunner:
    """Runs `work(progress)` in a pool of `workers` threads; each job is looked up by its id."""

    def __init__(self, workers: int, error_status: Callable[[PipecastError], tuple[int, str, str | None]]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="pipecast-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._error_status = error_status

    def submit(self, work: Work) -> Job:
        job = Job(secrets.token_hex(8))
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_KEPT_JOBS:
                self._jobs.popitem(last=False)
        self._pool.submit(self._run, job, work)
        return job

    def _run(self, job: Job, work: Work) -> None:
        job.status = "running"

        def progress(n: int) -> None:
            job.progress += n

        try:
            job.result_json = work(progress)
            job.status = "done"
        except PipecastError as exc:
            _, code, field = self._error_status(exc)
            job.error = (code, str(exc), field)
            job.status = "failed"
        except Exception:  # a bug: the job fails, the server goes on
            job.error = ("internal", "internal error while computing the forecast", None)
            job.status = "failed"
        finally:
            job.finished_at = clock.now()

    def pending(self) -> int:
        """Jobs queued or running."""
        with self._lock:
            return sum(1 for job in self._jobs.values() if job.status in ("queued", "running"))

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class ForecastCache:
    """Forecast JSON by key (the request and the store's data version), least recently used dropped."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> str | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Hashable, value: str) -> None:
        if self._size <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
