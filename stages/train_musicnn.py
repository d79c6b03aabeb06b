"""train_musicnn: a light classifier on the pretrained musicnn embeddings (see fmagenre.pipeline.train_musicnn)."""

import pandas as pd

from fmagenre.fma.metadata import read_tracks_table
from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.models.musicnn import NETWORK_FILE
from fmagenre.pipeline.train_musicnn import train_musicnn


def body(params: Params) -> None:
    train_musicnn(
        paths.EMBEDDINGS,
        paths.PATCH_EMBEDDINGS,
        read_tracks_table(paths.TRACKS),
        pd.read_parquet(paths.MANIFEST),
        params,
        network=paths.PRETRAINED / NETWORK_FILE,
        model_dir=paths.MODELS / "musicnn",
        metrics_dir=paths.METRICS,
        details_dir=paths.MODEL_DETAILS,
    )


if __name__ == "__main__":
    run_stage("train_musicnn", body)
