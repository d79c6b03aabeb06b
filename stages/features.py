"""features: FMA's 518 features per track with audio (see fmagenre.pipeline.features)."""

import logging

import pandas as pd

from fmagenre.audio.decoded import read_decoded, with_audio
from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.infra.summary import write_summary
from fmagenre.pipeline.features import run_features, run_official_features

log = logging.getLogger("features")


def body(params: Params) -> None:
    if params.features.source == "official":
        tracks = pd.read_parquet(paths.TRACKS)
        summary = run_official_features(
            tracks, paths.FMA_ROOT / "fma_metadata" / "features.csv", out_path=paths.FEATURES
        )
    else:
        summary = run_features(
            with_audio(read_decoded(paths.AUDIO)),
            paths.AUDIO,
            params,
            tracks=pd.read_parquet(paths.TRACKS),
            out_path=paths.FEATURES,
            work_dir=paths.WORK / "features",
        )
    write_summary(paths.METRICS, paths.REPORTS, "features", summary, ("tracks",))
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
