"""compare: the best model is chosen on validation, never on test; every present model is listed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fmagenre.infra.errors import UserError
from fmagenre.models.evaluation import (
    Selection,
    model_report,
    predictions_table,
    write_model_outputs,
)
from fmagenre.pipeline.compare import compare

CLASSES = ["Folk", "Pop", "Rock"]


def fake_model(
    metrics_dir,
    name,
    validation_right: int,
    test_right: int,
    seconds: float = 1.0,
    counts: dict | None = None,
    selection: Selection | None = None,
):
    """Write a model's outputs whose validation and test accuracy are set by how many it gets
    right (chosen on a validation split of 30 tracks unless ``selection`` says otherwise)."""
    rng = np.random.default_rng(len(name))
    y = np.arange(30) % 3

    def proba(right):
        predicted = np.where(np.arange(30) < right, y, (y + 1) % 3)
        p = np.full((30, 3), 0.1)
        p[np.arange(30), predicted] = 0.8
        return p + rng.uniform(0, 1e-3, p.shape)

    report = model_report(
        name,
        CLASSES,
        (y, proba(validation_right)),
        (y, proba(test_right)),
        train_seconds=seconds,
        predict_ms_per_track=0.5,
        model_bytes=1000,
        counts=counts or {"training": 60, "validation": 30, "test": 30},
        selection=selection or Selection("validation", 0, 30, "train.selection: validation"),
    )
    write_model_outputs(
        metrics_dir,
        name,
        report,
        predictions_table(np.arange(30) + 2, y, proba(test_right), CLASSES),
    )


def run(tmp_path):
    for name in ("rf", "svm", "gbdt", "crnn", "musicnn", "newcomer"):  # what training saves
        (tmp_path / "models" / name).mkdir(parents=True, exist_ok=True)
        (tmp_path / "models" / name / "classes.json").write_text(json.dumps(CLASSES))
    return compare(
        tmp_path / "reports" / "models",
        models_dir=tmp_path / "models",
        metrics_dir=tmp_path / "metrics",
        leaderboard_md=tmp_path / "reports" / "leaderboard.md",
        leaderboard_json=tmp_path / "reports" / "leaderboard.json",
        per_genre_csv=tmp_path / "metrics" / "compare" / "per_genre.csv",
        figure=tmp_path / "reports" / "compare.png",
        best_json=tmp_path / "models" / "best.json",
        best_dir=tmp_path / "models" / "best",
    )


def test_best_is_chosen_on_validation_not_test(tmp_path):
    fake_model(tmp_path / "metrics", "rf", validation_right=27, test_right=18)  # best on validation
    fake_model(tmp_path / "metrics", "svm", validation_right=20, test_right=29)  # best on test
    fake_model(tmp_path / "metrics", "gbdt", validation_right=24, test_right=24)
    summary = run(tmp_path)
    assert summary["best"] == "rf"
    assert [
        name for name, _ in sorted(summary["models"].items(), key=lambda kv: kv[1]["rank"])
    ] == ["rf", "gbdt", "svm"]
    assert json.loads((tmp_path / "models" / "best.json").read_text())["model"] == "rf"
    table = (tmp_path / "reports" / "leaderboard.md").read_text()
    assert table.index("Random Forest **(best)**") < table.index("CatBoost") < table.index("SVM")
    assert (tmp_path / "reports" / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "crnn" not in summary["models"]  # absent models are skipped
    # the metrics: the best model and every model's macro-F1 by split, in the models' own
    # order (not by rank: a column of `dvc exp show` keeps its place); the ranked
    # leaderboard is a report
    metrics = tmp_path / "metrics"
    assert json.loads((metrics / "compare.json").read_text()) == {"best": "rf"}
    val = json.loads((metrics / "val.json").read_text())
    test = json.loads((metrics / "test.json").read_text())
    assert list(val) == list(test) == ["rf", "svm", "gbdt"]
    for name, row in summary["models"].items():
        assert (val[name], test[name]) == (row["validation_macro_f1"], row["test_macro_f1"])
    assert val["rf"] > val["gbdt"] > val["svm"]
    assert test["svm"] > test["rf"]
    assert json.loads((tmp_path / "reports" / "leaderboard.json").read_text()) == summary
    # beside each test accuracy, its bootstrap interval over the test tracks
    for row in summary["models"].values():
        low, high = row["test_accuracy_interval"]
        assert low <= row["test_accuracy"] <= high
        assert f"{row['test_accuracy']:.3f} ({low:.2f}–{high:.2f})" in table
    # the artifact: a copy of the best model's folder
    assert (tmp_path / "models" / "best" / "classes.json").read_text() == json.dumps(CLASSES)


def test_any_number_of_models_needs_no_change_here(tmp_path):
    """A model compare has never heard of is ranked and plotted too, under its own name."""
    fake_model(tmp_path / "metrics", "rf", validation_right=24, test_right=24)
    fake_model(tmp_path / "metrics", "newcomer", validation_right=28, test_right=25)
    summary = run(tmp_path)
    assert summary["best"] == "newcomer" and list(summary["models"]) == ["newcomer", "rf"]
    per_genre = pd.read_csv(tmp_path / "metrics" / "compare" / "per_genre.csv")
    assert list(per_genre.columns) == ["model", "genre", "f1"]
    assert sorted(set(per_genre["model"])) == ["Random Forest", "newcomer"]
    assert len(per_genre) == 2 * len(CLASSES)


def test_ties_are_broken_by_a_fixed_order(tmp_path):
    fake_model(tmp_path / "metrics", "gbdt", validation_right=24, test_right=29)
    fake_model(tmp_path / "metrics", "rf", validation_right=24, test_right=10)
    assert run(tmp_path)["best"] == "rf"


def test_no_models_is_a_clear_error(tmp_path):
    (tmp_path / "metrics").mkdir()
    with pytest.raises(UserError, match=r"run the train stages first"):
        run(tmp_path)


def test_predictions_table_matches_the_dvc_confusion_plot(tmp_path):
    fake_model(tmp_path / "metrics", "rf", 27, 18)
    table = pd.read_csv(tmp_path / "metrics" / "rf" / "predictions.csv")
    assert {"actual", "predicted"} <= set(table.columns) and set(table["actual"]) == set(CLASSES)
    details = json.loads((tmp_path / "reports" / "models" / "rf.json").read_text())
    counts = pd.crosstab(table["actual"], table["predicted"]).reindex(
        index=CLASSES, columns=CLASSES, fill_value=0
    )
    assert details["confusion"] == counts.to_numpy().tolist()


def test_a_model_writes_no_metrics_of_its_own_only_its_predictions_and_details(tmp_path):
    fake_model(tmp_path / "metrics", "rf", 27, 18, seconds=12.3)
    # no metrics/rf/<split>.json: DVC would name their shared keys by file and key
    assert sorted(p.name for p in (tmp_path / "metrics" / "rf").iterdir()) == ["predictions.csv"]
    # the split figures, timings, sizes, per-genre scores and counts are details
    details = json.loads((tmp_path / "reports" / "models" / "rf.json").read_text())
    assert details["validation"]["accuracy"] == pytest.approx(0.9)
    assert details["train_seconds"] == 12.3 and set(details["per_genre"]) == set(CLASSES)


def test_models_scored_on_different_tracks_are_flagged(tmp_path):
    fake_model(tmp_path / "metrics", "rf", 27, 18)
    fake_model(
        tmp_path / "metrics", "crnn", 25, 20, counts={"training": 60, "validation": 28, "test": 30}
    )
    summary = run(tmp_path)
    assert summary["same_tracks"] is False
    assert summary["models"]["crnn"]["validation_tracks"] == 28
    note = (tmp_path / "reports" / "leaderboard.md").read_text()
    assert "scored on different numbers of tracks" in note and "CRNN 28/30" in note


def test_a_model_without_test_tracks_is_listed_as_n_a(tmp_path):
    fake_model(tmp_path / "metrics", "rf", 27, 18)
    details = tmp_path / "reports" / "models" / "rf.json"
    report = json.loads(details.read_text())
    report["test"] = dict.fromkeys(report["test"])  # what an empty test split reports
    details.write_text(json.dumps(report))
    summary = run(tmp_path)
    assert summary["best"] == "rf" and summary["models"]["rf"]["test_accuracy"] is None
    assert (
        "| Random Forest **(best)** | validation (30 tracks) | 0.900 | n/a | n/a | n/a |"
        in (tmp_path / "reports" / "leaderboard.md").read_text()
    )


def test_the_leaderboard_says_which_protocol_chose_each_model(tmp_path):
    """A model chosen by cross-validation and one on the validation split are both ranked by
    their validation figure; the leaderboard names the protocol of each (md and json)."""
    cv = Selection("cv", 4, 90, "auto: 30 validation tracks < 300")
    fake_model(tmp_path / "metrics", "rf", 27, 18, selection=cv)
    fake_model(tmp_path / "metrics", "crnn", 25, 20)
    summary = run(tmp_path)
    assert summary["models"]["rf"]["chosen_by"] == "4-fold cv (90 tracks)"
    assert summary["models"]["crnn"]["chosen_by"] == "validation (30 tracks)"
    table = (tmp_path / "reports" / "leaderboard.md").read_text()
    assert "| Random Forest **(best)** | 4-fold cv (90 tracks) | 0.900 |" in table
    assert "| CRNN | validation (30 tracks) |" in table
    assert "two different figures" in table
    # dvc metrics stay one macro-F1 per model and split, the protocol in no key
    val = json.loads((tmp_path / "metrics" / "val.json").read_text())
    assert val == {name: summary["models"][name]["validation_macro_f1"] for name in ("rf", "crnn")}
