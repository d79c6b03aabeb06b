"""The audio store's records (``data/audio/decoded.parquet``): one per row, written by decode.

Each says what decoding found: status (ok, short, silent, corrupt, missing), seconds of real
audio, source rate and channels, the error. Later stages read them through this module
alone, so they do not depend on the decoder's code.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

STATUSES = ("ok", "short", "silent", "corrupt", "missing")
WITH_AUDIO = ("ok", "short")  # statuses of a track with real audio to compute from
DECODED_FILE = "decoded.parquet"


def read_decoded(audio_dir: Path) -> pd.DataFrame:
    """The records of the audio store at ``audio_dir`` (track_id, row, status, seconds, ...)."""
    return pd.read_parquet(Path(audio_dir) / DECODED_FILE)


def with_audio(decoded: pd.DataFrame) -> pd.DataFrame:
    """The records, ``usable`` marking every track with real audio (ok or short).

    Features and spectrograms are computed for all of them, whatever decode.min_seconds
    says: the models leave out the too-short ones through the manifest, so changing
    min_seconds recomputes neither.
    """
    return decoded.assign(usable=decoded["status"].isin(WITH_AUDIO))
