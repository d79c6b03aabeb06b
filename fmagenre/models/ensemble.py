"""The sixth model: a weighted average of the other models' class probabilities.

Why a weighted average and not a stacker: the weights are learnt on the tracks the members
were chosen on, a few dozen on a small collection, 800 on fma_small. A logistic-regression
stacker on five members' probabilities has 5 x 8 x 8 coefficients for 8 genres; a weighted
average has five numbers, and cannot turn a member's Rock into another genre, so there is
little it can overfit. The weights (non-negative, summing to 1) minimise the log loss of
the averaged probabilities, a convex problem with one optimum, found deterministically.

Why its validation figure is honest: the weights are fitted on rows whose labels they then
see, so the ensemble's own figure is computed out of fold: the fitting rows are cut into
folds (by artist where known), each fold predicted with weights fitted on the others. Only
then are the weights refitted on every row, for test and predict.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

EPSILON = 1e-12  # probabilities are clipped to this before a log
ENSEMBLE_FILE = "ensemble.json"  # members and weights, in the ensemble's model folder
MEMBERS_FOLDER = "members"  # the members' own model folders, copied into the ensemble's


def average(members: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """The weighted average of the members' [tracks x genres] probabilities."""
    return np.tensordot(np.asarray(weights, dtype=np.float64), np.stack(members), axes=1)


def fit_weights(members: list[np.ndarray], y: np.ndarray) -> np.ndarray:
    """Weights on the simplex minimising the log loss of the average on rows ``y``."""
    count = len(members)
    if count == 1:
        return np.ones(1)
    # each member's probability of each row's true genre: the only values the loss reads
    truth = np.stack([proba[np.arange(len(y)), y] for proba in members], axis=1)

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        mixed = np.maximum(truth @ weights, EPSILON)
        return float(-np.log(mixed).mean()), -(truth / mixed[:, None]).mean(axis=0)

    found = minimize(
        loss,
        np.full(count, 1.0 / count),
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * count,
        constraints=[
            {"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones_like(w)}
        ],
        options={"ftol": 1e-10, "maxiter": 500},
    )
    weights = np.clip(found.x, 0.0, None)
    return weights / weights.sum()


@dataclass(frozen=True)
class OutOfFold:
    """The ensemble's probabilities on its fitting rows, each from weights fitted on the
    other folds, and each fold's weights."""

    probabilities: np.ndarray
    folds: int
    fold_weights: list[list[float]]


def out_of_fold(
    members: list[np.ndarray], y: np.ndarray, groups: np.ndarray, folds: int, seed: int
) -> OutOfFold:
    """Every fitting row predicted by weights that never saw it.

    Folds keep an artist's tracks together and the genres' shares alike (as far as a few
    dozen rows allow); fewer folds than asked when there are fewer artists, and folds by
    artist alone when no genre has a track for every fold (a tiny validation split). Tracks
    all of one artist are folded one by one.
    """
    if len(np.unique(groups)) < 2:
        groups = np.arange(len(y))
    folds = max(2, min(folds, len(np.unique(groups))))
    if np.bincount(y).max() >= folds:
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    else:
        splitter = GroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    result = np.zeros_like(members[0], dtype=np.float64)
    fold_weights = []
    with warnings.catch_warnings():
        # "the least populated class has only n members": expected on a small validation split
        warnings.simplefilter("ignore", UserWarning)
        splits = list(splitter.split(np.zeros(len(y)), y, groups))
    for fitting, held in splits:
        weights = fit_weights([proba[fitting] for proba in members], y[fitting])
        result[held] = average([proba[held] for proba in members], weights)
        fold_weights.append([round(float(w), 6) for w in weights])
    return OutOfFold(result, len(splits), fold_weights)
