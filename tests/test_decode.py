"""decode: canonical audio from real and broken MP3s; every fault becomes a counted status."""

from __future__ import annotations

import shutil

import librosa
import numpy as np
import pandas as pd
import pytest
from conftest import tone, write_mp3

from fmagenre.audio.decoded import read_decoded
from fmagenre.audio.decoding import INT16_SCALE, decode_file, from_int16
from fmagenre.infra import trackrun as trackrun_module
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import parse_params
from fmagenre.infra.store import RowStore
from fmagenre.pipeline.decode import DecodeItem, DecodeSettings, decode_track, run_decode
from fmagenre.pipeline.manifest import run_manifest

SETTINGS = DecodeSettings(sr=22050, duration=4.0, crop="center")


def decode(path, settings=SETTINGS):
    output = decode_track(DecodeItem(1, str(path)), settings)
    return output.record, output.row


def test_real_clips_match_librosa_load(real_clips):
    for clip in real_clips:
        ours = decode_file(clip, 22050, 30.0)
        theirs, _ = librosa.load(clip, sr=22050, mono=True)
        # at most the canonical 30 s (librosa keeps the extra 3 ms some clips have)
        assert len(ours.samples) == min(661500, len(theirs))
        np.testing.assert_allclose(ours.samples, theirs[: len(ours.samples)], atol=1e-5)
        assert ours.source_sr == 44100 and ours.channels == 2 and 29.9 < ours.source_seconds < 30.1


def test_real_clip_record_and_row(real_clips):
    record, row = decode(real_clips[0], DecodeSettings(22050, 30.0, "center"))
    assert record["status"] == "ok" and record["error"] == ""
    assert row.dtype == np.int16 and row.shape == (661500,)
    assert 0.01 < np.abs(from_int16(row)).mean() < 0.5


@pytest.mark.parametrize("sr,channels", [(44100, 2), (48000, 1), (22050, 2), (32000, 1)])
def test_sample_rates_and_channels_become_canonical(tmp_path, sr, channels):
    path = write_mp3(tmp_path / "a.mp3", tone(5.0, sr, channels=channels), sr)
    record, row = decode(path)
    assert record["status"] == "ok"
    assert (record["source_sr"], record["channels"]) == (sr, channels)
    assert row.shape == (int(4.0 * 22050),)
    spectrum = np.abs(np.fft.rfft(from_int16(row)))
    assert abs(np.argmax(spectrum) * 22050 / len(row) - 440) < 5  # same pitch after resampling


def test_center_crop_of_a_long_track(tmp_path):
    sr = 22050
    ramp = np.linspace(-0.5, 0.5, 10 * sr, dtype=np.float32)  # position is readable from the value
    path = tmp_path / "long.wav"
    import soundfile as sf

    sf.write(
        path, ramp, sr, subtype="FLOAT"
    )  # float WAV: exact samples, so the crop position can be checked exactly
    centre = decode_file(path, sr, 4.0, "center").samples
    start = decode_file(path, sr, 4.0, "start").samples
    np.testing.assert_allclose(centre, ramp[3 * sr : 7 * sr], atol=1e-6)
    np.testing.assert_allclose(start, ramp[: 4 * sr], atol=1e-6)


def test_broken_files_get_statuses_not_crashes(tmp_path, real_clips):
    good = real_clips[0].read_bytes()
    cases = {
        "empty": (tmp_path / "empty.mp3", b""),
        "text": (tmp_path / "text.mp3", b"this is not audio at all\n" * 200),
        "id3_only": (tmp_path / "id3.mp3", b"ID3\x04\x00\x00\x00\x00\x00\x00"),
        "truncated": (tmp_path / "truncated.mp3", good[: len(good) * 4 // 10]),
    }
    for path, data in cases.values():
        path.write_bytes(data)
    settings = DecodeSettings(22050, 30.0, "center")
    statuses = {name: decode(path, settings)[0] for name, (path, _) in cases.items()}
    assert statuses["empty"]["status"] == "corrupt" and "empty file" in statuses["empty"]["error"]
    assert (
        statuses["text"]["status"] == "corrupt"
        and "not a readable audio file" in statuses["text"]["error"]
    )
    assert statuses["id3_only"]["status"] == "corrupt"
    # a truncated MP3 keeps the audio it holds: about 40 % of 30 s
    assert statuses["truncated"]["status"] == "short"
    assert 10 < statuses["truncated"]["seconds"] < 14
    missing, row = decode(tmp_path / "absent.mp3", settings)
    assert missing["status"] == "missing" and row is None


def test_silent_and_very_short_clips(tmp_path):
    silent = write_mp3(tmp_path / "silent.mp3", np.zeros(5 * 44100, dtype=np.float32), 44100)
    short = write_mp3(tmp_path / "short.mp3", tone(0.5, 44100), 44100)
    record, row = decode(silent)
    assert record["status"] == "silent"
    record, row = decode(short)
    assert record["status"] == "short" and 0.4 < record["seconds"] < 0.7
    assert not row[int(0.8 * 22050) :].any()  # zero-padded to the canonical length


def make_tracks(tmp_path, real_clips):
    folder = tmp_path / "audio_in"
    folder.mkdir()
    paths = []
    for i, clip in enumerate(real_clips[:3]):
        paths.append(shutil.copy(clip, folder / f"{i}.mp3"))
    (folder / "empty.mp3").write_bytes(b"")
    paths.append(folder / "empty.mp3")
    paths.append(write_mp3(folder / "short.mp3", tone(1.0, 44100, channels=2), 44100))
    paths.append(folder / "missing.mp3")
    return pd.DataFrame({"track_id": [2, 5, 9, 14, 20, 31], "path": [str(p) for p in paths]})


def test_run_decode_writes_store_records_and_summary_and_the_manifest_marks_usable(
    tmp_path, real_clips
):
    tracks = make_tracks(tmp_path, real_clips)
    params = parse_params(
        {
            "audio": {"duration": 30.0},
            "decode": {"max_bad_fraction": 0.5, "min_seconds": 2.0},
            "compute": {"workers": 1, "chunk_size": 2},
        }
    )
    out = tmp_path / "out"
    summary = run_decode(
        tracks, params, audio_out=out / "audio", work_dir=out / "work", progress=False
    )
    decoded = read_decoded(out / "audio")
    assert decoded["track_id"].tolist() == tracks["track_id"].tolist()
    assert decoded["row"].tolist() == list(range(6))
    assert decoded["status"].tolist() == ["ok", "ok", "ok", "corrupt", "short", "missing"]
    assert summary["status"] == {"ok": 3, "short": 1, "silent": 0, "corrupt": 1, "missing": 1}
    assert summary["with_audio"] == 4
    store = RowStore.open(out / "audio")
    assert len(store) == 6 and store.attrs["sr"] == 22050
    expected = decode_file(tracks["path"][1], 22050, 30.0).samples
    np.testing.assert_allclose(
        from_int16(store.read(1))[: len(expected)], expected, atol=1 / INT16_SCALE
    )
    assert not store.read(5).any()
    assert not (out / "work").exists()  # a finished run leaves no partial work behind

    counts = run_manifest(decoded, params, manifest_out=out / "manifest.parquet")
    manifest = pd.read_parquet(out / "manifest.parquet")
    assert manifest["track_id"].tolist() == tracks["track_id"].tolist()
    # the 1 s clip has audio, but less than decode.min_seconds
    assert manifest["usable"].tolist() == [True, True, True, False, False, False]
    assert counts["unusable"] == 3 and counts["bad_fraction"] == 0.5


def test_too_many_bad_tracks_fail_the_manifest_clearly_and_a_higher_limit_needs_no_decoding(
    tmp_path, real_clips
):
    tracks = make_tracks(tmp_path, real_clips)
    out = tmp_path / "out"
    settings = {"audio": {"duration": 30.0}, "compute": {"workers": 1}}
    run_decode(
        tracks,
        parse_params(settings),
        audio_out=out / "audio",
        work_dir=out / "work",
        progress=False,
    )
    decoded = read_decoded(out / "audio")
    strict = parse_params({**settings, "decode": {"max_bad_fraction": 0.2}})
    with pytest.raises(UserError) as info:
        run_manifest(decoded, strict, manifest_out=out / "manifest.parquet")
    message = str(info.value)
    assert "3 of 6 tracks are unusable (short 1, corrupt 1, missing 1)" in message
    assert "decode.max_bad_fraction = 0.2" in message and "manifest.parquet" in message
    assert (out / "manifest.parquet").exists()  # written for inspection

    relaxed = parse_params({**settings, "decode": {"max_bad_fraction": 0.6}})
    counts = run_manifest(decoded, relaxed, manifest_out=out / "manifest.parquet")
    assert counts["usable"] == 3  # from the decoded records alone: nothing decoded again


def test_decode_output_is_the_same_on_every_backend(tmp_path, real_clips):
    """The local pool and a real dask.distributed LocalCluster write the same bytes as one process."""
    tracks = make_tracks(tmp_path, real_clips)
    outputs = {}
    for name, compute in {
        "inline": {"workers": 1, "chunk_size": 4},
        "pool": {"workers": 2, "chunk_size": 1},
        "dask": {"backend": "dask", "workers": 2, "chunk_size": 2},
    }.items():
        params = parse_params(
            {"audio": {"duration": 30.0}, "decode": {"max_bad_fraction": 0.6}, "compute": compute}
        )
        out = tmp_path / name
        run_decode(tracks, params, audio_out=out / "audio", work_dir=out / "work", progress=False)
        # the shards, store.json and the records (decoded.parquet)
        outputs[name] = {p.name: p.read_bytes() for p in sorted((out / "audio").iterdir())}
    assert outputs["pool"] == outputs["inline"] and outputs["dask"] == outputs["inline"]


def test_a_run_stopped_after_moving_its_store_decodes_afresh(tmp_path, monkeypatch):
    """Stopped between moving the store into place and forgetting the journal, a rerun must
    not trust the complete journal and write an all-zero store marked ok."""
    folder = tmp_path / "in"
    paths = [
        write_mp3(folder / f"{i}.mp3", tone(5.0, 44100, freq=220.0 * (i + 1)), 44100)
        for i in range(3)
    ]
    tracks = pd.DataFrame({"track_id": [1, 2, 3], "path": [str(p) for p in paths]})
    params = parse_params({"audio": {"duration": 4.0}, "compute": {"workers": 1}})
    out = tmp_path / "out"
    kwargs = dict(audio_out=out / "audio", work_dir=out / "work", progress=False)

    def stopped(journal):
        raise KeyboardInterrupt

    monkeypatch.setattr(trackrun_module, "finish", stopped)  # the step after the store moved
    with pytest.raises(KeyboardInterrupt):
        run_decode(tracks, params, **kwargs)
    # the records moved into place with the store
    assert len(read_decoded(out / "audio")) == 3
    monkeypatch.undo()
    summary = run_decode(tracks, params, **kwargs)
    assert summary["status"]["ok"] == 3
    store = RowStore.open(out / "audio")
    for row, path in enumerate(paths):
        expected = decode_file(path, 22050, 4.0).samples
        assert np.abs(from_int16(store.read(row))).max() > 0.1
        np.testing.assert_allclose(
            from_int16(store.read(row))[: len(expected)], expected, atol=1 / INT16_SCALE
        )
    assert not (out / "work").exists()


@pytest.mark.parametrize("kept", [0.4, 0.25])
def test_centre_crop_of_a_truncated_long_mp3_keeps_the_audio_it_has(tmp_path, kept):
    """A truncated download's header still counts the full 120 s: the centre crop must not
    seek past the real end and lose the audio that is there."""
    sr = 44100
    t = np.arange(120 * sr) / sr
    freq = 300 + 100 * np.floor(t / 10)  # the pitch tells the position: 300 Hz at 0-10 s, ...
    phase = 2 * np.pi * np.cumsum(freq) / sr
    full = write_mp3(tmp_path / "long.mp3", (0.3 * np.sin(phase)).astype(np.float32), sr)
    data = full.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: int(len(data) * kept)])
    real_seconds = len(decode_file(cut, sr, 200.0, "start").samples) / sr
    assert 20 < real_seconds < 100  # the file does hold more than the clip needs

    record, row = decode(cut, DecodeSettings(sr, 20.0, "center"))
    assert record["status"] == "ok" and record["seconds"] >= 0.98 * 20
    assert abs(record["source_seconds"] - real_seconds) < 0.5  # the true length, not 120 s

    def pitch(samples):
        spectrum = np.abs(np.fft.rfft(samples))
        return np.argmax(spectrum) * sr / len(samples)

    audio = from_int16(row)[: int(record["seconds"] * sr)]
    # the clip ends where the audio does: its last second has the pitch at the real end
    expected_end = 300 + 100 * np.floor((real_seconds - 0.5) / 10)
    assert abs(pitch(audio[-sr:]) - expected_end) < 5
    expected_start = 300 + 100 * np.floor((max(0.0, real_seconds - 20) + 0.5) / 10)
    assert abs(pitch(audio[:sr]) - expected_start) < 5


def test_stderr_captures_from_several_threads_take_turns():
    """A Dask worker decodes on several threads: one track's capture must not restore fd 2
    to another's deleted temporary file, nor take another's decoder notes."""
    import os
    import threading
    import time

    from fmagenre.infra.native_stderr import captured

    before = os.fstat(2)
    results = {}

    def work(name, delay):
        with captured() as lines:
            os.write(2, f"{name} begins\n".encode())
            time.sleep(delay)
            os.write(2, f"{name} ends\n".encode())
        results[name] = lines

    first = threading.Thread(target=work, args=("a", 0.2))
    second = threading.Thread(target=work, args=("b", 0.4))  # starts inside a, ends after it
    first.start()
    time.sleep(0.05)
    second.start()
    first.join()
    second.join()
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
    assert results == {"a": ["a begins", "a ends"], "b": ["b begins", "b ends"]}
    with captured() as outer:  # a capture may nest inside another on the same thread
        os.write(2, b"outer\n")
        with captured() as inner:
            os.write(2, b"inner\n")
    assert (outer, inner) == (["outer"], ["inner"])
