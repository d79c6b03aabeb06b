"""Training the CRNN: seeded, early-stopped on the validation split, its curves kept per epoch.

The validation split drives every choice (early stopping with best-weights restore, the
learning-rate schedule); the test split is predicted once, at the end, for the report.
A clip's prediction is the mean over crops that cover all of it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.fma.dataset import labelled_splits, require_trainable
from fmagenre.infra.params import Params

log = logging.getLogger(__name__)


@dataclass
class SplitRows:
    """The store rows, labels and track ids of one split."""

    rows: np.ndarray
    labels: np.ndarray
    track_ids: np.ndarray


@dataclass
class CrnnData:
    classes: list[str]
    splits: dict[str, SplitRows]
    counts: dict[str, Any]


def assemble(
    index: pd.DataFrame, tracks: pd.DataFrame, manifest: pd.DataFrame | None = None
) -> CrnnData:
    """Labels and split from the tracks table (as for every model), rows from the spectrogram index."""
    usable = index.loc[index["ok"].astype(bool)]
    labelled = labelled_splits(tracks, usable["track_id"], manifest)
    require_trainable("crnn", labelled)
    row_of = usable.set_index("track_id")["row"]
    splits = {
        name: SplitRows(row_of.loc[part.track_ids].to_numpy(np.int64), part.labels, part.track_ids)
        for name, part in labelled.splits.items()
    }
    return CrnnData(labelled.classes, splits, labelled.counts)


def configure_tensorflow(threads: int, seed: int) -> str:
    """Seeds, deterministic ops and thread counts; must run before TensorFlow does any work.

    Returns the device training will use (a GPU when TensorFlow sees one).
    """
    from fmagenre.infra.native_stderr import import_keras, quiet_tensorflow

    keras = import_keras()
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    with quiet_tensorflow():  # on a machine without CUDA, asking prints "failed call to cuInit"
        gpus = tf.config.list_physical_devices("GPU")
    return f"GPU ({gpus[0].name})" if gpus else f"CPU ({threads} threads)"


def effective_crop(params: Params, frames: int) -> int:
    if params.model.crop_frames > frames:
        log.info(
            "model.crop_frames = %d is longer than a clip (%d frames): using whole clips",
            params.model.crop_frames,
            frames,
        )
        return frames
    return params.model.crop_frames


@dataclass
class TrainedCrnn:
    model: Any
    crop_frames: int
    epochs_run: int
    best_epoch: int
    train_seconds: float
    samples_per_second: float
    # per epoch, Keras' names: loss, accuracy, f1 (macro-F1) and their val_ twins; on crops
    history: dict[str, list[float]]


def fit_crnn(store_path: Path, data: CrnnData, params: Params, *, verbose: int = 2) -> TrainedCrnn:
    """Build and train the CRNN on the training split, stopping on the validation split."""
    from fmagenre.infra.native_stderr import import_keras
    from fmagenre.infra.store import RowStore
    from fmagenre.models.crnn.batches import CropBatches, stream
    from fmagenre.models.crnn.crops import mel_statistics
    from fmagenre.models.crnn.model import build_crnn

    keras = import_keras()

    store = RowStore.open(store_path)
    frames, n_mels = store.row_shape
    crop = effective_crop(params, frames)
    m = params.model
    train, val = data.splits["training"], data.splits["validation"]
    if len(train.rows) == 0 or len(val.rows) == 0:
        from fmagenre.infra.errors import UserError

        raise UserError(f"the CRNN needs training and validation tracks; have {data.counts}")
    mean, std = mel_statistics(store_path, train.rows)
    keras.utils.set_random_seed(m.seed)  # every fit starts from the same state, whatever ran before
    model = build_crnn(crop, n_mels, len(data.classes), m, mean, std)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=m.lr),
        loss="categorical_crossentropy",
        metrics=["accuracy", keras.metrics.F1Score(average="macro", name="f1")],
    )
    common = dict(
        n_classes=len(data.classes), batch_size=m.batch_size, crop_frames=crop, seed=m.seed
    )
    train_batches = CropBatches(store_path, train.rows, train.labels, random_crops=True, **common)
    val_batches = CropBatches(store_path, val.rows, val.labels, random_crops=False, **common)
    callbacks: list[Any] = [
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=m.patience, restore_best_weights=True
        ),
        keras.callbacks.ReduceLROnPlateau(
            monitor="val_loss", factor=0.5, patience=m.lr_patience, min_lr=m.lr / 64
        ),
    ]
    began = time.perf_counter()
    history = model.fit(
        stream(train_batches),
        steps_per_epoch=len(train_batches),
        validation_data=stream(val_batches),
        validation_steps=len(val_batches),
        shuffle=False,  # the batches are shuffled, reproducibly, by CropBatches
        epochs=m.epochs,
        callbacks=callbacks,
        verbose=verbose,
    )
    seconds = time.perf_counter() - began
    losses = history.history["val_loss"]
    epochs_run = len(losses)
    return TrainedCrnn(
        model=model,
        crop_frames=crop,
        epochs_run=epochs_run,
        best_epoch=int(np.argmin(losses)) + 1,
        train_seconds=seconds,
        samples_per_second=len(train.rows) * epochs_run / seconds if seconds > 0 else 0.0,
        history={key: [float(v) for v in values] for key, values in history.history.items()},
    )
