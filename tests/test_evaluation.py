"""The shared metrics schema: labels given apart from probabilities, for any model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import log_loss

from fmagenre.models.evaluation import (
    DIGITS,
    Selection,
    model_report,
    predictions_table,
    split_metrics,
)

CLASSES = ["A", "B", "C"]
Y = np.array([0, 1, 2, 0, 1, 2])
PROBA = np.array(
    [
        [0.5, 0.4, 0.1],
        [0.45, 0.35, 0.2],  # most probable A; the model decides B (right)
        [0.2, 0.3, 0.5],
        [0.6, 0.3, 0.1],
        [0.1, 0.8, 0.1],
        [0.4, 0.2, 0.4],  # a tie: argmax says A; the model decides C (right)
    ]
)
LABELS = np.array([0, 1, 2, 0, 1, 2])


def test_labels_score_the_decision_and_probabilities_the_rest():
    by_argmax = split_metrics(Y, PROBA, 3)
    decided = split_metrics(Y, PROBA, 3, LABELS)
    assert by_argmax["accuracy"] == round(4 / 6, DIGITS) and decided["accuracy"] == 1.0
    assert decided["macro_f1"] == 1.0 and decided["balanced_accuracy"] == 1.0
    # log loss and top-2 are the probabilities', whoever decided
    for key in ("log_loss", "top2_accuracy"):
        assert decided[key] == by_argmax[key]
    assert decided["log_loss"] == round(float(log_loss(Y, PROBA, labels=[0, 1, 2])), DIGITS)


def test_report_and_predictions_table_take_labels_for_every_split():
    common = dict(
        train_seconds=1,
        predict_ms_per_track=1,
        model_bytes=1,
        counts={},
        selection=Selection("validation", 0, 6, "x"),
    )
    report = model_report("m", CLASSES, (Y, PROBA, LABELS), (Y, PROBA, LABELS), **common)
    assert report["test"]["accuracy"] == report["validation"]["accuracy"] == 1.0
    assert report["per_genre"]["C"]["recall"] == 1.0
    plain = model_report("m", CLASSES, (Y, PROBA), (Y, PROBA), **common)
    assert (
        plain["test"]["accuracy"] == round(4 / 6, DIGITS)
        and plain["per_genre"]["C"]["recall"] == 0.5
    )
    table = predictions_table(np.arange(6), Y, PROBA, CLASSES, predicted=LABELS)
    assert table["predicted"].tolist() == ["A", "B", "C", "A", "B", "C"]
    assert predictions_table(np.arange(6), Y, PROBA, CLASSES)["predicted"].tolist()[1] == "A"


def test_labels_must_match_the_rows():
    with pytest.raises(ValueError, match="labels for 6 rows"):
        split_metrics(Y, PROBA, 3, LABELS[:5])
