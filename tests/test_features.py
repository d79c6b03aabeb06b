"""FMA's 518 features: the fast implementation at parity with the plain librosa definition.

Parity is checked where FMA defined the features: real FMA clips at their native rate
(44.1 kHz), decoded as librosa.load(sr=None, mono=True) decodes them, with FMA's sr quirk
on both sides; and on synthetic signals at 22,050, 16,000 and 48,000 Hz.

Tolerance: for every feature value, |fast - reference| <= 1e-3 * |reference| + atol, with
the absolute floor atol = 1e-4 for skewness and kurtosis and 1e-5 for the other
statistics. Skewness and kurtosis are dimensionless ratios of moments; the reference
computes those moments in float32 over ~1,300-2,600 frames, so its own rounding error is
of order 1e-4 in absolute terms, which dominates the relative error when the true value is
near zero (e.g. a kurtosis of -0.0147). The 1e-5 floor of the other statistics only
matters for values below 1e-2.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from conftest import write_official_csv

from fmagenre.audio.decoding import decode_file
from fmagenre.features.compute import (
    FEATURE_SIZES,
    compute_features,
    feature_columns,
    read_official_features,
)
from fmagenre.features.reference import reference_features
from fmagenre.infra.errors import UserError

SR = 22050
COLUMNS = np.array(feature_columns())
MOMENTS = np.array([c.split(".")[1] in ("skew", "kurtosis") for c in COLUMNS])


def assert_parity(fast: np.ndarray, reference: np.ndarray) -> None:
    atol = np.where(MOMENTS, 1e-4, 1e-5)
    finite = np.isfinite(reference)
    excess = np.abs(fast - reference) - (1e-3 * np.abs(reference) + atol)
    bad = finite & (excess > 0)
    assert not bad.any(), [(COLUMNS[i], fast[i], reference[i]) for i in np.flatnonzero(bad)[:5]]
    # where scipy gives NaN (a constant row), the fast code gives 0 and nothing else differs
    assert set(COLUMNS[~finite]) <= set(COLUMNS[MOMENTS]) and np.all(fast[~finite] == 0)


def test_columns_follow_fmas_order():
    columns = feature_columns()
    assert len(columns) == 518 == 7 * sum(FEATURE_SIZES.values()) and len(set(columns)) == 518
    assert columns[:3] == [
        "chroma_cens.kurtosis.01",
        "chroma_cens.kurtosis.02",
        "chroma_cens.kurtosis.03",
    ]
    assert columns[-1] == "zcr.std.01" and "mfcc.mean.01" in columns
    assert columns == sorted(
        columns, key=lambda c: (c.split(".")[0], c.split(".")[1], c.split(".")[2])
    )


def test_parity_on_real_fma_clips_at_their_native_rate(real_clips):
    for clip in real_clips:
        decoded = decode_file(clip, None, 30.0)  # what the features stage computes from
        assert decoded.source_sr == 44100
        y, sr = decoded.samples, decoded.source_sr
        assert_parity(compute_features(y, sr), reference_features(y, sr))


def test_native_audio_is_what_librosa_load_gives_fma(real_clips):
    """FMA's features.py starts from librosa.load(path, sr=None, mono=True): same samples."""
    for clip in real_clips[:2]:
        y, sr = librosa.load(clip, sr=None, mono=True)
        decoded = decode_file(clip, None, 30.0)
        assert decoded.source_sr == sr and np.array_equal(decoded.samples, y)


def test_parity_at_22050_hz_on_a_real_clip(real_clips):
    y = decode_file(real_clips[0], SR, 30.0).samples  # features.sample_rate: decoded
    assert_parity(compute_features(y, SR), reference_features(y, SR))


def test_fmas_sr_quirk_is_reproduced():
    """At 44.1 kHz FMA's centroid, bandwidth and roll-off are those of librosa's default
    22,050 Hz, half the true frequencies; its CQT and mel bands use the true rate."""
    y = librosa.resample(synthetic_signals()["melody"], orig_sr=SR, target_sr=44100)
    values = dict(zip(COLUMNS, compute_features(y, 44100), strict=True))
    S = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    for name, call in (
        ("spectral_centroid", librosa.feature.spectral_centroid),
        ("spectral_bandwidth", librosa.feature.spectral_bandwidth),
        ("spectral_rolloff", librosa.feature.spectral_rolloff),
    ):
        true_rate = call(S=S, sr=44100)[0]
        assert values[f"{name}.mean.01"] == pytest.approx(true_rate.mean() / 2, rel=1e-4), name
        assert values[f"{name}.max.01"] == pytest.approx(true_rate.max() / 2, rel=1e-4), name
    mel = librosa.feature.melspectrogram(S=S**2, sr=44100)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=20)
    assert values["mfcc.mean.01"] == pytest.approx(mfcc[0].mean(), rel=1e-4)


def synthetic_signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    t = np.arange(10 * SR) / SR
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)) / 3
    notes = np.concatenate(
        [librosa.tone(f, sr=SR, duration=0.5) for f in rng.uniform(100, 1000, 20)]
    )
    return {
        "chord": (0.3 * chord).astype(np.float32),
        "noise": (0.1 * rng.standard_normal(10 * SR)).astype(np.float32),
        "melody": (0.4 * notes).astype(np.float32),
        "short": (0.3 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)).astype(np.float32),
        "padded": np.concatenate([0.1 * rng.standard_normal(3 * SR), np.zeros(7 * SR)]).astype(
            np.float32
        ),
    }


@pytest.mark.parametrize("name", list(synthetic_signals()))
def test_parity_on_synthetic_signals(name):
    y = synthetic_signals()[name]
    assert_parity(compute_features(y, SR), reference_features(y, SR))


def test_silence_gives_finite_features():
    values = compute_features(np.zeros(5 * SR, dtype=np.float32), SR)
    assert values.shape == (518,) and values.dtype == np.float32 and np.isfinite(values).all()


@pytest.mark.parametrize("rate", [16000, 48000])
def test_other_sample_rates_stay_at_parity(rate):
    y = librosa.resample(synthetic_signals()["melody"], orig_sr=SR, target_sr=rate)
    assert_parity(compute_features(y, rate), reference_features(y, rate))


def test_deterministic():
    y = synthetic_signals()["noise"]
    assert compute_features(y, SR).tobytes() == compute_features(y.copy(), SR).tobytes()


def test_official_features_csv_maps_to_the_same_schema(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 518)).astype(np.float32)
    write_official_csv(tmp_path / "features.csv", [5, 2, 10], values)
    header = (tmp_path / "features.csv").read_text().splitlines()[:4]
    assert header[0].startswith("feature,chroma_cens") and header[3].startswith("track_id")
    table = read_official_features(tmp_path / "features.csv", [2, 10, 99])
    assert list(table.columns) == ["track_id", *feature_columns()]
    assert table["track_id"].tolist() == [2, 10]
    np.testing.assert_allclose(table.iloc[0, 1:].to_numpy(np.float32), values[1], rtol=1e-6)
    assert (table.dtypes.iloc[1:] == np.float32).all()


def test_official_features_csv_errors(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="features.csv|feature columns"):
        read_official_features(tmp_path / "bad.csv")
