"""manifest: which decoded tracks are usable (see fmagenre.pipeline.manifest)."""

import logging

from fmagenre.audio.decoded import read_decoded
from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.infra.summary import write_summary
from fmagenre.pipeline.manifest import run_manifest

log = logging.getLogger("manifest")


def body(params: Params) -> None:
    summary = run_manifest(read_decoded(paths.AUDIO), params, manifest_out=paths.MANIFEST)
    write_summary(paths.METRICS, paths.REPORTS, "manifest", summary, ("usable",))
    log.info(
        "%d of %d tracks usable (%.1f%% unusable)",
        summary["usable"],
        summary["tracks"],
        100 * summary["bad_fraction"],
    )


if __name__ == "__main__":
    run_stage("manifest", body)
