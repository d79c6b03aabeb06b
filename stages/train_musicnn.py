"""train_musicnn: a light classifier on the pretrained musicnn embeddings (see fmagenre.models.classic)."""

import pandas as pd

from fmagenre.fma.metadata import read_tracks_table
from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.models.classic import train_and_evaluate
from fmagenre.models.musicnn import NETWORK_FILE


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
