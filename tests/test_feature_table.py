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
from threadpoolctl import threadpool_limits

from fmagenre.audio.decoded import read_decoded, with_audio
from fmagenre.audio.decoding import decode_file, from_int16
from fmagenre.features import compute as feature_code
from fmagenre.features.compute import compute_features, feature_columns
from fmagenre.infra.params import parse_params
from fmagenre.infra.store import RowStore
from fmagenre.pipeline import features as feature_table
from fmagenre.pipeline.decode import run_decode

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
    tracks.to_parquet(root / "data" / "tracks.parquet")
    return with_audio(read_decoded(root / "data" / "audio")), tracks


def features_of(tmp_path, manifest, tracks, compute=None, **settings):
    """The features stage's summary and table (indexed by track_id) with these settings."""
    params = parse_params({**SETTINGS, **settings, "compute": compute or {"workers": 1}})
    summary = feature_table.run_features(
        manifest,
        tmp_path / "data" / "audio",
        params,
        tracks=tracks,
        out_path=tmp_path / "f.parquet",
        work_dir=tmp_path / "wf",
        progress=False,
    )
    return summary, pd.read_parquet(tmp_path / "f.parquet").set_index("track_id")


def test_features_table_of_usable_tracks(tmp_path):
    manifest, tracks = decoded(tmp_path)
    summary, table = features_of(tmp_path, manifest, tracks, {"workers": 2, "chunk_size": 2})
    table = table.reset_index()
    assert list(table.columns) == ["track_id", *feature_columns()]
    assert table["track_id"].tolist() == [10, 11, 12, 13, 14, 15]  # the broken track is not usable
    assert (table.dtypes.iloc[1:] == np.float32).all() and np.isfinite(
        table.iloc[:, 1:].to_numpy()
    ).all()
    assert summary["tracks"] == 6 and summary["failed"] == 0 and not (tmp_path / "wf").exists()
    # rows are the right tracks: the centroid rises with the tone's pitch
    assert table["spectral_centroid.mean.01"].is_monotonic_increasing
    # features.sample_rate: native (the default) is FMA's definition on each file at its rate
    assert summary["sample_rate"] == "native" and summary["rates"] == {"44100": 6}
    path = tracks.set_index("track_id").loc[12, "path"]
    with threadpool_limits(1):  # as the pipeline's workers compute
        expected = compute_features(decode_file(path, None, 4.0).samples, 44100)
    np.testing.assert_array_equal(table.iloc[2, 1:].to_numpy(np.float32), expected)


def test_decoded_sample_rate_reads_the_audio_store(tmp_path):
    manifest, tracks = decoded(tmp_path, count=2)
    summary, table = features_of(tmp_path, manifest, tracks, features={"sample_rate": "decoded"})
    assert summary["rates"] == {"22050": 2}
    store = RowStore.open(tmp_path / "data" / "audio")
    with threadpool_limits(1):  # as the pipeline's workers compute
        expected = compute_features(from_int16(store.read(int(manifest["row"].iloc[1]))), 22050)
    np.testing.assert_array_equal(table.loc[11].to_numpy(np.float32), expected)
    native = features_of(tmp_path, manifest, tracks)[1]
    # another kind of feature: FMA's quirk halves the centroid of 44.1 kHz audio
    ratio = native.loc[11, "spectral_centroid.mean.01"] / table.loc[11, "spectral_centroid.mean.01"]
    assert ratio == pytest.approx(0.5, abs=0.03)


def test_a_long_track_gives_its_central_excerpt_at_the_native_rate(tmp_path):
    """fma_full's tracks: the audio.duration seconds decode keeps, at the file's own rate."""
    manifest, tracks = decoded(tmp_path, count=1)
    t = np.arange(12 * 48000) / 48000
    rising = (0.3 * np.sin(2 * np.pi * (200 + 40 * t) * t)).astype(np.float32)  # pitch rises
    long_path = write_mp3(tmp_path / "in" / "long.mp3", rising, 48000)
    tracks.loc[0, "path"] = str(long_path)
    summary, table = features_of(tmp_path, manifest, tracks)
    excerpt = decode_file(long_path, None, 4.0, "center")
    assert summary["rates"] == {"48000": 1} and len(excerpt.samples) == 4 * 48000
    with threadpool_limits(1):
        expected = compute_features(excerpt.samples, 48000)
    np.testing.assert_array_equal(table.loc[10].to_numpy(np.float32), expected)
    start = decode_file(long_path, None, 4.0, "start")
    assert not np.allclose(compute_features(start.samples, 48000), expected, rtol=1e-3)


def test_a_track_whose_features_fail_is_recorded_not_fatal(tmp_path, monkeypatch):
    manifest, tracks = decoded(tmp_path, count=4)
    calls = {"n": 0}

    def sometimes_nan(y, sr):
        calls["n"] += 1
        values = compute_features(y, sr)
        if calls["n"] == 2:
            values[5] = np.nan
        return values

    monkeypatch.setattr(feature_code, "compute_features", sometimes_nan)
    params = parse_params({**SETTINGS, "compute": {"workers": 1}})
    summary = feature_table.run_features(
        manifest,
        tmp_path / "data" / "audio",
        params,
        tracks=tracks,
        out_path=tmp_path / "f.parquet",
        work_dir=tmp_path / "wf",
        progress=False,
    )
    assert summary["failed"] == 1 and summary["failures"][0]["track_id"] == 11
    assert "non-finite" in summary["failures"][0]["error"]
    assert pd.read_parquet(tmp_path / "f.parquet")["track_id"].tolist() == [10, 12, 13]


def test_interrupted_run_resumes_without_redoing_finished_chunks(tmp_path, monkeypatch):
    manifest, tracks = decoded(tmp_path, count=6)
    params = parse_params({**SETTINGS, "compute": {"workers": 1, "chunk_size": 2}})
    seen = []

    def interrupt_at_fifth(y, sr):
        if len(seen) == 4:
            raise KeyboardInterrupt
        seen.append(float(np.abs(y).sum()))
        return compute_features(y, sr)

    monkeypatch.setattr(feature_code, "compute_features", interrupt_at_fifth)
    kwargs = dict(
        tracks=tracks, out_path=tmp_path / "f.parquet", work_dir=tmp_path / "wf", progress=False
    )
    with pytest.raises(KeyboardInterrupt):
        feature_table.run_features(manifest, tmp_path / "data" / "audio", params, **kwargs)
    assert (
        len(list((tmp_path / "wf" / "journal").glob("chunk-*.json"))) == 2
    )  # tracks 1-4 are saved
    resumed = []
    monkeypatch.setattr(
        feature_code,
        "compute_features",
        lambda y, sr: resumed.append(1) or compute_features(y, sr),
    )
    feature_table.run_features(manifest, tmp_path / "data" / "audio", params, **kwargs)
    assert len(resumed) == 2  # only the unfinished chunk was computed again
    first = pd.read_parquet(tmp_path / "f.parquet")
    monkeypatch.setattr(feature_code, "compute_features", compute_features)
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
