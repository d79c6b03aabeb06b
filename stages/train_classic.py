"""train_classic MODEL: a feature-based model (rf, svm or gbdt) on FMA's features (see fmagenre.pipeline.train_classic).

dvc.yaml runs it once per model: the stages train_rf, train_svm and train_gbdt.
"""

import sys

import pandas as pd

from fmagenre.fma.metadata import read_tracks_table
from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.models.classic import MODELS
from fmagenre.pipeline.train_classic import train_and_evaluate


def body(name: str, params: Params) -> None:
    train_and_evaluate(
        name,
        pd.read_parquet(paths.FEATURES),
        read_tracks_table(paths.TRACKS),
        pd.read_parquet(paths.MANIFEST),
        params,
        model_dir=paths.MODELS / name,
        metrics_dir=paths.METRICS,
        details_dir=paths.MODEL_DETAILS,
    )


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) == 2 else ""
    if name not in MODELS:
        sys.exit(f"usage: python -m stages.train_classic {{{','.join(MODELS)}}}")
    run_stage(f"train_{name}", lambda params: body(name, params))
