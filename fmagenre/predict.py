"""Classify your own audio files with a model the pipeline trained.

A prediction must apply exactly what training applied, so it uses the pipeline's own code
with the settings saved beside the model: the decode stage's per-track function (same
sample rate, duration, crop and int16 storage; or, for features at the native rate, the
file at its own rate as the features stage reads it), then the feature or log-mel code.
Files go through the map over tracks (all cores, a progress bar, one file's failure
recorded, not fatal); the model then predicts in batches in this process.
"""

from __future__ import annotations

import functools
import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fmagenre.audio import from_int16, to_int16
from fmagenre.decode import DecodeItem, DecodeSettings, decode_clip
from fmagenre.errors import UserError
from fmagenre.params import ComputeParams, DecodeParams
from fmagenre.trackmap import Journal, RowSpec, TrackOutput, map_tracks

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg")
MODEL_NAMES = ("rf", "svm", "gbdt", "crnn")
TRAINING_STAGE = {"rf": "train_rf", "svm": "train_svm", "gbdt": "train_gbdt", "crnn": "train_crnn"}


@dataclass(frozen=True)
class InputRecipe:
    """How to turn an audio file into the model's input, as saved at training time."""

    kind: str  # "features" or "log_mel"
    audio: DecodeSettings
    spectrogram: dict[str, Any] | None = None
    # a file with less real audio than this is not classified: training left such tracks out
    min_seconds: float = DecodeParams().min_seconds
    # features only: "native" (FMA's definition, the file at its own rate) or "decoded"
    # (the decode stage's audio at audio.sr): what the model's features were computed from
    features_rate: str = "decoded"


@dataclass
class LoadedModel:
    name: str
    classes: list[str]
    recipe: InputRecipe
    model: Any
    crop_frames: int | None = None
    notes: list[str] = field(default_factory=list)

    def probabilities(self, rows: np.ndarray, batch_size: int = 64) -> np.ndarray:
        if self.recipe.kind == "features":
            from fmagenre.classic import predict_proba

            return predict_proba(self.model, rows, len(self.classes))
        from fmagenre.crnn.batches import clip_probabilities

        return clip_probabilities(
            self.model, iter(rows), len(rows), self.crop_frames, batch_size
        ).astype(np.float64)

    def labels(self, rows: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
        """The model's own decision per row (the SVM's is its SVC's, not the most probable
        genre under its calibrated probabilities), as the metrics report scores it."""
        if self.recipe.kind == "features":
            from fmagenre.classic import predict_labels

            return predict_labels(self.model, rows)
        return probabilities.argmax(axis=1)


def resolve_model_name(models_dir: Path, which: str) -> str:
    if which != "best":
        return which
    best = Path(models_dir) / "best.json"
    if not best.exists():
        raise UserError(
            f"{best} not found: no model has been chosen yet; run the pipeline (`dvc repro` or `make demo`), "
            "or name a model with --model rf|svm|gbdt|crnn"
        )
    return json.loads(best.read_text(encoding="utf-8"))["model"]


def load_model(models_dir: Path, which: str = "best") -> LoadedModel:
    """The trained model ``which`` (or the one compare chose), with its input recipe."""
    name = resolve_model_name(models_dir, which)
    if name not in MODEL_NAMES:
        raise UserError(f"unknown model {name!r} (allowed: best, {', '.join(MODEL_NAMES)})")
    folder = Path(models_dir) / name
    model_file = folder / ("model.keras" if name == "crnn" else "model.joblib")
    saved = folder / "params.json"
    if not (model_file.exists() and saved.exists()):
        raise UserError(
            f"no trained {name} model in {folder}: run `dvc repro {TRAINING_STAGE[name]}` first"
        )
    used = json.loads(saved.read_text(encoding="utf-8"))
    if "input" not in used:
        raise UserError(
            f"{saved} does not record the model's input settings: retrain it (`dvc repro -f {TRAINING_STAGE[name]}`)"
        )
    audio = used["input"]["audio"]
    settings = DecodeSettings(int(audio["sr"]), float(audio["duration"]), str(audio["crop"]))
    min_seconds = float(used["input"].get("min_seconds", DecodeParams().min_seconds))
    classes = json.loads((folder / "classes.json").read_text(encoding="utf-8"))
    notes = []
    if name == "crnn":
        from fmagenre.native_stderr import import_keras

        model = import_keras().models.load_model(model_file)
        recipe = InputRecipe("log_mel", settings, used["input"]["spectrogram"], min_seconds)
        return LoadedModel(name, classes, recipe, model, crop_frames=int(used["crop_frames"]))
    import joblib

    return LoadedModel(
        name,
        classes,
        InputRecipe(
            "features", settings, min_seconds=min_seconds, features_rate=saved_rate(used["input"])
        ),
        joblib.load(model_file),
        notes=notes,
    )


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
                f"{recipe.min_seconds:g} s (decode.min_seconds)",
            },
            None,
        )
    if native:
        samples, sr = clip.samples, clip.source_sr
    else:
        # as the decode stage stores it: the model learnt from int16 audio at audio.sr
        samples, sr = from_int16(to_int16(clip.samples, recipe.audio.length)), recipe.audio.sr
    if recipe.kind == "features":
        from fmagenre.feature_table import checked_features

        return TrackOutput(record, checked_features(samples, sr))
    from fmagenre.spectrograms import LogMelSettings, log_mel

    return TrackOutput(
        record, log_mel(samples, LogMelSettings(**recipe.spectrogram)).astype(np.float16)
    )


def row_spec(recipe: InputRecipe) -> RowSpec:
    if recipe.kind == "features":
        from fmagenre.features import feature_columns

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


def input_rows(
    files: list[Path], recipe: InputRecipe, *, workers: int = 0, progress: bool = True, desc: str
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Every file's input row (zeros where it failed) and record, on the pipeline's worker pool."""
    spec = row_spec(recipe)
    rows = np.zeros((len(files), *spec.shape), dtype=spec.dtype)

    def keep(start: int, block: np.ndarray) -> None:
        rows[start : start + len(block)] = block

    compute = ComputeParams(workers=workers, chunk_size=4)
    with tempfile.TemporaryDirectory(prefix="fmagenre-predict-") as tmp:
        journal = Journal.open(Path(tmp), {"predict": True})
        records = map_tracks(
            functools.partial(prepare_input, recipe=recipe),
            [str(path) for path in files],
            compute=compute,
            journal=journal,
            on_rows=keep,
            row_spec=spec,
            desc=desc,
            progress=progress,
        )
    return rows, records


def usable(record: dict[str, Any]) -> bool:
    return record.get("status") in ("ok", "short")


def predict_files(
    files: list[Path], loaded: LoadedModel, *, workers: int = 0, progress: bool = True
) -> list[Prediction]:
    """Predict every file; a file that fails has an error and no probabilities."""
    rows, records = input_rows(
        files, loaded.recipe, workers=workers, progress=progress, desc="predict"
    )
    ok = [i for i, record in enumerate(records) if usable(record)]
    probabilities = loaded.probabilities(rows[ok]) if ok else np.zeros((0, len(loaded.classes)))
    labels = loaded.labels(rows[ok], probabilities) if ok else np.zeros(0, dtype=np.int64)
    by_position = dict(zip(ok, zip(probabilities, labels, strict=True), strict=True))
    predictions = []
    for i, (path, record) in enumerate(zip(files, records, strict=True)):
        if i in by_position:
            note = f"only {record['seconds']:.1f} s of audio" if record["status"] == "short" else ""
            proba, label = by_position[i]
            predictions.append(
                Prediction(
                    str(path),
                    record["status"],
                    dict(zip(loaded.classes, map(float, proba), strict=True)),
                    note=note,
                    genre=loaded.classes[int(label)],
                )
            )
        else:
            status = record.get("status", "error")
            predictions.append(
                Prediction(str(path), status, None, error=record.get("error") or status)
            )
    return predictions
