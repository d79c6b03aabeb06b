"""Training batches of spectrogram crops streamed from the store, so memory does not grow with the data.

Each batch reads only its own rows, with plain file reads into one reused buffer (see
RowStore.read_copy), so training on fma_large needs no more memory than on the demo.
Training batches are shuffled per epoch with random time crops (augmentation); evaluation
batches use fixed crops. Everything random derives from (seed, epoch), so a run is
reproducible. A Keras PyDataset, so this module imports Keras (and TensorFlow): only
training imports it; whole-clip prediction and the store's statistics are in crops.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fmagenre.infra.native_stderr import import_keras
from fmagenre.infra.store import RowStore

keras = import_keras()


class CropBatches(keras.utils.PyDataset):
    """Keras PyDataset of (crops, one-hot labels) from rows of a spectrogram store.

    ``random_crops``: a random crop per row and a fresh shuffle every epoch (training);
    otherwise a fixed crop per row — the centre — in the given order (validation curves).
    """

    def __init__(
        self,
        store_path: Path,
        rows: np.ndarray,
        labels: np.ndarray,
        n_classes: int,
        *,
        batch_size: int,
        crop_frames: int,
        random_crops: bool,
        seed: int,
    ):
        super().__init__(workers=1, use_multiprocessing=False)
        self.store = RowStore.open(store_path)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.crop = crop_frames
        self.random_crops = random_crops
        self.seed = seed
        self.frames = self.store.row_shape[0]
        self._buffer = np.empty(self.store.row_shape, dtype=self.store.dtype)
        self.epoch = 0
        self._plan()

    def _plan(self) -> None:
        rng = np.random.default_rng([self.seed, self.epoch])
        count = len(self.rows)
        self.order = rng.permutation(count) if self.random_crops else np.arange(count)
        span = max(0, self.frames - self.crop)
        self.offsets = (
            rng.integers(0, span + 1, size=count)
            if self.random_crops
            else np.full(count, span // 2)
        )

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        picks = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        x = np.empty((len(picks), self.crop, self.store.row_shape[1]), dtype=np.float32)
        for i, pick in enumerate(picks):
            row = self.store.read_copy(int(self.rows[pick]), out=self._buffer)
            start = int(self.offsets[pick])
            x[i] = row[start : start + self.crop]
        y = np.zeros((len(picks), self.n_classes), dtype=np.float32)
        y[np.arange(len(picks)), self.labels[picks]] = 1.0
        return x, y

    def on_epoch_end(self) -> None:
        if self.random_crops:
            self.epoch += 1
            self._plan()
