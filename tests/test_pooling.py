"""Per-patch transfer (musicnn.pooling: patch): the wrapper, the patch store, and predict.

The wrapper's rows are tracks (patches flattened, NaN after a track's last patch), so what it
is tested on here is what any split or search over tracks hands it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import skops.io
from conftest import tone, write_mp3
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import Pipeline

from fmagenre.audio.decoded import read_decoded, with_audio
from fmagenre.fma.dataset import feature_splits
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import parse_params
from fmagenre.infra.store import RowStore
from fmagenre.models.classic import candidates, fit_candidate, predict_proba
from fmagenre.models.files import TRUSTED_TYPES
from fmagenre.models.loading import load_model
from fmagenre.models.musicnn.network import PENULTIMATE_UNITS, saved_network
from fmagenre.models.pooling import PATCH_VALUES, PatchPooled
from fmagenre.models.predict import predict_stream
from fmagenre.pipeline.decode import run_decode
from fmagenre.pipeline.embeddings import run_embeddings
from fmagenre.pipeline.train_musicnn import train_musicnn

PATCHES, WIDTH = 3, 6  # small rows for the unit tests


def patch_rows(per_class: int = 20, classes: int = 3, seed: int = 0, width: int = WIDTH):
    """Tracks of 1 to PATCHES patches (NaN-padded) around a centre per class, and labels."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2, (classes, width))
    rows, labels = [], []
    for label in range(classes):
        for i in range(per_class):
            row = np.full((PATCHES, width), np.nan, np.float32)
            count = 1 + i % PATCHES
            row[:count] = centres[label] + rng.normal(0, 1, (count, width))
            rows.append(row.reshape(-1))
            labels.append(label)
    return np.array(rows), np.array(labels)


def pooled_logistic() -> PatchPooled:
    return PatchPooled(LogisticRegression(random_state=0), width=WIDTH)


def test_the_width_is_musicnns_penultimate_layer():
    assert PATCH_VALUES == PENULTIMATE_UNITS


def test_a_tracks_probability_is_the_mean_of_its_real_patches():
    X, y = patch_rows()
    model = pooled_logistic().fit(X, y)
    head = model.estimator_
    for row in (X[0], X[1], X[2]):  # 1, 2 and 3 real patches
        patches = row.reshape(PATCHES, WIDTH)
        real = patches[~np.isnan(patches).all(axis=1)]
        expected = head.predict_proba(real).mean(axis=0)
        np.testing.assert_allclose(model.predict_proba(row[None])[0], expected, rtol=1e-6)
    assert len(real) == 3 and np.isnan(X[0]).sum() == 2 * WIDTH
    proba = model.predict_proba(X)
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    # training saw every real patch once, with its track's label, and no padding
    direct = LogisticRegression(random_state=0).fit(
        X.reshape(-1, WIDTH)[~np.isnan(X.reshape(-1, WIDTH)).all(axis=1)],
        np.repeat(y, [1 + i % PATCHES for _ in range(3) for i in range(20)]),
    )
    np.testing.assert_allclose(head.coef_, direct.coef_)
    assert model.score(X, y) > 0.8


def test_rows_that_are_not_whole_patches_are_refused_in_one_line():
    X, y = patch_rows()
    model = pooled_logistic().fit(X, y)
    with pytest.raises(ValueError, match="not whole patches"):
        model.predict_proba(X[:, :-1])
    empty = X[:1].copy()
    empty[:] = np.nan
    with pytest.raises(ValueError, match="no patch"):
        model.predict_proba(empty)
    holed = X[2:3].copy()
    holed[0, 1] = np.nan
    with pytest.raises(ValueError, match="missing values"):
        model.predict_proba(holed)


def test_cross_validation_splits_tracks_and_sees_the_wrapper_as_a_classifier():
    X, y = patch_rows()
    scores = cross_val_score(Pipeline([("model", pooled_logistic())]), X, y, cv=3)
    assert len(scores) == 3 and scores.min() > 0.6


def musicnn_splits(per_class: int = 24):
    """A FeatureSplits of patch rows of musicnn's width, training/validation/test by track."""
    X, y = patch_rows(per_class, seed=3, width=PENULTIMATE_UNITS)
    genres = ["a", "b", "c"]
    split = np.array(["training", "training", "training", "validation", "test", "training"])
    tracks = pd.DataFrame(
        {
            "track_id": np.arange(len(y)) + 1,
            "genre_top": [genres[label] for label in y],
            "split": split[np.arange(len(y)) % len(split)],
        }
    )
    columns = [f"p.{i}" for i in range(X.shape[1])]
    table = pd.DataFrame(X, columns=columns)
    table.insert(0, "track_id", tracks["track_id"])
    return feature_splits(table, tracks)


@pytest.mark.parametrize("head", ["logistic", "svm", "mlp"])
def test_every_head_pools_patches_deterministically_and_survives_skops(head):
    """classic's own construction (make_estimator, candidate_settings) with pooling: patch."""
    data = musicnn_splits()
    params = parse_params(
        {
            "musicnn": {
                "classifier": head,
                "C": 1.0,
                "alpha": 0.01,
                "hidden_layers": 1,
                "hidden_units": 16,
                "pooling": "patch",
            }
        }
    )
    candidate = candidates("musicnn", params)[0]
    first = fit_candidate("musicnn", candidate, (data.X["training"], data.y("training")), params)
    again = fit_candidate("musicnn", candidate, (data.X["training"], data.y("training")), params)
    model = first.named_steps["model"]
    assert isinstance(model, PatchPooled) and model.max_patches == PATCHES
    assert (
        type(model.estimator_[-1]).__name__
        == {"logistic": "LogisticRegression", "svm": "PlattSVC", "mlp": "MLPHead"}[head]
    )
    test = data.X["test"]
    proba = predict_proba(first, test, 3)
    np.testing.assert_array_equal(proba, predict_proba(again, test, 3))
    assert (proba.argmax(axis=1) == data.y("test")).mean() > 0.6
    blob = skops.io.dumps(list(first.steps))
    assert set(skops.io.get_untrusted_types(data=blob)) <= set(TRUSTED_TYPES)
    reloaded = Pipeline(skops.io.loads(blob, trusted=TRUSTED_TYPES))
    np.testing.assert_array_equal(predict_proba(reloaded, test, 3), proba)
    if head == "mlp":  # another seed, another network
        other = fit_candidate(
            "musicnn",
            candidate,
            (data.X["training"], data.y("training")),
            parse_params({**params.model_dump(mode="json"), "train": {"seed": 1}}),
        )
        assert not np.allclose(predict_proba(other, test, 3), proba)


def test_an_svm_head_still_needs_two_training_tracks_per_genre():
    """Three patches of one track are not three tracks: Platt scaling's check counts tracks."""
    data = musicnn_splits()
    labels = data.y("training").copy()
    labels[np.flatnonzero(labels == 0)[1:]] = 1  # genre "a" keeps one training track
    data.labelled.splits["training"].labels = labels
    params = parse_params({"musicnn": {"classifier": "svm", "C": 1.0, "pooling": "patch"}})
    with pytest.raises(UserError, match="at least 2 training tracks"):
        fit_candidate(
            "musicnn",
            candidates("musicnn", params)[0],
            (data.X["training"], data.y("training")),
            params,
        )


def test_a_bad_pooling_is_one_line_naming_the_choices():
    for bad in ("track", ["clip", "patch"]):
        with pytest.raises(UserError) as caught:
            parse_params({"musicnn": {"pooling": bad}})
        message = str(caught.value)
        assert "musicnn.pooling" in message and "'clip', 'patch'" in message
        assert "\n" not in message


def test_the_pipelines_construction_is_unchanged_for_clip_pooling():
    params = parse_params({"musicnn": {"classifier": "logistic", "C": 1.0, "pooling": "clip"}})
    data = musicnn_splits()
    data.X = {split: np.nan_to_num(X) for split, X in data.X.items()}  # a clip table has no NaN
    clip = fit_candidate(
        "musicnn",
        candidates("musicnn", params)[0],
        (data.X["training"], data.y("training")),
        params,
    )
    assert [name for name, _ in clip.steps] == ["scale", "model"]
    assert isinstance(clip.named_steps["model"], LogisticRegression)


@pytest.mark.slow
def test_predict_with_a_patch_pooled_model_gives_the_stages_probabilities(real_clips, tmp_path):
    """Five real FMA clips and a 4.5-s tone, through decode, embeddings and train_musicnn
    (pooling: patch), then predict on the same files: the patch store holds float16 rows of
    the right patch counts, and predict gives the probabilities the stage reported."""
    short = write_mp3(tmp_path / "in" / "short.mp3", tone(4.5, 44100), 44100)
    paths = [*real_clips[:5], short]
    tracks = pd.DataFrame(
        {
            "track_id": range(1, 7),
            "path": [str(path) for path in paths],
            "genre_top": ["A", "B", "A", "A", "B", "B"],
            "split": ["training", "training", "training", "validation", "test", "training"],
        }
    )
    params = parse_params(
        {
            "audio": {"duration": 10.0},
            "compute": {"workers": 1},
            "musicnn": {"classifier": "logistic", "C": 1.0, "pooling": "patch"},
            "train": {"selection": "validation"},  # 6 tracks: the one validation track decides
        }
    )
    run_decode(
        tracks, params, audio_out=tmp_path / "audio", work_dir=tmp_path / "w", progress=False
    )
    network = saved_network()
    summary = run_embeddings(
        with_audio(read_decoded(tmp_path / "audio")),
        tmp_path / "audio",
        network,
        params,
        out_path=tmp_path / "embeddings.parquet",
        patches_dir=tmp_path / "patches",
        work_dir=tmp_path / "we",
        progress=False,
    )
    assert summary["tracks"] == 6 and summary["max_patches"] == 3
    with RowStore.open(tmp_path / "patches") as store:
        assert (len(store), store.row_shape, store.dtype) == (6, (3, PENULTIMATE_UNITS), np.float16)
        rows = store.read_rows(range(6)).astype(np.float32)
    counts = pd.read_parquet(tmp_path / "patches" / "tracks.parquet")
    assert counts["track_id"].tolist() == list(range(1, 7))
    assert counts["patches"].tolist() == [3, 3, 3, 3, 3, 1]  # 10 s: three patches; 4.5 s: one
    assert np.isfinite(rows[5, 0]).all() and np.isnan(rows[5, 1:]).all()
    # the same network pass as the clip row: its mean is the clip row's penultimate mean
    clip = pd.read_parquet(tmp_path / "embeddings.parquet")
    mean = clip[[c for c in clip.columns if c.startswith("penultimate_mean")]].to_numpy()
    np.testing.assert_allclose(np.nanmean(rows, axis=1), mean, atol=2e-2, rtol=1e-2)

    train_musicnn(
        tmp_path / "embeddings.parquet",
        tmp_path / "patches",
        tracks,
        None,
        params,
        network=network,
        model_dir=tmp_path / "models" / "musicnn",
        metrics_dir=tmp_path / "metrics",
        details_dir=tmp_path / "reports",
    )
    reported = pd.read_parquet(tmp_path / "reports" / "musicnn.probabilities.parquet")
    loaded = load_model(tmp_path / "models", "musicnn")
    assert loaded.recipe.patches == 3
    files = [paths[int(track_id) - 1] for track_id in reported["track_id"]]
    predicted = list(predict_stream(files, loaded, workers=1, progress=False))
    got = np.array([[p.probabilities[genre] for genre in loaded.classes] for p in predicted])
    expected = reported[[f"p_{genre}" for genre in loaded.classes]].to_numpy()
    gap = np.abs(got - expected).max()
    print(f"largest difference, predict against the stage: {gap:.1e}")
    assert len(got) == 2 and gap < 1e-3
    assert not np.allclose(got[0], got[1])  # two tracks, two answers
