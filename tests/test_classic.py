"""The feature-based models: learn, stay honest, and write the shared schema."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from fmagenre.fma.dataset import feature_splits, labelled_splits
from fmagenre.fma.facts import SMALL_GENRES
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import parse_params
from fmagenre.models.classic import candidates, predict_labels, predict_proba
from fmagenre.models.evaluation import DIGITS
from fmagenre.models.files import load_pipeline, read_consistently
from fmagenre.pipeline.train_classic import train_and_evaluate

GENRES = sorted(SMALL_GENRES)
FAST = {
    "rf": {
        "n_estimators": [60],
        "max_features": ["sqrt"],
        "max_depth": [None, 4],
        "min_samples_leaf": [1],
    },
    "svm": {"C": [1.0, 10.0], "gamma": ["scale"]},
    "gbdt": {
        "iterations": 120,
        "learning_rate": [0.2],
        "depth": [4],
        "l2_leaf_reg": [3.0],
        "border_count": 16,
        "early_stopping_rounds": 20,
    },
    "compute": {"workers": 2},
    # these tests hold the validation protocol (FMA's); test_selection.py cross-validates
    "train": {"selection": "validation"},
}


def fabricate(per_genre: int = 60, features: int = 30, seed: int = 0, separation: float = 1.2):
    """A learnable 8-genre features table with an artist-level split (4 tracks per artist)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, separation, size=(len(GENRES), features))
    rows, tracks = [], []
    track_id = 2
    for g, genre in enumerate(GENRES):
        for i in range(per_genre):
            artist = g * 1000 + i // 4
            split = ("training",) * 8 + ("validation", "test")
            tracks.append(
                {
                    "track_id": track_id,
                    "genre_top": genre,
                    "split": split[(i // 4) % 10],
                    "artist_id": artist,
                    "duration": 30.0,
                    "path": f"x/{track_id}.mp3",
                }
            )
            rows.append(centres[g] + rng.normal(0, 1, features))
            track_id += 3
    table = pd.DataFrame(
        np.array(rows, dtype=np.float32), columns=[f"f.mean.{i:02d}" for i in range(features)]
    )
    table.insert(0, "track_id", [t["track_id"] for t in tracks])
    return table, pd.DataFrame(tracks)


@pytest.fixture(scope="module")
def data():
    return fabricate()


def train(name, features, tracks, tmp_path, **overrides):
    """Train and report model ``name``; ``overrides`` change keys of FAST's sections."""
    params = parse_params(
        {**FAST, **{key: {**FAST.get(key, {}), **value} for key, value in overrides.items()}}
    )
    return train_and_evaluate(
        name,
        features,
        tracks,
        None,
        params,
        model_dir=tmp_path / "models" / name,
        metrics_dir=tmp_path / "metrics",
    )


@pytest.mark.parametrize("name", ["rf", "svm", "gbdt"])
def test_every_model_beats_chance_and_writes_the_schema(name, data, tmp_path):
    features, tracks = data
    report = train(name, features, tracks, tmp_path)
    assert (
        report["test"]["accuracy"] > 0.6 and report["validation"]["macro_f1"] > 0.6
    )  # chance is 0.125
    saved = json.loads((tmp_path / "reports" / "models" / f"{name}.json").read_text())
    assert saved == report
    for split in ("test", "validation"):
        assert set(saved[split]) == {
            "accuracy",
            "balanced_accuracy",
            "macro_f1",
            "log_loss",
            "top2_accuracy",
        }
        assert saved[split]["top2_accuracy"] >= saved[split]["accuracy"]
    assert set(saved["per_genre"]) == set(GENRES) and set(saved["per_genre"]["Rock"]) == {
        "precision",
        "recall",
        "f1",
        "support",
    }
    expected = tracks["split"].value_counts()
    assert (
        saved["counts"]["training"] == expected["training"]
        and saved["counts"]["test"] == expected["test"]
    )
    assert (
        saved["train_seconds"] >= 0
        and saved["predict_ms_per_track"] > 0
        and saved["model_bytes"] > 0
    )
    predictions = pd.read_csv(tmp_path / "metrics" / name / "predictions.csv")
    assert list(predictions.columns) == [
        "track_id",
        "actual",
        "predicted",
        *[f"p_{g}" for g in GENRES],
    ]
    assert np.allclose(predictions.filter(like="p_").sum(axis=1), 1.0, atol=1e-4)
    # the saved pipeline, reloaded, predicts exactly what was reported
    model = read_consistently(tmp_path / "models" / name, "train", load_pipeline)
    classes = json.loads((tmp_path / "models" / name / "classes.json").read_text())
    test = feature_splits(features, tracks)
    reloaded = predict_proba(model, test.X["test"], len(classes))
    np.testing.assert_allclose(predictions.filter(like="p_").to_numpy(), reloaded, atol=1e-6)
    labels = predict_labels(model, test.X["test"])
    assert [classes[i] for i in labels] == predictions["predicted"].tolist()
    # the probability table the ensemble learns from: validation rows held out, then test rows,
    # each the saved model's own probabilities, unrounded
    table = pd.read_parquet(tmp_path / "reports" / "models" / f"{name}.probabilities.parquet")
    for role, split in (("heldout", "validation"), ("test", "test")):
        rows = table[table["role"] == role]
        assert rows["track_id"].tolist() == test.track_ids(split).tolist()
        np.testing.assert_array_equal(
            rows.filter(like="p_").to_numpy(), predict_proba(model, test.X[split], len(classes))
        )
    used = json.loads((tmp_path / "models" / name / "params.json").read_text())
    assert used["chosen"] == report["details"]["chosen"] and len(used["search"]) == len(
        candidates(name, parse_params(FAST))
    )
    # the saved model was fitted with exactly the chosen values (set_params reached them)
    estimator = model.named_steps["model"]
    effective = {
        "rf": lambda: estimator.get_params(),
        "svm": lambda: estimator.estimator.get_params(),  # the SVC inside the calibration
        "gbdt": lambda: estimator.get_all_params(),  # what CatBoost trained with
    }[name]()
    catboost_names = {"early_stopping_rounds": "od_wait"}
    for key, value in used["chosen"].items():
        assert effective[catboost_names.get(key, key)] == pytest.approx(value), key


def test_candidates_are_every_combination_and_the_first_wins_ties_in_a_stated_order():
    rf = candidates(
        "rf", parse_params({"rf": {"max_features": ["sqrt", 0.1], "min_samples_leaf": [1, 3]}})
    )
    assert list(rf[0]) == ["n_estimators", "max_features", "max_depth", "min_samples_leaf"]
    assert [(c["max_features"], c["min_samples_leaf"]) for c in rf] == [
        ("sqrt", 1), ("sqrt", 3), (0.1, 1), (0.1, 3)
    ]  # fmt: skip
    musicnn = candidates(
        "musicnn", parse_params({"musicnn": {"classifier": ["logistic", "svm"], "C": [0.1, 1.0]}})
    )
    # each classifier with every C, as params.yaml lists them
    assert [(c["classifier"], c["C"]) for c in musicnn] == [
        ("logistic", 0.1), ("logistic", 1.0), ("svm", 0.1), ("svm", 1.0)
    ]  # fmt: skip
    assert [c.get("max_iter") for c in musicnn] == [2000, 2000, None, None]
    # a classifier varies only its own keys: the mlp never repeats itself over C
    heads = candidates(
        "musicnn",
        parse_params(
            {"musicnn": {"classifier": ["mlp"], "C": [0.1, 1.0], "hidden_layers": [1, 2]}}
        ),
    )
    assert [(c["hidden_layers"], "C" in c) for c in heads] == [(1, False), (2, False)] * 2


def test_the_mlp_head_is_saved_whole_and_deterministic_under_its_seed(tmp_path):
    """Two trainings with one seed give the same probabilities; the saved pipeline predicts
    what the trainer reported; another seed gives another network."""
    features, tracks = fabricate(per_genre=40, features=24, seed=6, separation=0.5)
    # a table of clip rows (tests/test_pooling.py trains the heads on patches)
    head = {"musicnn": {"classifier": "mlp", "hidden_layers": 2, "alpha": 0.001, "pooling": "clip"}}
    first = train("musicnn", features, tracks, tmp_path / "a", **head)
    again = train("musicnn", features, tracks, tmp_path / "b", **head)
    train("musicnn", features, tracks, tmp_path / "c", **head, train={"seed": 7})
    assert first["details"]["chosen"]["classifier"] == "mlp"
    assert first["test"] == again["test"] and first["validation"] == again["validation"]
    test = feature_splits(features, tracks).X["test"]
    models = [
        read_consistently(tmp_path / run / "models" / "musicnn", "train", load_pipeline)
        for run in ("a", "b", "c")
    ]
    probabilities = [predict_proba(model, test, len(GENRES)) for model in models]
    np.testing.assert_array_equal(probabilities[0], probabilities[1])
    assert not np.allclose(probabilities[0], probabilities[2])
    assert first["test"]["accuracy"] > 0.5  # it learnt: chance is 1/8


def test_the_mlp_head_trains_on_a_collection_too_small_to_early_stop(tmp_path, caplog):
    """One training track a genre: no stratified tenth can be held out (scikit-learn would
    refuse), so the head trains without early stopping, says so, and is saved and reloaded
    as any other."""
    features, tracks = fabricate(per_genre=40, features=12, seed=8)
    training = tracks[tracks["split"] == "training"]
    few = training.groupby("genre_top").head(1)
    tracks = tracks[(tracks["split"] != "training") | tracks.index.isin(few.index)]
    features = features[features["track_id"].isin(tracks["track_id"])]
    head = {
        "musicnn": {"classifier": "mlp", "hidden_layers": 1, "pooling": "clip"},
        "train": {"selection": "validation"},
    }
    report = train("musicnn", features, tracks, tmp_path, **head)
    assert "too few to early-stop" in caplog.text
    model = read_consistently(tmp_path / "models" / "musicnn", "train", load_pipeline)
    assert model.named_steps["model"].early_stopping is False
    assert report["details"]["chosen"]["classifier"] == "mlp"


def test_the_svm_reports_its_svcs_own_decision(tmp_path):
    """Accuracy is the SVC's own predict; the calibrated probabilities (whose argmax is
    another classifier) serve log loss and top-2."""
    features, tracks = fabricate(per_genre=120, features=20, seed=4, separation=0.3)
    report = train("svm", features, tracks, tmp_path)
    model = read_consistently(tmp_path / "models" / "svm", "train", load_pipeline)
    test = feature_splits(features, tracks)
    X, y = test.X["test"], test.y("test")
    svc = model.named_steps["model"].calibrated_classifiers_[0].estimator
    own = svc.predict(model[:-1].transform(X))  # the SVC's own decision
    proba = predict_proba(model, X, len(GENRES))
    assert (own != proba.argmax(axis=1)).sum() > 0, "the data must tell the two apart"
    assert report["test"]["accuracy"] == round(float(np.mean(own == y)), DIGITS)
    assert report["test"]["accuracy"] != round(float(np.mean(proba.argmax(axis=1) == y)), DIGITS)
    predictions = pd.read_csv(tmp_path / "metrics" / "svm" / "predictions.csv")
    assert predictions["predicted"].tolist() == [GENRES[i] for i in own]
    assert report["test"]["log_loss"] == round(
        float(log_loss(y, proba, labels=range(len(GENRES)))), DIGITS
    )


def test_shuffled_labels_fall_to_chance(tmp_path):
    """Control: labels shuffled within every split are independent of the features, so any test
    accuracy above chance (1/8) could only come from a leak (ids, order, test labels reaching
    training or selection). With 384 test tracks, 48 per genre, the standard deviation of the
    accuracy under chance is at most sqrt(0.125 * 0.875 / 384) = 0.0169; the margin is four
    standard deviations (0.068). The same data with true labels is learned well."""
    features, tracks = fabricate(per_genre=500, features=20, seed=1)
    rng = np.random.default_rng(7)
    shuffled = tracks.copy()
    for split in ("training", "validation", "test"):
        rows = shuffled["split"] == split
        shuffled.loc[rows, "genre_top"] = rng.permutation(
            shuffled.loc[rows, "genre_top"].to_numpy()
        )
    honest = train("rf", features, tracks, tmp_path / "honest")
    control = train("rf", features, shuffled, tmp_path / "control")
    assert control["counts"]["test"] == 384
    assert abs(control["test"]["accuracy"] - 0.125) < 0.068
    assert honest["test"]["accuracy"] > 0.8


def test_model_selection_never_sees_test_labels(data, tmp_path):
    features, tracks = data
    corrupted = tracks.copy()
    test = corrupted["split"] == "test"
    corrupted.loc[test, "genre_top"] = np.roll(corrupted.loc[test, "genre_top"].to_numpy(), 7)
    for name in ("rf", "gbdt"):
        clean = train(name, features, tracks, tmp_path / "clean")
        dirty = train(name, features, corrupted, tmp_path / "dirty")
        assert dirty["details"]["chosen"] == clean["details"]["chosen"]
        assert dirty["validation"] == clean["validation"]
        assert dirty["test"]["accuracy"] < clean["test"]["accuracy"]


def test_same_data_same_params_same_metrics(data, tmp_path):
    features, tracks = data
    first = train("gbdt", features, tracks, tmp_path / "a")
    second = train("gbdt", features, tracks, tmp_path / "b", compute={"workers": 1})
    assert first["test"] == second["test"] and first["validation"] == second["validation"]


def test_exclusions_are_counted_per_split(data):
    features, tracks = data
    manifest = pd.DataFrame({"track_id": tracks["track_id"], "usable": True})
    manifest.loc[0, "usable"] = False  # unusable audio (training)
    missing_input = tracks.loc[tracks["split"] == "test", "track_id"].iloc[:2]
    odd = tracks.copy()
    odd.loc[odd.index[odd["split"] == "validation"][0], "genre_top"] = "Polka"  # never in training
    labelled = labelled_splits(
        odd, features.loc[~features["track_id"].isin(missing_input), "track_id"], manifest
    )
    assert labelled.classes == GENRES
    assert labelled.counts["excluded"]["training"]["unusable_audio"] == 1
    assert labelled.counts["excluded"]["test"]["no_model_input"] == 2
    assert labelled.counts["excluded"]["validation"]["genre_not_in_training"] == 1
    assert labelled.counts["test"] == (tracks["split"] == "test").sum() - 2


def test_the_search_scores_candidates_as_the_report_scores_the_model(tmp_path):
    """With a genre absent from validation, a model may still predict it there; the search
    must rank candidates by the same macro-F1 (over the genres present) that the report
    and compare use, or it could pick a candidate that is not the best by that number."""
    features, tracks = fabricate(per_genre=120, seed=3)
    moved = tracks.copy()
    moved.loc[(moved["genre_top"] == "Rock") & (moved["split"] == "validation"), "split"] = (
        "training"
    )
    # half the Pop training tracks labelled Rock: the model then predicts Rock for some of
    # the Pop tracks of validation, where Rock is absent
    pop_training = moved.index[(moved["genre_top"] == "Pop") & (moved["split"] == "training")]
    moved.loc[pop_training[::2], "genre_top"] = "Rock"
    report = train("rf", features, moved, tmp_path)
    used = json.loads((tmp_path / "models" / "rf" / "params.json").read_text())
    chosen = next(t for t in used["search"] if t["hyperparameters"] == used["chosen"])
    assert report["per_genre"]["Rock"]["support"] > 0  # Rock is still in test
    # the search keeps 5 decimals, the report 4
    assert chosen["validation_macro_f1"] == pytest.approx(
        report["validation"]["macro_f1"], abs=6e-5
    )
    assert max(t["validation_macro_f1"] for t in used["search"]) == chosen["validation_macro_f1"]


def test_an_empty_test_split_is_reported_as_such(data, tmp_path):
    features, tracks = data
    no_test = tracks.assign(split=tracks["split"].replace({"test": "training"}))
    report = train("rf", features, no_test, tmp_path)
    assert report["counts"]["test"] == 0 and report["test"]["accuracy"] is None
    assert report["validation"]["macro_f1"] > 0.6
    assert all(genre["support"] == 0 for genre in report["per_genre"].values())
    assert len(pd.read_csv(tmp_path / "metrics" / "rf" / "predictions.csv")) == 0


def test_one_training_genre_is_a_clear_error(data, tmp_path):
    features, tracks = data
    one_genre = tracks[tracks["genre_top"] == "Folk"]
    with pytest.raises(
        UserError, match="usable tracks of 1 genre .Folk.; a classifier needs at least 2"
    ):
        train("rf", features, one_genre, tmp_path)


def test_a_feature_without_any_value_keeps_the_feature_names_aligned(data, tmp_path):
    features, tracks = data
    holey = features.copy()
    holey["f.mean.03"] = np.nan  # e.g. a column FMA's features.csv leaves empty
    report = train("svm", holey, tracks, tmp_path, preprocess={"method": "select_k", "k": 10})
    used = json.loads((tmp_path / "models" / "svm" / "params.json").read_text())
    assert report["test"]["accuracy"] > 0.5
    assert len(used["features_used"]) == 10 and "f.mean.03" not in used["features_used"]
