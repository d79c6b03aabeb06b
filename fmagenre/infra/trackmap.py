"""Run a per-track function over every track, in chunks, on a process pool or a Dask cluster.

decode, features and spectrograms all have the same shape of work: thousands of independent
tracks, each producing one fixed-size row and one small record. This module is the one place
that knows how to spread that work, so the stages stay thin and behave alike:

- the same code runs in-process (1 worker), on a local process pool, or on dask.distributed
  (an existing cluster's scheduler address, or a LocalCluster started here);
- tracks go out in chunks; each finished chunk is handed to the caller (who writes its rows
  to disk) and then journalled, so memory stays bounded and an interrupted run resumes
  without redoing finished chunks and never trusts a half-written one;
- a track that raises is recorded with its error, never fatal; a chunk whose worker died is
  retried one track per task, so one poisonous file costs one track, not the run;
- results depend only on the inputs: rows are placed by track position and records are
  returned in track order, whatever the backend, worker count or completion order.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import multiprocessing
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm.auto import tqdm

from fmagenre.infra.atomic import remove, write_json
from fmagenre.infra.lifetime import die_with, owner_token
from fmagenre.infra.params import ComputeParams
from fmagenre.infra.store import RowStore

log = logging.getLogger(__name__)

JOURNAL_DIR = "journal"
FINGERPRINT_FILE = "fingerprint.json"


@dataclass
class TrackOutput:
    """What a per-track function returns: a record (JSON-able) and optionally one row."""

    record: dict[str, Any]
    row: np.ndarray | None = None


TrackFn = Callable[[Any], TrackOutput]


@dataclass
class Chunk:
    """A run of consecutive tracks: items[i] is the track at position start + i."""

    index: int
    start: int
    items: list[Any]


@dataclass
class ChunkResult:
    index: int
    start: int
    records: list[dict[str, Any]]
    rows: np.ndarray | None = None  # (len(records), *row_shape), zeros where a track failed
    failed: int = 0


@dataclass(frozen=True)
class RowSpec:
    """Shape and dtype of the row each track produces (None: records only)."""

    shape: tuple[int, ...]
    dtype: str


def run_chunk(track_fn: TrackFn, chunk: Chunk, row_spec: RowSpec | None) -> ChunkResult:
    """Apply ``track_fn`` to every track of a chunk, catching each track's failure.

    Runs in the worker. BLAS/FFT threads are limited to one so N workers use N cores and
    results do not depend on how many threads a library picked.
    """
    from threadpoolctl import threadpool_limits

    rows = np.zeros((len(chunk.items), *row_spec.shape), dtype=row_spec.dtype) if row_spec else None
    records: list[dict[str, Any]] = []
    failed = 0
    with threadpool_limits(limits=1):
        for i, item in enumerate(chunk.items):
            try:
                output = track_fn(item)
            except Exception as exc:  # a bad track is data, not a crash
                failed += 1
                records.append({"error": _one_line(exc)})
                continue
            records.append(output.record)
            if rows is not None and output.row is not None:
                rows[i] = output.row
    return ChunkResult(chunk.index, chunk.start, records, rows, failed)


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text[:500]


# --------------------------------------------------------------------------------------
# Backends
# --------------------------------------------------------------------------------------


class Backend(Protocol):
    workers: int
    warm: bool  # a chunk has run on it: its workers' caches are written

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future: ...
    def as_completed(self, futures: Sequence[Any]) -> Iterator[Any]: ...
    def result(self, future: Any) -> Any: ...
    def restart(self) -> None: ...
    def close(self) -> None: ...


def _init_worker(owner: tuple[int, float]) -> None:
    # Ctrl-C is the driver's to handle: it cancels pending work and keeps finished chunks.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with(owner)  # a killed stage or predict leaves no worker behind


class InlineBackend:
    """Runs tasks in this process: no pickling, easy to debug and profile."""

    workers = 1
    warm = False

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:
            future.set_exception(exc)
        return future

    def as_completed(self, futures: Sequence[Any]) -> Iterator[Any]:
        return iter(list(futures))

    def result(self, future: Any) -> Any:
        return future.result()

    def restart(self) -> None:
        pass

    def close(self) -> None:
        pass


class LocalPoolBackend:
    """A pool of worker processes on this machine (forkserver: no inherited threads/locks)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.warm = False
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        # the forkserver, parent of the workers, must not outlive this process either
        context.set_forkserver_preload(["__main__", "fmagenre.infra.forkserver_guard"])
        return cf.ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(owner_token(),)
        )

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        return self._pool.submit(fn, *args)

    def as_completed(self, futures: Sequence[Any]) -> Iterator[Any]:
        return cf.as_completed(futures)

    def result(self, future: Any) -> Any:
        return future.result()

    def restart(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._new_pool()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskBackend:
    """dask.distributed: an existing cluster (scheduler address) or a LocalCluster of processes."""

    def __init__(self, workers: int, scheduler: str):
        from distributed import Client, LocalCluster

        logging.getLogger("distributed").setLevel(
            logging.WARNING
        )  # its INFO chatter buries progress
        self._cluster = None
        self.warm = False
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

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._client.submit(fn, *args, pure=False)

    def as_completed(self, futures: Sequence[Any]) -> Iterator[Any]:
        from distributed import as_completed

        return iter(as_completed(futures))

    def result(self, future: Any) -> Any:
        return future.result()

    def restart(self) -> None:
        pass  # the scheduler replaces dead workers itself

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_backend(compute: ComputeParams) -> Backend:
    """The backend compute.* asks for."""
    if compute.backend == "dask":
        return DaskBackend(compute.worker_count, compute.scheduler)
    if compute.worker_count == 1:
        return InlineBackend()
    return LocalPoolBackend(compute.worker_count)


# --------------------------------------------------------------------------------------
# The journal: which tracks are finished (their rows are on disk), and their records
# --------------------------------------------------------------------------------------


@dataclass
class Journal:
    """Finished chunks of one run, kept in ``work_dir`` and valid only for one fingerprint.

    Entries are keyed by the first track position of a chunk, not by chunk number, so a
    resumed run may use another chunk size: it only redoes positions no entry covers.
    """

    work_dir: Path
    fingerprint: dict[str, Any]
    done: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def open(cls, work_dir: Path, fingerprint: dict[str, Any]) -> Journal:
        """Load the journal of an interrupted run with the same fingerprint, or start afresh
        (emptying ``work_dir``, where callers keep their partial outputs too)."""
        fingerprint = json.loads(json.dumps(fingerprint))  # normalise tuples and keys
        stamp = work_dir / FINGERPRINT_FILE
        if stamp.exists():
            try:
                previous = json.loads(stamp.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                previous = None
            if previous != fingerprint:
                log.info("inputs or settings changed since the interrupted run: starting over")
                remove(work_dir)
        if not stamp.exists():
            remove(work_dir)
            (work_dir / JOURNAL_DIR).mkdir(parents=True)
            write_json(stamp, fingerprint)
        journal = cls(work_dir, fingerprint)
        for entry in sorted((work_dir / JOURNAL_DIR).glob("chunk-*.json")):
            try:
                data = json.loads(entry.read_text(encoding="utf-8"))
                journal.done[int(data["start"])] = list(data["records"])
            except (json.JSONDecodeError, KeyError, ValueError, TypeError):
                entry.unlink()  # an unreadable entry: those tracks are simply redone
        return journal

    @property
    def resumed(self) -> bool:
        return bool(self.done)

    def discard(self) -> None:
        """Forget every finished chunk (keeping the fingerprint): for when the rows they
        vouch for are gone, so those tracks are redone rather than trusted as zeros."""
        remove(self.work_dir / JOURNAL_DIR)
        (self.work_dir / JOURNAL_DIR).mkdir(parents=True)
        self.done.clear()

    def record(self, result: ChunkResult) -> None:
        """Mark a chunk finished. Call only after its rows are durable."""
        write_json(
            self.work_dir / JOURNAL_DIR / f"chunk-{result.start:09d}.json",
            {"start": result.start, "records": result.records},
        )
        self.done[result.start] = result.records

    def covered(self, n_items: int) -> np.ndarray:
        mask = np.zeros(n_items, dtype=bool)
        for start, records in self.done.items():
            mask[start : start + len(records)] = True
        return mask

    def records(self, n_items: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any] | None] = [None] * n_items
        for start, records in self.done.items():
            out[start : start + len(records)] = records
        missing = [i for i, record in enumerate(out) if record is None]
        if missing:
            raise RuntimeError(
                f"{len(missing)} tracks have no result (first at position {missing[0]})"
            )
        return out  # type: ignore[return-value]


def finish(journal: Journal) -> None:
    """Forget a completed run's journal once its outputs have been moved into place."""
    remove(journal.work_dir)


# --------------------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------------------


def pending_chunks(items: Sequence[Any], covered: np.ndarray, chunk_size: int) -> list[Chunk]:
    """Runs of consecutive uncovered positions, cut into chunks of at most chunk_size."""
    chunks: list[Chunk] = []
    position = 0
    n = len(items)
    while position < n:
        if covered[position]:
            position += 1
            continue
        end = position
        while end < n and not covered[end] and end - position < chunk_size:
            end += 1
        chunks.append(Chunk(len(chunks), position, list(items[position:end])))
        position = end
    return chunks


def map_tracks(
    track_fn: TrackFn,
    items: Sequence[Any],
    *,
    compute: ComputeParams,
    journal: Journal,
    on_rows: Callable[[int, np.ndarray], None] | None = None,
    row_spec: RowSpec | None = None,
    desc: str = "tracks",
    progress: bool = True,
    backend: Backend | None = None,
) -> list[dict[str, Any]]:
    """Apply ``track_fn`` to every item; return one record per item, in item order.

    ``track_fn`` must be picklable (a module-level function, or functools.partial of one)
    when work leaves this process. ``on_rows(start, rows)`` runs in this process for each
    finished chunk and must make the rows durable before returning; only then is the chunk
    journalled. Positions an earlier, interrupted run journalled are not recomputed: their
    rows must still be wherever ``on_rows`` put them — so callers keep partial outputs in
    ``journal.work_dir`` and open the journal before creating them.
    """
    covered = journal.covered(len(items))
    pending = pending_chunks(items, covered, compute.chunk_size)
    already = int(covered.sum())
    if already:
        log.info(
            "resuming: %d of %d tracks were finished by an interrupted run", already, len(items)
        )

    owns_backend = backend is None and bool(pending)
    if owns_backend:
        backend = make_backend(compute)
    bar = tqdm(
        total=len(items),
        initial=already,
        unit="track",
        desc=desc,
        disable=not progress,
        smoothing=0.1,
    )
    failed = 0
    try:
        for result in _run_chunks(backend, track_fn, pending, row_spec) if pending else ():
            if on_rows is not None and result.rows is not None:
                on_rows(result.start, result.rows)
            journal.record(result)
            failed += result.failed
            bar.update(len(result.records))
            if failed:
                bar.set_postfix(failed=failed, refresh=False)
    finally:
        bar.close()
        if owns_backend and backend is not None:
            backend.close()
    return journal.records(len(items))


def _run_chunks(
    backend: Backend, track_fn: TrackFn, chunks: list[Chunk], row_spec: RowSpec | None
) -> Iterator[ChunkResult]:
    """Yield chunk results as they finish, with at most 2 chunks per worker in flight."""
    queue = list(reversed(chunks))
    # Inline work runs at submit time: one at a time, so Ctrl-C never loses a computed chunk.
    # On workers, the first chunk runs alone: libraries that compile and cache code on first
    # use (librosa's numba functions) then write their cache files from one process, not
    # from several fresh workers at once, which can corrupt them (and segfault later runs).
    # (Once per backend: a pool reused for the next batch, as predict does, starts full.)
    full = 1 if isinstance(backend, InlineBackend) else 2 * backend.workers
    limit = full if getattr(backend, "warm", False) else 1
    in_flight: dict[Any, Chunk] = {}

    def fill() -> None:
        while queue and len(in_flight) < limit:
            chunk = queue.pop()
            in_flight[backend.submit(run_chunk, track_fn, chunk, row_spec)] = chunk

    fill()
    while in_flight:
        for future in backend.as_completed(list(in_flight)):
            chunk = in_flight.pop(future)
            try:
                result = backend.result(future)
            except Exception as exc:  # the worker died or the task could not run
                log.warning(
                    "chunk %d failed as a whole (%s); retrying one track per task",
                    chunk.index,
                    _one_line(exc),
                )
                backend.restart()
                resubmit = list(in_flight.values())
                in_flight.clear()
                queue.extend(reversed(resubmit))
                result = _run_isolated(backend, track_fn, chunk, row_spec)
            yield result
            limit = full
            backend.warm = True
            fill()
            break  # re-enter as_completed with the refilled set


def _run_isolated(
    backend: Backend, track_fn: TrackFn, chunk: Chunk, row_spec: RowSpec | None
) -> ChunkResult:
    """Run each track of a failed chunk as its own task, so one bad track fails alone."""
    records: list[dict[str, Any]] = []
    rows = np.zeros((len(chunk.items), *row_spec.shape), dtype=row_spec.dtype) if row_spec else None
    failed = 0
    worker_failures = 0
    for i, item in enumerate(chunk.items):
        single = Chunk(chunk.index, chunk.start + i, [item])
        try:
            part = backend.result(backend.submit(run_chunk, track_fn, single, row_spec))
        except Exception as exc:
            backend.restart()
            failed += 1
            worker_failures += 1
            if worker_failures == len(chunk.items) > 1:
                # Not one poisonous track: the workers cannot run at all. Recording every
                # track as failed would be a silent wrong result, so stop instead.
                raise RuntimeError(
                    f"worker processes fail on every track ({_one_line(exc)})"
                ) from exc
            records.append({"error": f"worker failed on this track: {_one_line(exc)}"})
            continue
        failed += part.failed
        records.extend(part.records)
        if rows is not None and part.rows is not None:
            rows[i] = part.rows[0]
    return ChunkResult(chunk.index, chunk.start, records, rows, failed)


def map_into_store(
    track_fn: TrackFn,
    items: Sequence[Any],
    *,
    compute: ComputeParams,
    journal: Journal,
    name: str,
    row_spec: RowSpec,
    rows_per_shard: int,
    attrs: dict[str, Any] | None = None,
    desc: str = "tracks",
    progress: bool = True,
) -> tuple[list[dict[str, Any]], RowStore]:
    """map_tracks with each track's row written to row ``i`` of a RowStore.

    The store lives in the journal's work folder (``journal.work_dir / name``), so it is
    resumed together with the journal and started afresh with it. Returns the records and
    the store (open for writing; the caller closes it and moves it into place).
    """
    store_dir = journal.work_dir / name
    store = _resumable_store(store_dir, len(items), row_spec) if journal.resumed else None
    if journal.resumed and store is None:
        log.warning("the interrupted run's rows are gone from %s: starting over", store_dir)
        journal.discard()
    if store is None:
        remove(store_dir)
        store = RowStore.create(
            store_dir, len(items), row_spec.shape, row_spec.dtype, rows_per_shard, attrs=attrs
        )

    def keep(start: int, rows: np.ndarray) -> None:
        store.write(start, rows)
        store.flush()

    records = map_tracks(
        track_fn,
        items,
        compute=compute,
        journal=journal,
        on_rows=keep,
        row_spec=row_spec,
        desc=desc,
        progress=progress,
    )
    store.flush()
    return records, store


def _resumable_store(store_dir: Path, rows: int, row_spec: RowSpec) -> RowStore | None:
    """The interrupted run's store, or None when it is missing, unreadable or of another
    layout (a run stopped after moving it out, or a damaged folder)."""
    try:
        # read-only first: mapping a short shard read-write would silently extend it with zeros
        with RowStore.open(store_dir, mode="r") as store:
            layout = store.layout
            if (layout.rows, layout.row_shape, np.dtype(layout.dtype)) != (
                rows,
                tuple(row_spec.shape),
                np.dtype(row_spec.dtype),
            ):
                return None
            for shard in range(layout.shard_count if rows else 0):
                store.read(shard * layout.rows_per_shard)  # maps the shard: checks it is whole
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return RowStore.open(store_dir, mode="r+")
