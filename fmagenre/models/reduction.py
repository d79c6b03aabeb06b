"""Feature reduction inside the classic models' pipelines: none, filtering, mutual-information
selection, or PCA (params.yaml ``preprocess.*``).

Being pipeline steps, they are fitted on the training split only and saved with the model,
so predict applies exactly the reduction training chose.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import PCA
from sklearn.feature_selection import SelectKBest, mutual_info_classif
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fmagenre.infra.errors import ParamsError
from fmagenre.infra.params import PreprocessParams


class RedundancyFilter(TransformerMixin, BaseEstimator):
    """Drops near-constant features, then one of each pair correlated above a threshold.

    Features are scanned in order and a feature is kept only if its absolute correlation with
    every feature already kept is at most ``correlation_threshold`` — FMA's 518 features
    hold many such pairs (a median next to a mean, neighbouring MFCCs).
    """

    def __init__(self, variance_threshold: float = 0.0, correlation_threshold: float = 0.95):
        self.variance_threshold = variance_threshold
        self.correlation_threshold = correlation_threshold

    def fit(self, X: np.ndarray, y: Any = None) -> RedundancyFilter:
        X = np.asarray(X, dtype=np.float64)
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
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)[:, self.support_]

    def get_support(self) -> np.ndarray:
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
    """Which input features a fitted pipeline uses (or a description, for PCA)."""
    steps = dict(pipeline.steps)
    if "filter" in steps or "select" in steps:
        support = (steps.get("filter") or steps.get("select")).get_support()
        return [column for column, keep in zip(columns, support, strict=True) if keep]
    if "pca" in steps:
        return f"{steps['pca'].named_steps['project'].n_components_} principal components of {len(columns)} features"
    return columns
