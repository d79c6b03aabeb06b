"""The decode stage's logic: every track's file, read once, into canonical audio.

The audio store (``data/audio``) holds the rows and ``decoded.parquet``, one record per row:
the track's status, how many seconds of real audio it has, its source format. A bad track is
a status, never a crash: FMA has files with no audio, truncated files and short clips, and a
pipeline over 100,000 tracks must count them, not die on them. Which tracks are usable
(``decode.min_seconds``) and how many bad ones are too many (``decode.max_bad_fraction``)
is decided after decoding, by the manifest stage (fmagenre.pipeline.manifest), so changing either
decodes nothing again.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from fmagenre.audio.clip import DecodeItem, DecodeSettings, decode_clip
from fmagenre.audio.decoded import DECODED_FILE, STATUSES, WITH_AUDIO
from fmagenre.audio.decoding import INT16_SCALE, to_int16
from fmagenre.infra.params import Params
from fmagenre.infra.trackmap import RowSpec, TrackOutput
from fmagenre.infra.trackrun import track_run

log = logging.getLogger(__name__)

SHORT_WARNING_SHARE = 0.5  # more short tracks than this share: audio.duration is likely wrong
ROWS_PER_SHARD = 512  # 512 clips of 30 s at 22,050 Hz in int16: 677 MB per shard file
FORMAT_VERSION = 1  # bump when the bytes written for the same inputs change


def decode_track(item: DecodeItem, settings: DecodeSettings) -> TrackOutput:
    """Decode one track into a canonical int16 row and a manifest record."""
    record, clip = decode_clip(item, settings)
    if clip is None:
        return TrackOutput(record, None)
    return TrackOutput(record, to_int16(clip.samples, settings.length))


def decode_items(tracks: pd.DataFrame) -> list[DecodeItem]:
    return [
        DecodeItem(int(tid), os.path.abspath(path))
        for tid, path in zip(tracks["track_id"], tracks["path"], strict=True)
    ]


def inputs_fingerprint(items: list[DecodeItem]) -> str:
    """Identity of the input files (path, size, mtime): a resumed run must not mix old and new files."""
    digest = hashlib.sha1()
    for item in items:
        try:
            stat = os.stat(item.path)
            state = f"{stat.st_size}:{stat.st_mtime_ns}"
        except OSError:
            state = "absent"
        digest.update(f"{item.track_id}|{item.path}|{state}\n".encode())
    return digest.hexdigest()


def run_decode(
    tracks: pd.DataFrame,
    params: Params,
    *,
    audio_out: Path,
    work_dir: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Decode every track of the tracks table into the audio store at ``audio_out``, with
    its ``decoded.parquet``; return the summary (counts per status, hours of audio, time)."""
    settings = DecodeSettings.from_params(params)
    items = decode_items(tracks)
    with track_run(
        "decode",
        FORMAT_VERSION,
        functools.partial(decode_track, settings=settings),
        items,
        identity={"settings": dataclasses.asdict(settings), "inputs": inputs_fingerprint(items)},
        work_dir=work_dir,
        compute=params.compute,
        name="audio",
        row_spec=RowSpec((settings.length,), "int16"),
        rows_per_shard=ROWS_PER_SHARD,
        attrs={
            "sr": settings.sr,
            "duration": settings.duration,
            "crop": settings.crop,
            "int16_scale": INT16_SCALE,
        },
        progress=progress,
    ) as run:
        decoded = decoded_table(items, run.records)
        warning = short_warning(decoded, settings.duration)
        if warning:
            log.warning(warning)
        run.move_store(audio_out, {DECODED_FILE: decoded})
    return summarise(decoded, run.seconds)


def decoded_table(items: list[DecodeItem], records: list[dict[str, Any]]) -> pd.DataFrame:
    """One record per track, in the audio store's row order."""
    rows = []
    for position, (item, record) in enumerate(zip(items, records, strict=True)):
        if "status" not in record:  # the track's function raised: recorded by the map
            record = {
                "track_id": item.track_id,
                "status": "corrupt",
                "seconds": 0.0,
                "source_seconds": 0.0,
                "source_sr": 0,
                "channels": 0,
                "error": record.get("error", "unknown failure"),
            }
        rows.append({**record, "row": position})
    decoded = pd.DataFrame(
        rows,
        columns=[
            "track_id",
            "row",
            "status",
            "seconds",
            "source_seconds",
            "source_sr",
            "channels",
            "error",
        ],
    )
    return decoded.astype(
        {
            "track_id": "int64",
            "row": "int64",
            "status": "string",
            "seconds": "float64",
            "source_seconds": "float64",
            "source_sr": "int64",
            "channels": "int64",
            "error": "string",
        }
    )


def summarise(decoded: pd.DataFrame, elapsed: float) -> dict[str, Any]:
    return {
        "tracks": len(decoded),
        "with_audio": int(decoded["status"].isin(WITH_AUDIO).sum()),
        "status": {status: int((decoded["status"] == status).sum()) for status in STATUSES},
        "audio_hours": round(float(decoded["seconds"].sum()) / 3600, 3),
        "seconds": round(elapsed, 2),
    }


def short_warning(decoded: pd.DataFrame, duration: float) -> str | None:
    """A note when most tracks are shorter than audio.duration: then the setting, not the
    data, is wrong (30 s for 10 s clips pads two thirds of every track with silence)."""
    short = decoded[decoded["status"] == "short"]
    if len(decoded) == 0 or len(short) <= SHORT_WARNING_SHARE * len(decoded):
        return None
    return (
        f"{len(short)} of {len(decoded)} tracks are shorter than audio.duration = {duration:g} s "
        f"(median {short['seconds'].median():.1f} s of audio): audio.duration is probably longer "
        "than the clips; set it to their length in params.yaml"
    )
