"""train_crnn: the Keras CRNN on log-mel spectrograms (see fmagenre.crnn)."""

import pandas as pd

from fmagenre import paths
from fmagenre.crnn.stage import train_crnn
from fmagenre.metadata import read_tracks_table
from fmagenre.params import Params
from fmagenre.stage import run_stage


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
