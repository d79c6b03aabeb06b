"""features: FMA's 518 features per usable track (see fmagenre.feature_table)."""

import logging

import pandas as pd

from fmagenre import paths
from fmagenre.atomic import write_json
from fmagenre.feature_table import run_features, run_official_features
from fmagenre.params import Params
from fmagenre.stage import run_stage

log = logging.getLogger("features")


def body(params: Params) -> None:
    if params.features.source == "official":
        tracks = pd.read_parquet(paths.TRACKS)
        summary = run_official_features(
            tracks, paths.FMA_ROOT / "fma_metadata" / "features.csv", out_path=paths.FEATURES
        )
    else:
        summary = run_features(
            pd.read_parquet(paths.MANIFEST),
            paths.AUDIO,
            params,
            tracks=pd.read_parquet(paths.TRACKS),
            out_path=paths.FEATURES,
            work_dir=paths.WORK / "features",
        )
    write_json(paths.METRICS / "features.json", summary)
    log.info(
        "%d tracks x %d features (%s%s), %d failed",
        summary["tracks"],
        summary["columns"],
        summary["source"],
        f", {summary['sample_rate']} rate" if "sample_rate" in summary else "",
        summary["failed"],
    )


if __name__ == "__main__":
    run_stage("features", body)
