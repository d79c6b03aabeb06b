"""FMA's 518 features written plainly, one librosa call per feature, as FMA's features.py does.

The calls and their arguments are FMA's, including the five that FMA makes without ``sr``
(chroma_stft, spectral_centroid, spectral_bandwidth, spectral_contrast,
spectral_rolloff): librosa then assumes its default 22,050 Hz whatever the clip's rate.
That is FMA's definition as features.csv holds it, so it is reproduced here on purpose
(fmagenre.features.compute explains why); only rmse is now called rms. FMA feeds it
``librosa.load(path, sr=None, mono=True)``: the clip at its native rate.

This is the definition the fast implementation (fmagenre.features.compute) is held to: the parity
tests compare the two on real and synthetic clips, and benchmarks/features.py times them
against each other. It is deliberately naive — it recomputes spectrograms, tuning
estimates and normalisations — because that is what makes it a trustworthy reference.
Skewness and kurtosis of a (numerically) constant row are NaN here, as scipy returns them.
"""

from __future__ import annotations

import librosa
import numpy as np
from scipy import stats

from fmagenre.features.compute import FEATURE_SIZES, STATISTICS, feature_columns


def _summarise(values: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "mean": np.mean(values, axis=1),
        "std": np.std(values, axis=1),
        "skew": stats.skew(values, axis=1),
        "kurtosis": stats.kurtosis(values, axis=1),
        "median": np.median(values, axis=1),
        "min": np.min(values, axis=1),
        "max": np.max(values, axis=1),
    }


def reference_features(y: np.ndarray, sr: int) -> np.ndarray:
    """The 518 features of mono audio ``y`` at ``sr`` Hz, float32, in FMA's column order."""
    y = np.asarray(y, dtype=np.float32)
    frames: dict[str, np.ndarray] = {}
    frames["zcr"] = librosa.feature.zero_crossing_rate(y, frame_length=2048, hop_length=512)
    cqt = np.abs(
        librosa.cqt(y, sr=sr, hop_length=512, bins_per_octave=12, n_bins=7 * 12, tuning=None)
    )
    frames["chroma_cqt"] = librosa.feature.chroma_cqt(C=cqt, n_chroma=12, n_octaves=7)
    frames["chroma_cens"] = librosa.feature.chroma_cens(C=cqt, n_chroma=12, n_octaves=7)
    frames["tonnetz"] = librosa.feature.tonnetz(chroma=frames["chroma_cens"])
    stft = np.abs(librosa.stft(y, n_fft=2048, hop_length=512))
    # no sr in these five calls, as in FMA's features.py: librosa's default 22,050 Hz applies
    frames["chroma_stft"] = librosa.feature.chroma_stft(S=stft**2, n_chroma=12)
    frames["rmse"] = librosa.feature.rms(S=stft)
    frames["spectral_centroid"] = librosa.feature.spectral_centroid(S=stft)
    frames["spectral_bandwidth"] = librosa.feature.spectral_bandwidth(S=stft)
    frames["spectral_contrast"] = librosa.feature.spectral_contrast(S=stft, n_bands=6)
    frames["spectral_rolloff"] = librosa.feature.spectral_rolloff(S=stft)
    mel = librosa.feature.melspectrogram(sr=sr, S=stft**2)
    frames["mfcc"] = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=20)

    values = {}
    for name, rows in frames.items():
        assert rows.shape[0] == FEATURE_SIZES[name], (name, rows.shape)
        for statistic, per_row in _summarise(rows).items():
            for i, value in enumerate(per_row):
                values[f"{name}.{statistic}.{i + 1:02d}"] = value
    assert len(values) == len(feature_columns()) and set(STATISTICS) == {
        "mean",
        "std",
        "skew",
        "kurtosis",
        "median",
        "min",
        "max",
    }
    return np.array([values[column] for column in feature_columns()], dtype=np.float32)
