"""The embeddings stage's logic.

``embeddings`` runs every usable track's canonical audio through it on the map over tracks
(local or Dask, chunked, resumable, the same output whatever the backend), one 450-value
row per track, written as data/embeddings.parquet.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fmagenre.audio.rows import AudioRow, read_audio, store_identity, usable_rows
from fmagenre.features.table import map_to_table
from fmagenre.infra.params import Params
from fmagenre.infra.store import RowStore
from fmagenre.infra.trackmap import TrackOutput
from fmagenre.models.musicnn import weights
from fmagenre.models.musicnn.embedding import COLUMNS, clip_row

FORMAT_VERSION = 1


@dataclass(frozen=True)
class ClipRow(AudioRow):
    """A usable track's canonical audio, its rate, and how much of it is real (not padding)."""

    sr: int = 0
    seconds: float = 0.0


def embed_track(item: ClipRow, network_path: str) -> TrackOutput:
    row = clip_row(read_audio(item), item.sr, item.seconds, network_path)
    return TrackOutput({"track_id": item.track_id}, row)


def run_embeddings(
    manifest: pd.DataFrame,
    audio_dir: Path,
    network_path: Path,
    params: Params,
    *,
    out_path: Path,
    work_dir: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Embed every usable track; write the table; return a summary."""
    seconds = manifest.set_index("track_id")["seconds"]
    with RowStore.open(audio_dir) as audio:
        sr = int(audio.attrs["sr"])
    items = [
        ClipRow(item.track_id, item.row, item.store, sr, float(seconds[item.track_id]))
        for item in usable_rows(manifest, audio_dir)
    ]
    network_path = Path(network_path).resolve()
    run = map_to_table(
        "embeddings",
        FORMAT_VERSION,
        functools.partial(embed_track, network_path=str(network_path)),
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
    )
    elapsed = run.seconds
    return {
        "tracks": run.tracks,
        "failed": len(run.failures),
        "failures": run.failures[:20],
        "columns": len(COLUMNS),
        "seconds": round(elapsed, 2),
        "tracks_per_second": round(len(items) / elapsed, 2) if elapsed > 0 else None,
    }
