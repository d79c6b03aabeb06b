"""Reading decoded audio back, for the stages that start from it (features, spectrograms).

Workers open the audio store once per process and read single rows from its memory maps, so
a chunk ships only row numbers, never audio, to a worker (local or on a cluster).
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fmagenre.audio import from_int16
from fmagenre.store import RowStore


@dataclass(frozen=True)
class AudioRow:
    """Where one usable track's canonical audio lives."""

    track_id: int
    row: int
    store: str  # absolute path of the audio store


@functools.lru_cache(maxsize=4)
def _open(store: str) -> RowStore:
    return RowStore.open(store)


def read_audio(item: AudioRow) -> np.ndarray:
    """The track's canonical float32 samples."""
    return from_int16(_open(item.store).read(item.row))


def usable_rows(manifest: pd.DataFrame, store: Path) -> list[AudioRow]:
    """One AudioRow per usable track, in manifest (track_id) order."""
    usable = manifest[manifest["usable"]]
    path = os.path.abspath(store)
    return [
        AudioRow(int(t), int(r), path)
        for t, r in zip(usable["track_id"], usable["row"], strict=True)
    ]


def store_identity(*paths: Path) -> str:
    """A cheap identity of files and folders (names, sizes, mtimes), for resume fingerprints:
    if decode reruns, a resumed run must not mix rows of the old audio with the new."""
    digest = hashlib.sha1()
    for path in paths:
        files = sorted(Path(path).rglob("*")) if Path(path).is_dir() else [Path(path)]
        for file in files:
            if file.is_file():
                stat = file.stat()
                digest.update(f"{file.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
