"""pretrained: the musicnn network, from the user cache into the project (see fmagenre.models.musicnn)."""

import logging

from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.pipeline.pretrained import export_pretrained

log = logging.getLogger("pretrained")


def body(params: Params) -> None:
    del params  # the weights are pinned by their checksum, not by a parameter
    summary = export_pretrained(paths.PRETRAINED)
    log.info(
        "MSD_musicnn (%d tags), %.1f MB Keras model, weights cached in %s",
        summary["tags"],
        summary["network_bytes"] / 1e6,
        summary["cache"],
    )


if __name__ == "__main__":
    run_stage("pretrained", body)
