"""FMA's 518 audio features, computed at parity with the plain definition but faster.

The definition is FMA's features.py (fmagenre.features.reference writes it plainly),
including its sample-rate quirk: FMA passes the clip's rate to the CQT and the mel
spectrogram but calls chroma_stft, spectral_centroid, spectral_bandwidth,
spectral_rolloff and spectral_contrast without ``sr``, so librosa computes them as if
the audio were at its default 22,050 Hz. features.csv holds those values for every clip
(mostly 44.1 kHz), so a feature that means what features.csv means must repeat the
quirk: with the true rate, centroid, bandwidth and roll-off of a 44.1 kHz clip come out
exactly twice FMA's, and contrast and chroma_stft fall in other bands and bins. At
22,050 Hz the quirk changes nothing.

The plain definition spends most of its time repeating work: the CQT's tuning estimate
runs its own STFT and pitch tracker over every frequency bin, chroma_stft runs a second
tracker, spectral bandwidth recomputes the centroid, every spectral feature
re-normalises the same spectrogram, and each of eleven features is summarised by seven
separate passes. Here one magnitude STFT feeds everything; both tuning estimates track
pitches only in the 150-4000 Hz band librosa's tracker keeps anyway (with one bin of
context each side, so its local maxima and interpolation are unchanged); centroid,
bandwidth, roll-off and zero-crossing rate are closed-form NumPy over shared
intermediates; and the seven statistics of all 74 rows come from one vectorised pass.

Values match the plain definition to within 1e-3 relative (tests/test_features.py says
exactly how), except that skewness and kurtosis of a numerically constant row are 0 here
instead of scipy's NaN, so that no track's features are undefined.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from pathlib import Path

import librosa
import numpy as np
import pandas as pd

from fmagenre.infra.errors import UserError

FEATURE_SIZES: dict[str, int] = {
    "chroma_stft": 12,
    "chroma_cqt": 12,
    "chroma_cens": 12,
    "tonnetz": 6,
    "mfcc": 20,
    "rmse": 1,
    "zcr": 1,
    "spectral_centroid": 1,
    "spectral_bandwidth": 1,
    "spectral_contrast": 7,
    "spectral_rolloff": 1,
}
STATISTICS = ("mean", "std", "skew", "kurtosis", "median", "min", "max")
N_FFT = 2048
HOP = 512
PITCH_BAND = (150.0, 4000.0)  # librosa.piptrack's default fmin, fmax
ROLL_PERCENT = 0.85
ZCR_THRESHOLD = 1e-10
# FMA's quirk (see the module docstring): the rate librosa assumes when a call is given no sr,
# used on purpose for chroma_stft, spectral centroid, bandwidth, roll-off and contrast
QUIRK_SR = 22050
# The CQT's top bin is B7 (3,951 Hz; up to half a semitone higher after tuning) and its filter
# must end below the Nyquist frequency: librosa refuses rates under 8,486 Hz at the highest
# tuning (measured), so a file below this rate gets a sentence, never librosa's exception.
MIN_SAMPLE_RATE = 8500


class FeatureInputError(ValueError):
    """Audio that FMA's features cannot be computed on; the message says why and what to do."""


@functools.cache
def feature_columns() -> list[str]:
    """The 518 flat column names in FMA's features.csv order (sorted by feature, statistic, number)."""
    triples = [
        (name, statistic, f"{i + 1:02d}")
        for name, size in FEATURE_SIZES.items()
        for statistic in STATISTICS
        for i in range(size)
    ]
    return [".".join(triple) for triple in sorted(triples)]


@functools.cache
def _row_order() -> tuple[list[str], np.ndarray]:
    """The 74 frame-level rows in computation order, and where each (statistic, row) lands."""
    rows = [f"{name}.{i + 1:02d}" for name, size in FEATURE_SIZES.items() for i in range(size)]
    position = {column: k for k, column in enumerate(feature_columns())}
    index = np.array(
        [
            [position[f"{row.split('.')[0]}.{statistic}.{row.split('.')[1]}"] for row in rows]
            for statistic in STATISTICS
        ]
    )
    return rows, index


@functools.lru_cache(maxsize=8)
def _fft_frequencies(sr: int) -> np.ndarray:
    return librosa.fft_frequencies(sr=sr, n_fft=N_FFT)


@functools.lru_cache(maxsize=8)
def _mel_basis(sr: int) -> np.ndarray:
    with warnings.catch_warnings():
        # above ~100 kHz the lowest mel bands are narrower than one FFT bin and stay empty:
        # so they are in FMA's definition at that rate, and librosa's warning would only
        # interrupt the user's output
        warnings.filterwarnings("ignore", "Empty filters detected", UserWarning)
        return librosa.filters.mel(sr=sr, n_fft=N_FFT)


def estimate_tuning_in_band(S: np.ndarray, sr: int) -> float:
    """librosa.estimate_tuning(S=S, sr=sr, bins_per_octave=12), computed on the pitch band only.

    piptrack interpolates and finds local maxima over all 1025 bins, then keeps the
    150-4000 Hz ones; computing those bins (with their neighbours) gives the same pitches
    and magnitudes for a third of the work. Float32 arithmetic in librosa's order.
    """
    freqs = _fft_frequencies(sr)
    band = np.flatnonzero((freqs >= PITCH_BAND[0]) & (freqs < min(PITCH_BAND[1], sr / 2)))
    # rows 0 and the last one are never pitches (edge rules of localmax / interpolation);
    # keeping the band strictly inside lets every row use both neighbours
    band = band[(band > 0) & (band < S.shape[0] - 1)]
    if len(band) == 0:
        return 0.0
    lo, hi = int(band[0]), int(band[-1]) + 1
    below, centre, above = S[lo - 1 : hi - 1], S[lo:hi], S[lo + 1 : hi + 1]
    ref = np.float32(0.1) * S.max(axis=0)
    window = S[lo - 1 : hi + 1]
    thresholded = window * (window > ref)
    t_below, t_centre, t_above = thresholded[:-2], thresholded[1:-1], thresholded[2:]
    is_max = (t_centre > t_below) & (t_centre >= t_above)
    # piptrack's parabolic interpolation shift and gradient at the maxima only
    centre_m, below_m, above_m = centre[is_max], below[is_max], above[is_max]
    a = above_m + below_m - np.float32(2) * centre_m
    b = (above_m - below_m) / np.float32(2)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(np.abs(b) >= np.abs(a), np.float32(0), -b / a).astype(S.dtype)
    rows = np.nonzero(is_max)[0] + lo
    # stored in S's dtype, as piptrack does: the tuning histogram is sensitive to the last bit
    pitch = ((rows + shift) * float(sr) / N_FFT).astype(S.dtype)
    magnitude = centre_m + np.float32(0.5) * b * shift  # b is also np.gradient's central difference
    positive = pitch > 0
    threshold = np.median(magnitude[positive]) if positive.any() else 0.0
    selected = pitch[(magnitude >= threshold) & positive]
    if selected.size == 0:
        return 0.0
    return float(librosa.pitch_tuning(selected, resolution=0.01, bins_per_octave=12))


def _zero_crossing_rate(y: np.ndarray, frames: int) -> np.ndarray:
    """librosa.feature.zero_crossing_rate(y, 2048, 512, center=True) via one pass and cumulative sums."""
    padded = np.pad(y, N_FFT // 2, mode="edge")
    signs = np.signbit(np.where(np.abs(padded) <= ZCR_THRESHOLD, np.float32(0), padded))
    change = np.concatenate([[0], np.cumsum(signs[1:] != signs[:-1])])
    starts = np.arange(frames) * HOP
    counts = change[starts + N_FFT - 1] - change[starts]
    return (counts / N_FFT)[None, :]


def _spectral_shape(S: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centroid, bandwidth (p=2) and 85% roll-off of a magnitude spectrogram, sharing the work."""
    freqs = _fft_frequencies(sr)
    total = S.sum(axis=0, dtype=np.float64)
    norm = np.where(total < np.finfo(S.dtype).tiny, 1.0, total)
    first = (freqs @ S.astype(np.float64)) / norm
    second = ((freqs**2) @ S.astype(np.float64)) / norm
    weight = total / norm
    bandwidth = np.sqrt(np.maximum(second - 2 * first * first + first * first * weight, 0.0))
    cumulative = np.cumsum(S, axis=0)
    reached = cumulative >= np.float32(ROLL_PERCENT) * cumulative[-1]
    rolloff = freqs[np.argmax(reached, axis=0)]
    return first[None, :], bandwidth[None, :], rolloff[None, :]


def _statistics(rows: np.ndarray) -> np.ndarray:
    """(7, n_rows) mean, std, skew, kurtosis, median, min, max in one vectorised pass."""
    x = rows.astype(np.float64)
    mean = x.mean(axis=1)
    centred = x - mean[:, None]
    squared = centred * centred
    m2 = squared.mean(axis=1)
    m3 = (squared * centred).mean(axis=1)
    m4 = (squared * squared).mean(axis=1)
    constant = m2 <= (np.finfo(np.float32).eps * mean) ** 2  # where scipy gives NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        skew = np.where(constant, 0.0, m3 / m2**1.5)
        kurtosis = np.where(constant, 0.0, m4 / m2**2 - 3.0)
    return np.stack(
        [mean, np.sqrt(m2), skew, kurtosis, np.median(x, axis=1), x.min(axis=1), x.max(axis=1)]
    )


def compute_features(y: np.ndarray, sr: int) -> np.ndarray:
    """The 518 FMA features of mono audio ``y`` at ``sr`` Hz: float32, FMA's column order.

    ``sr`` is the audio's true rate; it sets the CQT and the mel bands, while the five calls
    of FMA's quirk use QUIRK_SR whatever it is, as features.csv does.
    """
    if sr < MIN_SAMPLE_RATE:
        raise FeatureInputError(
            f"the sample rate, {sr:,} Hz, is too low for FMA's features: chroma_cqt reaches "
            f"3,951 Hz (B7) and needs at least {MIN_SAMPLE_RATE:,} Hz; convert the file to "
            "22,050 Hz or more (e.g. ffmpeg -i FILE -ar 22050 OUT.wav), knowing that it holds "
            f"nothing above {sr // 2:,} Hz"
        )
    y = np.ascontiguousarray(y, dtype=np.float32)
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    power = S * S
    cqt = np.abs(
        librosa.cqt(
            y,
            sr=sr,
            hop_length=HOP,
            bins_per_octave=12,
            n_bins=7 * 12,
            tuning=estimate_tuning_in_band(S, sr),
        )
    )
    chroma_cens = librosa.feature.chroma_cens(C=cqt, n_chroma=12, n_octaves=7)
    centroid, bandwidth, rolloff = _spectral_shape(S, QUIRK_SR)
    mel = _mel_basis(sr) @ power
    per_feature = {
        "chroma_stft": librosa.feature.chroma_stft(
            S=power, sr=QUIRK_SR, n_chroma=12, tuning=estimate_tuning_in_band(power, QUIRK_SR)
        ),
        "chroma_cqt": librosa.feature.chroma_cqt(C=cqt, n_chroma=12, n_octaves=7),
        "chroma_cens": chroma_cens,
        "tonnetz": librosa.feature.tonnetz(chroma=chroma_cens),
        "mfcc": librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=20),
        "rmse": librosa.feature.rms(S=S),
        "zcr": _zero_crossing_rate(y, S.shape[1]),
        "spectral_centroid": centroid,
        "spectral_bandwidth": bandwidth,
        "spectral_contrast": librosa.feature.spectral_contrast(S=S, sr=QUIRK_SR, n_bands=6),
        "spectral_rolloff": rolloff,
    }
    rows, index = _row_order()
    out = np.empty(len(feature_columns()), dtype=np.float32)
    # rows of one frame rate are summarised together (the CQT may have one frame more than the STFT)
    by_length: dict[int, list[tuple[int, np.ndarray]]] = {}
    k = 0
    for name in FEATURE_SIZES:
        block = per_feature[name]
        for i in range(block.shape[0]):
            by_length.setdefault(block.shape[1], []).append((k, block[i]))
            k += 1
    for members in by_length.values():
        positions = [position for position, _ in members]
        stats = _statistics(np.stack([row for _, row in members]))
        out[index[:, positions]] = stats
    assert k == len(rows)
    return out


def checked_features(samples: np.ndarray, sr: int) -> np.ndarray:
    """The 518 features; a non-finite value is a failure, never a silent NaN row."""
    values = compute_features(samples, sr)
    bad = ~np.isfinite(values)
    if bad.any():
        names = [feature_columns()[i] for i in np.flatnonzero(bad)[:3]]
        raise ValueError(f"{int(bad.sum())} non-finite feature values (e.g. {', '.join(names)})")
    return values.astype(np.float32)


def read_official_features(csv_path: Path, track_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """FMA's precomputed features.csv as the features table: track_id + 518 float32 columns."""
    csv_path = Path(csv_path)
    try:
        raw = pd.read_csv(csv_path, index_col=0, header=[0, 1, 2])
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise UserError(
            f"{csv_path} cannot be read as FMA's features.csv (three header rows): {exc}"
        ) from None
    names = [".".join(str(part) for part in column) for column in raw.columns]
    raw.columns = names
    missing = [column for column in feature_columns() if column not in raw.columns]
    if missing:
        raise UserError(
            f"{csv_path} lacks {len(missing)} of FMA's feature columns (e.g. {missing[0]})"
        )
    index = pd.to_numeric(pd.Series(raw.index, dtype="object"), errors="coerce")
    keep = index.notna().to_numpy()
    values = raw.loc[keep, feature_columns()].to_numpy(np.float32)
    table = pd.concat(
        [
            pd.DataFrame({"track_id": index[keep].astype("int64").to_numpy()}),
            pd.DataFrame(values, columns=feature_columns()),
        ],
        axis=1,
    )
    if track_ids is not None:
        table = table[table["track_id"].isin(set(int(t) for t in track_ids))]
    return table.sort_values("track_id").reset_index(drop=True)
