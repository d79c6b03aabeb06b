"""train_musicnn: a light classifier on the pretrained musicnn embeddings (see fmagenre.classic)."""

import pandas as pd

from fmagenre import paths
from fmagenre.classic import train_and_evaluate
from fmagenre.metadata import read_tracks_table
from fmagenre.musicnn import NETWORK_FILE
from fmagenre.params import Params
from fmagenre.stage import run_stage


def body(params: Params) -> None:
    train_and_evaluate(
        "musicnn",
        pd.read_parquet(paths.EMBEDDINGS),
        read_tracks_table(paths.TRACKS),
        pd.read_parquet(paths.MANIFEST),
        params,
        model_dir=paths.MODELS / "musicnn",
        metrics_dir=paths.METRICS,
        details_dir=paths.MODEL_DETAILS,
        # predict embeds a new file with this network: the model folder is self-contained
        bundled={NETWORK_FILE: paths.PRETRAINED / NETWORK_FILE},
    )


if __name__ == "__main__":
    run_stage("train_musicnn", body)
