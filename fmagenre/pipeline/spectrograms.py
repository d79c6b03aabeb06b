"""Log-mel spectrograms of every usable track, in a store the CRNN streams from.

One fixed-size [frames x n_mels] float16 array per track: fixed size, because every
canonical clip has the same length, so any track is one memory-mapped row and a training
batch reads only the rows it needs; float16, because log-mel values span about -80..+40 dB
and float16 keeps them to within 0.03 dB at half the bytes of float32. Time is the first
axis because the recurrent layers run over it.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.audio.melspec import LogMelSettings, log_mel
from fmagenre.audio.rows import AudioRow, read_audio, store_identity, usable_rows
from fmagenre.infra.params import Params
from fmagenre.infra.store import RowStore
from fmagenre.infra.trackmap import RowSpec, TrackOutput
from fmagenre.infra.trackrun import track_run

ROWS_PER_SHARD = 1024  # 30 s clips at the defaults: 1292 x 128 x 2 B = 331 kB a row, 339 MB a shard
INDEX_FILE = "index.parquet"
FORMAT_VERSION = 1


def spectrogram_track(item: AudioRow, settings: LogMelSettings) -> TrackOutput:
    """One track's row for the spectrogram store."""
    return TrackOutput(
        {"track_id": item.track_id}, log_mel(read_audio(item), settings).astype(np.float16)
    )


def run_spectrograms(
    manifest: pd.DataFrame,
    audio_dir: Path,
    params: Params,
    *,
    out_dir: Path,
    work_dir: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Compute the store of every usable track; return a summary (counts, sizes, time)."""
    audio = RowStore.open(audio_dir)
    settings = LogMelSettings.from_params(params, int(audio.attrs["sr"]))
    items = usable_rows(manifest, audio_dir)
    shape = (settings.frames(audio.row_shape[0]), settings.n_mels)
    with track_run(
        "spectrograms",
        FORMAT_VERSION,
        functools.partial(spectrogram_track, settings=settings),
        items,
        work_dir=work_dir,
        identity={
            "settings": dataclasses.asdict(settings),
            "inputs": store_identity(audio_dir),
            "tracks": [item.track_id for item in items],
        },
        compute=params.compute,
        name="store",
        row_spec=RowSpec(shape, "float16"),
        rows_per_shard=ROWS_PER_SHARD,
        attrs={**dataclasses.asdict(settings), "axes": ["time", "mel"], "unit": "dB"},
        progress=progress,
    ) as run:
        index = pd.DataFrame(
            {
                "track_id": np.array([item.track_id for item in items], dtype=np.int64),
                "row": np.arange(len(items), dtype=np.int64),
                "ok": run.ok,
            }
        )
        run.move_store(out_dir, {INDEX_FILE: index})
    bytes_per_track = int(np.prod(shape)) * 2
    return {
        "tracks": len(items),
        "failed": len(run.failures),
        "failures": run.failures[:20],
        "frames": shape[0],
        "n_mels": shape[1],
        "bytes_per_track": bytes_per_track,
        "store_megabytes": round(bytes_per_track * len(items) / 1e6, 1),
        "seconds": round(run.seconds, 2),
    }
