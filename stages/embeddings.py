"""embeddings: pretrained musicnn's tags and embedding of every track with audio (see fmagenre.models.musicnn)."""

import logging

from fmagenre.audio.decoded import read_decoded, with_audio
from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.infra.summary import write_summary
from fmagenre.models.musicnn import NETWORK_FILE
from fmagenre.pipeline.embeddings import run_embeddings

log = logging.getLogger("embeddings")


def body(params: Params) -> None:
    summary = run_embeddings(
        with_audio(read_decoded(paths.AUDIO)),
        paths.AUDIO,
        paths.PRETRAINED / NETWORK_FILE,
        params,
        out_path=paths.EMBEDDINGS,
        patches_dir=paths.PATCH_EMBEDDINGS,
        work_dir=paths.WORK / "embeddings",
    )
    write_summary(paths.METRICS, paths.REPORTS, "embeddings", summary, ("tracks",))
    log.info(
        "%d tracks x %d values, %d failed, %.1f tracks/s",
        summary["tracks"],
        summary["columns"],
        summary["failed"],
        summary["tracks_per_second"] or 0,
    )


if __name__ == "__main__":
    run_stage("embeddings", body)
