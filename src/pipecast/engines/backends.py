"""Engines that run the Monte Carlo's chunks: numpy (in process), dask (a cluster), jax (GPU or CPU).

Every engine draws its random numbers with numpy's Philox from (seed, block) (montecarlo.streams)
and sums integer tallies, so all engines give the same numbers for the same seed. The jax engine does
the comparisons and counting in jax (on a GPU when one is present); in the independent model it is
bit-identical to numpy. With the copula on, x = eps * s + latent is compared with Phi^-1(C) in
float32 and jax's Phi^-1 differs from scipy's in the last bits, so a draw lying within ~1e-7 of a
threshold can fall the other way: results then agree to Monte Carlo precision, not bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from pipecast.engines.montecarlo.plan import Plan
from pipecast.engines.montecarlo.streams import Draws
from pipecast.engines.montecarlo.tallies import Hits, Tallies, finish_hits, run_blocks
from pipecast.errors import EngineError, InputError, MissingExtraError

ENGINES = ("numpy", "dask", "jax")
#: Seconds to wait for a dask scheduler before giving up.
CONNECT_TIMEOUT_S = 4


class Backend(Protocol):
    name: str

    def run(self, plan: Plan, chunks: Sequence[tuple[int, int]]) -> list[Tallies]: ...


class NumpyBackend:
    name = "numpy"

    def run(self, plan: Plan, chunks: Sequence[tuple[int, int]]) -> list[Tallies]:
        return [run_blocks(plan, first, stop) for first, stop in chunks]


class DaskBackend:
    """Chunks as tasks on dask.distributed: a LocalCluster by default, or a scheduler's address."""

    name = "dask"

    def __init__(self, scheduler: Any = None) -> None:
        try:
            import dask.distributed
        except ImportError:
            raise MissingExtraError("dask", "dask") from None
        distributed: Any = dask.distributed  # untyped library
        Client = distributed.Client
        self._own: list[Any] = []
        self.client: Any
        if scheduler is None or scheduler == "local":
            cluster = distributed.LocalCluster(
                n_workers=max(1, min(os.cpu_count() or 1, 8)),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self.client = Client(cluster)
            self._own = [self.client, cluster]
        elif isinstance(scheduler, str):
            try:
                self.client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise EngineError(
                    f"no dask scheduler answered at {scheduler} within {CONNECT_TIMEOUT_S} s ({exc}); "
                    "start one with `dask scheduler` or leave --scheduler out for a local cluster"
                ) from None
            self._own = [self.client]
        elif hasattr(scheduler, "submit"):
            self.client = scheduler  # a distributed.Client owned by the caller
        elif hasattr(scheduler, "scheduler_address"):
            self.client = Client(scheduler)  # a LocalCluster owned by the caller
            self._own = [self.client]
        else:
            raise InputError(
                f"cannot use {scheduler!r} as a dask scheduler",
                field="--scheduler",
                expected="tcp://HOST:PORT, a distributed.Client or a LocalCluster",
            )

    def run(self, plan: Plan, chunks: Sequence[tuple[int, int]]) -> list[Tallies]:
        try:
            shared = self.client.scatter(plan, broadcast=True)
            futures = [self.client.submit(run_blocks, shared, a, b, pure=False) for a, b in chunks]
            return list(self.client.gather(futures))
        finally:
            self.close()

    def close(self) -> None:
        for item in self._own:
            item.close()
        self._own = []


class JaxBackend:
    """Comparisons and counts in jax (GPU if jax sees one, else CPU); uniforms from numpy Philox."""

    name = "jax"

    def __init__(self) -> None:
        try:
            import jax  # noqa: F401
        except ImportError:
            raise MissingExtraError("jax", "jax") from None
        self._kernels: dict[tuple[bool, bool], Any] = {}

    def run(self, plan: Plan, chunks: Sequence[tuple[int, int]]) -> list[Tallies]:
        return [run_blocks(plan, first, stop, tally=self.tally) for first, stop in chunks]

    def _kernel(self, copula: bool, levels: bool) -> Any:
        key = (copula, levels)
        if key in self._kernels:
            return self._kernels[key]
        import jax
        import jax.numpy as jnp
        from jax.scipy.special import ndtri

        def kernel(u: Any, table: Any, last: Any, bin_year: Any, level: Any, latent: Any, residual: Any) -> Any:
            if levels:
                t = jnp.transpose(table[level], (1, 0, 2))  # (N, W, Yb)
                lim = last[:, level]  # (N, W)
            else:
                t = table[0][:, None, :]
                lim = last[:, :1]
            if copula:
                v = ((u >> 8).astype(jnp.float32) + jnp.float32(0.5)) * jnp.float32(2.0**-24)
                x = ndtri(v) * residual + latent
            else:
                x = u
            hit = x < lim
            bins = jnp.sum(x[:, :, None] >= t, axis=2)
            return jnp.where(hit, bin_year[bins], -1).astype(jnp.int32)

        compiled = jax.jit(kernel)
        self._kernels[key] = compiled
        return compiled

    def tally(self, plan: Plan, d: Draws) -> Hits:
        copula = plan.z is not None
        table = plan.z if copula else plan.thresholds
        last = plan.z_last if copula else plan.last
        latent = d.latent if d.latent is not None else np.zeros((1, 1), dtype=np.float32)
        kernel = self._kernel(copula, plan.levels > 1)
        year = np.asarray(
            kernel(d.u, table, last, plan.bin_year.astype(np.int32), d.level, latent, np.float32(plan.residual))
        )
        flat = np.flatnonzero(year >= 0)
        slot, path = np.divmod(flat, d.width)
        return finish_hits(plan, d, path, slot, year.ravel()[flat].astype(np.int64))


def get_backend(name: str, scheduler: Any = None) -> Backend:
    """The engine called `name`; optional packages are imported only when asked for."""
    if name == "numpy":
        if scheduler is not None:
            raise InputError("--scheduler needs --engine dask", field="--scheduler", expected="--engine dask")
        return NumpyBackend()
    if name == "dask":
        return DaskBackend(scheduler)
    if name == "jax":
        return JaxBackend()
    raise InputError(f"unknown engine {name!r}", field="--engine", expected="one of " + ", ".join(ENGINES))
