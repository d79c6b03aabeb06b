"""The ensemble: weights that prefer the better member, a validation figure scored out of
fold, and the stage's outputs in the shared schema."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fmagenre.infra.errors import ParamsError, UserError
from fmagenre.infra.params import parse_params
from fmagenre.models.ensemble import average, fit_weights, out_of_fold
from fmagenre.models.evaluation import probability_table, split_metrics
from fmagenre.pipeline.train_ensemble import train_ensemble

GENRES = ["Folk", "Pop", "Rock"]
MEMBERS = ["rf", "svm", "gbdt", "crnn", "musicnn"]


def noisy(y: np.ndarray, classes: int, skill: float, rng: np.random.Generator) -> np.ndarray:
    """Probabilities that lean to the true class by ``skill`` (0: pure noise)."""
    proba = rng.dirichlet(np.ones(classes), size=len(y))
    proba[np.arange(len(y)), y] += skill
    return proba / proba.sum(axis=1, keepdims=True)


def test_weights_are_on_the_simplex_prefer_the_better_member_and_are_deterministic():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 200)
    members = [noisy(y, 4, 0.0, rng), noisy(y, 4, 2.0, rng), noisy(y, 4, 0.3, rng)]
    weights = fit_weights(members, y)
    assert weights.sum() == pytest.approx(1.0) and (weights >= 0).all()
    assert weights.argmax() == 1 and weights[1] > 0.6
    np.testing.assert_array_equal(weights, fit_weights(members, y))
    # the fitted average is no worse than any one member on the rows it was fitted on
    mixed = average(members, weights)
    loss = lambda p: -np.log(p[np.arange(len(y)), y]).mean()  # noqa: E731
    assert loss(mixed) <= min(loss(m) for m in members) + 1e-9


def test_the_out_of_fold_figure_cannot_see_the_labels_its_weights_were_fitted_on():
    """Members that each leak one track's label and lean slightly to a wrong genre on every
    other track: weights fitted on every row put a little on each, and the average gets every
    row right (1.0 scored in sample); out of fold, the leaker of a held-out track has no
    weight (its track was not among the fitting rows), so the lean wins and the figure falls
    to nothing, as it must."""
    rows, classes = 40, 4
    y = np.arange(rows) % classes
    wrong = np.eye(classes)[(y + 1) % classes]
    members = []
    for leaked in range(rows):
        proba = (1.0 - 0.01) / classes + 0.01 * wrong
        proba[leaked] = np.eye(classes)[y[leaked]]
        members.append(proba)
    in_sample = average(members, fit_weights(members, y)).argmax(axis=1)
    assert (in_sample == y).mean() == 1.0
    folded = out_of_fold(members, y, np.arange(rows), folds=5, seed=1)
    assert (folded.probabilities.argmax(axis=1) == y).mean() <= 0.1
    assert folded.folds == 5 and len(folded.fold_weights) == 5


def test_folds_keep_an_artists_tracks_together_and_never_exceed_the_artists():
    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(3), 4)
    members = [noisy(y, 3, 1.0, rng), noisy(y, 3, 0.5, rng)]
    artists = np.repeat([10, 11, 12], 4)  # three artists, four tracks each
    folded = out_of_fold(members, y, artists, folds=5, seed=0)
    assert folded.folds == 3
    again = out_of_fold(members, y, artists, folds=5, seed=0)
    np.testing.assert_array_equal(folded.probabilities, again.probabilities)


def test_a_tiny_split_still_folds_every_track_once():
    """Five held-out tracks of five genres (no genre can fill two folds), and tracks of a
    single artist: every track is still predicted out of fold exactly once."""
    rng = np.random.default_rng(3)
    for y, artists in ((np.arange(5), np.arange(5)), (np.array([0, 0, 1, 1, 2]), np.zeros(5))):
        members = [noisy(y, 5, 1.0, rng), noisy(y, 5, 0.2, rng)]
        folded = out_of_fold(members, y, artists, folds=5, seed=0)
        assert np.allclose(folded.probabilities.sum(axis=1), 1.0)  # each row filled once
        assert 2 <= folded.folds <= 5


# -- the stage's logic, on members' outputs made here -----------------------------------------


def member_outputs(root, rng, *, heldout=30, test=12, skills=(0.6, 0.1, 0.3, 0.0, 0.4)):
    """What five trainers leave: a report, a probability table and a model folder each, and
    the tracks table they were trained from (3 genres, 2 tracks per artist)."""
    ids = np.arange(100, 100 + 2 * (heldout + test), 2)
    y = np.arange(len(ids)) % len(GENRES)
    tracks = pd.DataFrame(
        {
            "track_id": ids,
            "genre_top": [GENRES[i] for i in y],
            "split": ["validation"] * heldout + ["test"] * test,
            "artist_id": np.arange(len(ids)) // 2,
        }
    )
    for name, skill in zip(MEMBERS, skills, strict=True):
        proba = noisy(y, len(GENRES), skill, rng)
        table = probability_table(
            (ids[:heldout], proba[:heldout]), (ids[heldout:], proba[heldout:]), GENRES
        )
        (root / "reports" / "models").mkdir(parents=True, exist_ok=True)
        table.to_parquet(root / "reports" / "models" / f"{name}.probabilities.parquet")
        report = {
            "classes": GENRES,
            "train_seconds": 1.0,
            "predict_ms_per_track": 2.0,
            "counts": {"validation": heldout, "test": test},
        }
        (root / "reports" / "models" / f"{name}.json").write_text(json.dumps(report))
        (root / "models" / name).mkdir(parents=True)
        (root / "models" / name / "classes.json").write_text(json.dumps(GENRES))
    return tracks, y[:heldout], {name: skill for name, skill in zip(MEMBERS, skills, strict=True)}


def run_stage(root, tracks, **ensemble):
    return train_ensemble(
        tracks,
        parse_params({"ensemble": ensemble} if ensemble else {}),
        models_dir=root / "models",
        model_dir=root / "models" / "ensemble",
        metrics_dir=root / "metrics",
        details_dir=root / "reports" / "models",
    )


def test_the_stage_reports_the_out_of_fold_figure_and_refits_for_test(tmp_path):
    tracks, y, _ = member_outputs(tmp_path, np.random.default_rng(5))
    report = run_stage(tmp_path, tracks)
    tables = [
        pd.read_parquet(tmp_path / "reports" / "models" / f"{m}.probabilities.parquet")
        for m in MEMBERS
    ]
    heldout = [t[t["role"] == "heldout"].filter(like="p_").to_numpy() for t in tables]
    test = [t[t["role"] == "test"].filter(like="p_").to_numpy() for t in tables]
    folded = out_of_fold(heldout, y, tracks["artist_id"].to_numpy()[: len(y)], 5, 2026)
    in_sample = average(heldout, fit_weights(heldout, y))
    honest = split_metrics(y, folded.probabilities, len(GENRES))
    flattering = split_metrics(y, in_sample, len(GENRES))
    assert flattering["log_loss"] < honest["log_loss"]  # the data tells the two apart
    assert report["validation"] == honest
    # test: the weights refitted on every held-out row
    saved = json.loads((tmp_path / "models" / "ensemble" / "ensemble.json").read_text())
    weights = np.array([saved["weights"][m] for m in MEMBERS])
    np.testing.assert_allclose(weights, fit_weights(heldout, y), atol=1e-6)
    predictions = pd.read_csv(tmp_path / "metrics" / "ensemble" / "predictions.csv")
    np.testing.assert_allclose(
        predictions.filter(like="p_").to_numpy(), average(test, weights), atol=1e-5
    )
    # self-contained: every member's folder travels with it
    assert sorted(
        p.name for p in (tmp_path / "models" / "ensemble" / "members").iterdir()
    ) == sorted(MEMBERS)
    assert report["train_seconds"] >= 5.0 and report["predict_ms_per_track"] == 10.0
    assert "out of fold" in report["details"]["validation_is"]
    # deterministic: a second run writes the same figures and weights
    again = run_stage(tmp_path, tracks)
    assert again["validation"] == report["validation"] and again["test"] == report["test"]


def test_members_are_chosen_in_params_and_only_shared_tracks_are_used(tmp_path):
    tracks, _, _ = member_outputs(tmp_path, np.random.default_rng(6))
    path = tmp_path / "reports" / "models" / "crnn.probabilities.parquet"
    table = pd.read_parquet(path)
    table.drop(index=[0, 1]).to_parquet(path)  # two held-out tracks without a spectrogram
    report = run_stage(tmp_path, tracks, members=["rf", "crnn"])
    assert report["details"]["members"] == ["rf", "crnn"]
    assert report["counts"]["validation"] == 28 and report["counts"]["test"] == 12


def test_bad_members_stop_with_one_line(tmp_path):
    tracks, _, _ = member_outputs(tmp_path, np.random.default_rng(7))
    (tmp_path / "reports" / "models" / "svm.probabilities.parquet").unlink()
    with pytest.raises(
        UserError, match=r"svm\.probabilities\.parquet is missing: run `dvc repro train_svm`"
    ):
        run_stage(tmp_path, tracks)
    other = json.loads((tmp_path / "reports" / "models" / "gbdt.json").read_text())
    other["classes"] = ["Folk", "Jazz", "Rock"]
    (tmp_path / "reports" / "models" / "gbdt.json").write_text(json.dumps(other))
    with pytest.raises(UserError, match="gbdt was trained on other genres"):
        run_stage(tmp_path, tracks, members=["rf", "gbdt"])
    with pytest.raises(ParamsError, match="names a model twice"):
        parse_params({"ensemble": {"members": ["rf", "rf"]}})
    with pytest.raises(ParamsError, match="ensemble.members = \\['rf', 'knn'\\] is not allowed"):
        parse_params({"ensemble": {"members": ["rf", "knn"]}})
