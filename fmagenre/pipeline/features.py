"""The features stage's logic: FMA's 518 features for every usable track, as one Parquet table.

Two sources give the same schema (track_id + 518 float32 columns in FMA's order), so the
classic models never know which one they were trained on: ``computed`` runs the feature
code on the map over tracks (resumable, any backend); ``official`` reads FMA's
precomputed features.csv, for users who want the classic models without audio work.

Computed features follow ``features.sample_rate``. ``native`` (the default) is FMA's
definition, the one features.csv holds: each usable track's file is decoded again in the
worker at its own rate (librosa.load(sr=None, mono=True) gives the same samples), because
the decode stage's audio is resampled to audio.sr for the spectrograms. The decode stage's
manifest still decides which tracks are usable, and its audio.duration / audio.crop bound
the excerpt: a clip at most 1 s longer than audio.duration (all of FMA's 30 s clips) is
read whole, as FMA read it; a longer track (fma_full) gives its central audio.duration
seconds at the native rate, the same part of the track the decode stage keeps, so cost and
memory per track stay those of a clip. ``decoded`` computes from the decode stage's
audio store instead: no second decode and half the samples at 44.1 kHz, but the values are
of another kind than features.csv (README gives the measured cost and difference).
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fmagenre.audio.clip import DecodeItem, DecodeSettings, decode_clip
from fmagenre.audio.rows import AudioRow, read_audio, store_identity, usable_rows
from fmagenre.features.compute import checked_features, feature_columns, read_official_features
from fmagenre.features.table import map_to_table
from fmagenre.infra.atomic import write_parquet
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import Params
from fmagenre.infra.store import RowStore
from fmagenre.infra.trackmap import TrackOutput
from fmagenre.pipeline.decode import decode_items, inputs_fingerprint

FORMAT_VERSION = 2  # 2: FMA's sr quirk, native rate by default


@dataclass(frozen=True)
class FeatureSettings:
    sr: int


def features_track(item: AudioRow, settings: FeatureSettings) -> TrackOutput:
    """One track's 518 features from the decoded audio store (features.sample_rate: decoded)."""
    values = checked_features(read_audio(item), settings.sr)
    return TrackOutput({"track_id": item.track_id, "sr": settings.sr}, values)


def native_features_track(item: DecodeItem, settings: DecodeSettings) -> TrackOutput:
    """One track's 518 features from its file at the file's own rate (FMA's definition)."""
    record, clip = native_clip(item, settings)
    if clip is None:
        raise ValueError(f"{record['status']}: {record['error']}")
    values = checked_features(clip.samples, clip.source_sr)
    return TrackOutput({"track_id": item.track_id, "sr": clip.source_sr}, values)


def native_clip(item: DecodeItem, settings: DecodeSettings) -> tuple[dict[str, Any], Any]:
    """The excerpt FMA's definition is computed on: the file at its own rate, judged usable
    as the decode stage judges it (None when it is not: missing, corrupt or silent)."""
    record, clip = decode_clip(item, settings, native=True)
    if clip is not None and record["status"] not in ("ok", "short"):
        return {**record, "error": record["error"] or "the file holds no audible audio"}, None
    return record, clip


def source_files(usable: list[AudioRow], tracks: pd.DataFrame) -> list[DecodeItem]:
    """The file of each usable track (the manifest decides usability, the tracks table the path)."""
    ids = [item.track_id for item in usable]
    paths = tracks.set_index("track_id")["path"]
    missing = [track_id for track_id in ids if track_id not in paths.index]
    if missing:
        raise UserError(
            f"{len(missing)} usable tracks of the manifest are not in the tracks table "
            f"(e.g. {missing[0]}): run decode again (`dvc repro decode`)"
        )
    return decode_items(pd.DataFrame({"track_id": ids, "path": paths.loc[ids].tolist()}))


def run_features(
    manifest: pd.DataFrame,
    audio_dir: Path,
    params: Params,
    *,
    tracks: pd.DataFrame,
    out_path: Path,
    work_dir: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Compute the feature table of every usable track; return a summary.

    ``tracks`` (the tracks table) gives each track's file for features.sample_rate: native.
    """
    usable = usable_rows(manifest, audio_dir)
    if params.features.sample_rate == "native":
        items: list[Any] = source_files(usable, tracks)
        settings: Any = DecodeSettings.from_params(params)
        track_fn = native_features_track
        inputs = inputs_fingerprint(items)
    else:
        items = usable
        settings = FeatureSettings(int(RowStore.open(audio_dir).attrs["sr"]))
        track_fn = features_track
        inputs = store_identity(audio_dir)
    columns = feature_columns()
    run = map_to_table(
        "features",
        FORMAT_VERSION,
        functools.partial(track_fn, settings=settings),
        items,
        columns,
        compute=params.compute,
        work_dir=work_dir,
        identity={
            "sample_rate": params.features.sample_rate,
            "settings": dataclasses.asdict(settings),
            "inputs": inputs,
            "tracks": [item.track_id for item in items],
        },
        out_path=out_path,
        progress=progress,
    )
    rates = pd.Series([record["sr"] for record in run.records if "sr" in record], dtype="int64")
    return {
        "source": "computed",
        "sample_rate": params.features.sample_rate,
        # the rates features were computed at, with their track counts
        "rates": {
            str(rate): int(count) for rate, count in rates.value_counts().sort_index().items()
        },
        "tracks": run.tracks,
        "failed": len(run.failures),
        "failures": run.failures[:20],
        "columns": len(columns),
        "seconds": round(run.seconds, 2),
    }


def run_official_features(
    tracks: pd.DataFrame, features_csv: Path, *, out_path: Path
) -> dict[str, Any]:
    """FMA's precomputed features for the tracks of the tracks table."""
    if not features_csv.exists():
        raise UserError(
            f"features.source is 'official' but {features_csv} does not exist: FMA's features.csv "
            "comes with fma_metadata.zip for the real subsets; the synthetic dataset and a folder "
            "have none "
            "(use features.source: computed)"
        )
    began = time.perf_counter()
    table = read_official_features(features_csv, tracks["track_id"].tolist())
    write_parquet(out_path, table)
    return {
        "source": "official",
        "tracks": len(table),
        "failed": int(len(tracks) - len(table)),
        "failures": [],
        "columns": len(feature_columns()),
        "seconds": round(time.perf_counter() - began, 2),
    }
