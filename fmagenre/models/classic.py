"""The feature-based models: Random Forest, RBF SVM and CatBoost, as whole scikit-learn pipelines.

Each model is one Pipeline — missing-value handling, scaling where the model needs it, an
optional feature-reduction step, the estimator — saved whole with its class list, so that
predicting later applies exactly what training did. Hyperparameters come from params.yaml
as small search spaces: every candidate is fitted on the training split and scored on the
validation split (macro-F1), or, under cross-validation (train.selection, models/selection.py),
scored out of fold over training+validation and the best refitted on both; the best is the
model. The test split is not touched here.

The fifth model, ``musicnn``, is the same machinery on another table: a logistic regression,
an SVM or a small multilayer perceptron on the pretrained musicnn embeddings (standardised;
no preprocess.* reduction, which is about FMA's 518 features). With musicnn.pooling: patch,
its head is trained on every 3-s patch and wrapped to predict whole tracks
(fmagenre.models.pooling); the rows stay one per track.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.impute import SimpleImputer
from sklearn.model_selection import ParameterGrid
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fmagenre.fma.dataset import FeatureSplits
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import Params
from fmagenre.models.evaluation import Selection, macro_f1
from fmagenre.models.pooling import patch_head, patch_pooled, patch_settings
from fmagenre.models.reduction import check_reduction, reduction_steps
from fmagenre.models.selection import artist_folds, pooled, protocol

log = logging.getLogger(__name__)

MODELS = ("rf", "svm", "gbdt")
EMBEDDING_MODELS = ("musicnn",)  # on data/embeddings.parquet instead of the FMA features


# musicnn's classifiers and the keys of its section each one reads (the others would only
# repeat a candidate)
HEAD_KEYS = {
    "logistic": ("C", "max_iter"),
    "svm": ("C",),
    "mlp": ("hidden_units", "hidden_layers", "alpha", "max_iter"),
}


def candidates(name: str, params: Params) -> list[dict[str, Any]]:
    """Every combination of model ``name``'s params.yaml values (one value is a list of one),
    in ParameterGrid's order (keys sorted, the last varying fastest); musicnn's classifiers one
    after the other, each with every combination of its own keys. Keys read in params.yaml's
    order."""
    section = getattr(params, name).model_dump()
    grid = {
        key: list(value) if isinstance(value, tuple) else [value] for key, value in section.items()
    }
    if name != "musicnn":
        return [{key: candidate[key] for key in section} for candidate in ParameterGrid(grid)]
    found = []
    for classifier in grid["classifier"]:
        keys = ["classifier", *(key for key in section if key in HEAD_KEYS[classifier])]
        own = {**{key: grid[key] for key in keys}, "classifier": [classifier]}
        found += [{key: candidate[key] for key in keys} for candidate in ParameterGrid(own)]
    return found


def make_estimator(name: str, params: Params) -> Any:
    """The estimator with the settings no candidate changes (seed, threads, loss)."""
    seed, threads = params.train.seed, params.compute.worker_count
    if name == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(random_state=seed, n_jobs=threads)
    if name == "svm":
        from sklearn.svm import SVC

        return PlattSVC(SVC(kernel="rbf"), method="sigmoid", ensemble=False)
    if name == "musicnn":  # the logistic regression; an svm candidate replaces it
        from sklearn.linear_model import LogisticRegression

        head = LogisticRegression(random_state=seed)
        return patch_pooled(head) if params.musicnn.pooling == "patch" else head
    if name == "gbdt":
        from catboost import CatBoostClassifier

        return CatBoostClassifier(
            loss_function="MultiClass",
            random_seed=seed,
            thread_count=threads,
            verbose=0,
            allow_writing_files=False,
        )
    raise ValueError(f"unknown model {name!r}")


def candidate_settings(name: str, candidate: dict[str, Any], params: Params) -> dict[str, Any]:
    """A candidate in its pipeline's own parameter names, for ``pipeline.set_params``."""
    if name == "musicnn":
        settings = head_settings(candidate, params)
        return patch_settings(settings) if params.musicnn.pooling == "patch" else settings
    prefix = "model__estimator__" if name == "svm" else "model__"  # the SVC inside PlattSVC
    return {prefix + key: value for key, value in candidate.items()}


def head_settings(candidate: dict[str, Any], params: Params) -> dict[str, Any]:
    """A musicnn candidate's settings of the clip pipeline (scale, then the head)."""
    if candidate["classifier"] == "svm":
        return {
            "model": make_estimator("svm", params),
            "model__estimator__C": candidate["C"],
            "model__estimator__gamma": "scale",
        }
    if candidate["classifier"] == "mlp":
        return {"model": mlp_head(candidate, params.train.seed)}
    return {"model__C": candidate["C"], "model__max_iter": candidate["max_iter"]}


def mlp_head(candidate: dict[str, Any], seed: int) -> Any:
    """A small multilayer perceptron (ReLU, Adam) early-stopped on a seeded, stratified tenth
    of the training split.

    scikit-learn's, not a Keras model: it is deterministic under its seed on any machine, it is
    saved in the same allow-listed skops pipeline as the other heads, and on a few hundred
    dimensions it trains in seconds on a CPU. It has no dropout: L2 (``alpha``) regularises it
    instead. Early stopping holds out part of the training split, never the validation split,
    which stays the unseen data the candidates are chosen on.
    """
    return MLPHead(
        hidden_layer_sizes=(candidate["hidden_units"],) * candidate["hidden_layers"],
        alpha=candidate["alpha"],
        max_iter=candidate["max_iter"],
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=20,
        random_state=seed,
    )


class MLPHead(MLPClassifier):
    """scikit-learn's MLP, trained without early stopping when its training rows are too few
    to hold out a stratified tenth of at least 2 rows (a tiny labelled folder: a genre of one
    training track, or ten tracks in all), where scikit-learn would refuse to train; the
    model then says so in its ``early_stopping``."""

    def fit(self, X: Any, y: Any) -> MLPHead:
        counts = np.unique(np.asarray(y), return_counts=True)[1]
        held = int(np.ceil(self.validation_fraction * len(y)))
        if self.early_stopping and (held < 2 or counts.min() < 2):
            log.warning(
                "mlp: %d training rows of %d genres are too few to early-stop on a tenth of "
                "them; it trains for its max_iter epochs instead",
                len(y),
                len(counts),
            )
            self.early_stopping = False
        return super().fit(X, y)


class PlattSVC(CalibratedClassifierCV):
    """An SVC whose labels are its own decision and whose probabilities are Platt-calibrated.

    Probabilities come from Platt scaling of 5-fold cross-validated decision values, with one
    SVC fitted on all training data (what SVC(probability=True) did before sklearn 1.9); they
    serve log loss, top-2 and predict's probabilities. Labels come from that SVC's own
    predict: the argmax of the calibrated probabilities is another classifier, measured
    weaker on real features (0.684 against 0.703 test accuracy, 1,000 clips, 10 genres).
    """

    def predict(self, X: Any) -> np.ndarray:
        return self.calibrated_classifiers_[0].estimator.predict(X)


def preprocessing(name: str, params: Params, n_features: int) -> list[tuple[str, Any]]:
    """The steps before the estimator: imputation (CatBoost handles NaN itself unless features
    are reduced), the optional reduction of preprocess.*, and scaling for the SVM; the
    embeddings (complete, already compact) are only standardised (per patch, inside the
    model, when patches are pooled)."""
    if name in EMBEDDING_MODELS:
        return [] if params.musicnn.pooling == "patch" else [("scale", StandardScaler())]
    reduce = reduction_steps(params.preprocess, params.train.seed, n_features)
    steps: list[tuple[str, Any]] = []
    if name != "gbdt" or reduce:
        # keep_empty_features: a column with no value in training (possible in FMA's
        # features.csv) stays a column, so the kept-feature names still line up
        steps.append(("impute", SimpleImputer(strategy="median", keep_empty_features=True)))
    steps.extend(reduce)
    if name == "svm":
        steps.append(("scale", StandardScaler()))
    return steps


@dataclass(frozen=True)
class Heldout:
    """A model's predictions on the tracks it was chosen on, each by a model that never
    trained on it: the validation split, or every training+validation track out of fold."""

    track_ids: np.ndarray
    y: np.ndarray
    proba: np.ndarray
    labels: np.ndarray


@dataclass
class SearchResult:
    pipeline: Pipeline
    hyper: dict[str, Any]
    fit_seconds: float
    search_seconds: float
    trials: list[dict[str, Any]]
    heldout: Heldout
    selection: Selection


def fit_candidate(
    name: str,
    candidate: dict[str, Any],
    fitted: tuple[np.ndarray, np.ndarray],
    params: Params,
    *,
    stop_on: tuple[np.ndarray, np.ndarray] | None = None,
    trees: int | None = None,
) -> Pipeline:
    """Fit preprocessing, then the estimator, on ``fitted`` (X, y). CatBoost stops early on
    the held-out ``stop_on`` (its genres the fitted rows have: CatBoost refuses others), or,
    refitted without held-out tracks, grows ``trees`` trees."""
    X_train, y_train = fitted
    check_reduction(params.preprocess, *X_train.shape)
    steps = preprocessing(name, params, X_train.shape[1])
    pipeline = Pipeline([*steps, ("model", make_estimator(name, params))])
    pipeline.set_params(**candidate_settings(name, candidate, params))
    prepared = Pipeline(steps).fit(X_train, y_train) if steps else None  # fits the steps
    transform = prepared.transform if prepared is not None else (lambda X: X)
    estimator = pipeline.named_steps["model"]
    if isinstance(patch_head(estimator), PlattSVC):
        # Platt scaling needs every class in every fold: fewer folds on tiny data
        smallest = int(np.unique(y_train, return_counts=True)[1].min()) if len(y_train) else 0
        if smallest < 2:
            raise UserError(
                "svm: every genre needs at least 2 training tracks to calibrate probabilities"
            )
        patch_head(estimator).set_params(cv=min(5, smallest))
    stopping: dict[str, Any] = {}
    if name == "gbdt" and stop_on is not None:
        X_held, y_held = stop_on
        known = np.isin(y_held, y_train)
        stopping = {"eval_set": (transform(X_held[known]), y_held[known]), "use_best_model": True}
    if name == "gbdt" and trees is not None:
        estimator.set_params(iterations=trees)
    estimator.fit(transform(X_train), y_train, **stopping)
    return pipeline


def search(name: str, data: FeatureSplits, params: Params) -> SearchResult:
    """Choose model ``name``'s candidate by the protocol train.selection resolves to."""
    chosen, reason = protocol(params.train, data.labelled.counts["validation"])
    if chosen == "cv":
        return search_cv(name, data, params, reason)
    return search_validation(name, data, params, reason)


def search_validation(name: str, data: FeatureSplits, params: Params, reason: str) -> SearchResult:
    """Fit every candidate on training, keep the best validation macro-F1 (first wins ties)."""
    began = time.perf_counter()
    best: tuple[float, dict[str, Any], Pipeline, float] | None = None
    trials = []
    X, y = data.X["validation"], data.y("validation")
    fitted = (data.X["training"], data.y("training"))
    for hyper in candidates(name, params):
        started = time.perf_counter()
        pipeline = fit_candidate(name, hyper, fitted, params, stop_on=(X, y))
        seconds = time.perf_counter() - started
        # scored exactly as the report scores it: the model's own labels
        score = macro_f1(y, predict_labels(pipeline, X))
        trial = {
            "hyperparameters": hyper,
            "validation_macro_f1": round(score, 5),
            "fit_seconds": round(seconds, 2),
        }
        if name == "gbdt":
            trial["best_iteration"] = best_iteration(pipeline)
        trials.append(trial)
        log.info("%s %s: validation macro-F1 %.4f (%.1f s)", name, hyper, score, seconds)
        if best is None or score > best[0]:
            best = (score, hyper, pipeline, seconds)
    assert best is not None
    _, hyper, pipeline, seconds = best
    proba = predict_proba(pipeline, X, len(data.classes))
    heldout = Heldout(data.track_ids("validation"), y, proba, predict_labels(pipeline, X))
    return SearchResult(
        pipeline,
        hyper,
        seconds,
        time.perf_counter() - began,
        trials,
        heldout,
        Selection("validation", 0, len(y), reason),
    )


def search_cv(name: str, data: FeatureSplits, params: Params, reason: str) -> SearchResult:
    """Score every candidate by the macro-F1 of its out-of-fold labels over
    training+validation (first wins ties), then refit the best on all of it; CatBoost stops
    each fold on its held-out fold and the refit grows the folds' mean number of trees."""
    began = time.perf_counter()
    rows = pooled(data)
    folds = artist_folds(
        rows.y, rows.artist_ids, data.classes, params.train.cv_folds, params.train.seed
    )
    best: tuple[float, dict[str, Any], Heldout, int | None] | None = None
    trials = []
    for hyper in candidates(name, params):
        started = time.perf_counter()
        proba = np.zeros((len(rows.y), len(data.classes)))
        labels = np.zeros(len(rows.y), dtype=np.int64)
        trees = []
        for fitted, held in folds:
            pipeline = fit_candidate(
                name,
                hyper,
                (rows.X[fitted], rows.y[fitted]),
                params,
                stop_on=(rows.X[held], rows.y[held]),
            )
            proba[held] = predict_proba(pipeline, rows.X[held], len(data.classes))
            labels[held] = predict_labels(pipeline, rows.X[held])
            if name == "gbdt":
                trees.append(best_iteration(pipeline) + 1)
        seconds = time.perf_counter() - started
        score = macro_f1(rows.y, labels)
        mean_trees = max(1, round(float(np.mean(trees)))) if trees else None
        trial = {
            "hyperparameters": hyper,
            "out_of_fold_macro_f1": round(score, 5),
            "fit_seconds": round(seconds, 2),
            **({"fold_trees": trees, "refit_trees": mean_trees} if trees else {}),
        }
        trials.append(trial)
        log.info("%s %s: out-of-fold macro-F1 %.4f (%.1f s)", name, hyper, score, seconds)
        if best is None or score > best[0]:
            best = (score, hyper, Heldout(rows.track_ids, rows.y, proba, labels), mean_trees)
    assert best is not None
    _, hyper, heldout, mean_trees = best
    started = time.perf_counter()
    pipeline = fit_candidate(name, hyper, (rows.X, rows.y), params, trees=mean_trees)
    return SearchResult(
        pipeline,
        hyper,
        time.perf_counter() - started,
        time.perf_counter() - began,
        trials,
        heldout,
        Selection("cv", len(folds), len(rows.y), reason),
    )


def best_iteration(pipeline: Pipeline) -> int:
    """CatBoost's best iteration (0-based) on the held-out tracks it watched."""
    return int(pipeline.named_steps["model"].get_best_iteration() or 0)


def predict_proba(pipeline: Pipeline, X: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over all classes, in class-index order (a model may not have seen every class)."""
    if len(X) == 0:  # e.g. a subset whose test split has no usable track
        return np.zeros((0, n_classes))
    proba = pipeline.predict_proba(X)
    seen = np.asarray(pipeline.classes_, dtype=np.int64)
    if len(seen) == n_classes and np.array_equal(seen, np.arange(n_classes)):
        return proba.astype(np.float64)
    full = np.zeros((len(X), n_classes))
    full[:, seen] = proba
    return full


def predict_labels(pipeline: Pipeline, X: np.ndarray) -> np.ndarray:
    """Each model's own decision as class indices (for the SVM, the SVC's; for the forest and
    CatBoost, the argmax of their probabilities)."""
    if len(X) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(pipeline.predict(X)).reshape(len(X)).astype(np.int64)
