"""Feature reduction inside the classic models' pipelines: none, filtering, mutual-information
selection, or PCA (params.yaml ``preprocess.*``).

Being pipeline steps, they are fitted on the training split only and saved with the model,
so predict applies exactly the reduction training chose.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectKBest, SelectorMixin, mutual_info_classif
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from fmagenre.infra.errors import ParamsError
from fmagenre.infra.params import PreprocessParams


class RedundancyFilter(SelectorMixin, BaseEstimator):
    """Drops near-constant features, then one of each pair correlated above a threshold.

    Features are scanned in order and a feature is kept only if its absolute correlation with
    every feature already kept is at most ``correlation_threshold`` — FMA's 518 features
    hold many such pairs (a median next to a mean, neighbouring MFCCs). A scikit-learn
    selector: transform, get_support, inverse_transform and get_feature_names_out come with it.
    """

    def __init__(self, variance_threshold: float = 0.0, correlation_threshold: float = 0.95):
        self.variance_threshold = variance_threshold
        self.correlation_threshold = correlation_threshold

    def fit(self, X: np.ndarray, y: Any = None) -> RedundancyFilter:
        X = validate_data(self, X, dtype=np.float64)
        candidates = np.flatnonzero(X.var(axis=0) > self.variance_threshold)
        correlation = (
            np.abs(np.nan_to_num(np.corrcoef(X[:, candidates], rowvar=False)))
            if len(candidates) > 1
            else np.ones((1, 1))
        )
        kept: list[int] = []
        for i in range(len(candidates)):
            if not kept or np.all(correlation[i, kept] <= self.correlation_threshold):
                kept.append(i)
        self.support_ = np.zeros(X.shape[1], dtype=bool)
        self.support_[candidates[kept]] = True
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self)
        return self.support_


def reduction_steps(
    preprocess: PreprocessParams, seed: int, n_features: int
) -> list[tuple[str, Any]]:
    """The pipeline steps that reduce the features (after imputation, before the estimator)."""
    if preprocess.method == "none":
        return []
    if preprocess.method == "filter":
        return [
            (
                "filter",
                RedundancyFilter(preprocess.variance_threshold, preprocess.correlation_threshold),
            )
        ]
    if preprocess.method == "select_k":
        scorer = functools.partial(mutual_info_classif, random_state=seed)
        return [("select", SelectKBest(scorer, k=min(preprocess.k, n_features)))]
    components: float | int = preprocess.pca_components
    if components >= 1:
        components = min(int(components), n_features)
    return [
        (
            "pca",
            Pipeline(
                [
                    ("standardise", StandardScaler()),
                    ("project", PCA(components, svd_solver="full", random_state=seed)),
                ]
            ),
        )
    ]


def check_reduction(preprocess: PreprocessParams, n_samples: int, n_features: int) -> None:
    """Settings that only the training data can refute, refuted in one line before fitting."""
    components = preprocess.pca_components
    if preprocess.method == "pca" and components >= 1 and int(components) > n_samples:
        raise ParamsError(
            f"preprocess.pca_components = {int(components)} is more than PCA can give here: at most "
            f"{min(n_samples, n_features)} (the {n_samples} training tracks, {n_features} features); "
            "lower it, or give a share of variance below 1 (e.g. 0.95)"
        )


def kept_features(pipeline: Pipeline, columns: list[str]) -> list[str] | str:
    """Which input features a fitted pipeline uses (or a description, for PCA): the names its
    steps before the model give out (imputation keeps every column, a selector its own)."""
    if "pca" in pipeline.named_steps:
        projection = pipeline.named_steps["pca"].named_steps["project"]
        return f"{projection.n_components_} principal components of {len(columns)} features"
    if len(pipeline) == 1:  # the model alone: CatBoost takes the table as it is
        return columns
    return [str(name) for name in pipeline[:-1].get_feature_names_out(columns)]
