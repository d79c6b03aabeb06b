"""Log-mel spectrogram maths: the settings that change its values and one clip's [frames x n_mels].

Shared by the spectrograms stage, predict (a new file gets what training saw) and warmup.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import librosa
import numpy as np

from fmagenre.infra.errors import UserError
from fmagenre.infra.params import Params

AMIN = 1e-10  # power below which dB values are not meaningful (librosa's default)


@dataclass(frozen=True)
class LogMelSettings:
    """Everything that changes a spectrogram's values."""

    sr: int
    n_fft: int
    hop_length: int
    n_mels: int
    fmin: float
    fmax: float
    db_floor: float

    @classmethod
    def from_params(cls, params: Params, sr: int) -> LogMelSettings:
        spec = params.spectrogram
        fmax = spec.fmax if spec.fmax is not None else sr / 2
        if fmax > sr / 2:
            raise UserError(
                f"spectrogram.fmax = {spec.fmax} is above half the sample rate ({sr / 2:g} Hz for audio.sr = {sr})"
            )
        if spec.fmin >= fmax:
            raise UserError(f"spectrogram.fmin = {spec.fmin} must be below fmax ({fmax:g} Hz)")
        return cls(
            sr, spec.n_fft, spec.hop_length, spec.n_mels, spec.fmin, float(fmax), spec.db_floor
        )

    def frames(self, samples: int) -> int:
        """Frame count of a centred STFT of ``samples`` samples."""
        return 1 + samples // self.hop_length


@functools.lru_cache(maxsize=4)
def _mel_basis(settings: LogMelSettings) -> np.ndarray:
    # Built once per process: librosa.feature.melspectrogram rebuilds it on every call.
    return librosa.filters.mel(
        sr=settings.sr,
        n_fft=settings.n_fft,
        n_mels=settings.n_mels,
        fmin=settings.fmin,
        fmax=settings.fmax,
    ).astype(np.float32)


def log_mel(samples: np.ndarray, settings: LogMelSettings) -> np.ndarray:
    """[frames x n_mels] float32 log-mel power in dB (re 1.0), clipped below at db_floor."""
    spectrum = librosa.stft(
        np.asarray(samples, dtype=np.float32), n_fft=settings.n_fft, hop_length=settings.hop_length
    )
    power = np.square(np.abs(spectrum), dtype=np.float32)
    mel = _mel_basis(settings) @ power
    db = 10.0 * np.log10(np.maximum(mel, AMIN, dtype=np.float32))
    np.maximum(db, settings.db_floor, out=db)
    return np.ascontiguousarray(db.T)
