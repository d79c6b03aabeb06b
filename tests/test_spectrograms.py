"""Log-mel spectrograms: librosa's values, a fixed-size float16 store, streamed row by row."""

from __future__ import annotations

import librosa
import numpy as np
import pandas as pd
import pytest
from conftest import tone, write_mp3

from fmagenre.audio.decoded import read_decoded, with_audio
from fmagenre.audio.melspec import LogMelSettings, log_mel
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import parse_params
from fmagenre.pipeline.decode import run_decode
from fmagenre.pipeline.spectrograms import open_spectrograms, run_spectrograms


def reference_log_mel(y: np.ndarray, settings: LogMelSettings) -> np.ndarray:
    """The plain librosa way, written out."""
    mel = librosa.feature.melspectrogram(
        y=y,
        sr=settings.sr,
        n_fft=settings.n_fft,
        hop_length=settings.hop_length,
        n_mels=settings.n_mels,
        fmin=settings.fmin,
        fmax=settings.fmax,
    )
    return np.maximum(librosa.power_to_db(mel, ref=1.0, top_db=None), settings.db_floor).T


@pytest.mark.parametrize("n_mels,fmax", [(128, None), (64, 8000.0)])
def test_log_mel_matches_librosa(real_clips, n_mels, fmax):
    y, _ = librosa.load(real_clips[1], sr=22050, duration=10.0)
    params = parse_params({"spectrogram": {"n_mels": n_mels, "fmax": fmax}})
    settings = LogMelSettings.from_params(params, 22050)
    ours = log_mel(y, settings)
    expected = reference_log_mel(y, settings)
    assert ours.shape == expected.shape == (settings.frames(len(y)), n_mels)
    np.testing.assert_allclose(ours, expected, atol=1e-3)  # dB
    assert ours.min() >= settings.db_floor


def test_settings_reject_fmax_above_nyquist():
    with pytest.raises(UserError, match="spectrogram.fmax = 12000.0 is above half the sample rate"):
        LogMelSettings.from_params(parse_params({"spectrogram": {"fmax": 12000}}), 22050)


def test_store_of_usable_tracks(tmp_path):
    folder = tmp_path / "in"
    paths = [
        write_mp3(folder / f"{i}.mp3", tone(3.0, 44100, freq=220.0 * (i + 1)), 44100)
        for i in range(4)
    ]
    (folder / "broken.mp3").write_bytes(b"not audio")
    tracks = pd.DataFrame(
        {
            "track_id": [3, 4, 7, 8, 10],
            "path": [str(p) for p in paths[:2]]
            + [str(folder / "broken.mp3")]
            + [str(p) for p in paths[2:]],
        }
    )
    params = parse_params(
        {
            "audio": {"duration": 3.0},
            "decode": {"max_bad_fraction": 0.5, "min_seconds": 1.0},
            "compute": {"workers": 1, "chunk_size": 2},
            "spectrogram": {"n_mels": 32},
        }
    )
    run_decode(
        tracks,
        params,
        audio_out=tmp_path / "audio",
        work_dir=tmp_path / "work_decode",
        progress=False,
    )
    summary = run_spectrograms(
        with_audio(read_decoded(tmp_path / "audio")),
        tmp_path / "audio",
        params,
        out_dir=tmp_path / "spec",
        work_dir=tmp_path / "work_spec",
        progress=False,
    )
    store, index = open_spectrograms(tmp_path / "spec")
    assert index["track_id"].tolist() == [3, 4, 8, 10]  # the corrupt track has no row
    assert index["ok"].all() and summary["failed"] == 0
    frames = 1 + int(3.0 * 22050) // 512
    assert store.row_shape == (frames, 32) and store.dtype == np.float16
    assert summary["bytes_per_track"] == frames * 32 * 2
    # rows are the right tracks: the dominant mel band rises with the tone's pitch
    peaks = [
        int(np.argmax(store.read(row).astype(np.float32).mean(axis=0))) for row in index["row"]
    ]
    assert peaks == sorted(peaks) and len(set(peaks)) == 4
    assert not (tmp_path / "work_spec").exists()
