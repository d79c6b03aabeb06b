"""Whole clips through a CRNN trained on crops, and the store's per-mel statistics.

Plain NumPy, no TensorFlow at import: predict and the train_crnn stage pass in a model
they loaded or trained; the crop plan covers each whole clip so no part of it is ignored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fmagenre.infra.store import RowStore


def crop_starts(frames: int, crop: int) -> list[int]:
    """Start frames of crops that together cover a whole clip (the last one ends at its end)."""
    if crop >= frames:
        return [0]
    starts = list(range(0, frames - crop + 1, crop))
    if starts[-1] + crop < frames:
        starts.append(frames - crop)
    return starts


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
