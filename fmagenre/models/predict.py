"""Classify your own audio files with a model the pipeline trained.

A prediction must apply exactly what training applied, so it uses the pipeline's own code
with the settings saved beside the model: the decode stage's per-track function (same
sample rate, duration, crop and int16 storage; or, for features at the native rate, the
file at its own rate as the features stage reads it), then the feature or log-mel code.
Files go through the map over tracks (all cores, a progress bar, one file's failure
recorded, not fatal) a batch at a time, and the model predicts each batch in this process
as it finishes, so memory does not grow with the number of files.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from fmagenre.audio.decoding import from_int16, to_int16
from fmagenre.infra.errors import UserError
from fmagenre.infra.executors import open_executor
from fmagenre.infra.params import ComputeParams, DecodeParams
from fmagenre.infra.trackmap import RowSpec, TrackOutput, map_tracks
from fmagenre.models.files import FolderSnapshot, load_keras, load_pipeline, read_consistently
from fmagenre.pipeline.decode import DecodeItem, DecodeSettings, decode_clip

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg")
MODEL_NAMES = ("rf", "svm", "gbdt", "crnn", "musicnn")
TRAINING_STAGE = {
    "rf": "train@rf",
    "svm": "train@svm",
    "gbdt": "train@gbdt",
    "crnn": "train_crnn",
    "musicnn": "train_musicnn",
}
CHUNK_FILES = 4  # files per task
BATCH_CHUNKS = 16  # chunks per worker in one batch; memory holds two batches at once
SYNTHETIC_NOTE = (
    "this model was trained on the synthetic demo dataset: its genres are made-up recipes, not "
    "real music genres. For real music, `python -m fmagenre tag FILE` gives pretrained musicnn's "
    "tags, or train on the real FMA (data.subset: small)"
)


@dataclass(frozen=True)
class InputRecipe:
    """How to turn an audio file into the model's input, as saved at training time."""

    kind: str  # "features", "log_mel", "musicnn" (its embedding row) or "tags" (musicnn's tags)
    audio: DecodeSettings
    spectrogram: dict[str, Any] | None = None
    # a file with less real audio than this is not classified: training left such tracks out
    min_seconds: float = DecodeParams().min_seconds
    # features only: "native" (FMA's definition, the file at its own rate) or "decoded"
    # (the decode stage's audio at audio.sr): what the model's features were computed from
    features_rate: str = "decoded"
    min_seconds_source: str = "decode.min_seconds"  # named when a file is too short
    network: str | None = None  # the musicnn network (.keras) of kinds musicnn and tags


@dataclass
class LoadedModel:
    name: str
    classes: list[str]
    recipe: InputRecipe
    model: Any
    crop_frames: int | None = None
    notes: list[str] = field(default_factory=list)

    def probabilities(self, rows: np.ndarray, batch_size: int = 64) -> np.ndarray:
        if self.recipe.kind == "tags":  # the rows hold musicnn's tag probabilities already
            from fmagenre.models.musicnn.embedding import TAGS

            return rows[:, TAGS].astype(np.float64)
        if self.recipe.kind in ("features", "musicnn"):
            from fmagenre.models.classic import predict_proba

            return predict_proba(self.model, rows, len(self.classes))
        from fmagenre.models.crnn.batches import clip_probabilities

        return clip_probabilities(
            self.model, iter(rows), len(rows), self.crop_frames, batch_size
        ).astype(np.float64)

    def labels(self, rows: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """The model's own decision per row (the SVM's is its SVC's, not the most probable
        genre under its calibrated probabilities), as the metrics report scores it."""
        if self.recipe.kind == "features":
            from fmagenre.models.classic import predict_labels

            return predict_labels(self.model, rows)
        return probabilities.argmax(axis=1)


def resolve_model_name(models_dir: Path, which: str) -> str:
    if which != "best":
        return which
    best = Path(models_dir) / "best.json"
    if not best.exists():
        raise UserError(
            f"{best} not found: no model has been chosen yet; run the pipeline (`dvc repro` or `make demo`), "
            "or name a model with --model rf|svm|gbdt|crnn|musicnn"
        )
    try:
        return str(json.loads(best.read_text(encoding="utf-8"))["model"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise UserError(
            f"{best} is damaged ({type(exc).__name__}): rerun `dvc repro -f compare`, or name a "
            "model with --model rf|svm|gbdt|crnn|musicnn"
        ) from None


def load_model(models_dir: Path, which: str = "best") -> LoadedModel:
    """The trained model ``which`` (or the one compare chose), with its input recipe.

    Read as one version of its folder (see fmagenre.models.files), without running code from
    the files; a missing or damaged file is one line naming it.
    """
    name = resolve_model_name(models_dir, which)
    if name not in MODEL_NAMES:
        raise UserError(f"unknown model {name!r} (allowed: best, {', '.join(MODEL_NAMES)})")
    return read_consistently(
        Path(models_dir) / name, TRAINING_STAGE[name], functools.partial(_build_model, name)
    )


def _build_model(name: str, snapshot: FolderSnapshot) -> LoadedModel:
    used = snapshot.json("params.json")
    try:
        saved = used["input"]
        audio = saved["audio"]
        settings = DecodeSettings(int(audio["sr"]), float(audio["duration"]), str(audio["crop"]))
        min_seconds = float(saved.get("min_seconds", DecodeParams().min_seconds))
        crop_frames = int(used["crop_frames"]) if name == "crnn" else None
        spectrogram = dict(saved["spectrogram"]) if name == "crnn" else None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise snapshot.damaged(
            "params.json",
            f"the model's input settings are missing or wrong: {type(exc).__name__} {exc}",
        ) from None
    classes = snapshot.json("classes.json")
    if not (
        isinstance(classes, list)
        and classes
        and all(isinstance(genre, str) for genre in classes)
        and len(set(classes)) == len(classes)
    ):
        raise snapshot.damaged("classes.json", "not a list of distinct genre names")
    data = used.get("data")
    notes = [SYNTHETIC_NOTE] if isinstance(data, dict) and data.get("subset") == "synthetic" else []
    if name == "crnn":
        model = load_keras(snapshot)
        outputs = int(model.output_shape[-1])
        loaded = LoadedModel(
            name,
            classes,
            InputRecipe("log_mel", settings, spectrogram, min_seconds),
            model,
            crop_frames=crop_frames,
            notes=notes,
        )
    else:
        model = load_pipeline(snapshot)
        outputs = int(np.max(model.classes_)) + 1  # a model may not have seen every class
        if name == "musicnn":
            recipe = InputRecipe(
                "musicnn", settings, min_seconds=min_seconds, network=str(bundled_network(snapshot))
            )
        else:
            recipe = InputRecipe(
                "features", settings, min_seconds=min_seconds, features_rate=saved_rate(saved)
            )
        loaded = LoadedModel(name, classes, recipe, model, notes=notes)
    if (outputs != len(classes)) if name == "crnn" else (outputs > len(classes)):
        raise snapshot.damaged(
            "classes.json", f"{len(classes)} genres for a model with {outputs} outputs"
        )
    return loaded


def bundled_network(snapshot: FolderSnapshot) -> Path:
    """The musicnn network a musicnn model carries (the workers load it by path, in Keras'
    safe mode), checked here to be a whole Keras archive so a damaged one is one line."""
    import io
    import zipfile

    from fmagenre.models.musicnn import NETWORK_FILE

    if not zipfile.is_zipfile(io.BytesIO(snapshot.read(NETWORK_FILE))):
        raise snapshot.damaged(
            NETWORK_FILE, "not a Keras archive; the file is truncated or foreign"
        )
    return snapshot.folder / NETWORK_FILE


def saved_rate(saved_input: dict[str, Any]) -> str:
    """The rate a feature model's features were computed at. Models saved before it was
    recorded were trained either on FMA's features.csv (native rate) or on the decoded audio."""
    if "features_sample_rate" in saved_input:
        return str(saved_input["features_sample_rate"])
    return "native" if saved_input.get("features_source") == "official" else "decoded"


def find_audio_files(paths: list[str]) -> list[Path]:
    """The audio files named, and those inside the folders named (recursively, sorted)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
            )
            if not found:
                log.warning("%s holds no %s file", path, "/".join(AUDIO_EXTENSIONS))
            files.extend(found)
        else:
            files.append(path)  # a missing or unreadable file gets its own error line later
    return files


def prepare_input(path: str, recipe: InputRecipe) -> TrackOutput:
    """Decode one file as the decode stage does (or as the features stage does, for features
    at the native rate), then compute the model's input row."""
    native = recipe.kind == "features" and recipe.features_rate == "native"
    decoded, clip = decode_clip(DecodeItem(0, path), recipe.audio, native=native)
    record = {"status": decoded["status"], "seconds": decoded["seconds"], "error": decoded["error"]}
    if clip is None or record["status"] == "silent":
        return TrackOutput(
            {**record, "error": record["error"] or "the file holds no audible audio"}, None
        )
    if record["seconds"] < recipe.min_seconds:
        # the decode stage marks such a track unusable, so no model ever learnt from one
        return TrackOutput(
            {
                **record,
                "status": "too_short",
                "error": f"only {record['seconds']:.1f} s of audio; the model needs at least "
                f"{recipe.min_seconds:g} s ({recipe.min_seconds_source})",
            },
            None,
        )
    if native:
        samples, sr = clip.samples, clip.source_sr
    else:
        # as the decode stage stores it: the model learnt from int16 audio at audio.sr
        samples, sr = from_int16(to_int16(clip.samples, recipe.audio.length)), recipe.audio.sr
    if recipe.kind in ("musicnn", "tags"):
        from fmagenre.models.musicnn.embedding import clip_row

        return TrackOutput(record, clip_row(samples, sr, record["seconds"], recipe.network))
    if recipe.kind == "features":
        from fmagenre.pipeline.features import checked_features

        return TrackOutput(record, checked_features(samples, sr))
    from fmagenre.audio.melspec import LogMelSettings, log_mel

    return TrackOutput(
        record, log_mel(samples, LogMelSettings(**recipe.spectrogram)).astype(np.float16)
    )


def row_spec(recipe: InputRecipe) -> RowSpec:
    if recipe.kind in ("musicnn", "tags"):
        from fmagenre.models.musicnn.embedding import COLUMNS

        return RowSpec((len(COLUMNS),), "float32")
    if recipe.kind == "features":
        from fmagenre.features.compute import feature_columns

        return RowSpec((len(feature_columns()),), "float32")
    frames = 1 + recipe.audio.length // int(recipe.spectrogram["hop_length"])
    return RowSpec((frames, int(recipe.spectrogram["n_mels"])), "float16")


@dataclass
class Prediction:
    path: str
    status: str
    probabilities: dict[str, float] | None
    error: str = ""
    note: str = ""
    genre: str = ""  # the model's decision; empty: the most probable genre

    def top(self, k: int) -> list[tuple[str, float]]:
        """The model's decision first, then the other genres by probability."""
        ranked = sorted(
            (self.probabilities or {}).items(), key=lambda item: (item[0] != self.genre, -item[1])
        )
        return ranked[:k]


def usable(record: dict[str, Any]) -> bool:
    """Whether a file's input row was computed (a short file is still classified)."""
    return record.get("status") in ("ok", "short")


def input_batches(
    files: list[Path],
    recipe: InputRecipe,
    *,
    workers: int = 0,
    progress: bool = True,
    desc: str = "predict",
) -> Iterator[tuple[list[Path], list[dict[str, Any]], np.ndarray]]:
    """Each batch of files with its records and input rows (zeros where a file failed).

    Files go to the workers a batch at a time (BATCH_CHUNKS chunks per worker) on one pool,
    so memory holds one batch of inputs, never the inputs of every file: 10,000 files of 30 s
    need what 100 do. Batches come in file order.
    """
    spec = row_spec(recipe)
    compute = ComputeParams(workers=workers, chunk_size=CHUNK_FILES)
    batch_size = BATCH_CHUNKS * CHUNK_FILES * compute.worker_count
    track_fn = functools.partial(prepare_input, recipe=recipe)
    bar = tqdm(total=len(files), unit="file", desc=desc, disable=not progress, smoothing=0.1)
    executor = open_executor(compute)  # one pool for every batch
    try:
        for start in range(0, len(files), batch_size):
            batch = files[start : start + batch_size]
            rows = np.zeros((len(batch), *spec.shape), dtype=spec.dtype)

            def keep(first: int, block: np.ndarray, rows: np.ndarray = rows) -> None:
                rows[first : first + len(block)] = block
                bar.update(len(block))

            records = map_tracks(  # no journal: nothing of a predict run is resumed
                track_fn,
                [str(path) for path in batch],
                compute=compute,
                on_rows=keep,
                row_spec=spec,
                progress=False,
                executor=executor,
            )
            yield batch, records, rows
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        bar.close()


def predict_files(
    files: list[Path],
    loaded: LoadedModel,
    *,
    workers: int = 0,
    progress: bool = True,
    desc: str = "predict",
) -> list[Prediction]:
    """Predict every file; a file that fails has an error and no probabilities."""
    return list(predict_stream(files, loaded, workers=workers, progress=progress, desc=desc))


def predict_stream(
    files: list[Path],
    loaded: LoadedModel,
    *,
    workers: int = 0,
    progress: bool = True,
    desc: str = "predict",
) -> Iterator[Prediction]:
    """Predict every file, yielding results in file order as each batch finishes."""
    # the model classifies a batch in a thread while the workers prepare the next one
    model_thread = cf.ThreadPoolExecutor(1, thread_name_prefix="fmagenre-predict")
    previous: tuple[list[Path], list[dict[str, Any]], cf.Future] | None = None
    try:
        for batch, records, rows in input_batches(
            files, loaded.recipe, workers=workers, progress=progress, desc=desc
        ):
            if previous is not None:
                yield from _predictions(*previous, loaded)
            previous = (batch, records, model_thread.submit(_classify, records, rows, loaded))
        if previous is not None:
            yield from _predictions(*previous, loaded)
    finally:
        model_thread.shutdown(wait=True, cancel_futures=True)


def _classify(
    records: list[dict[str, Any]], rows: np.ndarray, loaded: LoadedModel
) -> dict[int, tuple[np.ndarray, int]]:
    """Probabilities and the model's decision for the files that could be read, by position."""
    ok = [i for i, record in enumerate(records) if usable(record)]
    if not ok:
        return {}
    probabilities = loaded.probabilities(rows[ok])
    labels = loaded.labels(rows[ok], probabilities)
    return dict(zip(ok, zip(probabilities, labels, strict=True), strict=True))


def _predictions(
    files: list[Path], records: list[dict[str, Any]], classified: cf.Future, loaded: LoadedModel
) -> Iterator[Prediction]:
    by_position = classified.result()
    for i, (path, record) in enumerate(zip(files, records, strict=True)):
        shown = display_path(path)
        if i in by_position:
            note = f"only {record['seconds']:.1f} s of audio" if record["status"] == "short" else ""
            proba, label = by_position[i]
            yield Prediction(
                shown,
                record["status"],
                dict(zip(loaded.classes, map(float, proba), strict=True)),
                note=note,
                genre=loaded.classes[int(label)],
            )
        else:
            status = record.get("status", "error")
            yield Prediction(shown, status, None, error=record.get("error") or status)


def display_path(path: Path | str) -> str:
    """A path as text that any output can hold: bytes of a name that are not UTF-8 (Linux
    allows any) are shown as \\xNN escapes instead of failing the write."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
