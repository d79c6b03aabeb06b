"""Model files: no code runs from them, damage is one line, and a retraining never shows half.

The models are real (a scikit-learn pipeline with the project's own transformer, CatBoost,
a Keras model); the damage is real bytes cut or replaced, and the retraining is a real
second process publishing new versions while this one loads.
"""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from catboost import CatBoostClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from fmagenre.cli import main
from fmagenre.infra.errors import UserError
from fmagenre.models.files import (
    ModelFileError,
    load_keras,
    read_consistently,
    save_pipeline,
)
from fmagenre.models.loading import load_model
from fmagenre.models.reduction import RedundancyFilter

PROJECT = Path(__file__).resolve().parents[1]
CLASSES = ["Folk", "Pop", "Rock"]
INPUT = {"audio": {"sr": 22050, "duration": 3.0, "crop": "center"}, "min_seconds": 1.0}


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 518)).astype(np.float32)
    y = np.arange(60) % 3
    X[:, 0] += 3 * y
    return X, y


def write_model(root: Path, name: str, pipeline: Pipeline) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    save_pipeline(pipeline, folder)
    (folder / "classes.json").write_text(json.dumps(CLASSES))
    (folder / "params.json").write_text(json.dumps({"input": INPUT}))
    return folder


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    X, y = _data()
    rf = Pipeline(
        [
            ("impute", SimpleImputer()),
            ("filter", RedundancyFilter()),
            ("model", RandomForestClassifier(20, random_state=0)),
        ]
    ).fit(X, y)
    gbdt = Pipeline(
        [("model", CatBoostClassifier(iterations=20, verbose=0, allow_writing_files=False))]
    ).fit(X, y)
    saved = tmp_path_factory.mktemp("saved")
    write_model(saved, "rf", rf)
    write_model(saved, "gbdt", gbdt)
    (saved / "best.json").write_text(json.dumps({"model": "rf"}))
    return saved, X, rf, gbdt


@pytest.fixture
def models(fitted, tmp_path):
    """A fresh copy of the saved models for each test to damage."""
    saved, X, rf, gbdt = fitted
    shutil.copytree(saved, tmp_path / "models")
    return tmp_path / "models", X, rf, gbdt


def test_saved_pipelines_load_back_identical(models):
    root, X, rf, gbdt = models
    for name, fitted in (("rf", rf), ("gbdt", gbdt)):
        loaded = load_model(root, name)
        assert np.allclose(loaded.model.predict_proba(X), fitted.predict_proba(X))
        assert list(loaded.model.classes_) == [0, 1, 2]
    assert (root / "gbdt" / "model.cbm").exists()  # CatBoost in its own format


def test_a_crafted_model_file_runs_no_code(models, tmp_path):
    root = models[0]
    marker = tmp_path / "pwned"
    # a pipeline with a step that would call shutil.rmtree: skops would have to build a
    # function it was never told to trust
    evil = Pipeline([("run", FunctionTransformer(func=shutil.rmtree)), ("model", models[2][-1])])
    shutil.rmtree(root / "rf")
    write_model(root, "rf", evil)
    with pytest.raises(ModelFileError, match=r"holds types this pipeline never saves \(.*rmtree"):
        load_model(root, "rf")
    # an old-style pickle that would create a file when unpickled is not even opened
    shutil.rmtree(root / "svm", ignore_errors=True)
    folder = root / "svm"
    folder.mkdir()

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (folder / "model.joblib").write_bytes(pickle.dumps(Payload()))
    (folder / "classes.json").write_text(json.dumps(CLASSES))
    (folder / "params.json").write_text(json.dumps({"input": INPUT}))
    with pytest.raises(ModelFileError, match=r"model.joblib is a pickle .*dvc repro -f train_svm"):
        load_model(root, "svm")
    assert not marker.exists()


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            lambda f: (f / "model.skops").write_bytes((f / "model.skops").read_bytes()[:2000]),
            "model.skops is damaged",
        ),
        (lambda f: (f / "model.skops").unlink(), "model.skops is missing"),
        (lambda f: (f / "classes.json").unlink(), "classes.json is missing"),
        (
            lambda f: (f / "classes.json").write_text('["Rock"]'),
            "classes.json is damaged .*1 genres for a model with 3 outputs",
        ),
        (
            lambda f: (f / "classes.json").write_text("{"),
            "classes.json is damaged .*not valid JSON",
        ),
        (lambda f: (f / "params.json").write_text("{}"), "params.json is damaged .*input settings"),
    ],
)
def test_damaged_files_are_one_line_naming_the_file(models, damage, expected, capsys):
    root = models[0]
    damage(root / "rf")
    with pytest.raises(ModelFileError, match=expected):
        load_model(root, "rf")
    # the command says it in one line, before decoding anything
    assert main(["predict", "nothing.mp3", "--models-dir", str(root), "--model", "rf"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "dvc repro -f train_rf" in err[0]


def test_a_damaged_catboost_file_and_best_json(models):
    root = models[0]
    cbm = root / "gbdt" / "model.cbm"
    cbm.write_bytes(cbm.read_bytes()[:500])
    with pytest.raises(ModelFileError, match="model.cbm is damaged"):
        load_model(root, "gbdt")
    (root / "best.json").write_text("{bad")
    with pytest.raises(UserError, match=r"best.json is damaged .*dvc repro -f compare"):
        load_model(root, "best")


@pytest.mark.slow
def test_a_truncated_keras_model_is_damaged_not_missing(tmp_path):
    from fmagenre.infra.native_stderr import import_keras

    keras = import_keras()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    folder = tmp_path / "crnn"
    folder.mkdir()
    model.save(folder / "model.keras")
    data = (folder / "model.keras").read_bytes()
    build = load_keras
    assert read_consistently(folder, "train_crnn", build).output_shape == (None, 3)
    (folder / "model.keras").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"model.keras is damaged .*dvc repro -f train_crnn"):
        read_consistently(folder, "train_crnn", build)


RETRAIN = """
    import json, sys
    from pathlib import Path
    import numpy as np
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from fmagenre.infra.atomic import atomic_path
    from fmagenre.models.files import save_pipeline
    root = Path(sys.argv[1])
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(60, 518)), np.arange(60) % 3
    print("ready", flush=True)
    for version in range(int(sys.argv[2])):
        classes = ["Folk", "Pop", "Rock"][: 2 + version % 2]  # versions disagree on purpose
        pipeline = Pipeline([("model", RandomForestClassifier(5, random_state=version))])
        pipeline.fit(X[y < len(classes)], y[y < len(classes)])
        with atomic_path(root / "rf") as staged:
            staged.mkdir()
            save_pipeline(pipeline, staged)
            (staged / "classes.json").write_text(json.dumps(classes))
            (staged / "params.json").write_text(json.dumps({{"input": {input}}}))
"""


@pytest.mark.slow
def test_predict_while_the_model_is_retrained_reads_one_version(models):
    root = models[0]
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(RETRAIN.format(input=INPUT)), str(root), "60"],
        cwd=PROJECT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "ready"
    loads = 0
    while writer.poll() is None:
        loaded = load_model(root, "rf")  # never a mix: the class count matches the model
        assert int(np.max(loaded.model.classes_)) + 1 <= len(loaded.classes)
        loads += 1
    assert writer.returncode == 0 and loads > 10
