"""Per-patch transfer (musicnn.pooling: patch): a head trained on every 3-s patch of a track,
a track predicted by the mean of its patches' probabilities.

The wrapper's X keeps ONE ROW PER TRACK: the track's patches flattened, NaN after its last
patch (a fixed maximum patch count, from the audio's duration). So any code that splits,
searches or cross-validates rows splits tracks, never a track's patches across two sides; the
patches are unstacked only inside ``fit`` and ``predict_proba``. The head is standardised on
patches (the scaler is inside the wrapped pipeline), not on the flattened row, whose columns
are patch positions, not features.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

PATCH_VALUES = 200  # musicnn's penultimate units (network.PENULTIMATE_UNITS; a test holds
# them equal): a constant here so that the feature models' stages, which import this module
# through models/classic.py, do not depend on the musicnn package


class PatchPooled(ClassifierMixin, BaseEstimator):
    """``estimator`` fitted on patches (each with its track's label), probabilities averaged
    per track; the label is the argmax of that mean."""

    def __init__(self, estimator: Any = None, width: int = PATCH_VALUES):
        self.estimator = estimator
        self.width = width

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # the padding after a track's last patch
        return tags

    def patches(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Every real patch of the rows of ``X`` and the row each came from."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] % self.width:
            raise ValueError(
                f"rows of {X.shape[1:]} values are not whole patches of {self.width} values"
            )
        stacked = X.reshape(len(X), -1, self.width)
        real = ~np.isnan(stacked).all(axis=2)
        if not real.any(axis=1).all():
            raise ValueError("a track has no patch (its row is all NaN)")
        if np.isnan(stacked[real]).any():
            raise ValueError("a patch has missing values (only whole patches may be NaN)")
        owner = np.repeat(np.arange(len(X)), real.sum(axis=1))
        return stacked[real], owner

    def fit(self, X: Any, y: Any) -> PatchPooled:
        patches, owner = self.patches(X)
        self.estimator_ = clone(self.estimator).fit(patches, np.asarray(y)[owner])
        self.classes_ = self.estimator_.classes_
        self.n_features_in_ = int(np.shape(X)[1])
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        patches, owner = self.patches(X)
        sums = np.zeros((len(X), len(self.classes_)))
        np.add.at(sums, owner, self.estimator_.predict_proba(patches))
        return sums / np.bincount(owner, minlength=len(X))[:, None]

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    @property
    def max_patches(self) -> int:
        """Patches a row holds (fitted models): what predict must give a new file."""
        return self.n_features_in_ // self.width


def patch_pooled(head: Any) -> PatchPooled:
    """``head`` standardised and trained on patches."""
    return PatchPooled(Pipeline([("scale", StandardScaler()), ("model", head)]))


def patch_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """A clip pipeline's settings (``model``, ``model__C``...) for the patch_pooled one, whose
    head sits at the same step name inside the wrapper."""
    return {f"model__estimator__{key}": value for key, value in settings.items()}


def patch_head(estimator: Any) -> Any:
    """The head that sees the rows: the wrapped one when patches are pooled."""
    return estimator.estimator[-1] if isinstance(estimator, PatchPooled) else estimator
