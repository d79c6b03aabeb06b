"""One audio file decoded and judged as the decode stage judges it (ok, short, silent...).

The decode stage, the features stage at the native rate and a prediction on the user's own
files all read a file through this one function, so every consumer agrees on which audio is
usable and what its record says; it lives with the audio code, below the stages and the
models that share it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import soundfile as sf

from fmagenre.audio.decoding import (
    DecodedClip,
    NoAudioError,
    UnreadableAudioError,
    canonical_length,
    decode_file,
    is_silent,
)
from fmagenre.infra.native_stderr import captured
from fmagenre.infra.params import Params

SHORT_FRACTION = 0.98  # a clip with less real audio than this share of audio.duration is 'short'


@dataclass(frozen=True)
class DecodeSettings:
    """Everything that changes the canonical audio (and nothing else)."""

    sr: int
    duration: float
    crop: str

    @classmethod
    def from_params(cls, params: Params) -> DecodeSettings:
        return cls(params.audio.sr, params.audio.duration, params.audio.crop)

    @property
    def length(self) -> int:
        return canonical_length(self.sr, self.duration)


@dataclass(frozen=True)
class DecodeItem:
    track_id: int
    path: str  # absolute, so workers on other machines of a shared filesystem find it


def decode_clip(
    item: DecodeItem, settings: DecodeSettings, *, native: bool = False
) -> tuple[dict[str, Any], DecodedClip | None]:
    """Decode one track: its manifest record, and its float samples (None when none decoded).

    The samples are at ``settings.sr``, or at the file's own rate when ``native`` (FMA's
    features are defined there); either way the status (ok, short, silent...) is judged
    as the decode stage judges it, so every consumer agrees on which audio is usable.
    """
    record: dict[str, Any] = {
        "track_id": item.track_id,
        "status": "ok",
        "seconds": 0.0,
        "source_seconds": 0.0,
        "source_sr": 0,
        "channels": 0,
        "error": "",
    }
    # mpg123's notes on damaged files explain a 'short' or 'corrupt' status: kept in the record
    with captured() as messages:
        try:
            clip = decode_file(
                item.path, None if native else settings.sr, settings.duration, settings.crop
            )
        except FileNotFoundError:
            clip = None
            record.update(status="missing", error="audio file not found")
        except (
            NoAudioError,
            UnreadableAudioError,
            sf.LibsndfileError,
            RuntimeError,
            ValueError,
        ) as exc:
            clip = None
            record.update(status="corrupt", error=str(exc).replace("\n", " ")[:300])
    if clip is None:
        if messages and record["status"] == "corrupt":
            record["error"] += " | decoder: " + " / ".join(messages[:3])
        return record, None

    seconds = len(clip.samples) / (clip.source_sr if native else settings.sr)
    if is_silent(clip.samples):
        status = "silent"
    elif seconds < SHORT_FRACTION * settings.duration:
        status = "short"
    else:
        status = "ok"
    notes = [clip.error] if clip.error else []
    if messages and status != "ok":
        notes.append("decoder: " + " / ".join(messages[:3]))
    record.update(
        status=status,
        seconds=round(seconds, 4),
        source_seconds=round(clip.source_seconds, 4),
        source_sr=clip.source_sr,
        channels=clip.channels,
        error=" | ".join(notes)[:500],
    )
    return record, clip
