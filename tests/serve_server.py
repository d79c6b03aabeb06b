"""A tiny trained run and a real `fmagenre serve` process on a free loopback port, for the
server's API, load and browser tests and for benchmarks/serve_load.py.

The run is what the pipeline leaves for the server: models/rf (a Random Forest trained, with
the pipeline's own input code, on three kinds of sound; its params say the synthetic demo
dataset, as `make demo`'s do), reports/leaderboard.json as compare writes it, and compare's
per-genre F1 chart drawn by compare's own code.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from conftest import sound

PROJECT = Path(__file__).resolve().parents[1]
CLASSES = ["Drone", "Hiss", "Whistle"]
SR = 22050
CLIP_SECONDS = 3.0


def tiny_run(root: Path) -> tuple[Path, Path]:
    """models/ and reports/ of a tiny trained run under ``root``."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    from fmagenre.models.files import save_pipeline
    from fmagenre.models.loading import InputRecipe
    from fmagenre.models.predict import prepare_input
    from fmagenre.pipeline.compare import draw_figure
    from fmagenre.pipeline.decode import DecodeSettings

    models, reports = root / "models", root / "reports"
    recipe = InputRecipe("features", DecodeSettings(SR, CLIP_SECONDS, "center"))
    X, y = [], []
    for label, kind in enumerate(CLASSES):
        for seed in range(4):
            path = root / "train" / f"{kind}{seed}.wav"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, sound(kind, CLIP_SECONDS, SR, seed), SR)
            X.append(prepare_input(str(path), recipe).row)
            y.append(label)
    pipeline = Pipeline(
        [("impute", SimpleImputer()), ("model", RandomForestClassifier(30, random_state=0))]
    ).fit(np.array(X), y)
    folder = models / "rf"
    folder.mkdir(parents=True)
    save_pipeline(pipeline, folder)
    (folder / "classes.json").write_text(json.dumps(CLASSES))
    audio = {"sr": SR, "duration": CLIP_SECONDS, "crop": "center"}
    used = {"input": {"audio": audio, "min_seconds": 2.0, "features_source": "computed"}}
    (folder / "params.json").write_text(json.dumps({**used, "data": {"subset": "synthetic"}}))
    (models / "best.json").write_text(json.dumps({"model": "rf"}))
    reports.mkdir()
    scores = {"rank": 1, "validation_macro_f1": 0.917, "test_macro_f1": 0.833}
    board = {"best": "rf", "chosen_by": "validation macro_f1", "models": {"rf": scores}}
    (reports / "leaderboard.json").write_text(json.dumps(board))
    details = {
        "classes": CLASSES,
        "per_genre": {
            genre: {"f1": f1} for genre, f1 in zip(CLASSES, (1.0, 0.75, 0.75), strict=True)
        },
        "confusion": [[4, 0, 0], [0, 3, 1], [0, 1, 3]],
    }
    draw_figure({"rf": details}, "rf", reports / "compare.png")
    return models, reports


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: list[str]
    returncode: int | None = None  # once stopped


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PROJECT)  # this checkout's fmagenre, whatever the venv points at
    env["PYTHONUNBUFFERED"] = "1"
    return env


@contextlib.contextmanager
def running_server(
    models: Path, reports: Path, *options: str, tmpdir: Path | None = None
) -> Iterator[Server]:
    """`python -m fmagenre serve --port 0 ...` until the block ends (then Ctrl-C); its
    temporary files under ``tmpdir`` when given (to check none is left)."""
    command = [sys.executable, "-m", "fmagenre", "serve", "--port", "0"]
    command += ["--models-dir", str(models), "--reports-dir", str(reports), *options]
    env = server_env()
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)
    process = subprocess.Popen(command, cwd=PROJECT, env=env, stderr=subprocess.PIPE, text=True)
    log: list[str] = []
    url = ""
    assert process.stderr is not None
    for line in process.stderr:
        log.append(line)
        found = re.search(r"(http://\S+/)", line)
        if found:
            url = found.group(1)
            break
    if not url:
        process.wait(10)
        raise RuntimeError("the server did not start:\n" + "".join(log))
    reader = threading.Thread(target=lambda: log.extend(process.stderr), daemon=True)
    reader.start()
    server = Server(url, process, log)
    try:
        yield server
    finally:
        process.send_signal(signal.SIGINT)
        try:
            server.returncode = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(10)
