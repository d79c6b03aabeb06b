"""pretrained: the musicnn network, from the user cache into the project (see fmagenre.musicnn)."""

import logging

from fmagenre import paths
from fmagenre.musicnn.pretrained import export_pretrained
from fmagenre.params import Params
from fmagenre.stage import run_stage

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
