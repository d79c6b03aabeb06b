"""train.selection: cross-validation over training+validation for small collections, grouped
by artist, scored out of fold; auto keeps FMA's validation protocol for an FMA-sized split."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from test_classic import FAST, GENRES, fabricate, train

from fmagenre.fma.dataset import feature_splits
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import TrainParams
from fmagenre.models.classic import predict_labels, predict_proba
from fmagenre.models.files import load_pipeline, read_consistently
from fmagenre.models.selection import artist_folds, protocol

CV = {"selection": "cv"}


def probabilities(tmp_path, name: str) -> pd.DataFrame:
    return pd.read_parquet(tmp_path / "reports" / "models" / f"{name}.probabilities.parquet")


def saved_model(tmp_path, name: str):
    return read_consistently(tmp_path / "models" / name, "train", load_pipeline)


def test_auto_cross_validates_a_small_validation_split_and_keeps_fma_s():
    auto = TrainParams()
    assert protocol(auto, 50) == ("cv", "auto: 50 validation tracks < 300")  # the demo's
    assert protocol(auto, 800) == ("validation", "auto: 800 validation tracks >= 300")  # fma_small
    assert protocol(TrainParams(selection="validation"), 12)[0] == "validation"
    assert protocol(TrainParams(selection="cv"), 800)[0] == "cv"


def test_an_fma_sized_split_keeps_the_validation_protocol_exactly(tmp_path):
    """800 validation tracks (fma_small's): auto gives what selection=validation gives, the
    same figures and the validation split's rows held out; only the reason differs."""
    features, tracks = fabricate(per_genre=1000, features=12, seed=5, separation=0.25)
    auto = train("rf", features, tracks, tmp_path / "auto", train={"selection": "auto"})
    fixed = train("rf", features, tracks, tmp_path / "fixed")
    assert auto["selection"] == {
        "protocol": "validation",
        "folds": 0,
        "tracks": 800,
        "reason": "auto: 800 validation tracks >= 300",
    }
    assert fixed["selection"]["reason"] == "train.selection: validation"
    for key in ("validation", "test", "per_genre", "confusion", "counts"):
        assert auto[key] == fixed[key], key
    assert auto["details"]["chosen"] == fixed["details"]["chosen"]
    heldout = probabilities(tmp_path / "auto", "rf").query("role == 'heldout'")
    assert (
        heldout["track_id"].tolist()
        == feature_splits(features, tracks).track_ids("validation").tolist()
    )


def test_cross_validation_never_lets_a_test_track_in(tmp_path):
    """The held-out rows are every training and validation track, out of fold, never a test
    track; test labels, scrambled, change nothing but the test figures."""
    features, tracks = fabricate(per_genre=40, features=16, seed=2, separation=0.5)
    scrambled = tracks.copy()
    test = scrambled["split"] == "test"
    scrambled.loc[test, "genre_top"] = np.roll(scrambled.loc[test, "genre_top"].to_numpy(), 5)
    clean = train("gbdt", features, tracks, tmp_path / "clean", train=CV)
    dirty = train("gbdt", features, scrambled, tmp_path / "dirty", train=CV)
    data = feature_splits(features, tracks)
    heldout = probabilities(tmp_path / "clean", "gbdt").query("role == 'heldout'")
    pooled = [*data.track_ids("training"), *data.track_ids("validation")]
    assert sorted(heldout["track_id"]) == sorted(pooled)
    assert not set(heldout["track_id"]) & set(data.track_ids("test"))
    assert clean["selection"]["protocol"] == "cv" and clean["selection"]["tracks"] == len(pooled)
    assert dirty["validation"] == clean["validation"]
    assert dirty["details"]["chosen"] == clean["details"]["chosen"]
    np.testing.assert_array_equal(
        probabilities(tmp_path / "dirty", "gbdt").query("role == 'heldout'").filter(like="p_"),
        heldout.filter(like="p_"),
    )
    assert dirty["test"]["accuracy"] < clean["test"]["accuracy"]


def test_no_artist_is_in_two_folds_and_every_track_is_held_out_once():
    rng = np.random.default_rng(0)
    artists = np.repeat(np.arange(60), rng.integers(1, 6, size=60))
    y = artists % 4  # each artist one genre, 15 artists per genre
    folds = artist_folds(y, artists, ["A", "B", "C", "D"], wanted=5, seed=3)
    assert len(folds) == 5
    held = np.concatenate([rows for _, rows in folds])
    assert sorted(held) == list(range(len(y)))
    for fitted, rows in folds:
        assert not set(artists[fitted]) & set(artists[rows])
        assert set(y[rows]) == set(y)  # stratified: every genre in every fold


def test_an_artist_signature_cannot_leak_across_folds(tmp_path):
    """Each artist has a sound of its own and a genre drawn at random: only a model scored on
    an artist it was trained on could tell the genre, so the out-of-fold figure stays near
    chance (1/8), while the refitted forest, asked about tracks it trained on, knows them."""
    rng = np.random.default_rng(11)
    features, tracks = fabricate(per_genre=40, features=16, seed=8)
    artists = tracks["artist_id"].to_numpy()
    sound = {a: rng.normal(0, 3, 16) for a in np.unique(artists)}
    noise = rng.normal(0, 0.3, (len(tracks), 16))
    features.iloc[:, 1:] = (np.array([sound[a] for a in artists]) + noise).astype(np.float32)
    genre_of = {a: GENRES[int(rng.integers(len(GENRES)))] for a in np.unique(artists)}
    tracks["genre_top"] = [genre_of[a] for a in artists]
    report = train("rf", features, tracks, tmp_path, train=CV)
    assert report["validation"]["macro_f1"] < 0.3
    # the held-out rows are not the in-sample predictions of the model that was saved
    data = feature_splits(features, tracks)
    model = saved_model(tmp_path, "rf")
    X = np.concatenate([data.X["training"], data.X["validation"]])
    y = np.concatenate([data.y("training"), data.y("validation")])
    assert np.mean(predict_labels(model, X) == y) > 0.95


def test_a_memorising_model_is_scored_out_of_fold(tmp_path):
    """Labels independent of the features: the forest fits its own rows perfectly, but the
    figure reported for it (its held-out rows) is chance."""
    features, tracks = fabricate(per_genre=40, features=16, seed=9)
    rng = np.random.default_rng(4)
    tracks["genre_top"] = rng.permutation(tracks["genre_top"].to_numpy())
    report = train("rf", features, tracks, tmp_path, train=CV)
    data = feature_splits(features, tracks)
    table = probabilities(tmp_path, "rf").query("role == 'heldout'").set_index("track_id")
    X = np.concatenate([data.X["training"], data.X["validation"]])
    ids = np.concatenate([data.track_ids("training"), data.track_ids("validation")])
    in_sample = predict_proba(saved_model(tmp_path, "rf"), X, len(data.classes))
    y = np.concatenate([data.y("training"), data.y("validation")])
    assert np.mean(in_sample.argmax(axis=1) == y) > 0.95
    assert np.mean(table.loc[ids].filter(like="p_").to_numpy().argmax(axis=1) == y) < 0.3
    assert report["validation"]["macro_f1"] < 0.3


def test_catboost_is_refitted_with_the_mean_best_iteration_of_its_folds(tmp_path):
    features, tracks = fabricate(per_genre=40, features=16, seed=2, separation=0.5)
    gbdt = {**FAST["gbdt"], "iterations": 600, "early_stopping_rounds": 15}
    train("gbdt", features, tracks, tmp_path, train=CV, gbdt=gbdt)
    used = json.loads((tmp_path / "models" / "gbdt" / "params.json").read_text())
    (trial,) = used["search"]
    assert len(trial["fold_trees"]) == 5 and max(trial["fold_trees"]) < 600  # stopped early
    assert len(set(trial["fold_trees"])) > 1  # each fold stopped where its own held-out fold said
    assert trial["refit_trees"] == round(np.mean(trial["fold_trees"]))
    assert saved_model(tmp_path, "gbdt").named_steps["model"].tree_count_ == trial["refit_trees"]


def test_cross_validation_is_deterministic_under_the_seed(tmp_path):
    features, tracks = fabricate(per_genre=40, features=16, seed=6, separation=0.4)
    runs = [
        train("svm", features, tracks, tmp_path / run, train={**CV, "seed": seed})
        for run, seed in (("a", 1), ("b", 1), ("c", 2))
    ]
    tables = [probabilities(tmp_path / run, "svm") for run in ("a", "b", "c")]
    assert runs[0]["validation"] == runs[1]["validation"] and runs[0]["test"] == runs[1]["test"]
    pd.testing.assert_frame_equal(tables[0], tables[1])
    # another seed, other folds: other out-of-fold probabilities
    assert not np.allclose(tables[0].filter(like="p_"), tables[2].filter(like="p_"))


def test_too_few_artists_mean_fewer_folds_or_one_clear_error(tmp_path, caplog):
    artists = np.arange(40)
    y = np.r_[np.zeros(37, dtype=np.int64), np.ones(3, dtype=np.int64)]  # B: 3 artists
    with caplog.at_level(logging.WARNING):
        folds = artist_folds(y, artists, ["A", "B"], wanted=5, seed=0)
    assert len(folds) == 3
    assert "train.cv_folds = 5, but genre B has tracks of only 3 artists: 3 folds" in caplog.text
    features, tracks = fabricate(per_genre=40, features=8, seed=1)
    one_artist = tracks["genre_top"] == "Rock"
    tracks.loc[one_artist, "artist_id"] = 7  # every Rock track by one artist
    with pytest.raises(UserError, match="genre Rock has tracks of 1 artist in training"):
        train("rf", features, tracks, tmp_path, train=CV)
