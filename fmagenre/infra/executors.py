"""Where the map over tracks runs: a ``concurrent.futures`` Executor for each compute.backend.

All three are standard executors (submit, futures, shutdown), so the map has one code path:
this process (1 worker), a local ``ProcessPoolExecutor``, or dask.distributed through
``Client.get_executor()``. Each also says how many tasks it runs at once (the map keeps two
chunks per worker in flight) and whether a task has run on it yet (the map runs the first
alone, see fmagenre.infra.trackmap).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from fmagenre.infra.lifetime import die_with, owner_token
from fmagenre.infra.params import ComputeParams

log = logging.getLogger(__name__)


class Executor(cf.Executor):
    """A concurrent.futures Executor with what the map needs to know about it."""

    workers: int = 1  # tasks it runs at once
    warm: bool = False  # a task has run on it: its workers' caches are written


class InlineExecutor(Executor):
    """Runs each task in this process as it is submitted: no pickling, easy to debug and
    profile. A KeyboardInterrupt is not caught: it stops the run at once."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:
            future.set_exception(exc)
        return future


def _init_worker(owner: tuple[int, float]) -> None:
    # Ctrl-C is the driver's to handle: it cancels pending work and keeps finished chunks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with(owner)  # a killed stage or predict leaves no worker behind


class ProcessPool(Executor):
    """A ProcessPoolExecutor on this machine (forkserver: no inherited threads or locks),
    whose workers end with this process. A worker that dies breaks a ProcessPoolExecutor
    for good; the next submit then starts a fresh one, so the map can retry elsewhere."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        # the forkserver, parent of the workers, must not outlive this process either
        context.set_forkserver_preload(["__main__", "fmagenre.infra.forkserver_guard"])
        return cf.ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(owner_token(),)
        )

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        try:
            return self._pool.submit(fn, *args, **kwargs)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


class DaskExecutor(Executor):
    """dask.distributed's executor: on an existing cluster (scheduler address) or on a
    LocalCluster of worker processes started here and closed with the executor. The
    scheduler replaces dead workers itself."""

    def __init__(self, workers: int, scheduler: str):
        from distributed import Client, LocalCluster

        # its INFO chatter buries progress
        logging.getLogger("distributed").setLevel(logging.WARNING)
        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout="20s")
            except OSError as exc:
                from fmagenre.infra.errors import UserError

                raise UserError(
                    f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); start it with "
                    "`dask scheduler` or set compute.scheduler to '' for a local cluster"
                ) from None
            self.workers = max(1, sum(self._client.nthreads().values()))
            log.info("using Dask cluster %s with %d worker threads", scheduler, self.workers)
        else:
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.WARNING,
            )
            self._client = Client(self._cluster)
            self.workers = workers
            log.info("started a Dask LocalCluster with %d worker processes", workers)
        # pure=False: a task is run, never answered from another task's result
        self._executor = self._client.get_executor(pure=False)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        return self._executor.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait and not cancel_futures)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def open_executor(compute: ComputeParams) -> Executor:
    """The executor compute.* asks for (the caller shuts it down)."""
    if compute.backend == "dask":
        return DaskExecutor(compute.worker_count, compute.scheduler)
    if compute.worker_count == 1:
        return InlineExecutor()
    return ProcessPool(compute.worker_count)
