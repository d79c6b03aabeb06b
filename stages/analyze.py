"""analyze: figures and numbers about the features and spectrograms (see fmagenre.analysis)."""

import pandas as pd

from fmagenre import paths
from fmagenre.analysis import analyze
from fmagenre.metadata import read_tracks_table
from fmagenre.params import Params
from fmagenre.stage import run_stage


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
