"""The work behind POST /api/predict: predict's and tag's code on one file, off the event loop.

Decoding, features and musicnn run in a pool of worker processes kept warm for the server's
life (the CPU work leaves the server's process, and the decoders' stderr capture with it);
each request's steps are driven from a small thread pool. At most ``workers`` files are
analysed at once and at most ``queue`` more wait (each as a temporary file on disk, not in
memory); past that a request is answered 503 at once, so twenty uploads at once are all
answered and memory stays bounded whatever arrives.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures as cf
import dataclasses
import logging
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from fmagenre.infra.errors import UserError
from fmagenre.infra.executors import ProcessPool
from fmagenre.models.loading import LoadedModel, load_model
from fmagenre.models.musicnn.tagging import tagger
from fmagenre.models.predict import Prediction, predict_stream
from fmagenre.serve.run import NO_MODEL
from fmagenre.serve.spectrogram import spectrogram_png

log = logging.getLogger(__name__)


class Busy(Exception):
    """More uploads wait than the queue holds."""


class AnalysisFailed(Exception):
    """The file could not be analysed: the HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str, item: dict[str, Any]):
        super().__init__(message)
        self.status, self.message, self.item = status, message, item


@dataclasses.dataclass
class _Serialized(LoadedModel):
    """A trained model called by one request at a time (a Keras model is not safe to call
    from several threads at once; the others are cheap next to decoding)."""

    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def probabilities(self, rows: np.ndarray, batch_size: int = 64) -> np.ndarray:
        with self.lock:
            return super().probabilities(rows, batch_size)


@dataclasses.dataclass(frozen=True)
class Request:
    path: Path
    name: str
    model: str  # "" when no model was trained yet
    top_k: int
    tags: int
    spectrogram: bool


class Analyzer:
    def __init__(self, models_dir: Path, reports_dir: Path, *, workers: int, queue: int):
        self.models_dir, self.reports_dir = Path(models_dir), Path(reports_dir)
        self.workers, self.queue = workers, queue
        self._pool = ProcessPool(workers)
        self._steps = cf.ThreadPoolExecutor(workers, thread_name_prefix="fmagenre-serve")
        self._running = asyncio.Semaphore(workers)
        self._waiting = 0
        self._models: dict[str, tuple[int, LoadedModel]] = {}
        self._models_lock = threading.Lock()
        self._tagger: LoadedModel | None = None

    def warm_up(self) -> None:
        """Start every worker and load musicnn in it (seconds each), so that the first
        uploads do not wait for it; a failure here is the first upload's to report."""
        try:
            network = str(self._musicnn().recipe.network)
            futures = [self._pool.submit(_warm_worker, network) for _ in range(self.workers)]
            workers = {future.result() for future in futures}
            log.info("%d worker processes ready", len(workers))
        except Exception as exc:
            log.warning("could not warm the workers up (%s: %s)", type(exc).__name__, exc)

    def close(self) -> None:
        self._steps.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def analyse(self, request: Request) -> dict[str, Any]:
        """predict --format json's object for the file, with musicnn's tags, the seconds
        heard and the spectrogram; AnalysisFailed for a file neither could read."""
        if self._waiting >= self.workers + self.queue:
            raise Busy()
        self._waiting += 1
        try:
            async with self._running:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._steps, self._analyse, request)
        finally:
            self._waiting -= 1

    def _analyse(self, request: Request) -> dict[str, Any]:
        tags = self._one(self._musicnn(), request)
        if request.model:
            loaded = self._loaded(request.model)
            genres = self._one(loaded, request)
            item = genres.to_json(loaded.name, min(request.top_k, len(loaded.classes)))
            heard, recipe, notes, failed = genres, loaded.recipe, loaded.notes, genres
        else:
            item = {
                "path": request.name,
                "model": None,
                "status": tags.status,
                "predictions": [],
                "error": "",
                "note": "",
                "model_error": NO_MODEL,
            }
            heard, recipe, notes, failed = tags, self._musicnn().recipe, [], tags
        item["path"] = request.name
        item["tags"] = tags.to_json(self._musicnn().name, request.tags, noun="tag")
        item["tags"]["path"] = request.name
        if failed.probabilities is None:
            raise AnalysisFailed(422, f"{request.name}: {failed.error}", item)
        item["seconds"] = round(heard.seconds, 3)
        item["clip_seconds"] = recipe.audio.duration
        item["model_notes"] = list(notes)
        item["spectrogram"] = self._spectrogram(request, recipe) if request.spectrogram else None
        return item

    def _one(self, loaded: LoadedModel, request: Request) -> Prediction:
        (prediction,) = predict_stream([request.path], loaded, progress=False, executor=self._pool)
        return prediction

    def _spectrogram(self, request: Request, recipe: Any) -> str | None:
        try:
            png = self._pool.submit(spectrogram_png, str(request.path), recipe).result()
        except Exception:  # the answer stands without its picture
            log.exception("could not draw the spectrogram of %s", request.name)
            return None
        return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode()

    def _musicnn(self) -> LoadedModel:
        if self._tagger is None:
            self._tagger = tagger()
        return self._tagger

    def _loaded(self, name: str) -> LoadedModel:
        """The model, read once and again only when its folder changed (a new run)."""
        stamp = (self.models_dir / name / "classes.json").stat().st_mtime_ns
        with self._models_lock:
            cached = self._models.get(name)
            if cached is None or cached[0] != stamp:
                loaded = load_model(self.models_dir, name)
                fields = {f.name: getattr(loaded, f.name) for f in dataclasses.fields(loaded)}
                self._models[name] = (stamp, _Serialized(**fields))
            return self._models[name][1]


def _warm_worker(network: str) -> int:
    from fmagenre.infra.params import AudioParams
    from fmagenre.models.musicnn.embedding import clip_row

    sr = AudioParams().sr
    quiet = (0.01 * np.random.default_rng(0).standard_normal(3 * sr)).astype(np.float32)
    clip_row(quiet, sr, 3.0, network)
    return os.getpid()


def check_model(name: str, available: list[str]) -> str:
    """The model a request names (or the default), as one of the trained ones."""
    if not available:
        return ""
    if name not in available:
        raise UserError(f"no trained model {name!r}; trained: {', '.join(available)}")
    return name
