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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import pandas as pd

from fmagenre.audio_rows import AudioRow, read_audio, store_identity, usable_rows
from fmagenre.errors import UserError
from fmagenre.params import Params
from fmagenre.store import RowStore
from fmagenre.trackmap import RowSpec, TrackOutput
from fmagenre.trackrun import track_run

ROWS_PER_SHARD = 1024  # 30 s clips at the defaults: 1292 x 128 x 2 B = 331 kB a row, 339 MB a shard
INDEX_FILE = "index.parquet"
AMIN = 1e-10  # power below which dB values are not meaningful (librosa's default)
FORMAT_VERSION = 1


@dataclass(frozen=True)
class LogMelSettings:
    """Everything that changes a spectrogram's values."""

    sr: int
    n_fft: int
    hop_length: int
    n_mels: int
    fmin: float
    fmax: float
    db_floor: float

    @classmethod
    def from_params(cls, params: Params, sr: int) -> LogMelSettings:
        spec = params.spectrogram
        fmax = spec.fmax if spec.fmax is not None else sr / 2
        if fmax > sr / 2:
            raise UserError(
                f"spectrogram.fmax = {spec.fmax} is above half the sample rate ({sr / 2:g} Hz for audio.sr = {sr})"
            )
        if spec.fmin >= fmax:
            raise UserError(f"spectrogram.fmin = {spec.fmin} must be below fmax ({fmax:g} Hz)")
        return cls(
            sr, spec.n_fft, spec.hop_length, spec.n_mels, spec.fmin, float(fmax), spec.db_floor
        )

    def frames(self, samples: int) -> int:
        """Frame count of a centred STFT of ``samples`` samples."""
        return 1 + samples // self.hop_length


@functools.lru_cache(maxsize=4)
def _mel_basis(settings: LogMelSettings) -> np.ndarray:
    # Built once per process: librosa.feature.melspectrogram rebuilds it on every call.
    return librosa.filters.mel(
        sr=settings.sr,
        n_fft=settings.n_fft,
        n_mels=settings.n_mels,
        fmin=settings.fmin,
        fmax=settings.fmax,
    ).astype(np.float32)


def log_mel(samples: np.ndarray, settings: LogMelSettings) -> np.ndarray:
    """[frames x n_mels] float32 log-mel power in dB (re 1.0), clipped below at db_floor."""
    spectrum = librosa.stft(
        np.asarray(samples, dtype=np.float32), n_fft=settings.n_fft, hop_length=settings.hop_length
    )
    power = np.square(np.abs(spectrum), dtype=np.float32)
    mel = _mel_basis(settings) @ power
    db = 10.0 * np.log10(np.maximum(mel, AMIN, dtype=np.float32))
    np.maximum(db, settings.db_floor, out=db)
    return np.ascontiguousarray(db.T)


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
        functools.partial(spectrogram_track, settings=settings),
        items,
        work_dir=work_dir,
        fingerprint={
            "stage": "spectrograms",
            "format": FORMAT_VERSION,
            "settings": dataclasses.asdict(settings),
            "inputs": store_identity(audio_dir),
            "tracks": [item.track_id for item in items],
        },
        compute=params.compute,
        name="store",
        row_spec=RowSpec(shape, "float16"),
        rows_per_shard=ROWS_PER_SHARD,
        attrs={**dataclasses.asdict(settings), "axes": ["time", "mel"], "unit": "dB"},
        desc="spectrograms",
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


def open_spectrograms(path: Path) -> tuple[RowStore, pd.DataFrame]:
    """The store and its index (track_id -> row, ok), for training and analysis."""
    return RowStore.open(path), pd.read_parquet(Path(path) / INDEX_FILE)
