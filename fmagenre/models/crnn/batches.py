"""Training batches of spectrogram crops streamed from the store, so memory does not grow with the data.

Each batch reads only its rows' crops, with plain file reads (see RowStore.read_part), so
training on fma_large needs no more memory than on the demo. Training batches are shuffled
per epoch with random time crops (augmentation); evaluation batches use fixed crops.
Everything random derives from (seed, epoch), so a run is reproducible.

Keras gets the batches as one endless tf.data stream per fit (``stream``), fed by a thread
that prepares the next batches while the current one trains. Why not a Keras PyDataset:
with TensorFlow's op determinism on (configure_tensorflow), tf.data prefetches nothing, so
every batch was read on the training's critical path; and a PyDataset's tf.data iterator
is rebuilt every epoch, whose teardown on TensorFlow's shared thread pool stalled training
for 0.5 to 5 s each time (CRNN training ran at 0.49-0.65x the in-memory speed, issue 26).
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fmagenre.infra.store import RowStore

Batch = tuple[np.ndarray, np.ndarray]


class CropBatches:
    """(crops, one-hot labels) batches from rows of a spectrogram store, in epochs.

    ``random_crops``: a random crop per row and a fresh shuffle every epoch (training);
    otherwise a fixed crop per row — the centre — in the given order (validation curves).
    Indexing gives the current epoch's batches; ``on_epoch_end`` moves to the next epoch.
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
        self.store = RowStore.open(store_path)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.labels = np.asarray(labels, dtype=np.int64)
        self.n_classes = n_classes
        self.batch_size = batch_size
        self.frames, self.mels = self.store.row_shape
        self.crop = min(crop_frames, self.frames)
        self.random_crops = random_crops
        self.seed = seed
        self.epoch = 0

    def plan(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The order of the rows and each row's crop start in ``epoch``."""
        count = len(self.rows)
        span = self.frames - self.crop
        if not self.random_crops:
            return np.arange(count), np.full(count, span // 2)
        rng = np.random.default_rng([self.seed, epoch])
        return rng.permutation(count), rng.integers(0, span + 1, size=count)

    def __len__(self) -> int:
        return math.ceil(len(self.rows) / self.batch_size)

    def __getitem__(self, index: int) -> Batch:
        return self.batch(self.plan(self.epoch), index)

    def on_epoch_end(self) -> None:
        self.epoch += 1

    def batch(self, plan: tuple[np.ndarray, np.ndarray], index: int) -> Batch:
        order, offsets = plan
        picks = order[index * self.batch_size : (index + 1) * self.batch_size]
        crops = np.empty((len(picks), self.crop, self.mels), dtype=self.store.dtype)
        for i, pick in enumerate(picks):
            start = int(offsets[pick])
            self.store.read_part(int(self.rows[pick]), start, start + self.crop, out=crops[i])
        y = np.zeros((len(picks), self.n_classes), dtype=np.float32)
        y[np.arange(len(picks)), self.labels[picks]] = 1.0
        return crops.astype(np.float32), y

    def endless(self) -> Iterator[Batch]:
        """Every batch of epoch 0, then of epoch 1, and so on (what one fit consumes)."""
        for epoch in itertools.count(self.epoch):
            plan = self.plan(epoch)
            for index in range(len(self)):
                yield self.batch(plan, index)


def stream(batches: CropBatches, ahead: int = 2) -> Any:
    """The batches, epoch after epoch, as an endless tf.data.Dataset, ``ahead`` batches
    prepared in advance on a thread. Fit it with ``steps_per_epoch=len(batches)``, so that
    Keras keeps one iterator for the whole fit."""
    import tensorflow as tf

    spec = (
        tf.TensorSpec((None, batches.crop, batches.mels), tf.float32),
        tf.TensorSpec((None, batches.n_classes), tf.float32),
    )
    dataset = tf.data.Dataset.from_generator(
        lambda: prepared_ahead(batches.endless(), ahead), output_signature=spec
    )
    options = tf.data.Options()
    # its own thread, not TensorFlow's inter-op pool, which the model's ops keep busy
    options.threading.private_threadpool_size = 1
    options.autotune.enabled = False
    return dataset.with_options(options)


_END = object()


class _Failed:
    def __init__(self, error: Exception):
        self.error = error


def prepared_ahead(items: Iterator[Any], ahead: int) -> Iterator[Any]:
    """The items of ``items``, computed on a thread up to ``ahead`` items before they are asked
    for (file reads and NumPy release the GIL, so this overlaps with training). In order, so
    the sequence is the same as without the thread; an error is raised here, in the caller."""
    ready: queue.Queue[Any] = queue.Queue(maxsize=max(1, ahead))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(_END)
        except Exception as error:  # handed to the consumer, which raises it
            put(_Failed(error))

    worker = threading.Thread(target=produce, name="crnn-batches", daemon=True)
    worker.start()
    try:
        while (item := ready.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        worker.join()
