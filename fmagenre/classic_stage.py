"""What the train_rf, train_svm and train_gbdt stages share: their inputs and outputs."""

from __future__ import annotations

import pandas as pd

from fmagenre import paths
from fmagenre.classic import train_and_evaluate
from fmagenre.metadata import read_tracks_table
from fmagenre.params import Params


def train_stage(name: str, params: Params) -> None:
    train_and_evaluate(
        name,
        pd.read_parquet(paths.FEATURES),
        read_tracks_table(paths.TRACKS),
        pd.read_parquet(paths.MANIFEST),
        params,
        model_dir=paths.MODELS / name,
        metrics_dir=paths.METRICS,
    )
