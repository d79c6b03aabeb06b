"""Batches of spectrogram crops streamed from the store, so memory does not grow with the data.

Each batch reads only its own rows, with plain file reads into one reused buffer (see
RowStore.read_copy), so training on fma_large needs no more memory than on the demo.
Training batches are shuffled per epoch with random time crops (augmentation); evaluation
batches use fixed crops. Everything random derives from (seed, epoch), so a run is
reproducible.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from fmagenre.infra.native_stderr import import_keras
from fmagenre.infra.store import RowStore

keras = import_keras()


def crop_starts(frames: int, crop: int) -> list[int]:
    """Start frames of crops that together cover a whole clip (the last one ends at its end)."""
    if crop >= frames:
        return [0]
    starts = list(range(0, frames - crop + 1, crop))
    if starts[-1] + crop < frames:
        starts.append(frames - crop)
    return starts


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


def predict_clips(
    model, store_path: Path, rows: np.ndarray, crop_frames: int, batch_size: int
) -> np.ndarray:
    """Class probabilities per clip of the store: the mean over crops covering each clip."""
    store = RowStore.open(store_path)
    buffer = np.empty(store.row_shape, dtype=store.dtype)
    try:
        return clip_probabilities(
            model,
            (store.read_copy(int(row), out=buffer) for row in rows),
            len(rows),
            crop_frames,
            batch_size,
        )
    finally:
        store.close()


def clip_probabilities(model, clips, count: int, crop_frames: int, batch_size: int) -> np.ndarray:
    """Class probabilities of ``count`` [frames x mels] clips, each the mean of the model's
    outputs over crops that cover the whole clip (so no part of a clip is ignored)."""
    outputs = []
    pending: list[np.ndarray] = []

    def flush() -> None:
        starts = crop_starts(pending[0].shape[0], crop_frames)
        x = np.stack([clip[s : s + crop_frames] for clip in pending for s in starts]).astype(
            np.float32
        )
        probabilities = np.asarray(model.predict_on_batch(x))
        outputs.append(probabilities.reshape(len(pending), len(starts), -1).mean(axis=1))
        pending.clear()

    for clip in clips:
        pending.append(np.array(clip, copy=True))
        if len(pending) * len(crop_starts(clip.shape[0], crop_frames)) >= batch_size:
            flush()
    if pending:
        flush()
    if not outputs:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    result = np.concatenate(outputs).astype(np.float32)
    assert len(result) == count
    return result


def mel_statistics(store_path: Path, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-mel mean and standard deviation over the given rows, streamed one row at a time."""
    store = RowStore.open(store_path)
    buffer = np.empty(store.row_shape, dtype=store.dtype)
    total = np.zeros(store.row_shape[1])
    squares = np.zeros(store.row_shape[1])
    for row in rows:
        data = store.read_copy(int(row), out=buffer).astype(np.float64)
        total += data.sum(axis=0)
        squares += np.square(data).sum(axis=0)
    store.close()
    count = max(1, len(rows) * store.row_shape[0])
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - np.square(mean), 1e-6))
    return mean.astype(np.float32), std.astype(np.float32)
