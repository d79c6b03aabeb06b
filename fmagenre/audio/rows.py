"""Reading decoded audio back, for the stages that start from it (features, spectrograms).

Workers open the audio store once per process and read single rows from it with plain file
reads, so a chunk ships only row numbers, never audio, to a worker (local or on a cluster).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fmagenre.audio.decoding import from_int16
from fmagenre.infra.store import META_FILE, RowStore

OPEN_STORES = 4
_open_stores: dict[str, tuple[tuple[int, int, int], RowStore]] = {}
_open_lock = threading.Lock()


@dataclass(frozen=True)
class AudioRow:
    """Where one usable track's canonical audio lives."""

    track_id: int
    row: int
    store: str  # absolute path of the audio store


def _open(store: str) -> RowStore:
    """The store at ``store``, opened once per process, and again once decode has replaced it:
    a long-lived Dask worker outlives a decode rerun. A replaced store is closed, so its
    deleted shards do not stay allocated on disk behind this process's open files."""
    meta = os.stat(os.path.join(store, META_FILE))
    state = (meta.st_ino, meta.st_mtime_ns, meta.st_size)
    with _open_lock:
        cached = _open_stores.pop(store, None)
        if cached is not None and cached[0] == state:
            _open_stores[store] = cached
            return cached[1]
        if cached is not None:
            cached[1].close()
        while len(_open_stores) >= OPEN_STORES:
            _open_stores.pop(next(iter(_open_stores)))[1].close()
        opened = RowStore.open(store)
        _open_stores[store] = (state, opened)
        return opened


def read_audio(item: AudioRow) -> np.ndarray:
    """The track's canonical float32 samples (a plain read: memory-mapped rows would stay in
    the worker's resident memory and grow it to the size of the store)."""
    return from_int16(_open(item.store).read_copy(item.row))


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
