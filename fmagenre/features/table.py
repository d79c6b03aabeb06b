"""A table with one row of float32 values per track, computed on the map over tracks.

The features and embeddings stages have the same shape: a per-track function gives a fixed
number of values; rows go to a resumable store in the journal's work folder (so memory
stays flat and an interrupted run resumes), and the finished store becomes one Parquet
table of the tracks that succeeded, ``track_id`` first. Failed tracks are listed, not fatal.
A stage with a second output from the same per-track pass (the embeddings' patch rows) makes
its rows wider than the table and publishes the rest itself, before the work is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.infra.atomic import write_parquet
from fmagenre.infra.params import ComputeParams
from fmagenre.infra.trackmap import RowSpec, TrackFn
from fmagenre.infra.trackrun import TrackRun, track_run

ROWS_PER_SHARD = 65536


@dataclass
class TableRun:
    tracks: int  # rows written
    failures: list[dict[str, Any]]  # track_id and error of each failed track
    records: list[dict[str, Any]]  # every item's record, in item order
    seconds: float  # wall time of the map


def map_to_table(
    stage: str,
    version: int,
    track_fn: TrackFn,
    items: Sequence[Any],
    columns: list[str],
    *,
    identity: dict[str, Any],
    work_dir: Path,
    compute: ComputeParams,
    out_path: Path,
    progress: bool = True,
    extra_values: int = 0,
    publish_extra: Callable[[TrackRun], None] | None = None,
) -> TableRun:
    """Run ``track_fn`` on every item (each has a ``track_id``); write the table of successes.

    ``stage``, ``version``, ``identity``, ``work_dir``: the resumable run's
    (fmagenre.infra.trackrun.track_run). ``extra_values``: values each row carries after the
    table's columns, for ``publish_extra`` to write elsewhere from the finished run.
    """
    width = len(columns)
    with track_run(
        stage,
        version,
        track_fn,
        items,
        identity=identity,
        work_dir=work_dir,
        compute=compute,
        name="rows",
        row_spec=RowSpec((width + extra_values,), "float32"),
        rows_per_shard=ROWS_PER_SHARD,
        progress=progress,
    ) as run:
        ok = run.ok
        values = np.zeros((int(ok.sum()), width), np.float32)
        for i, row in enumerate(np.flatnonzero(ok)):  # only the table's part of each row
            run.store.read_part(int(row), 0, width, values[i])
        track_ids = np.array([item.track_id for item in items], dtype=np.int64)[ok]
        write_parquet(out_path, value_frame(track_ids, values, columns))
        if publish_extra is not None:
            publish_extra(run)
    return TableRun(int(ok.sum()), run.failures, run.records, run.seconds)


def value_frame(track_ids: np.ndarray, values: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """The schema: track_id (int64), then the float32 columns."""
    frame = pd.DataFrame(values.astype(np.float32, copy=False), columns=columns)
    frame.insert(0, "track_id", track_ids.astype(np.int64))
    return frame
