"""The per-patch embeddings (data/patch_embeddings): musicnn's penultimate layer of every
3-s patch of every track, for the patch-pooled head (musicnn.pooling: patch).

A RowStore of one row per track, [max patches x 200] float16, NaN after a track's own patches,
with ``tracks.parquet`` (track_id, patches) beside the shards, in row order. One row per track
rather than one per patch, because that is the row the pooled head reads
(fmagenre.models.pooling keeps one row per track so that splits stay by track) and any track's
patches are one read; the padding costs only on clips shorter than audio.duration. float16
halves the bytes: its three significant digits are far finer than what separates genres.
The embeddings stage writes it (fmagenre.pipeline.embeddings); train_musicnn reads it here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fmagenre.infra.store import RowStore

TRACKS = "tracks.parquet"


def patch_table(path: Path) -> pd.DataFrame:
    """The store as one row per track (track_id, then its patches flattened, NaN-padded) in
    float32: the table a patch-pooled head trains on."""
    tracks = pd.read_parquet(Path(path) / TRACKS)
    with RowStore.open(path) as store:
        patches, width = store.row_shape
        values = np.empty((len(store), patches * width), np.float32)
        for row in range(len(store)):
            values[row] = store.read_copy(row).reshape(-1)
    columns = [f"patch{p:02d}.{i:03d}" for p in range(patches) for i in range(width)]
    frame = pd.DataFrame(values, columns=columns)
    frame.insert(0, "track_id", tracks["track_id"].to_numpy(np.int64))
    return frame
