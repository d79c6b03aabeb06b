"""analyze: figures and numbers about the features and spectrograms (see fmagenre.pipeline.analyze)."""

import pandas as pd

from fmagenre.fma.metadata import read_tracks_table
from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.pipeline.analyze import analyze


def body(params: Params) -> None:
    analyze(
        pd.read_parquet(paths.FEATURES),
        read_tracks_table(paths.TRACKS),
        pd.read_parquet(paths.MANIFEST),
        paths.SPECTROGRAMS,
        params,
        figures_dir=paths.REPORTS / "analysis",
        report=paths.REPORTS / "analysis.md",
        numbers=paths.REPORTS / "analysis.json",
    )


if __name__ == "__main__":
    run_stage("analyze", body)
