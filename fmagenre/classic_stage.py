"""What the train_rf, train_svm, train_gbdt (and train_musicnn) stages share: their inputs and outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fmagenre import paths
from fmagenre.classic import train_and_evaluate
from fmagenre.metadata import read_tracks_table
from fmagenre.params import Params


def train_stage(
    name: str,
    params: Params,
    *,
    table: Path = paths.FEATURES,
    bundled: dict[str, Path] | None = None,
) -> None:
    train_and_evaluate(
        name,
        pd.read_parquet(table),
        read_tracks_table(paths.TRACKS),
        pd.read_parquet(paths.MANIFEST),
        params,
        model_dir=paths.MODELS / name,
        metrics_dir=paths.METRICS,
        bundled=bundled,
    )
