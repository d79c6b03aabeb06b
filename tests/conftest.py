"""Shared fixtures: the real FMA clips, real MP3 files made on the fly, a small real disk."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sample_clips
import soundfile as sf
from dvc_project import STAGES, TINY_PARAMS, DvcProject

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


def sound(kind: str, seconds: float, rate: int, seed: int) -> np.ndarray:
    """A clip of one of three kinds a tiny model can tell apart: Drone, Hiss or Whistle."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    if kind == "Drone":
        return (0.4 * np.sin(2 * np.pi * rng.uniform(80, 120) * t)).astype(np.float32)
    if kind == "Whistle":
        return (0.3 * np.sin(2 * np.pi * rng.uniform(2500, 3500) * t)).astype(np.float32)
    return (0.2 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MiB tmpfs (needs root, as CI and the dev machines have)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill_disk(disk: Path) -> None:
    """Another process's file takes every free byte."""
    with open(disk / "filler", "wb") as handle:
        block = b"\xff" * 65536
        try:
            while True:
                handle.write(block)
                handle.flush()
        except OSError:
            pass


def write_official_csv(path: Path, track_ids: list[int], values: np.ndarray) -> Path:
    """A features.csv in FMA's layout: three header rows (feature, statistics, number)."""
    from fmagenre.features.compute import feature_columns

    columns = pd.MultiIndex.from_tuples(
        [tuple(c.split(".")) for c in feature_columns()], names=["feature", "statistics", "number"]
    )
    frame = pd.DataFrame(values, index=pd.Index(track_ids, name="track_id"), columns=columns)
    frame.to_csv(path, float_format="%.10e")  # as FMA's features.py saves it
    return path


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


@pytest.fixture(scope="session")
def serve_run(tmp_path_factory) -> tuple[Path, Path]:
    """models/ and reports/ of a tiny trained run, as `fmagenre serve` reads them."""
    from serve_server import tiny_run

    return tiny_run(tmp_path_factory.mktemp("serve-run"))


@pytest.fixture(scope="session")
def bare_server(tmp_path_factory):
    """`fmagenre serve` before any training: no models/, no reports/ (API and page tests)."""
    from serve_server import running_server

    empty = tmp_path_factory.mktemp("no-run")
    with running_server(empty / "models", empty / "reports") as server:
        yield server
