"""Feature reduction options: each one trains, saves and predicts inside the model's pipeline."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_classic import FAST, fabricate

from fmagenre.fma.dataset import feature_splits
from fmagenre.infra.params import parse_params
from fmagenre.models.classic import predict_proba
from fmagenre.models.files import load_pipeline, read_consistently
from fmagenre.models.reduction import RedundancyFilter
from fmagenre.pipeline.train_classic import train_and_evaluate


def test_redundancy_filter_drops_constant_and_correlated_features():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(size=200)
    X = np.column_stack(
        [
            a,
            a * 2 + 1e-3 * rng.normal(size=200),
            np.full(200, 3.0),
            b,
            -b + 0.5 * rng.normal(size=200),
        ]
    )
    kept = RedundancyFilter(variance_threshold=0.0, correlation_threshold=0.95).fit(X).get_support()
    assert kept.tolist() == [True, False, False, True, True]  # the copy of a and the constant go
    assert RedundancyFilter(correlation_threshold=0.8).fit(X).transform(X).shape == (200, 2)
    # a scikit-learn selector: names out and the way back come with it
    fitted = RedundancyFilter().fit(X)
    names = ["a", "twice_a", "constant", "b", "minus_b"]
    assert fitted.get_feature_names_out(names).tolist() == ["a", "b", "minus_b"]
    restored = fitted.inverse_transform(fitted.transform(X))
    assert np.array_equal(restored[:, kept], X[:, kept]) and not restored[:, ~np.array(kept)].any()


@pytest.mark.parametrize(
    "preprocess,step",
    [
        ({"method": "none"}, None),
        ({"method": "filter", "correlation_threshold": 0.9}, "filter"),
        ({"method": "select_k", "k": 8}, "select"),
        ({"method": "pca", "pca_components": 0.9}, "pca"),
        ({"method": "pca", "pca_components": 5}, "pca"),
    ],
)
@pytest.mark.parametrize("name", ["rf", "svm", "gbdt"])
def test_every_option_trains_and_predicts_end_to_end(tmp_path, name, preprocess, step):
    features, tracks = fabricate(per_genre=40, features=20, seed=2)
    params = parse_params({**FAST, "preprocess": preprocess})
    report = train_and_evaluate(
        name,
        features,
        tracks,
        None,
        params,
        model_dir=tmp_path / name,
        metrics_dir=tmp_path / "metrics",
    )
    assert report["test"]["accuracy"] > 0.5
    pipeline = read_consistently(tmp_path / name, "train", load_pipeline)
    assert (
        (step in pipeline.named_steps)
        if step
        else not {"filter", "select", "pca"} & set(pipeline.named_steps)
    )
    used = json.loads((tmp_path / name / "params.json").read_text())
    if step == "select":
        assert len(used["features_used"]) == 8
    if preprocess == {"method": "pca", "pca_components": 5}:
        assert used["features_used"].startswith("5 principal components")
    # the reloaded pipeline applies the same reduction to new rows
    data = feature_splits(features, tracks)
    proba = predict_proba(pipeline, data.X["test"], len(data.classes))
    assert proba.shape == (len(data.X["test"]), 8) and np.allclose(proba.sum(axis=1), 1)
