"""The train_rf, train_svm, train_gbdt stages' logic (and train_musicnn's, through
pipeline/train_musicnn.py): search a model (on the validation split or by cross-validation,
models/selection.py), save it, and report it.

The models and their search are science (models/classic.py); this module is what a training
stage does with them: the model folder predict reads back (published as a whole), the
test predictions and the details, all in the shared schema. The test
split is only predicted and reported here, never used to choose.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from fmagenre.fma.dataset import feature_splits, require_trainable
from fmagenre.infra.atomic import atomic_path, write_json
from fmagenre.infra.params import Params
from fmagenre.models.classic import EMBEDDING_MODELS, predict_labels, predict_proba, search
from fmagenre.models.evaluation import (
    model_report,
    predictions_table,
    probability_table,
    write_model_outputs,
)
from fmagenre.models.files import model_bytes, save_pipeline
from fmagenre.models.reduction import kept_features

log = logging.getLogger(__name__)


def train_and_evaluate(
    name: str,
    features: pd.DataFrame,
    tracks: pd.DataFrame,
    manifest: pd.DataFrame | None,
    params: Params,
    *,
    model_dir: Path,
    metrics_dir: Path,
    details_dir: Path | None = None,
    bundled: dict[str, Path] | None = None,
) -> dict[str, Any]:
    """Search, fit, save the model and write its metrics, test predictions and details;
    return the report.

    ``bundled``: files the model needs at prediction time (musicnn's network), copied into
    ``model_dir`` under the given names and counted in the model's size.
    """
    data = feature_splits(features, tracks, manifest)
    require_trainable(name, data.labelled)
    result = search(name, data, params)
    n_classes = len(data.classes)
    heldout = result.heldout  # the validation split, or training+validation out of fold
    began = time.perf_counter()
    test = predict_proba(result.pipeline, data.X["test"], n_classes)
    test_labels = predict_labels(result.pipeline, data.X["test"])
    predict_ms = 1000 * (time.perf_counter() - began) / max(1, len(data.X["test"]))

    model_dir = Path(model_dir)
    reduced = (
        {}
        if name in EMBEDDING_MODELS
        else {"preprocess": params.preprocess.model_dump(mode="json")}
    )
    used = {
        "model": name,
        "params": {
            name: getattr(params, name).model_dump(mode="json"),
            "train": params.train.model_dump(mode="json"),
            **reduced,
        },
        "chosen": result.hyper,
        "search": result.trials,
        "features_used": kept_features(result.pipeline, data.columns),
        # what predict must apply to a new file to get this model's input
        "input": {
            "audio": params.audio.model_dump(mode="json"),
            "min_seconds": params.decode.min_seconds,
            **(
                {"embedding": "musicnn", "pooling": params.musicnn.pooling}
                if name in EMBEDDING_MODELS
                else {
                    "features_source": params.features.source,
                    "features_sample_rate": params.features.defined_at,
                }
            ),
        },
        "data": {"subset": params.data.subset},  # predict says when its genres are synthetic
    }
    with atomic_path(model_dir) as staged:  # the folder changes as a whole (see model_files)
        staged.mkdir()
        save_pipeline(result.pipeline, staged)
        write_json(staged / "classes.json", data.classes)
        write_json(staged / "params.json", json.loads(json.dumps(used, default=str)))
        for file_name, source in (bundled or {}).items():
            shutil.copy2(source, staged / file_name)
    report = model_report(
        name,
        data.classes,
        (heldout.y, heldout.proba, heldout.labels),
        (data.y("test"), test, test_labels),
        train_seconds=result.fit_seconds,
        predict_ms_per_track=predict_ms,
        model_bytes=model_bytes(model_dir),
        counts=data.labelled.counts,
        selection=result.selection,
        details={
            "chosen": result.hyper,
            "search_seconds": round(result.search_seconds, 2),
            "candidates": len(result.trials),
        },
    )
    write_model_outputs(
        metrics_dir,
        name,
        report,
        predictions_table(
            data.track_ids("test"), data.y("test"), test, data.classes, predicted=test_labels
        ),
        details_dir,
        probability_table(
            (heldout.track_ids, heldout.proba), (data.track_ids("test"), test), data.classes
        ),
    )
    log.info(
        "%s: validation macro-F1 %.3f, test accuracy %.3f, macro-F1 %.3f (%d candidates, %.1f s)",
        name,
        report["validation"]["macro_f1"],
        report["test"]["accuracy"] or 0,
        report["test"]["macro_f1"] or 0,
        len(result.trials),
        result.search_seconds,
    )
    return report
