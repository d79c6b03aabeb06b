"""musicnn's input, made from the pipeline's canonical audio.

musicnn was trained on 16 kHz mono log-mel spectrograms (n_fft 512, hop 256, 96 mel bands
of librosa's defaults, ``log10(10000 x + 1)``), cut into 187-frame (3-s) patches without
overlap. The embeddings stage, ``predict --model musicnn`` and ``tag`` all start from the
canonical audio the decode stage writes (``audio.sr``, mono, int16) and go through
``clip_patches`` below, so a file on your disk and the same track in the pipeline get the
very same patches. Only the real audio is cut into patches, never the zero padding of a
short clip (musicnn's own code likewise patches only the audio a file holds).
"""

from __future__ import annotations

import numpy as np
import soxr

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # 3 s: librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
PATCH_SAMPLES = (
    PATCH_FRAMES - 1
) * HOP  # the shortest signal giving one whole patch (centred frames)
RESAMPLE_QUALITY = "HQ"  # soxr's, as librosa.load's default (soxr_hq) uses


def to_musicnn_rate(samples: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 samples at ``sr`` resampled to musicnn's 16 kHz."""
    samples = np.asarray(samples, dtype=np.float32)
    if sr == SR:
        return samples
    return soxr.resample(samples, sr, SR, quality=RESAMPLE_QUALITY).astype(np.float32, copy=False)


def log_mel(samples_16k: np.ndarray) -> np.ndarray:
    """[frames x 96] float32: musicnn's log-compressed mel power spectrogram (time first)."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=samples_16k, sr=SR, n_fft=N_FFT, hop_length=HOP, n_mels=N_MELS
    ).T
    return np.log10(10000 * mel.astype(np.float32) + 1)


def clip_patches(samples: np.ndarray, sr: int, seconds: float | None = None) -> np.ndarray:
    """[patches x 187 x 96] float32 from a clip's first ``seconds`` of real audio.

    A clip with less than 3 s of audio is zero-padded to one patch (the decode stage decides
    which tracks are long enough to use; see decode.min_seconds).
    """
    real = samples if seconds is None else samples[: int(round(seconds * sr))]
    audio = to_musicnn_rate(real, sr)
    if len(audio) < PATCH_SAMPLES:
        audio = np.pad(audio, (0, PATCH_SAMPLES - len(audio)))
    spectrogram = log_mel(audio)
    count = len(spectrogram) // PATCH_FRAMES
    return spectrogram[: count * PATCH_FRAMES].reshape(count, PATCH_FRAMES, N_MELS)
