"""The pretrained musicnn network: the Keras 3 port against the original code's own outputs,
its input from the canonical audio, and the embeddings stage.

The reference values (tests/musicnn_reference/reference.npz) were computed by musicnn's
original TensorFlow 1 code in a separate environment; musicnn_reference/oracle.py says how
and regenerates them. The network comes from the user cache (downloaded once per machine).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import PROJECT, tone
from test_feature_table import decoded as decoded_store

from fmagenre.audio.decoding import from_int16
from fmagenre.models.musicnn import inputs
from fmagenre.models.musicnn.embedding import COLUMNS, TAGS, clip_row
from fmagenre.models.musicnn.network import from_checkpoint, load, saved_network
from fmagenre.models.musicnn.tags import MSD_TAGS
from fmagenre.models.musicnn.weights import ensure_checkpoint
from fmagenre.pipeline.decode import DecodeItem, DecodeSettings, decode_track

REFERENCE = Path(__file__).parent / "musicnn_reference" / "reference.npz"
PARITY = 1e-4  # the bound on the tag probabilities


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(REFERENCE))


@pytest.fixture(scope="module")
def network_path() -> str:
    return str(saved_network())


def test_the_tags_are_musicnns_in_its_order(reference):
    assert list(MSD_TAGS) == reference["labels"].tolist() and len(MSD_TAGS) == 50


@pytest.mark.slow
def test_the_port_gives_the_original_outputs(reference, network_path):
    """On the same patches, the saved .keras port and one built afresh from the checkpoint
    give musicnn's tag probabilities and penultimate layer within 1e-4."""
    patches = reference["patches"].astype(np.float32)
    for model in (load(network_path), from_checkpoint(ensure_checkpoint().prefix)):
        out = model.predict_on_batch(patches)
        tags_gap = np.abs(out["tags"] - reference["tags"]).max()
        penultimate_gap = np.abs(out["penultimate"] - reference["penultimate"]).max()
        print(f"largest difference: tags {tags_gap:.2e}, penultimate {penultimate_gap:.2e}")
        assert tags_gap < PARITY and penultimate_gap < PARITY
    # the patches are varied enough for the comparison to mean something
    assert reference["tags"].max() > 0.5 and np.ptp(reference["penultimate"]) > 1


@pytest.mark.slow
def test_real_clips_through_the_pipelines_route_match_musicnns_own(
    reference, network_path, real_clips
):
    """MP3 -> decode stage (22,050 Hz, int16) -> 16 kHz -> patches -> port, against musicnn's
    whole pipeline on the same MP3 (librosa.load at 16 kHz): the detour costs < 2e-4."""
    by_name = {path.name: path for path in real_clips}
    settings = DecodeSettings(22050, 30.0, "center")
    for i, name in enumerate(reference["clip_names"]):
        decoded = decode_track(DecodeItem(0, str(by_name[str(name)])), settings)
        samples = from_int16(decoded.row)
        assert (
            len(inputs.clip_patches(samples, 22050, decoded.record["seconds"]))
            == (reference["clip_patches"][i])
        )
        row = clip_row(samples, 22050, decoded.record["seconds"], network_path)
        assert np.abs(row[TAGS] - reference["clip_tags"][i]).max() < 2e-4
        assert np.abs(row[50:250] - reference["clip_penultimate_mean"][i]).max() < 3e-3
        assert np.abs(row[250:] - reference["clip_penultimate_max"][i]).max() < 3e-3
    top = {
        str(name): [MSD_TAGS[j] for j in np.argsort(-tags)[:2]]
        for name, tags in zip(reference["clip_names"], reference["clip_tags"], strict=True)
    }
    # what the issue saw musicnn say about the three clips with an FMA genre
    assert top["000005.mp3"][0] == "Hip-Hop" and top["001075.mp3"][0] == "electronic"
    assert set(top["002012.mp3"]) == {"metal", "rock"}


def test_patches_cover_only_the_real_audio():
    sr = 22050
    clip = np.zeros(10 * sr, np.float32)
    clip[: int(7.5 * sr)] = tone(7.5, sr)
    assert inputs.clip_patches(clip, sr).shape == (3, 187, 96)  # 10 s: three 3-s patches
    assert inputs.clip_patches(clip, sr, seconds=7.5).shape == (2, 187, 96)
    # less than one patch of audio is padded to one patch, never dropped
    short = inputs.clip_patches(clip, sr, seconds=1.0)
    assert short.shape == (1, 187, 96) and short[0, :50].max() > 1 and short[0, -50:].max() == 0
    # 16 kHz input is used as it is; other rates are resampled
    assert np.allclose(
        inputs.clip_patches(tone(3.5, 16000), 16000),
        inputs.clip_patches(tone(3.5, 48000), 48000),
        atol=0.05,
    )


@pytest.fixture(scope="module")
def decoded(tmp_path_factory):
    """The decode stage's output for five tone clips (tracks 10-14) and one broken file."""
    root = tmp_path_factory.mktemp("embeddings")
    return root, decoded_store(root, count=5)


def stage_run(root: Path, source: Path, network_path: str, compute: dict) -> pd.DataFrame:
    """The embeddings stage as DVC runs it: its own process, in a project folder."""
    (root / "data").mkdir(parents=True)
    shutil.copytree(source / "data" / "audio", root / "data" / "audio")
    (root / "models" / "pretrained").mkdir(parents=True)
    shutil.copy(network_path, root / "models" / "pretrained" / "musicnn.keras")
    (root / "params.yaml").write_text(yaml.safe_dump({"compute": compute}))
    result = subprocess.run(
        [sys.executable, "-m", "stages.embeddings"],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((root / "reports" / "embeddings.json").read_text())
    assert summary["tracks"] == 5 and summary["failed"] == 0
    assert json.loads((root / "metrics" / "embeddings.json").read_text()) == {"tracks": 5}
    assert not (root / "data" / ".work" / "embeddings").exists()  # the journal is gone
    return pd.read_parquet(root / "data" / "embeddings.parquet")


@pytest.mark.slow
def test_embeddings_stage_is_the_same_on_every_backend(decoded, network_path, tmp_path):
    """Each run starts TensorFlow afresh, on one thread per process as the stage does (the
    thread count changes float sums in the last bits, so that is what makes runs identical)."""
    source, _ = decoded
    inline = stage_run(tmp_path / "inline", source, network_path, {"workers": 1})
    for name, compute in (
        ("pool", {"workers": 2, "chunk_size": 2}),
        ("dask", {"backend": "dask", "workers": 2, "chunk_size": 3}),
    ):
        other = stage_run(tmp_path / name, source, network_path, compute)
        pd.testing.assert_frame_equal(inline, other, check_exact=True)
    assert list(inline.columns) == ["track_id", *COLUMNS]
    assert inline["track_id"].tolist() == [10, 11, 12, 13, 14]  # the broken file is not usable
    assert (inline.dtypes.iloc[1:] == np.float32).all()
    # each row is its own track's, computed as predict computes it (here on this process's
    # TensorFlow threads, hence the tolerance)
    audio = decode_track(
        DecodeItem(12, str(source / "in" / "2.mp3")), DecodeSettings(22050, 4.0, "center")
    )
    expected = clip_row(from_int16(audio.row), 22050, audio.record["seconds"], network_path)
    rows = inline.set_index("track_id").to_numpy()
    gaps = np.abs(rows - expected).max(axis=1)
    assert gaps[2] < 1e-4 and np.delete(gaps, 2).min() > 1e-2
