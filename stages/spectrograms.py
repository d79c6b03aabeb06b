"""spectrograms: log-mel store of every usable track (see fmagenre.spectrograms)."""

import logging

import pandas as pd

from fmagenre import paths
from fmagenre.atomic import write_json
from fmagenre.params import Params
from fmagenre.spectrograms import run_spectrograms
from fmagenre.stage import run_stage

log = logging.getLogger("spectrograms")


def body(params: Params) -> None:
    manifest = pd.read_parquet(paths.MANIFEST)
    summary = run_spectrograms(
        manifest,
        paths.AUDIO,
        params,
        out_dir=paths.SPECTROGRAMS,
        work_dir=paths.WORK / "spectrograms",
    )
    write_json(paths.METRICS / "spectrograms.json", summary)
    log.info(
        "%d tracks (%d failed): [%d frames x %d mels] float16, %.1f MB",
        summary["tracks"],
        summary["failed"],
        summary["frames"],
        summary["n_mels"],
        summary["store_megabytes"],
    )


if __name__ == "__main__":
    run_stage("spectrograms", body)
