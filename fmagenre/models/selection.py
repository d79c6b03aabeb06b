"""How a feature or embedding model's candidates are chosen: on the validation split, or by
k-fold cross-validation over training+validation (train.selection; docs/selection.md).

A validation split of a few dozen tracks (a small labelled folder, the demo) is too few to
choose by: candidates a point apart there are not told apart, and the model reported is the
luckier draw. Cross-validation scores every candidate on every training and validation
track, each predicted by a model that never saw it or its artist; FMA's official split (800
validation tracks on fma_small) is large enough, and keeps its protocol. The test split is
in neither: it is only reported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from fmagenre.fma.dataset import FeatureSplits
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import TrainParams
from fmagenre.models.evaluation import Protocol

log = logging.getLogger(__name__)

AUTO_CV_BELOW = 300  # validation tracks under which auto cross-validates
POOLED = ("training", "validation")  # the splits cross-validation folds; never test


def protocol(train: TrainParams, validation_tracks: int) -> tuple[Protocol, str]:
    """train.selection resolved (auto by the validation split's usable tracks), and why."""
    if train.selection != "auto":
        return train.selection, f"train.selection: {train.selection}"
    if validation_tracks < AUTO_CV_BELOW:
        return "cv", f"auto: {validation_tracks} validation tracks < {AUTO_CV_BELOW}"
    return "validation", f"auto: {validation_tracks} validation tracks >= {AUTO_CV_BELOW}"


@dataclass(frozen=True)
class Pooled:
    """Training and validation as one table, the rows cross-validation folds."""

    X: np.ndarray
    y: np.ndarray
    artist_ids: np.ndarray
    track_ids: np.ndarray


def pooled(data: FeatureSplits) -> Pooled:
    return Pooled(
        np.concatenate([data.X[split] for split in POOLED]),
        np.concatenate([data.y(split) for split in POOLED]),
        np.concatenate([data.artist_ids(split) for split in POOLED]),
        np.concatenate([data.track_ids(split) for split in POOLED]),
    )


def artist_folds(
    y: np.ndarray, artist_ids: np.ndarray, classes: list[str], wanted: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(fitted rows, held-out rows) of each fold: stratified by genre, every artist's tracks
    in one fold (a model scored on an artist it was trained on looks better than it is),
    shuffled with ``seed``.

    A genre with fewer artists than ``wanted`` cannot be in every fold: fewer folds, with a
    warning; a genre of a single artist allows none.
    """
    artists = {int(c): len(np.unique(artist_ids[y == c])) for c in np.unique(y)}
    fewest = min(artists, key=lambda c: (artists[c], c))
    folds = min(wanted, artists[fewest])
    if folds < 2:
        raise UserError(
            f"train.selection cv: genre {classes[fewest]} has tracks of {artists[fewest]} "
            "artist in training+validation; folds grouped by artist need at least 2 per "
            "genre (add tracks of another artist, or set train.selection: validation)"
        )
    if folds < wanted:
        log.warning(
            "train.cv_folds = %d, but genre %s has tracks of only %d artists: %d folds",
            wanted,
            classes[fewest],
            artists[fewest],
            folds,
        )
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros((len(y), 1)), y, artist_ids))
