"""The features stage's logic: FMA's 518 features for every usable track, as one Parquet table.

Two sources give the same schema (track_id + 518 float32 columns in FMA's order), so the
classic models never know which one they were trained on: ``computed`` runs the feature
code over the decoded audio on the map over tracks (resumable, any backend); ``official``
reads FMA's precomputed features.csv, for users who want the classic models without audio
work.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.atomic import write_parquet
from fmagenre.audio_rows import AudioRow, read_audio, store_identity, usable_rows
from fmagenre.errors import UserError
from fmagenre.features import compute_features, feature_columns, read_official_features
from fmagenre.params import Params
from fmagenre.store import RowStore
from fmagenre.track_table import map_to_table, value_frame
from fmagenre.trackmap import Journal, TrackOutput

FORMAT_VERSION = 1


@dataclass(frozen=True)
class FeatureSettings:
    sr: int


def features_track(item: AudioRow, settings: FeatureSettings) -> TrackOutput:
    """One track's 518 features; a non-finite value is a failure, never a silent NaN row."""
    values = compute_features(read_audio(item), settings.sr)
    bad = ~np.isfinite(values)
    if bad.any():
        names = [feature_columns()[i] for i in np.flatnonzero(bad)[:3]]
        raise ValueError(f"{int(bad.sum())} non-finite feature values (e.g. {', '.join(names)})")
    return TrackOutput({"track_id": item.track_id}, values.astype(np.float32))


def run_features(
    manifest: pd.DataFrame,
    audio_dir: Path,
    params: Params,
    *,
    out_path: Path,
    work_dir: Path,
    progress: bool = True,
) -> dict[str, Any]:
    """Compute the feature table of every usable track; return a summary."""
    audio = RowStore.open(audio_dir)
    settings = FeatureSettings(int(audio.attrs["sr"]))
    items = usable_rows(manifest, audio_dir)
    columns = feature_columns()
    journal = Journal.open(
        work_dir,
        {
            "stage": "features",
            "format": FORMAT_VERSION,
            "settings": dataclasses.asdict(settings),
            "inputs": store_identity(audio_dir),
            "tracks": [item.track_id for item in items],
        },
    )
    began = time.perf_counter()
    run = map_to_table(
        functools.partial(features_track, settings=settings),
        items,
        columns,
        compute=params.compute,
        journal=journal,
        out_path=out_path,
        desc="features",
        progress=progress,
    )
    return {
        "source": "computed",
        "tracks": run.tracks,
        "failed": len(run.failures),
        "failures": run.failures[:20],
        "columns": len(columns),
        "seconds": round(time.perf_counter() - began, 2),
    }


def run_official_features(
    tracks: pd.DataFrame, features_csv: Path, *, out_path: Path
) -> dict[str, Any]:
    """FMA's precomputed features for the tracks of the tracks table."""
    if not features_csv.exists():
        raise UserError(
            f"features.source is 'official' but {features_csv} does not exist: FMA's features.csv "
            "comes with fma_metadata.zip for the real subsets; the synthetic dataset has none "
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


def feature_frame(track_ids: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """The features table's schema: track_id, then the 518 float32 columns in FMA's order."""
    return value_frame(track_ids, values, feature_columns())
