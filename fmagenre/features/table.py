"""A table with one row of float32 values per track, computed on the map over tracks.

The features and embeddings stages have the same shape: a per-track function gives a fixed
number of values; rows go to a resumable store in the journal's work folder (so memory
stays flat and an interrupted run resumes), and the finished store becomes one Parquet
table of the tracks that succeeded, ``track_id`` first. Failed tracks are listed, not fatal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.infra.atomic import write_parquet
from fmagenre.infra.params import ComputeParams
from fmagenre.infra.trackmap import RowSpec, TrackFn
from fmagenre.infra.trackrun import track_run

ROWS_PER_SHARD = 65536


@dataclass
class TableRun:
    tracks: int  # rows written
    failures: list[dict[str, Any]]  # track_id and error of each failed track
    records: list[dict[str, Any]]  # every item's record, in item order
    seconds: float  # wall time of the map


def map_to_table(
    track_fn: TrackFn,
    items: Sequence[Any],
    columns: list[str],
    *,
    compute: ComputeParams,
    work_dir: Path,
    fingerprint: dict[str, Any],
    out_path: Path,
    desc: str,
    progress: bool = True,
) -> TableRun:
    """Run ``track_fn`` on every item (each has a ``track_id``); write the table of successes.

    ``work_dir`` and ``fingerprint``: the resumable run's (fmagenre.trackrun.track_run).
    """
    with track_run(
        track_fn,
        items,
        work_dir=work_dir,
        fingerprint=fingerprint,
        compute=compute,
        name="rows",
        row_spec=RowSpec((len(columns),), "float32"),
        rows_per_shard=ROWS_PER_SHARD,
        desc=desc,
        progress=progress,
    ) as run:
        ok = run.ok
        values = (
            run.store.read_rows(np.flatnonzero(ok))
            if ok.any()
            else np.zeros((0, len(columns)), np.float32)
        )
        track_ids = np.array([item.track_id for item in items], dtype=np.int64)[ok]
        write_parquet(out_path, value_frame(track_ids, values, columns))
    return TableRun(int(ok.sum()), run.failures, run.records, run.seconds)


def value_frame(track_ids: np.ndarray, values: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """The schema: track_id (int64), then the float32 columns."""
    frame = pd.DataFrame(values.astype(np.float32, copy=False), columns=columns)
    frame.insert(0, "track_id", track_ids.astype(np.int64))
    return frame
