"""Classify your own audio files with a model the pipeline trained.

A prediction must apply exactly what training applied, so it uses the pipeline's own code
with the settings saved beside the model (read by fmagenre.models.loading): the decode
stage's per-track function (same sample rate, duration, crop and int16 storage; or, for
features at the native rate, the file at its own rate as the features stage reads it),
then the feature or log-mel code.
Files go through the map over tracks (all cores, a progress bar, one file's failure
recorded, not fatal) a batch at a time, and the model predicts each batch in this process
as it finishes, so memory does not grow with the number of files.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from fmagenre.audio.advice import file_advice
from fmagenre.audio.clip import DecodeItem, decode_clip
from fmagenre.audio.decoding import from_int16, to_int16
from fmagenre.infra.executors import Executor, open_executor
from fmagenre.infra.params import ComputeParams
from fmagenre.infra.trackmap import RowSpec, TrackOutput, map_tracks
from fmagenre.models.loading import InputRecipe, LoadedModel

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = (".mp3", ".wav", ".flac", ".ogg")
CHUNK_FILES = 4  # files per task
BATCH_CHUNKS = 16  # chunks per worker in one batch; memory holds two batches at once


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
    if recipe.kind == "ensemble":
        return ensemble_input(path, recipe)
    native = recipe.kind == "features" and recipe.features_rate == "native"
    decoded, clip = decode_clip(DecodeItem(0, path), recipe.audio, native=native)
    record = {"status": decoded["status"], "seconds": decoded["seconds"], "error": decoded["error"]}
    if clip is None or record["status"] == "silent":
        return TrackOutput(
            {**record, "error": file_advice(record["status"], record["error"])}, None
        )
    if record["seconds"] < recipe.min_seconds:
        return TrackOutput(
            {**record, "status": "too_short", "error": too_short(record, recipe)}, None
        )
    if native:
        samples, sr = clip.samples, clip.source_sr
    else:
        # as the decode stage stores it: the model learnt from int16 audio at audio.sr
        samples, sr = from_int16(to_int16(clip.samples, recipe.audio.length)), recipe.audio.sr
    if recipe.kind in ("musicnn", "tags"):
        from fmagenre.models.musicnn.embedding import model_row

        row = model_row(samples, sr, record["seconds"], recipe.network, recipe.patches)
        return TrackOutput(record, row)
    if recipe.kind == "features":
        from fmagenre.features.compute import FeatureInputError, checked_features

        try:
            return TrackOutput(record, checked_features(samples, sr))
        except FeatureInputError as exc:
            return TrackOutput({**record, "status": "unsupported", "error": str(exc)}, None)
    from fmagenre.audio.melspec import LogMelSettings, log_mel

    return TrackOutput(
        record, log_mel(samples, LogMelSettings(**recipe.spectrogram)).astype(np.float16)
    )


def ensemble_input(path: str, recipe: InputRecipe) -> TrackOutput:
    """Every input the ensemble's members need, each computed once, flattened end to end
    (float32 holds each part's values exactly); the first part that fails fails the file."""
    rows = []
    for part in recipe.parts:
        output = prepare_input(path, part)
        if output.row is None:
            return output
        rows.append(np.asarray(output.row, dtype=np.float32).reshape(-1))
    return TrackOutput(output.record, np.concatenate(rows))


def too_short(record: dict[str, Any], recipe: InputRecipe) -> str:
    """Why a file with less audio than ``recipe.min_seconds`` gets no row."""
    if recipe.for_model:
        # the decode stage marks such a track unusable, so no model ever learnt from one
        return (
            f"only {record['seconds']:.1f} s of audio; the model needs at least "
            f"{recipe.min_seconds:g} s ({recipe.min_seconds_source})"
        )
    return (
        f"only {record['seconds']:.1f} s of audio, less than {recipe.min_seconds_source} "
        f"({recipe.min_seconds:g} s); give a lower {recipe.min_seconds_source} to describe it anyway"
    )


def row_spec(recipe: InputRecipe) -> RowSpec:
    if recipe.kind == "ensemble":
        sizes = [int(np.prod(row_spec(part).shape)) for part in recipe.parts]
        return RowSpec((sum(sizes),), "float32")
    if recipe.kind in ("musicnn", "tags"):
        from fmagenre.models.musicnn.embedding import COLUMNS
        from fmagenre.models.musicnn.network import PENULTIMATE_UNITS

        width = recipe.patches * PENULTIMATE_UNITS if recipe.patches else len(COLUMNS)
        return RowSpec((width,), "float32")
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
    seconds: float = 0.0  # the audio the model heard (at most the clip length it was trained on)

    def top(self, k: int) -> list[tuple[str, float]]:
        """The model's decision first, then the other genres by probability."""
        ranked = sorted(
            (self.probabilities or {}).items(), key=lambda item: (item[0] != self.genre, -item[1])
        )
        return ranked[:k]

    def to_json(
        self, model: str, k: int, *, noun: str = "genre", all_key: str | None = None
    ) -> dict[str, Any]:
        """The object ``predict --format json`` writes for this file (the server answers the
        same): the top k ``noun``s, and every class's probability under ``all_key``."""
        item: dict[str, Any] = {
            "path": self.path,
            "model": model,
            "status": self.status,
            "predictions": [{noun: g, "probability": round(v, 6)} for g, v in self.top(k)],
            "error": self.error,
            "note": self.note,
        }
        if all_key is not None:
            item[all_key] = {c: round(v, 6) for c, v in (self.probabilities or {}).items()}
        return item


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
    executor: Executor | None = None,
) -> Iterator[tuple[list[Path], list[dict[str, Any]], np.ndarray]]:
    """Each batch of files with its records and input rows (zeros where a file failed).

    Files go to the workers a batch at a time (BATCH_CHUNKS chunks per worker) on one pool,
    so memory holds one batch of inputs, never the inputs of every file: 10,000 files of 30 s
    need what 100 do. Batches come in file order. A given ``executor`` (a server's, kept
    warm between requests) is used as it is and left open.
    """
    spec = row_spec(recipe)
    compute = ComputeParams(
        workers=executor.workers if executor is not None else workers, chunk_size=CHUNK_FILES
    )
    batch_size = BATCH_CHUNKS * CHUNK_FILES * compute.worker_count
    track_fn = functools.partial(prepare_input, recipe=recipe)
    bar = tqdm(total=len(files), unit="file", desc=desc, disable=not progress, smoothing=0.1)
    owned = executor is None
    pool = open_executor(compute) if executor is None else executor  # one pool for every batch
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
                executor=pool,
            )
            yield batch, records, rows
    finally:
        if owned:
            pool.shutdown(wait=True, cancel_futures=True)
        bar.close()


def predict_stream(
    files: list[Path],
    loaded: LoadedModel,
    *,
    workers: int = 0,
    progress: bool = True,
    desc: str = "predict",
    executor: Executor | None = None,
) -> Iterator[Prediction]:
    """Predict every file, yielding results in file order as each batch finishes."""
    # the model classifies a batch in a thread while the workers prepare the next one
    model_thread = cf.ThreadPoolExecutor(1, thread_name_prefix="fmagenre-predict")
    previous: tuple[list[Path], list[dict[str, Any]], cf.Future] | None = None
    try:
        for batch, records, rows in input_batches(
            files, loaded.recipe, workers=workers, progress=progress, desc=desc, executor=executor
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
                seconds=float(record["seconds"]),
            )
        else:
            status = record.get("status", "error")
            error = record.get("error") or status
            seconds = float(record.get("seconds") or 0.0)
            yield Prediction(shown, status, None, error=error, seconds=seconds)


def display_path(path: Path | str) -> str:
    """A path as text that any output can hold: bytes of a name that are not UTF-8 (Linux
    allows any) are shown as \\xNN escapes instead of failing the write."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
