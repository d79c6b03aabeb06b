"""Classify your own audio files with a model the pipeline trained.

A prediction must apply exactly what training applied, so it uses the pipeline's own code
with the settings saved beside the model: the decode stage's per-track function (same
sample rate, duration, crop and int16 storage), then the feature or log-mel code. Files go
through the map over tracks (all cores, a progress bar, one file's failure recorded, not
fatal); the model then predicts in batches in this process.
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

from fmagenre.audio import from_int16
from fmagenre.decode import DecodeItem, DecodeSettings, decode_track
from fmagenre.errors import UserError
from fmagenre.params import ComputeParams, DecodeParams
from fmagenre.trackmap import Journal, RowSpec, TrackOutput, map_tracks

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg")
MODEL_NAMES = ("rf", "svm", "gbdt", "crnn")
TRAINING_STAGE = {"rf": "train@rf", "svm": "train@svm", "gbdt": "train@gbdt", "crnn": "train_crnn"}


@dataclass(frozen=True)
class InputRecipe:
    """How to turn an audio file into the model's input, as saved at training time."""

    kind: str  # "features" or "log_mel"
    audio: DecodeSettings
    spectrogram: dict[str, Any] | None = None
    # a file with less real audio than this is not classified: training left such tracks out
    min_seconds: float = DecodeParams().min_seconds


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

    if used["input"].get("features_source") == "official":
        notes.append(
            "this model was trained on FMA's precomputed features.csv; predictions use features this "
            "pipeline computes, which can differ slightly"
        )
    return LoadedModel(
        name,
        classes,
        InputRecipe("features", settings, min_seconds=min_seconds),
        joblib.load(model_file),
        notes=notes,
    )


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
    """Decode one file as the decode stage does, then compute the model's input row."""
    decoded = decode_track(DecodeItem(0, path), recipe.audio)
    record = {
        "status": decoded.record["status"],
        "seconds": decoded.record["seconds"],
        "error": decoded.record["error"],
    }
    if decoded.row is None or record["status"] == "silent":
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
    samples = from_int16(decoded.row)
    if recipe.kind == "features":
        from fmagenre.features import compute_features

        return TrackOutput(record, compute_features(samples, recipe.audio.sr))
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

    def top(self, k: int) -> list[tuple[str, float]]:
        ranked = sorted((self.probabilities or {}).items(), key=lambda item: -item[1])
        return ranked[:k]


def predict_files(
    files: list[Path], loaded: LoadedModel, *, workers: int = 0, progress: bool = True
) -> list[Prediction]:
    """Predict every file; a file that fails has an error and no probabilities."""
    recipe = loaded.recipe
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
            desc="predict",
            progress=progress,
        )
    ok = [i for i, record in enumerate(records) if record.get("status") in ("ok", "short")]
    probabilities = loaded.probabilities(rows[ok]) if ok else np.zeros((0, len(loaded.classes)))
    by_position = dict(zip(ok, probabilities, strict=True))
    predictions = []
    for i, (path, record) in enumerate(zip(files, records, strict=True)):
        if i in by_position:
            note = f"only {record['seconds']:.1f} s of audio" if record["status"] == "short" else ""
            predictions.append(
                Prediction(
                    str(path),
                    record["status"],
                    dict(zip(loaded.classes, map(float, by_position[i]), strict=True)),
                    note=note,
                )
            )
        else:
            status = record.get("status", "error")
            predictions.append(
                Prediction(str(path), status, None, error=record.get("error") or status)
            )
    return predictions
