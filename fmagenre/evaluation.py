"""One metrics schema for every model, so compare, `dvc metrics` and `dvc plots` treat all alike.

A model hands over class probabilities for the validation and test tracks, and optionally
its own labels; this module turns them into the same JSON (``metrics/<name>.json``) and the
same test predictions table (``metrics/<name>/predictions.csv``, a DVC confusion plot),
whatever produced them. Labels default to the most probable class; a model whose decision
is not that (the SVM decides with its SVC, its probabilities are calibrated afterwards)
passes them, and accuracy, F1 and the confusion plot then score its decision while log
loss and top-2 score its probabilities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from fmagenre.atomic import atomic_path, write_json

DIGITS = 5


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
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The metrics JSON of a model: the same keys for every model.

    ``validation`` and ``test`` are (y_true, probabilities) or (y_true, probabilities, labels).
    """
    return {
        "model": name,
        "test": split_metrics(*_split(test, len(classes))),
        "validation": split_metrics(*_split(validation, len(classes))),
        "per_genre": per_genre(*_split(test, classes)),
        "train_seconds": round(train_seconds, 2),
        "predict_ms_per_track": round(predict_ms_per_track, 3),
        "model_bytes": int(model_bytes),
        "counts": counts,
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
    metrics_dir: Path, name: str, report: dict[str, Any], predictions: pd.DataFrame
) -> None:
    """metrics/<name>.json and metrics/<name>/predictions.csv, each written atomically."""
    write_json(Path(metrics_dir) / f"{name}.json", report)
    with atomic_path(Path(metrics_dir) / name / "predictions.csv") as tmp:
        predictions.to_csv(tmp, index=False)
