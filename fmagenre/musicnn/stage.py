"""The pretrained and embeddings stages' logic.

``pretrained`` puts the Keras port (converted once per user, see ``network.saved_network``)
and musicnn's licence into the project, as a DVC output the embeddings depend on.
``embeddings`` runs every usable track's canonical audio through it on the map over tracks
(local or Dask, chunked, resumable, the same output whatever the backend), one 450-value
row per track, written as data/embeddings.parquet.
"""

from __future__ import annotations

import functools
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fmagenre.atomic import atomic_path, write_json
from fmagenre.audio_rows import AudioRow, read_audio, store_identity, usable_rows
from fmagenre.musicnn import weights
from fmagenre.musicnn.embedding import COLUMNS, clip_row
from fmagenre.musicnn.network import PORT_VERSION, saved_network
from fmagenre.musicnn.tags import MSD_TAGS
from fmagenre.params import Params
from fmagenre.store import RowStore
from fmagenre.track_table import map_to_table
from fmagenre.trackmap import Journal, TrackOutput

FORMAT_VERSION = 1
NETWORK_FILE = "musicnn.keras"
CREDIT = (
    "MSD_musicnn from musicnn 0.1.0 (https://github.com/jordipons/musicnn) by Jordi Pons, "
    "Music Technology Group, Universitat Pompeu Fabra; ISC licence (LICENSE.md)"
)


def export_pretrained(out_dir: Path) -> dict[str, Any]:
    """Copy the port and the licence into ``out_dir``, with a note of what they are."""
    network = saved_network()
    checkpoint = weights.ensure_checkpoint()
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        shutil.copy2(network, tmp / NETWORK_FILE)
        shutil.copy2(checkpoint.licence, tmp / "LICENSE.md")
        write_json(
            tmp / "info.json",
            {
                "model": "MSD_musicnn",
                "credit": CREDIT,
                "source": f"{weights.WHEEL} (SHA-256 {weights.WHEEL_SHA256})",
                "port_version": PORT_VERSION,
                "tags": list(MSD_TAGS),
            },
        )
    return {
        "network_bytes": (out_dir / NETWORK_FILE).stat().st_size,
        "tags": len(MSD_TAGS),
        "cache": str(checkpoint.folder),
    }


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
    journal = Journal.open(
        work_dir,
        {
            "stage": "embeddings",
            "format": FORMAT_VERSION,
            "network": weights.sha256(network_path),
            "inputs": store_identity(audio_dir),
            "tracks": [[item.track_id, item.seconds] for item in items],
        },
    )
    began = time.perf_counter()
    run = map_to_table(
        functools.partial(embed_track, network_path=str(network_path)),
        items,
        COLUMNS,
        compute=params.compute,
        journal=journal,
        out_path=out_path,
        desc="embeddings",
        progress=progress,
    )
    elapsed = time.perf_counter() - began
    return {
        "tracks": run.tracks,
        "failed": len(run.failures),
        "failures": run.failures[:20],
        "columns": len(COLUMNS),
        "seconds": round(elapsed, 2),
        "tracks_per_second": round(len(items) / elapsed, 2) if elapsed > 0 else None,
    }
