"""embeddings: pretrained musicnn's tags and embedding of every usable track (see fmagenre.musicnn)."""

import logging

import pandas as pd

from fmagenre import paths
from fmagenre.atomic import write_json
from fmagenre.musicnn.stage import NETWORK_FILE, run_embeddings
from fmagenre.params import Params
from fmagenre.stage import run_stage

log = logging.getLogger("embeddings")


def body(params: Params) -> None:
    summary = run_embeddings(
        pd.read_parquet(paths.MANIFEST),
        paths.AUDIO,
        paths.PRETRAINED / NETWORK_FILE,
        params,
        out_path=paths.EMBEDDINGS,
        work_dir=paths.WORK / "embeddings",
    )
    write_json(paths.METRICS / "embeddings.json", summary)
    log.info(
        "%d tracks x %d values, %d failed, %.1f tracks/s",
        summary["tracks"],
        summary["columns"],
        summary["failed"],
        summary["tracks_per_second"] or 0,
    )


if __name__ == "__main__":
    run_stage("embeddings", body)
