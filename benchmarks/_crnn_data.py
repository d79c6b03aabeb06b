"""Synthetic spectrogram stores for the CRNN benchmarks (random rows with a class-dependent band)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fmagenre.fma.facts import SMALL_GENRES
from fmagenre.infra.store import RowStore

GENRES = sorted(SMALL_GENRES)


def make_store(
    root: Path, tracks: int, frames: int = 431, mels: int = 128, seed: int = 0
) -> tuple[Path, pd.DataFrame]:
    """A spectrogram store of ``tracks`` rows, its index, and a tracks table (80/10/10 split)."""
    rng = np.random.default_rng(seed)
    labels = np.arange(tracks) % len(GENRES)
    store = RowStore.create(root / "spectrograms", tracks, (frames, mels), "float16", 1024)
    for start in range(0, tracks, 256):
        count = min(256, tracks - start)
        block = rng.normal(-40, 8, size=(count, frames, mels)).astype(np.float16)
        for i in range(count):
            band = 8 + 14 * labels[start + i]
            block[i, :, band : band + 6] += 20
        store.write(start, block)
    store.close()
    pd.DataFrame({"track_id": np.arange(tracks), "row": np.arange(tracks), "ok": True}).to_parquet(
        root / "spectrograms" / "index.parquet"
    )
    split = np.array(["training"] * 8 + ["validation", "test"])[np.arange(tracks) % 10]
    table = pd.DataFrame(
        {"track_id": np.arange(tracks), "genre_top": [GENRES[g] for g in labels], "split": split}
    )
    return root / "spectrograms", table
