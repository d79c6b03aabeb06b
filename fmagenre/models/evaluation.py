"""One metrics schema for every model, so compare, `dvc metrics` and `dvc plots` treat all alike.

A model hands over class probabilities for the validation and test tracks, and optionally
its own labels; this module turns them into the same files, whatever produced them (the
layout is ``model_outputs``):

- ``reports/models/<name>.json``: the figures of each split (accuracy, macro-F1, log loss,
  top-2 accuracy) and everything else, for compare and for people: per-genre scores, the
  test confusion counts, timings, sizes, counts, search details. A model has no DVC metrics
  of its own: DVC names a key that several files share by file and key
  (``metrics/rf/test.json:macro_f1``), which made `dvc exp show` hundreds of columns wide;
  compare writes every model's validation and test macro-F1 in one file of short keys.
- ``metrics/<name>/predictions.csv``: the test predictions (a DVC confusion plot).
- ``metrics/<name>/curves.csv`` (models trained by epochs): the training curves.
- ``reports/models/<name>.probabilities.parquet``: the model's class probabilities on the
  tracks it was chosen on, each predicted by a model that never trained on it (``heldout``
  rows: the validation split, or out-of-fold rows under cross-validation), and on the test
  split (``test`` rows); the ensemble is fitted on the first and applied to the second.

Labels default to the most probable class; a model whose decision is not that (the SVM
decides with its SVC, its probabilities are calibrated afterwards) passes them, and
accuracy, F1, the confusion counts and the confusion plot then score its decision while log
loss and top-2 score its probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from fmagenre.infra.atomic import atomic_path, write_json, write_parquet

DIGITS = 4  # 1e-4 is one track in 10,000: finer digits would only show floating-point noise


@dataclass(frozen=True)
class ModelOutputs:
    """Where the files of model ``name`` go; dvc.yaml declares the same paths."""

    predictions: Path
    curves: Path  # training curves by epoch (models trained by epochs)
    details: Path
    probabilities: Path  # held-out and test probabilities (probability_table)


def model_outputs(metrics_dir: Path, name: str, details_dir: Path | None = None) -> ModelOutputs:
    """The layout of a model's outputs; details go to ``details_dir`` (default: the
    ``reports/models`` folder beside ``metrics_dir``)."""
    folder = Path(metrics_dir) / name
    details = (
        Path(details_dir)
        if details_dir is not None
        else Path(metrics_dir).parent / "reports" / "models"
    )
    return ModelOutputs(
        predictions=folder / "predictions.csv",
        curves=folder / "curves.csv",
        details=details / f"{name}.json",
        probabilities=details / f"{name}.{PROBABILITIES_SUFFIX}",
    )


PROBABILITIES_SUFFIX = "probabilities.parquet"
HELDOUT, TEST = "heldout", "test"  # the roles of a probability table's rows


Protocol = Literal["validation", "cv"]


@dataclass(frozen=True)
class Selection:
    """The protocol that chose a model and gave its validation figure: a report's
    "selection" entry (models/selection.py decides it; compare names it per model)."""

    protocol: Protocol
    folds: int  # 0 under the validation protocol
    tracks: int  # the tracks candidates were scored on
    reason: str


def probability_table(
    heldout: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray], classes: list[str]
) -> pd.DataFrame:
    """track_id, role (heldout or test) and each genre's probability (float64, unrounded:
    the ensemble's test predictions must be what predict computes), from (track_ids,
    probabilities) of the held-out and the test tracks."""
    parts = []
    for role, (track_ids, proba) in ((HELDOUT, heldout), (TEST, test)):
        part = pd.DataFrame(
            np.asarray(proba, dtype=np.float64).reshape(len(track_ids), len(classes)),
            columns=[f"p_{genre}" for genre in classes],
        )
        part.insert(0, "role", role)
        part.insert(0, "track_id", np.asarray(track_ids, dtype=np.int64))
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def macro_f1(y_true: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 over the genres present in the split: the one definition that the model
    search optimises, the metrics report and compare ranks by."""
    present = np.unique(y_true)
    return float(skm.f1_score(y_true, predicted, labels=present, average="macro", zero_division=0))


def decided(proba: np.ndarray, predicted: np.ndarray | None) -> np.ndarray:
    """The labels a model decided: given ones, else the most probable class of each row."""
    if predicted is None:
        return proba.argmax(axis=1)
    predicted = np.asarray(predicted, dtype=np.int64)
    if predicted.shape != (len(proba),):
        raise ValueError(f"{predicted.shape} labels for {len(proba)} rows of probabilities")
    return predicted


def split_metrics(
    y_true: np.ndarray, proba: np.ndarray, n_classes: int, predicted: np.ndarray | None = None
) -> dict[str, float]:
    """Accuracy, balanced accuracy, macro-F1 (of the labels), log loss and top-2 accuracy
    (of the probabilities) of one split."""
    if len(y_true) == 0:
        return {
            "accuracy": None,
            "balanced_accuracy": None,
            "macro_f1": None,
            "log_loss": None,
            "top2_accuracy": None,
        }
    labels = np.arange(n_classes)
    predicted = decided(proba, predicted)
    top2 = np.argsort(-proba, axis=1)[:, :2]
    clipped = np.clip(proba, 1e-15, 1.0)
    clipped /= clipped.sum(axis=1, keepdims=True)
    present = np.unique(y_true)
    return {
        "accuracy": round(float(skm.accuracy_score(y_true, predicted)), DIGITS),
        "balanced_accuracy": round(
            float(
                skm.recall_score(
                    y_true, predicted, labels=present, average="macro", zero_division=0
                )
            ),
            DIGITS,
        ),
        "macro_f1": round(macro_f1(y_true, predicted), DIGITS),
        "log_loss": round(float(skm.log_loss(y_true, clipped, labels=labels)), DIGITS),
        "top2_accuracy": round(
            float(np.mean([t in row for t, row in zip(y_true, top2, strict=True)])), DIGITS
        ),
    }


def per_genre(
    y_true: np.ndarray,
    proba: np.ndarray,
    classes: list[str],
    predicted: np.ndarray | None = None,
) -> dict[str, dict[str, float]]:
    if len(y_true) == 0:  # an empty split: nothing to score, every genre has support 0
        zeros = np.zeros(len(classes))
        precision = recall = f1 = support = zeros
    else:
        predicted = decided(proba, predicted)
        precision, recall, f1, support = skm.precision_recall_fscore_support(
            y_true, predicted, labels=np.arange(len(classes)), zero_division=0
        )
    return {
        genre: {
            "precision": round(float(p), DIGITS),
            "recall": round(float(r), DIGITS),
            "f1": round(float(f), DIGITS),
            "support": int(s),
        }
        for genre, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
    }


def confusion_counts(
    y_true: np.ndarray, proba: np.ndarray, n_classes: int, predicted: np.ndarray | None = None
) -> list[list[int]]:
    """Rows: true genre, columns: the genre the model decided, in class order."""
    if len(y_true) == 0:
        return [[0] * n_classes for _ in range(n_classes)]
    matrix = skm.confusion_matrix(y_true, decided(proba, predicted), labels=np.arange(n_classes))
    return matrix.astype(int).tolist()


def model_report(
    name: str,
    classes: list[str],
    validation: tuple[np.ndarray, ...],
    test: tuple[np.ndarray, ...],
    *,
    train_seconds: float,
    predict_ms_per_track: float,
    model_bytes: int,
    counts: dict[str, Any],
    selection: Selection,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything measured about a model, the same keys for every model (its details file;
    compare picks the DVC metrics out of it).

    ``validation`` and ``test`` are (y_true, probabilities) or (y_true, probabilities, labels);
    ``validation`` holds the tracks the model was chosen on, which ``selection`` (the
    protocol, models/selection.py) names: the validation split or out-of-fold predictions.
    """
    y_test, proba_test, _, labels_test = _split(test, None)
    return {
        "model": name,
        "test": split_metrics(*_split(test, len(classes))),
        "validation": split_metrics(*_split(validation, len(classes))),
        "per_genre": per_genre(*_split(test, classes)),
        "confusion": confusion_counts(y_test, proba_test, len(classes), labels_test),
        "train_seconds": round(train_seconds, 2),
        "predict_ms_per_track": round(predict_ms_per_track, 3),
        "model_bytes": int(model_bytes),
        "counts": counts,
        "selection": asdict(selection),
        "classes": list(classes),
        **({"details": details} if details else {}),
    }


def _split(given: tuple[np.ndarray, ...], classes: Any) -> tuple[Any, ...]:
    """(y_true, proba[, labels]) as the arguments of split_metrics and per_genre."""
    y_true, proba, *labels = given
    return y_true, proba, classes, labels[0] if labels else None


def predictions_table(
    track_ids: np.ndarray,
    y_true: np.ndarray,
    proba: np.ndarray,
    classes: list[str],
    predicted: np.ndarray | None = None,
) -> pd.DataFrame:
    """Test predictions: track_id, actual and predicted genre, and each genre's probability."""
    table = pd.DataFrame(
        {
            "track_id": np.asarray(track_ids, dtype=np.int64),
            "actual": [classes[i] for i in y_true],
            "predicted": [classes[i] for i in decided(proba, predicted)],
        }
    )
    probabilities = pd.DataFrame(np.round(proba, 6), columns=[f"p_{genre}" for genre in classes])
    return pd.concat([table, probabilities], axis=1)


def write_model_outputs(
    metrics_dir: Path,
    name: str,
    report: dict[str, Any],
    predictions: pd.DataFrame,
    details_dir: Path | None = None,
    probabilities: pd.DataFrame | None = None,
) -> None:
    """A model's test predictions, details and probability table, each written atomically."""
    outputs = model_outputs(metrics_dir, name, details_dir)
    with atomic_path(outputs.predictions) as tmp:
        predictions.to_csv(tmp, index=False)
    if probabilities is not None:
        write_parquet(outputs.probabilities, probabilities)
    write_json(outputs.details, report)


def write_training_curves(
    metrics_dir: Path, name: str, history: Mapping[str, Sequence[float]]
) -> None:
    """``metrics/<name>/curves.csv`` from a Keras-style history, where ``x`` is the training
    value of a measure and ``val_x`` its validation value, one row per epoch, measure and
    split (epoch, measure, split, value).

    DVC draws it with the ``curves`` template (.dvc/plots): one panel per measure, a
    "training" and a "validation" line by epoch. Nothing in it depends on the clock, so a
    rerun on the same machine writes the same bytes.
    """
    measures = [key for key in history if not key.startswith("val_") and f"val_{key}" in history]
    rows = [
        {
            "epoch": epoch,
            "measure": CURVE_NAMES.get(measure, measure),
            "split": split,
            "value": round(float(value), 6),
        }
        for measure in measures
        for split, key in (("training", measure), ("validation", f"val_{measure}"))
        for epoch, value in enumerate(history[key], start=1)
    ]
    with atomic_path(model_outputs(metrics_dir, name).curves) as tmp:
        pd.DataFrame(rows, columns=["epoch", "measure", "split", "value"]).to_csv(tmp, index=False)


# Keras names the macro-F1 metric as it was compiled ("f1"); the curves say what it is.
CURVE_NAMES = {"f1": "macro-F1"}
