"""Shared fixtures: the real FMA clips, and real MP3 files made on the fly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from dvc_project import STAGES, TINY_PARAMS, DvcProject

from fmagenre import sample_clips

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def real_clips() -> list[Path]:
    """The five real FMA clips shipped beside the project (skipped when absent)."""
    clips = sample_clips.real_clips()
    if not clips:
        pytest.skip(
            f"real FMA clips not found in {sample_clips.real_clips_folder()} "
            f"(set {sample_clips.ENV_VAR} to their folder)"
        )
    return clips


def write_mp3(path: Path, samples: np.ndarray, sr: int) -> Path:
    """Encode samples ((n,) mono or (n, channels)) as a real MPEG Layer III file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, sr, format="MP3", subtype="MPEG_LAYER_III")
    return path


def tone(
    seconds: float, sr: int, freq: float = 440.0, channels: int = 1, amplitude: float = 0.3
) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    mono = (
        amplitude * np.sin(2 * np.pi * freq * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
    ).astype(np.float32)
    return mono if channels == 1 else np.stack([mono] * channels, axis=1)


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory) -> DvcProject:
    """A copy of the project that has run the whole pipeline on a tiny synthetic dataset, its
    results committed. Shared by the end-to-end tests: each leaves it as it found it."""
    project = DvcProject.copy_of_project(tmp_path_factory.mktemp("e2e") / "project")
    project.set_params(**TINY_PARAMS)
    project.commit_all("tiny synthetic setup")
    assert project.repro() == STAGES
    project.commit_all("results of the tiny pipeline")
    return project
