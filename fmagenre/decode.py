"""The decode stage's logic: every track's file, read once, into canonical audio and a manifest.

The manifest is where every later stage learns which tracks are usable. A bad track is a
status, never a crash: FMA has files with no audio, truncated files and short clips, and a
pipeline over 100,000 tracks must count them, not die on them. The stage only fails when
the bad fraction says something is wrong with the data as a whole (a broken download, a
wrong folder), and even then the decoded work is kept for the next run.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import soundfile as sf

from fmagenre.atomic import remove, write_parquet
from fmagenre.audio import (
    INT16_SCALE,
    DecodedClip,
    NoAudioError,
    UnreadableAudioError,
    canonical_length,
    decode_file,
    from_int16,
    is_silent,
    to_int16,
)
from fmagenre.errors import UserError
from fmagenre.native_stderr import captured
from fmagenre.params import Params
from fmagenre.store import RowStore
from fmagenre.trackmap import Journal, RowSpec, TrackOutput, finish, map_into_store

log = logging.getLogger(__name__)

STATUSES = ("ok", "short", "silent", "corrupt", "missing")
SHORT_FRACTION = 0.98  # a clip with less real audio than this share of audio.duration is 'short'
SHORT_WARNING_SHARE = 0.5  # more short tracks than this share: audio.duration is likely wrong
ROWS_PER_SHARD = 512  # 512 clips of 30 s at 22,050 Hz in int16: 677 MB per shard file
FORMAT_VERSION = 1  # bump when the bytes written for the same inputs change


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


def decode_track(item: DecodeItem, settings: DecodeSettings) -> TrackOutput:
    """Decode one track into a canonical int16 row and a manifest record."""
    record, clip = decode_clip(item, settings)
    if clip is None:
        return TrackOutput(record, None)
    return TrackOutput(record, to_int16(clip.samples, settings.length))


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
    manifest_out: Path,
    work_dir: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Decode every track of the tracks table; write the audio store and the manifest.

    Returns the summary (counts per status, usable share, throughput). Raises UserError when
    the unusable share exceeds decode.max_bad_fraction — after writing the manifest for
    inspection and keeping the decoded work, so a rerun with a higher limit is instant.
    """
    settings = DecodeSettings.from_params(params)
    items = decode_items(tracks)
    journal = Journal.open(
        work_dir,
        {
            "stage": "decode",
            "format": FORMAT_VERSION,
            "settings": dataclasses.asdict(settings),
            "inputs": inputs_fingerprint(items),
        },
    )
    began = time.perf_counter()
    records, store = map_into_store(
        functools.partial(decode_track, settings=settings),
        items,
        compute=params.compute,
        journal=journal,
        name="audio",
        row_spec=RowSpec((settings.length,), "int16"),
        rows_per_shard=ROWS_PER_SHARD,
        attrs={
            "sr": settings.sr,
            "duration": settings.duration,
            "crop": settings.crop,
            "int16_scale": INT16_SCALE,
        },
        desc="decode",
        progress=progress,
    )
    store.close()
    elapsed = time.perf_counter() - began

    manifest = build_manifest(items, records, params.decode.min_seconds)
    summary = summarise(manifest, elapsed, params.decode.max_bad_fraction)
    warning = short_warning(manifest, settings.duration)
    if warning:
        log.warning(warning)
    if summary["bad_fraction"] > params.decode.max_bad_fraction:
        write_parquet(manifest_out, manifest)
        raise UserError(
            f"{summary['unusable']} of {summary['tracks']} tracks are unusable "
            f"({_counts_text(summary['status'])}), a share of {summary['bad_fraction']:.1%} above "
            f"decode.max_bad_fraction = {params.decode.max_bad_fraction}. See {manifest_out} "
            "(status and error per track). If the data is right, raise decode.max_bad_fraction "
            "and run again: the decoded audio is kept and nothing is decoded twice."
        )
    # The manifest first: once the store leaves the work folder, only finish() may follow,
    # and a run stopped before it finds its store gone and decodes afresh (map_into_store).
    write_parquet(manifest_out, manifest)
    remove(audio_out)
    audio_out.parent.mkdir(parents=True, exist_ok=True)
    os.replace(store.path, audio_out)
    finish(journal)
    return summary


def build_manifest(
    items: list[DecodeItem], records: list[dict[str, Any]], min_seconds: float
) -> pd.DataFrame:
    """One row per track, in the audio store's row order."""
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
    manifest = pd.DataFrame(
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
    manifest["usable"] = manifest["status"].isin(["ok", "short"]) & (
        manifest["seconds"] >= min_seconds
    )
    return manifest.astype(
        {
            "track_id": "int64",
            "row": "int64",
            "status": "string",
            "seconds": "float64",
            "source_seconds": "float64",
            "source_sr": "int64",
            "channels": "int64",
            "error": "string",
            "usable": "bool",
        }
    )


def summarise(manifest: pd.DataFrame, elapsed: float, max_bad_fraction: float) -> dict[str, Any]:
    tracks = len(manifest)
    usable = int(manifest["usable"].sum())
    audio_seconds = float(manifest["seconds"].sum())
    return {
        "tracks": tracks,
        "usable": usable,
        "unusable": tracks - usable,
        "bad_fraction": round((tracks - usable) / tracks, 6) if tracks else 0.0,
        "max_bad_fraction": max_bad_fraction,
        "status": {status: int((manifest["status"] == status).sum()) for status in STATUSES},
        "usable_short": int((manifest["usable"] & (manifest["status"] == "short")).sum()),
        "audio_hours": round(audio_seconds / 3600, 3),
        "seconds": round(elapsed, 2),
    }


def short_warning(manifest: pd.DataFrame, duration: float) -> str | None:
    """A note when most tracks are shorter than audio.duration: then the setting, not the
    data, is wrong (30 s for 10 s clips pads two thirds of every track with silence)."""
    short = manifest[manifest["status"] == "short"]
    if len(manifest) == 0 or len(short) <= SHORT_WARNING_SHARE * len(manifest):
        return None
    return (
        f"{len(short)} of {len(manifest)} tracks are shorter than audio.duration = {duration:g} s "
        f"(median {short['seconds'].median():.1f} s of audio): audio.duration is probably longer "
        "than the clips; set it to their length in params.yaml"
    )


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(
        f"{status} {count}" for status, count in counts.items() if count and status != "ok"
    )


def load_clip(store: RowStore, row: int) -> Any:
    """A track's canonical audio as float32 samples."""
    return from_int16(store.read(row))
