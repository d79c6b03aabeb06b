"""The feature-based models: Random Forest, RBF SVM and CatBoost, as whole scikit-learn pipelines.

Each model is one Pipeline — missing-value handling, scaling where the model needs it, an
optional feature-reduction step, the estimator — saved whole with its class list, so that
predicting later applies exactly what training did. Hyperparameters come from params.yaml
as small search spaces: every candidate is fitted on the training split and scored on the
validation split (macro-F1); the best is the model. The test split is not touched here.

The fifth model, ``musicnn``, is the same machinery on another table: a logistic regression
or an SVM on the pretrained musicnn embeddings (standardised; no preprocess.* reduction,
which is about FMA's 518 features).
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from fmagenre.fma.dataset import FeatureSplits, feature_splits, require_trainable
from fmagenre.infra.atomic import atomic_path, write_json
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import Params, as_dict
from fmagenre.models.evaluation import (
    macro_f1,
    model_report,
    predictions_table,
    write_model_outputs,
)
from fmagenre.models.files import model_bytes, save_pipeline
from fmagenre.models.reduction import check_reduction, kept_features, reduction_steps

log = logging.getLogger(__name__)

MODELS = ("rf", "svm", "gbdt")
EMBEDDING_MODELS = ("musicnn",)  # on data/embeddings.parquet instead of the FMA features


def candidates(name: str, params: Params) -> list[dict[str, Any]]:
    """Every combination of the search space of model ``name``, in a fixed order."""
    space = as_dict(getattr(params, name))
    fixed = {key: value for key, value in space.items() if not isinstance(value, list)}
    searched = {key: value for key, value in space.items() if isinstance(value, list)}
    return [
        {**fixed, **dict(zip(searched, combo, strict=True))}
        for combo in itertools.product(*searched.values())
    ]


def make_estimator(name: str, hyper: dict[str, Any], params: Params) -> Any:
    seed, threads = params.train.seed, params.compute.worker_count
    if name == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=hyper["n_estimators"],
            max_features=hyper["max_features"],
            max_depth=hyper["max_depth"],
            min_samples_leaf=hyper["min_samples_leaf"],
            random_state=seed,
            n_jobs=threads,
        )
    if name == "svm":
        from sklearn.svm import SVC

        svc = SVC(kernel="rbf", C=hyper["C"], gamma=hyper["gamma"])
        return PlattSVC(svc, method="sigmoid", ensemble=False)
    if name == "musicnn":
        if hyper["classifier"] == "svm":
            return make_estimator("svm", {"C": hyper["C"], "gamma": "scale"}, params)
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=hyper["C"], max_iter=hyper["max_iter"], random_state=seed)
    if name == "gbdt":
        from catboost import CatBoostClassifier

        return CatBoostClassifier(
            iterations=hyper["iterations"],
            learning_rate=hyper["learning_rate"],
            depth=hyper["depth"],
            l2_leaf_reg=hyper["l2_leaf_reg"],
            border_count=hyper["border_count"],
            loss_function="MultiClass",
            random_seed=seed,
            thread_count=threads,
            verbose=0,
            allow_writing_files=False,
        )
    raise ValueError(f"unknown model {name!r}")


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
    embeddings (complete, already compact) are only standardised."""
    if name in EMBEDDING_MODELS:
        return [("scale", StandardScaler())]
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


@dataclass
class SearchResult:
    pipeline: Pipeline
    hyper: dict[str, Any]
    fit_seconds: float
    search_seconds: float
    trials: list[dict[str, Any]] = field(default_factory=list)


def fit_candidate(
    name: str, hyper: dict[str, Any], data: FeatureSplits, params: Params
) -> Pipeline:
    """Fit preprocessing and estimator on the training split (CatBoost watches validation to stop)."""
    X_train, y_train = data.X["training"], data.y("training")
    check_reduction(params.preprocess, *X_train.shape)
    steps = preprocessing(name, params, X_train.shape[1])
    prepared = Pipeline(steps).fit(X_train, y_train) if steps else None
    transform = prepared.transform if prepared is not None else (lambda X: X)
    estimator = make_estimator(name, hyper, params)
    if name == "svm" or hyper.get("classifier") == "svm":
        # Platt scaling needs every class in every fold: fewer folds on tiny data
        smallest = int(np.bincount(y_train).min()) if len(y_train) else 0
        if smallest < 2:
            raise UserError(
                "svm: every genre needs at least 2 training tracks to calibrate probabilities"
            )
        estimator.set_params(cv=min(5, smallest))
    if name == "gbdt":
        estimator.fit(
            transform(X_train),
            y_train,
            eval_set=(transform(data.X["validation"]), data.y("validation")),
            early_stopping_rounds=hyper["early_stopping_rounds"],
            use_best_model=True,
        )
    else:
        estimator.fit(transform(X_train), y_train)
    return Pipeline([*(prepared.steps if prepared is not None else []), ("model", estimator)])


def search(name: str, data: FeatureSplits, params: Params) -> SearchResult:
    """Fit every candidate on training, keep the best validation macro-F1 (first wins ties)."""
    began = time.perf_counter()
    best: SearchResult | None = None
    best_score = -1.0
    trials = []
    for hyper in candidates(name, params):
        started = time.perf_counter()
        pipeline = fit_candidate(name, hyper, data, params)
        seconds = time.perf_counter() - started
        # scored exactly as the report scores it: the model's own labels
        score = macro_f1(data.y("validation"), predict_labels(pipeline, data.X["validation"]))
        trial = {
            "hyperparameters": hyper,
            "validation_macro_f1": round(score, 5),
            "fit_seconds": round(seconds, 2),
        }
        if name == "gbdt":
            trial["best_iteration"] = int(pipeline.named_steps["model"].get_best_iteration() or 0)
        trials.append(trial)
        log.info("%s %s: validation macro-F1 %.4f (%.1f s)", name, hyper, score, seconds)
        if score > best_score:
            best_score, best = score, SearchResult(pipeline, hyper, seconds, 0.0)
    assert best is not None
    best.search_seconds = time.perf_counter() - began
    best.trials = trials
    return best


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


def train_and_evaluate(
    name: str,
    features: pd.DataFrame,
    tracks: pd.DataFrame,
    manifest: pd.DataFrame | None,
    params: Params,
    *,
    model_dir: Path,
    metrics_dir: Path,
    details_dir: Path | None = None,
    bundled: dict[str, Path] | None = None,
) -> dict[str, Any]:
    """Search, fit, save the model and write its metrics, test predictions and details;
    return the report.

    ``bundled``: files the model needs at prediction time (musicnn's network), copied into
    ``model_dir`` under the given names and counted in the model's size.
    """
    data = feature_splits(features, tracks, manifest)
    require_trainable(name, data.labelled)
    result = search(name, data, params)
    n_classes = len(data.classes)
    validation = predict_proba(result.pipeline, data.X["validation"], n_classes)
    validation_labels = predict_labels(result.pipeline, data.X["validation"])
    began = time.perf_counter()
    test = predict_proba(result.pipeline, data.X["test"], n_classes)
    test_labels = predict_labels(result.pipeline, data.X["test"])
    predict_ms = 1000 * (time.perf_counter() - began) / max(1, len(data.X["test"]))

    model_dir = Path(model_dir)
    reduced = {} if name in EMBEDDING_MODELS else {"preprocess": as_dict(params.preprocess)}
    used = {
        "model": name,
        "params": {
            name: as_dict(getattr(params, name)),
            "train": as_dict(params.train),
            **reduced,
        },
        "chosen": result.hyper,
        "search": result.trials,
        "features_used": kept_features(result.pipeline, data.columns),
        # what predict must apply to a new file to get this model's input
        "input": {
            "audio": as_dict(params.audio),
            "min_seconds": params.decode.min_seconds,
            **(
                {"embedding": "musicnn"}
                if name in EMBEDDING_MODELS
                else {
                    "features_source": params.features.source,
                    "features_sample_rate": params.features.defined_at,
                }
            ),
        },
        "data": {"subset": params.data.subset},  # predict says when its genres are synthetic
    }
    with atomic_path(model_dir) as staged:  # the folder changes as a whole (see model_files)
        staged.mkdir()
        save_pipeline(result.pipeline, staged)
        write_json(staged / "classes.json", data.classes)
        write_json(staged / "params.json", json.loads(json.dumps(used, default=str)))
        for file_name, source in (bundled or {}).items():
            shutil.copy2(source, staged / file_name)
    report = model_report(
        name,
        data.classes,
        (data.y("validation"), validation, validation_labels),
        (data.y("test"), test, test_labels),
        train_seconds=result.fit_seconds,
        predict_ms_per_track=predict_ms,
        model_bytes=model_bytes(model_dir),
        counts=data.labelled.counts,
        details={
            "chosen": result.hyper,
            "search_seconds": round(result.search_seconds, 2),
            "candidates": len(result.trials),
        },
    )
    write_model_outputs(
        metrics_dir,
        name,
        report,
        predictions_table(
            data.track_ids("test"), data.y("test"), test, data.classes, predicted=test_labels
        ),
        details_dir,
    )
    log.info(
        "%s: validation macro-F1 %.3f, test accuracy %.3f, macro-F1 %.3f (%d candidates, %.1f s)",
        name,
        report["validation"]["macro_f1"],
        report["test"]["accuracy"] or 0,
        report["test"]["macro_f1"] or 0,
        len(result.trials),
        result.search_seconds,
    )
    return report
