"""Turn an audio file into canonical audio: mono, one sample rate, one length.

The spectrograms read the canonical audio the decode stage writes once; FMA's features are
defined at the file's own rate, so the features stage decodes the file again with the same
code at that rate (``sr=None``). Decoding reads only the frames the clip needs (the centre
or the start of a long track), mixes to mono before resampling (half the resampling work
for stereo), and salvages what a truncated file does hold instead of discarding the track.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

# int16 full scale stands for 2.0, not 1.0: decoded MP3s overshoot 1.0 (FMA's loud masters
# reach 1.2 and more), and clipping them would distort every feature computed later. The cost
# is one bit: quantisation noise sits near -90 dBFS instead of -96.
INT16_SCALE = 16384.0
BLOCK_SECONDS = 10.0  # read in blocks so a decoding error keeps the audio before it
SILENCE_PEAK = 10 ** (-70 / 20)  # below -70 dBFS peak a clip carries no usable audio
RESAMPLE_QUALITY = "HQ"  # what librosa.load uses (soxr_hq)
# A file at most this many seconds longer than the clip is read from its start: FMA's 30 s
# clips run over by ~3 ms, and seeking into an MP3 costs more than that difference is worth.
CENTER_MIN_EXCESS = 1.0
RESAMPLE_MARGIN = 0.05  # seconds read past the clip's end for the resampler's filter


class NoAudioError(Exception):
    """The file opened but yielded no audio frames at all."""


class UnreadableAudioError(Exception):
    """The file is not audio the decoder understands (empty, truncated header, not audio)."""


@dataclass(frozen=True)
class DecodedClip:
    """Canonical samples plus what the source file was like."""

    samples: np.ndarray  # float32 mono at the target rate; at most the target length
    source_sr: int
    channels: int
    source_seconds: float  # decodable length of the whole file
    error: str = ""  # set when decoding stopped early but some audio was kept


def canonical_length(sr: int, duration: float) -> int:
    return int(round(sr * duration))


def decode_file(
    path: Path | str, sr: int | None, duration: float, crop: str = "center"
) -> DecodedClip:
    """Decode ``path`` to at most ``duration`` seconds of mono float32 audio at ``sr`` Hz.

    ``sr=None`` keeps the file's own rate (what FMA's features are defined on) and keeps a
    clip no more than CENTER_MIN_EXCESS longer than ``duration`` whole, so an FMA clip of
    30.003 s gives exactly what ``librosa.load(path, sr=None, mono=True)`` gives.
    Raises FileNotFoundError, NoAudioError, or soundfile's error for unreadable files.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    size = path.stat().st_size
    if size == 0:
        raise UnreadableAudioError("empty file (0 bytes)")
    try:
        # as bytes: a file name that is not UTF-8 (Linux allows any bytes) still opens
        audio_file = sf.SoundFile(os.fsencode(path))
    except sf.LibsndfileError:
        # libsndfile's own text here ("File does not exist or is not a regular file") misleads
        raise UnreadableAudioError(f"not a readable audio file ({size} bytes)") from None
    with audio_file:
        source_sr = int(audio_file.samplerate)
        channels = int(audio_file.channels)
        total = int(audio_file.frames)  # an estimate for some VBR files; reading is the truth
        wanted = int(np.ceil(duration * source_sr))
        native = sr is None
        if native:
            sr = source_sr
            if total - wanted <= CENTER_MIN_EXCESS * source_sr:
                # a clip about as long as asked for: all of it, to its real end (the header's
                # frame count is only an estimate for some VBR files)
                wanted = int(np.ceil((duration + CENTER_MIN_EXCESS) * source_sr))
        start = 0
        if (
            crop == "center"
            and total - wanted > CENTER_MIN_EXCESS * source_sr
            and audio_file.seekable()
        ):
            start = (total - wanted) // 2
            audio_file.seek(start)
        # a little beyond the clip, so the resampler's filter sees real context at the end
        margin = int(RESAMPLE_MARGIN * source_sr) if source_sr != sr else 0
        block = int(BLOCK_SECONDS * source_sr)
        decoded, error = _read_frames(audio_file, wanted + margin, channels, block)
        audio_end = None  # where the audio really ends, when the header promised more
        if start > 0 and len(decoded) < wanted:
            # A truncated file's header still counts the full length, so the seek landed near
            # or past the real end: step back until audio comes, then take the clip that ends
            # where the audio does.
            while len(decoded) == 0 and start > 0:
                start = max(0, start - wanted)
                audio_file.seek(start)
                decoded, error = _read_frames(audio_file, wanted + margin, channels, block)
            audio_end = start + len(decoded)
            if start > 0 and len(decoded) < wanted:
                start = max(0, audio_end - wanted)
                audio_file.seek(start)
                decoded, error = _read_frames(audio_file, wanted + margin, channels, block)
    if len(decoded) == 0:
        raise NoAudioError(error or "the file holds no audio frames")
    if not np.isfinite(decoded).all():
        # a float WAV can hold NaN or infinity: no feature of it means anything
        bad = int(np.count_nonzero(~np.isfinite(decoded)))
        raise UnreadableAudioError(
            f"{bad} of {decoded.size} samples are not finite (NaN or infinity)"
        )
    mono = _mix_to_mono(decoded)
    if source_sr != sr:
        mono = soxr.resample(mono, source_sr, sr, quality=RESAMPLE_QUALITY)
    keep = wanted if native else canonical_length(sr, duration)
    samples = np.ascontiguousarray(mono[:keep], dtype=np.float32)
    read_to = start + len(decoded)
    # Reading is the truth when the file ended or broke early; when we stopped because we
    # had enough, the header's frame count is the best estimate of the rest.
    if audio_end is not None:
        source_seconds = max(audio_end, read_to) / source_sr
    else:
        source_seconds = (
            max(total, read_to) if len(decoded) >= wanted and not error else read_to
        ) / source_sr
    return DecodedClip(samples, source_sr, channels, source_seconds, error)


def _read_frames(
    audio_file: sf.SoundFile, wanted: int, channels: int, block: int
) -> tuple[np.ndarray, str]:
    """Read up to ``wanted`` frames into one preallocated array, block by block, so that a
    decoding error part-way keeps the frames read before it."""
    frames = np.empty((wanted, channels), dtype=np.float32)
    filled = 0
    while filled < wanted:
        step = min(block, wanted - filled)
        try:
            count = len(
                audio_file.read(
                    step, dtype="float32", always_2d=True, out=frames[filled : filled + step]
                )
            )
        except (sf.LibsndfileError, RuntimeError) as exc:
            return frames[:filled], f"decoding stopped early: {exc}"
        if count == 0:
            break
        filled += count
    return frames[:filled], ""


def _mix_to_mono(frames: np.ndarray) -> np.ndarray:
    # Summing channel columns is ~25x faster than frames.mean(axis=1) on interleaved data.
    mono = frames[:, 0].copy()
    for channel in range(1, frames.shape[1]):
        mono += frames[:, channel]
    if frames.shape[1] > 1:
        mono *= np.float32(1.0 / frames.shape[1])
    return mono


def to_int16(samples: np.ndarray, length: int) -> np.ndarray:
    """Pad with zeros (or cut) to ``length`` and quantise to int16 for compact storage."""
    out = np.zeros(length, dtype=np.int16)
    n = min(length, len(samples))
    out[:n] = np.clip(np.round(samples[:n] * INT16_SCALE), -32768, 32767).astype(np.int16)
    return out


def from_int16(row: np.ndarray) -> np.ndarray:
    """Canonical float32 samples (full scale 1.0, peaks up to 2.0) from a stored int16 row."""
    return np.asarray(row, dtype=np.float32) / np.float32(INT16_SCALE)


def is_silent(samples: np.ndarray) -> bool:
    """No audible audio: nothing, or nothing but a constant (a DC offset is not sound)."""
    if len(samples) == 0:
        return True
    centred = samples - np.mean(samples, dtype=np.float64)
    return float(np.max(np.abs(centred))) < SILENCE_PEAK
