"""What the predict benchmarks need without a trained run: a CRNN model folder and audio files.

The CRNN is the default architecture with untrained weights, saved by train_crnn's own code:
predict's cost and memory do not depend on what the weights learnt.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from fmagenre.fma.facts import SMALL_GENRES

SR = 22050
CLASSES = sorted(SMALL_GENRES)


def make_crnn_folder(folder: Path, seconds: float, classes: list[str] = CLASSES) -> None:
    """models/crnn as train_crnn leaves it (the keys predict reads), for clips of ``seconds``."""
    from fmagenre.infra.params import ModelParams
    from fmagenre.models.crnn.model import build_crnn
    from fmagenre.pipeline.train_crnn import save_keras

    params = ModelParams()
    model = build_crnn(params.crop_frames, 128, len(classes), params, np.zeros(128), np.ones(128))
    folder.mkdir(parents=True)
    save_keras(model, folder / "model.keras")
    (folder / "classes.json").write_text(json.dumps(classes))
    spectrogram = {"sr": SR, "n_fft": 2048, "hop_length": 512, "n_mels": 128}
    spectrogram |= {"fmin": 0.0, "fmax": SR / 2, "db_floor": -80.0}
    audio = {"sr": SR, "duration": seconds, "crop": "center"}
    saved = {"input": {"audio": audio, "min_seconds": 1.0, "spectrogram": spectrogram}}
    (folder / "params.json").write_text(json.dumps({**saved, "crop_frames": params.crop_frames}))


def make_sources(folder: Path, seconds: float, count: int = 10) -> list[Path]:
    """``count`` 44.1 kHz MP3s of ``seconds``: a seeded tone each, with noise."""
    import soundfile as sf

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 44100)) / 44100
    paths = []
    for i in range(count):
        tone = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 2000) * t)
        samples = (tone + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
        path = folder / f"source{i}.mp3"
        sf.write(path, samples, 44100, format="MP3", subtype="MPEG_LAYER_III")
        paths.append(path)
    return paths


def make_files(folder: Path, count: int, sources: list[Path]) -> list[Path]:
    """``count`` files in ``folder``, hard links to the sources in turn (the disk holds them once)."""
    folder.mkdir(parents=True)
    paths = []
    for i in range(count):
        path = folder / f"{i:05d}{sources[i % len(sources)].suffix}"
        os.link(sources[i % len(sources)], path)
        paths.append(path)
    return paths
