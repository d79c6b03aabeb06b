"""Run a per-track function over every track, in chunks, on any fmagenre.infra.executors executor.

decode, features, spectrograms, embeddings, predict and the synthetic dataset all have the
same shape of work: thousands of independent tracks, each producing one small record and
(most) one fixed-size row. This module is the one place that knows how to spread that
work, so they all behave alike:

- the same code runs in-process (1 worker), on a local process pool, or on dask.distributed
  (fmagenre.infra.executors: standard concurrent.futures executors);
- tracks go out in chunks; each finished chunk is handed to the caller (who writes its rows
  to disk) and then journalled (fmagenre.infra.journal), so memory stays bounded and an
  interrupted run resumes without redoing finished chunks and never trusts a half-written one;
- a track that raises is recorded with its error, never fatal; a chunk whose worker died is
  retried one track per task, so one poisonous file costs one track, not the run;
- results depend only on the inputs: rows are placed by track position and records are
  returned in track order, whatever the executor, worker count or completion order.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from fmagenre.infra.executors import Executor, InlineExecutor, open_executor
from fmagenre.infra.journal import Journal, Records, in_order
from fmagenre.infra.params import ComputeParams

log = logging.getLogger(__name__)


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
    start: int
    records: Records
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
    return ChunkResult(chunk.start, records, rows, failed)


def _one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    return text[:500]


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
    journal: Journal | None = None,
    on_rows: Callable[[int, np.ndarray], None] | None = None,
    row_spec: RowSpec | None = None,
    desc: str = "tracks",
    progress: bool = True,
    executor: Executor | None = None,
) -> Records:
    """Apply ``track_fn`` to every item; return one record per item, in item order.

    ``track_fn`` must be picklable (a module-level function, or functools.partial of one)
    when work leaves this process. ``on_rows(start, rows)`` runs in this process for each
    finished chunk and must make the rows durable before returning; only then is the chunk
    journalled. Positions an earlier, interrupted run journalled are not recomputed: their
    rows must still be wherever ``on_rows`` put them — so callers keep partial outputs in
    ``journal.work_dir`` and open the journal before creating them. Without a journal,
    nothing is kept for a next run. ``executor``: one to reuse (the caller shuts it down);
    by default one for ``compute`` is opened for this call.
    """
    done = dict(journal.done) if journal is not None else {}
    covered = journal.covered(len(items)) if journal is not None else np.zeros(len(items), bool)
    pending = pending_chunks(items, covered, compute.chunk_size)
    already = int(covered.sum())
    if already:
        log.info(
            "resuming: %d of %d tracks were finished by an interrupted run", already, len(items)
        )

    owns_executor = executor is None and bool(pending)
    if owns_executor:
        executor = open_executor(compute)
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
        for result in _run_chunks(executor, track_fn, pending, row_spec) if pending else ():
            if on_rows is not None and result.rows is not None:
                on_rows(result.start, result.rows)
            if journal is not None:
                journal.record(result.start, result.records)
            done[result.start] = result.records
            failed += result.failed
            bar.update(len(result.records))
            if failed:
                bar.set_postfix(failed=failed, refresh=False)
    finally:
        bar.close()
        if owns_executor and executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    return in_order(done, len(items))


def _run_chunks(
    executor: Executor, track_fn: TrackFn, chunks: list[Chunk], row_spec: RowSpec | None
) -> Iterator[ChunkResult]:
    """Yield chunk results as they finish, with at most 2 chunks per worker in flight."""
    queue = list(reversed(chunks))
    # Inline work runs at submit time: one at a time, so Ctrl-C never loses a computed chunk.
    # On workers, the first chunk runs alone: libraries that compile and cache code on first
    # use (librosa's numba functions) then write their cache files from one process, not
    # from several fresh workers at once, which can corrupt them (and segfault later runs).
    # (Once per executor: one reused for the next batch, as predict does, starts full.)
    full = 1 if isinstance(executor, InlineExecutor) else 2 * executor.workers
    limit = full if executor.warm else 1
    in_flight: dict[cf.Future, Chunk] = {}

    def fill() -> None:
        while queue and len(in_flight) < limit:
            chunk = queue.pop()
            in_flight[executor.submit(run_chunk, track_fn, chunk, row_spec)] = chunk

    fill()
    while in_flight:
        future = next(cf.as_completed(in_flight))
        chunk = in_flight.pop(future)
        try:
            result = future.result()
        except Exception as exc:  # the worker died or the task could not run
            log.warning(
                "chunk %d failed as a whole (%s); retrying one track per task",
                chunk.index,
                _one_line(exc),
            )
            # the chunks in flight beside it go back in the queue: a worker that died took
            # the process pool down with it (it is replaced at the next submit)
            for other in in_flight:
                other.cancel()
            queue.extend(reversed(list(in_flight.values())))
            in_flight.clear()
            result = _run_isolated(executor, track_fn, chunk, row_spec)
        yield result
        limit = full
        executor.warm = True
        fill()


def _run_isolated(
    executor: Executor, track_fn: TrackFn, chunk: Chunk, row_spec: RowSpec | None
) -> ChunkResult:
    """Run each track of a failed chunk as its own task, so one bad track fails alone."""
    records: Records = []
    rows = np.zeros((len(chunk.items), *row_spec.shape), dtype=row_spec.dtype) if row_spec else None
    failed = 0
    worker_failures = 0
    for i, item in enumerate(chunk.items):
        single = Chunk(chunk.index, chunk.start + i, [item])
        try:
            part = executor.submit(run_chunk, track_fn, single, row_spec).result()
        except Exception as exc:
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
    return ChunkResult(chunk.start, records, rows, failed)
