"""Model files that run no code when they are read, and that are read as one version.

A model folder can come from anyone (``predict --models-dir``, a colleague's ``dvc pull``),
and unpickling a file runs whatever code it names. So nothing here unpickles:

- scikit-learn pipelines are saved with skops and loaded with an explicit allow-list of
  the types this pipeline's training produces (TRUSTED_TYPES); a file naming any other
  type is refused before anything in it is built;
- CatBoost, the last step of the gbdt pipeline, is saved in CatBoost's own model format
  (``model.cbm``, plain data), the steps before it with skops;
- Keras models are loaded with ``safe_mode=True`` (no Lambda layers or arbitrary functions).

A model folder is published whole (fmagenre.infra.atomic.atomic_path on the folder) and read
through one open handle of the folder, so a predict that runs while the model is retrained
reads either the old or the new version, never a mix; when the folder changes under it, the
read is retried. A missing, damaged or inconsistent file ends in one line that names it and
the stage that rewrites it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from fmagenre.infra.errors import UserError

PIPELINE_FILE = "model.skops"
CATBOOST_FILE = "model.cbm"
KERAS_FILE = "model.keras"
LEGACY_PICKLE = "model.joblib"

# Every type a fitted pipeline of fmagenre.models.classic holds that skops does not trust by itself
# (it trusts plain containers, numbers, arrays and scikit-learn's estimators).
TRUSTED_TYPES = [
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.feature_selection._mutual_info.mutual_info_classif",
    "functools.partial",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",  # the mlp head's solver state
    "fmagenre.models.reduction.RedundancyFilter",
    "fmagenre.models.classic.PlattSVC",
    "fmagenre.models.classic.MLPHead",
    "fmagenre.models.pooling.PatchPooled",
]

T = TypeVar("T")
RETRIES = 6  # reads that overlapped a publication; each waits longer (0.1 s, 0.2 s ... 3.2 s)
RETRY_SECONDS = 0.1


class ModelFileError(UserError):
    """A model file is missing, damaged or not what this pipeline wrote."""


# --------------------------------------------------------------------------------------
# Saving
# --------------------------------------------------------------------------------------


def save_pipeline(pipeline: Any, folder: Path) -> None:
    """Save a fitted scikit-learn Pipeline into ``folder`` (skops, plus CatBoost's format)."""
    import skops.io

    steps = list(pipeline.steps)
    if type(steps[-1][1]).__module__.startswith("catboost"):
        steps[-1][1].save_model(str(folder / CATBOOST_FILE), format="cbm")
        steps = steps[:-1]
    skops.io.dump(steps, folder / PIPELINE_FILE, compression=zipfile.ZIP_DEFLATED)


def model_bytes(folder: Path) -> int:
    """Size of the model's own files (what a deployment would ship), bundled networks included,
    the JSON bookkeeping (classes, params, search trials) not."""
    return sum(
        f.stat().st_size for f in Path(folder).iterdir() if f.is_file() and f.suffix != ".json"
    )


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------


class FolderSnapshot:
    """The files of one model folder, read through one handle of the folder.

    The handle stays on the folder that was there when it was opened: a retraining that
    publishes a new folder meanwhile does not mix into what is read.
    """

    def __init__(self, folder: Path, stage: str, *, within: FolderSnapshot | None = None):
        self.folder = Path(folder)
        self.retrain = f"retrain it with `dvc repro -f {stage}`"
        try:
            if within is None:
                self._fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
            else:  # relative to the outer handle: the same version of the outer folder
                self._fd = os.open(
                    self.folder.name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=within._fd
                )
        except (FileNotFoundError, NotADirectoryError):
            raise ModelFileError(
                f"no trained {self.folder.name} model in {self.folder}: run `dvc repro {stage}` first"
            ) from None
        self._stage = stage

    def close(self) -> None:
        os.close(self._fd)

    @contextlib.contextmanager
    def subfolder(self, name: str) -> Iterator[FolderSnapshot]:
        """A folder inside this one (an ensemble's member), read through this handle."""
        opened: list[FolderSnapshot] = []
        try:
            for part in Path(name).parts:  # one level at a time, each from the handle above
                outer = opened[-1] if opened else self
                opened.append(FolderSnapshot(outer.folder / part, self._stage, within=outer))
            yield opened[-1]
        finally:
            for snapshot in opened:
                snapshot.close()

    def exists(self, name: str) -> bool:
        try:
            os.stat(name, dir_fd=self._fd)
            return True
        except FileNotFoundError:
            return False

    def read(self, name: str) -> bytes:
        try:
            fd = os.open(name, os.O_RDONLY, dir_fd=self._fd)
        except FileNotFoundError:
            raise ModelFileError(f"{self.folder / name} is missing: {self.retrain}") from None
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    def json(self, name: str) -> Any:
        data = self.read(name)
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self.damaged(name, f"not valid JSON: {exc}") from None

    def damaged(self, name: str, why: str) -> ModelFileError:
        text = why.replace("\n", " ")[:200]
        return ModelFileError(f"{self.folder / name} is damaged ({text}): {self.retrain}")


def read_consistently(folder: Path, stage: str, build: Callable[[FolderSnapshot], T]) -> T:
    """``build`` from one snapshot of ``folder``; retried when the folder changes meanwhile
    (a retraining publishing a new version), reported in one line when it really is bad."""
    for attempt in range(RETRIES):
        before = _identity(folder)
        try:
            with _snapshot(folder, stage) as snapshot:
                return build(snapshot)
        except ModelFileError:
            if attempt == RETRIES - 1 or _identity(folder) == before:
                raise  # the folder did not change meanwhile: the fault is real
        time.sleep(RETRY_SECONDS * 2**attempt)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _snapshot(folder: Path, stage: str) -> Iterator[FolderSnapshot]:
    snapshot = FolderSnapshot(folder, stage)
    try:
        yield snapshot
    finally:
        snapshot.close()


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(folder)
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def load_pipeline(snapshot: FolderSnapshot) -> Any:
    """The scikit-learn Pipeline saved by save_pipeline, built only from trusted types."""
    import skops.io
    from sklearn.pipeline import Pipeline

    if not snapshot.exists(PIPELINE_FILE) and snapshot.exists(LEGACY_PICKLE):
        raise ModelFileError(
            f"{snapshot.folder / LEGACY_PICKLE} is a pickle from an older version, which predict "
            f"no longer loads (unpickling can run code from the file): {snapshot.retrain}"
        )
    data = snapshot.read(PIPELINE_FILE)
    try:
        untrusted = skops.io.get_untrusted_types(data=data)
    except Exception as exc:  # skops raises many kinds on a truncated or foreign file
        raise snapshot.damaged(PIPELINE_FILE, f"{type(exc).__name__}: {exc}") from None
    foreign = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if foreign:
        raise ModelFileError(
            f"{snapshot.folder / PIPELINE_FILE} holds types this pipeline never saves "
            f"({', '.join(foreign[:5])}); it was not loaded, since building them could run code. "
            f"Only use model folders this pipeline trained: {snapshot.retrain}"
        )
    try:
        steps = skops.io.loads(data, trusted=TRUSTED_TYPES)
        if snapshot.exists(CATBOOST_FILE):
            steps = [*steps, ("model", _load_catboost(snapshot.read(CATBOOST_FILE)))]
        return Pipeline(list(steps))
    except ModelFileError:
        raise
    except Exception as exc:
        name = CATBOOST_FILE if "catboost" in type(exc).__module__.lower() else PIPELINE_FILE
        raise snapshot.damaged(name, f"{type(exc).__name__}: {exc}") from None


def _load_catboost(blob: bytes) -> Any:
    from catboost import CatBoostClassifier

    return CatBoostClassifier().load_model(blob=blob)


def load_keras(snapshot: FolderSnapshot) -> Any:
    """The Keras model, loaded in safe mode from a private copy of the snapshot's bytes."""
    from fmagenre.infra.native_stderr import import_keras

    data = snapshot.read(KERAS_FILE)
    keras = import_keras()
    with tempfile.TemporaryDirectory(prefix="fmagenre-model-") as tmp:
        copy = Path(tmp) / KERAS_FILE
        copy.write_bytes(data)
        if not zipfile.is_zipfile(copy):
            raise snapshot.damaged(
                KERAS_FILE, "not a Keras archive; the file is truncated or foreign"
            )
        try:
            return keras.models.load_model(copy, compile=False, safe_mode=True)
        except Exception as exc:  # Keras raises ValueError, KeyError, OSError ... on bad files
            raise snapshot.damaged(KERAS_FILE, f"{type(exc).__name__}: {exc}") from None
