"""train_crnn's logic: train, evaluate on the shared schema, save the model and what it needs.

Everything predict needs to rebuild the model's input — the spectrogram settings and the
crop length — is saved beside the model, so a prediction applies exactly what training did.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.infra.atomic import atomic_path, write_json
from fmagenre.infra.params import Params
from fmagenre.infra.store import RowStore
from fmagenre.models.evaluation import (
    Selection,
    model_report,
    predictions_table,
    probability_table,
    write_model_outputs,
    write_training_curves,
)

log = logging.getLogger(__name__)

MODEL_FILE = "model.keras"
# train.selection never applies here: cross-validation would cost a CRNN fit per fold
# (docs/selection.md measures one)
CRNN_PROTOCOL = "the CRNN always early-stops on the validation split"


def save_keras(model: Any, path: Path) -> None:
    """Save atomically (Keras insists on a name ending in .keras, so via a temporary folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".keras-") as tmp:
        staged = Path(tmp) / path.name
        model.save(staged)
        os.replace(staged, path)


def train_crnn(
    params: Params,
    *,
    spectrograms: Path,
    tracks: pd.DataFrame,
    manifest: pd.DataFrame | None,
    model_dir: Path,
    metrics_dir: Path,
    details_dir: Path | None = None,
    verbose: int = 2,
) -> dict[str, Any]:
    """Fit the CRNN, write models/crnn/, the shared metrics schema and the training curves;
    return the report."""
    from fmagenre.models.crnn.crops import predict_clips
    from fmagenre.models.crnn.train import assemble, configure_tensorflow, fit_crnn

    device = configure_tensorflow(params.compute.worker_count, params.model.seed)
    log.info("training on %s", device)
    index = pd.read_parquet(Path(spectrograms) / "index.parquet")
    data = assemble(index, tracks, manifest)
    trained = fit_crnn(Path(spectrograms), data, params, verbose=verbose)
    batch = params.model.batch_size
    validation = predict_clips(
        trained.model,
        Path(spectrograms),
        data.splits["validation"].rows,
        trained.crop_frames,
        batch,
    )
    began = time.perf_counter()
    test = predict_clips(
        trained.model, Path(spectrograms), data.splits["test"].rows, trained.crop_frames, batch
    )
    predict_ms = 1000 * (time.perf_counter() - began) / max(1, len(data.splits["test"].rows))

    model_dir = Path(model_dir)
    store_attrs = RowStore.open(spectrograms).attrs
    with atomic_path(
        model_dir
    ) as staged:  # the folder changes as a whole (see fmagenre.models.files)
        staged.mkdir()
        save_keras(trained.model, staged / MODEL_FILE)
        write_json(staged / "classes.json", data.classes)
        write_json(
            staged / "params.json",
            {
                "model": "crnn",
                "params": {"model": params.model.model_dump(mode="json")},
                # what predict must apply to a new file to get this model's input
                "input": {
                    "audio": params.audio.model_dump(mode="json"),
                    "min_seconds": params.decode.min_seconds,
                    "spectrogram": {
                        k: store_attrs[k]
                        for k in ("sr", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "db_floor")
                    },
                },
                "crop_frames": trained.crop_frames,
                "epochs_run": trained.epochs_run,
                "best_epoch": trained.best_epoch,
                "device": device,
                # predict says when its genres are synthetic
                "data": {"subset": params.data.subset},
            },
        )
    report = model_report(
        "crnn",
        data.classes,
        (data.splits["validation"].labels, validation.astype(np.float64)),
        (data.splits["test"].labels, test.astype(np.float64)),
        train_seconds=trained.train_seconds,
        predict_ms_per_track=predict_ms,
        model_bytes=(model_dir / MODEL_FILE).stat().st_size,
        counts=data.counts,
        selection=Selection("validation", 0, len(data.splits["validation"].labels), CRNN_PROTOCOL),
        details={
            "epochs_run": trained.epochs_run,
            "best_epoch": trained.best_epoch,
            "training_samples_per_second": round(trained.samples_per_second, 1),
            "parameters": int(trained.model.count_params()),
            "variant": params.model.variant,
        },
    )
    write_model_outputs(
        metrics_dir,
        "crnn",
        report,
        predictions_table(
            data.splits["test"].track_ids,
            data.splits["test"].labels,
            test.astype(np.float64),
            data.classes,
        ),
        details_dir,
        probability_table(
            (data.splits["validation"].track_ids, validation),
            (data.splits["test"].track_ids, test),
            data.classes,
        ),
    )
    write_training_curves(metrics_dir, "crnn", trained.history)
    log.info(
        "crnn: %d epochs (best %d), validation macro-F1 %.3f, test accuracy %.3f, %.0f s",
        trained.epochs_run,
        trained.best_epoch,
        report["validation"]["macro_f1"],
        report["test"]["accuracy"] or 0,
        trained.train_seconds,
    )
    return report
