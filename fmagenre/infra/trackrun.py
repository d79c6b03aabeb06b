"""The per-track stage recipe: journal -> map into a store -> failures -> outputs -> finish.

decode, features, spectrograms and embeddings each turn a list of tracks into one row per
track. They share one recipe, written once here: the journal of an interrupted run with the
same fingerprint is resumed; every track's row goes to a RowStore in the work folder (so
memory stays flat and the rows survive an interruption with the journal); the stage then
publishes its outputs from the finished run, and only then is the work folder forgotten.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.infra.atomic import remove, write_parquet
from fmagenre.infra.journal import Journal, Records, finish
from fmagenre.infra.params import ComputeParams
from fmagenre.infra.store import RowStore
from fmagenre.infra.trackmap import RowSpec, TrackFn, map_tracks

log = logging.getLogger(__name__)


@dataclass
class TrackRun:
    """A finished map of a stage's tracks (each with a ``track_id``) into a store."""

    items: Sequence[Any]
    records: Records  # one per item, in item order
    store: RowStore  # in the work folder, open; row i is item i's (zeros where it failed)
    seconds: float  # wall time of the map

    @property
    def ok(self) -> np.ndarray:
        """Which items succeeded."""
        return np.array([not failed(record) for record in self.records], dtype=bool)

    @property
    def failures(self) -> list[dict[str, Any]]:
        """The track_id and error of each failed track, in item order."""
        return [
            {"track_id": item.track_id, "error": record["error"]}
            for item, record in zip(self.items, self.records, strict=True)
            if failed(record)
        ]

    def move_store(self, out_dir: Path, tables: dict[str, pd.DataFrame]) -> None:
        """Close the store, write ``tables`` (Parquet files) into it and move it to
        ``out_dir``, replacing what was there: rows and tables move into place together.
        Once it has moved, a run stopped before the journal is forgotten finds its store
        gone and starts afresh (_open_store)."""
        self.store.close()
        for name, table in tables.items():
            write_parquet(self.store.path / name, table)
        remove(out_dir)
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.store.path, out_dir)


def failed(record: dict[str, Any]) -> bool:
    """Whether the map recorded this track as failed: its function raised (or its worker
    died), so its record holds only the error (decode's own records carry an empty one)."""
    return list(record) == ["error"]


@contextlib.contextmanager
def track_run(
    stage: str,
    version: int,
    track_fn: TrackFn,
    items: Sequence[Any],
    *,
    identity: dict[str, Any],
    work_dir: Path,
    compute: ComputeParams,
    name: str,
    row_spec: RowSpec,
    rows_per_shard: int,
    attrs: dict[str, Any] | None = None,
    progress: bool = True,
) -> Iterator[TrackRun]:
    """Map every item into a store in ``work_dir``, resuming an interrupted run of the same
    stage, format ``version`` and ``identity`` (the rest of what changes the rows: settings,
    input files); yield the finished run for the caller to publish its outputs; then forget
    the work folder. When the caller fails instead, the journal and the store stay for the
    next run to resume from."""
    journal = Journal.open(work_dir, {"stage": stage, "format": version, **identity})
    store = _open_store(journal, name, len(items), row_spec, rows_per_shard, attrs)

    def keep(start: int, rows: np.ndarray) -> None:
        store.write(start, rows)
        store.flush()

    began = time.perf_counter()
    try:
        records = map_tracks(
            track_fn,
            items,
            compute=compute,
            journal=journal,
            on_rows=keep,
            row_spec=row_spec,
            desc=stage,
            progress=progress,
        )
        store.flush()
        yield TrackRun(items, records, store, time.perf_counter() - began)
    finally:
        store.close()
    finish(journal)


def _open_store(
    journal: Journal,
    name: str,
    rows: int,
    row_spec: RowSpec,
    rows_per_shard: int,
    attrs: dict[str, Any] | None,
) -> RowStore:
    """The run's store, ``journal.work_dir / name``: the interrupted run's when the journal
    resumes one (it is resumed together with the journal), else a new one."""
    store_dir = journal.work_dir / name
    store = _resumable_store(store_dir, rows, row_spec) if journal.resumed else None
    if journal.resumed and store is None:
        log.warning("the interrupted run's rows are gone from %s: starting over", store_dir)
        journal.discard()
    if store is None:
        remove(store_dir)
        store = RowStore.create(
            store_dir, rows, row_spec.shape, row_spec.dtype, rows_per_shard, attrs=attrs
        )
    return store


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
