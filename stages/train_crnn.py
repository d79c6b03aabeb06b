"""train_crnn: the Keras CRNN on log-mel spectrograms (see fmagenre.models.crnn)."""

import pandas as pd

from fmagenre.fma.metadata import read_tracks_table
from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.pipeline.train_crnn import train_crnn


def body(params: Params) -> None:
    train_crnn(
        params,
        spectrograms=paths.SPECTROGRAMS,
        tracks=read_tracks_table(paths.TRACKS),
        manifest=pd.read_parquet(paths.MANIFEST),
        model_dir=paths.MODELS / "crnn",
        metrics_dir=paths.METRICS,
        details_dir=paths.MODEL_DETAILS,
    )


if __name__ == "__main__":
    run_stage("train_crnn", body)
