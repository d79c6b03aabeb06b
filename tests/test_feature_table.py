"""The features stage: schema, failures recorded, and resuming an interrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import PROJECT, tone, write_mp3

from fmagenre import feature_table
from fmagenre.decode import run_decode
from fmagenre.decoded import read_decoded, with_audio
from fmagenre.features import compute_features, feature_columns
from fmagenre.params import parse_params

SETTINGS = {"audio": {"duration": 4.0}, "decode": {"max_bad_fraction": 0.5, "min_seconds": 1.0}}


def decoded(root, count=6, seconds=4.0):
    """data/audio (with its records) for ``count`` tone clips plus one broken file; returns
    the records as the features stage reads them."""
    paths = [
        write_mp3(root / "in" / f"{i}.mp3", tone(seconds, 44100, freq=200.0 + 50 * i), 44100)
        for i in range(count)
    ]
    (root / "in" / "broken.mp3").write_bytes(b"junk")
    tracks = pd.DataFrame(
        {
            "track_id": list(range(10, 10 + count)) + [99],
            "path": [str(p) for p in paths] + [str(root / "in" / "broken.mp3")],
        }
    )
    params = parse_params({**SETTINGS, "compute": {"workers": 1}})
    run_decode(
        tracks, params, audio_out=root / "data" / "audio", work_dir=root / "work", progress=False
    )
    return with_audio(read_decoded(root / "data" / "audio"))


def test_features_table_of_usable_tracks(tmp_path):
    manifest = decoded(tmp_path)
    params = parse_params({**SETTINGS, "compute": {"workers": 2, "chunk_size": 2}})
    summary = feature_table.run_features(
        manifest,
        tmp_path / "data" / "audio",
        params,
        out_path=tmp_path / "features.parquet",
        work_dir=tmp_path / "wf",
        progress=False,
    )
    table = pd.read_parquet(tmp_path / "features.parquet")
    assert list(table.columns) == ["track_id", *feature_columns()]
    assert table["track_id"].tolist() == [10, 11, 12, 13, 14, 15]  # the broken track is not usable
    assert (table.dtypes.iloc[1:] == np.float32).all() and np.isfinite(
        table.iloc[:, 1:].to_numpy()
    ).all()
    assert summary["tracks"] == 6 and summary["failed"] == 0 and not (tmp_path / "wf").exists()
    # rows are the right tracks: the centroid rises with the tone's pitch
    assert table["spectral_centroid.mean.01"].is_monotonic_increasing


def test_a_track_whose_features_fail_is_recorded_not_fatal(tmp_path, monkeypatch):
    manifest = decoded(tmp_path, count=4)
    calls = {"n": 0}

    def sometimes_nan(y, sr):
        calls["n"] += 1
        values = compute_features(y, sr)
        if calls["n"] == 2:
            values[5] = np.nan
        return values

    monkeypatch.setattr(feature_table, "compute_features", sometimes_nan)
    params = parse_params({**SETTINGS, "compute": {"workers": 1}})
    summary = feature_table.run_features(
        manifest,
        tmp_path / "data" / "audio",
        params,
        out_path=tmp_path / "f.parquet",
        work_dir=tmp_path / "wf",
        progress=False,
    )
    assert summary["failed"] == 1 and summary["failures"][0]["track_id"] == 11
    assert "non-finite" in summary["failures"][0]["error"]
    assert pd.read_parquet(tmp_path / "f.parquet")["track_id"].tolist() == [10, 12, 13]


def test_interrupted_run_resumes_without_redoing_finished_chunks(tmp_path, monkeypatch):
    manifest = decoded(tmp_path, count=6)
    params = parse_params({**SETTINGS, "compute": {"workers": 1, "chunk_size": 2}})
    seen = []

    def interrupt_at_fifth(y, sr):
        if len(seen) == 4:
            raise KeyboardInterrupt
        seen.append(float(np.abs(y).sum()))
        return compute_features(y, sr)

    monkeypatch.setattr(feature_table, "compute_features", interrupt_at_fifth)
    kwargs = dict(out_path=tmp_path / "f.parquet", work_dir=tmp_path / "wf", progress=False)
    with pytest.raises(KeyboardInterrupt):
        feature_table.run_features(manifest, tmp_path / "data" / "audio", params, **kwargs)
    assert (
        len(list((tmp_path / "wf" / "journal").glob("chunk-*.json"))) == 2
    )  # tracks 1-4 are saved
    resumed = []
    monkeypatch.setattr(
        feature_table,
        "compute_features",
        lambda y, sr: resumed.append(1) or compute_features(y, sr),
    )
    feature_table.run_features(manifest, tmp_path / "data" / "audio", params, **kwargs)
    assert len(resumed) == 2  # only the unfinished chunk was computed again
    first = pd.read_parquet(tmp_path / "f.parquet")
    monkeypatch.setattr(feature_table, "compute_features", compute_features)
    feature_table.run_features(
        manifest,
        tmp_path / "data" / "audio",
        params,
        **{**kwargs, "out_path": tmp_path / "g.parquet"},
    )
    pd.testing.assert_frame_equal(
        first, pd.read_parquet(tmp_path / "g.parquet")
    )  # same result as an uninterrupted run


@pytest.mark.slow
def test_a_killed_stage_process_resumes(tmp_path):
    """SIGKILL the real stage process mid-run; the rerun reuses every journalled chunk."""
    decoded(tmp_path, count=40, seconds=10.0)
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump(
            {**SETTINGS, "audio": {"duration": 10.0}, "compute": {"workers": 1, "chunk_size": 1}}
        )
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    command = [sys.executable, "-m", "stages.features"]
    journal = tmp_path / "data" / ".work" / "features" / "journal"
    process = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list(journal.glob("chunk-*.json"))) < 5:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in journal.glob("chunk-*.json")}
    assert 5 <= len(finished) < 40, "the run should be killed part-way"
    rerun = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert rerun.returncode == 0, rerun.stderr
    assert f"resuming: {len(finished)} of 40 tracks were finished" in rerun.stderr
    assert len(pd.read_parquet(tmp_path / "data" / "features.parquet")) == 40
    assert not journal.exists()
