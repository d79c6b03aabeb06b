"""The embeddings stage's logic.

``embeddings`` runs every usable track's canonical audio through it on the map over tracks
(local or Dask, chunked, resumable, the same output whatever the backend), one 450-value
row per track, written as data/embeddings.parquet; and, from the same network pass, every
patch's 200 penultimate values (data/patch_embeddings, for musicnn.pooling: patch; its
format: fmagenre.models.musicnn.patch_store). Both are written whatever musicnn.pooling says,
so changing it reruns no embedding.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.audio.rows import AudioRow, read_audio, store_identity, usable_rows
from fmagenre.features.table import map_to_table
from fmagenre.infra.atomic import atomic_path, write_parquet
from fmagenre.infra.params import Params
from fmagenre.infra.store import RowStore
from fmagenre.infra.trackmap import TrackOutput
from fmagenre.infra.trackrun import TrackRun
from fmagenre.models.musicnn import weights
from fmagenre.models.musicnn.embedding import (
    COLUMNS,
    clip_summary,
    max_patches,
    patch_outputs,
    patch_row,
)
from fmagenre.models.musicnn.network import PENULTIMATE_UNITS
from fmagenre.models.musicnn.patch_store import TRACKS

FORMAT_VERSION = 2  # 2: the work rows carry the patch rows after the clip row
PATCH_ROWS_PER_SHARD = 4096


@dataclass(frozen=True)
class ClipRow(AudioRow):
    """A usable track's canonical audio, its rate, and how much of it is real (not padding)."""

    sr: int = 0
    seconds: float = 0.0


def embed_track(item: ClipRow, network_path: str, patches: int) -> TrackOutput:
    """The clip row, then the patch row (``patches`` x 200), from one network pass."""
    tags, penultimate = patch_outputs(read_audio(item), item.sr, item.seconds, network_path)
    row = np.concatenate([clip_summary(tags, penultimate), patch_row(penultimate, patches)])
    return TrackOutput({"track_id": item.track_id, "patches": len(penultimate)}, row)


def publish_patches(run: TrackRun, start: int, out_dir: Path, patches: int) -> None:
    """The successful tracks' patch rows (values ``start`` on of each row of ``run``'s store,
    and the ``patches`` record of each), as float16, moved into ``out_dir`` as a whole; a shard
    at a time, so memory stays flat in the number of tracks."""
    rows = np.flatnonzero(run.ok)
    shape = (patches, PENULTIMATE_UNITS)
    with atomic_path(out_dir) as staged:
        with RowStore.create(staged, len(rows), shape, "float16", PATCH_ROWS_PER_SHARD) as store:
            for first in range(0, len(rows), PATCH_ROWS_PER_SHARD):
                block = rows[first : first + PATCH_ROWS_PER_SHARD]
                values = np.empty((len(block), *shape), np.float16)
                for i, row in enumerate(block):
                    part = run.store.read_part(int(row), start, start + patches * shape[1])
                    values[i] = part.reshape(shape)
                store.write(first, values)
        records = [run.records[row] for row in rows]
        counts = {
            "track_id": np.array([record["track_id"] for record in records], np.int64),
            "patches": np.array([record["patches"] for record in records], np.int64),
        }
        write_parquet(staged / TRACKS, pd.DataFrame(counts))


def run_embeddings(
    manifest: pd.DataFrame,
    audio_dir: Path,
    network_path: Path,
    params: Params,
    *,
    out_path: Path,
    patches_dir: Path,
    work_dir: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Embed every usable track; write the table and the patch rows; return a summary."""
    seconds = manifest.set_index("track_id")["seconds"]
    with RowStore.open(audio_dir) as audio:
        sr = int(audio.attrs["sr"])
        patches = max_patches(audio.row_shape[0], sr)  # what the longest (whole) clip gives
    items = [
        ClipRow(item.track_id, item.row, item.store, sr, float(seconds[item.track_id]))
        for item in usable_rows(manifest, audio_dir)
    ]
    network_path = Path(network_path).resolve()
    run = map_to_table(
        "embeddings",
        FORMAT_VERSION,
        functools.partial(embed_track, network_path=str(network_path), patches=patches),
        items,
        COLUMNS,
        compute=params.compute,
        work_dir=work_dir,
        identity={
            "network": weights.sha256(network_path),
            "inputs": store_identity(audio_dir),
            "tracks": [[item.track_id, item.seconds] for item in items],
        },
        out_path=out_path,
        progress=progress,
        extra_values=patches * PENULTIMATE_UNITS,
        publish_extra=functools.partial(
            publish_patches, start=len(COLUMNS), out_dir=patches_dir, patches=patches
        ),
    )
    elapsed = run.seconds
    return {
        "tracks": run.tracks,
        "failed": len(run.failures),
        "failures": run.failures[:20],
        "columns": len(COLUMNS),
        "max_patches": patches,
        "seconds": round(elapsed, 2),
        "tracks_per_second": round(len(items) / elapsed, 2) if elapsed > 0 else None,
    }
