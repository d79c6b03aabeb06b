"""manifest: which decoded tracks are usable (see fmagenre.manifest)."""

import logging

from fmagenre import paths
from fmagenre.decoded import read_decoded
from fmagenre.manifest import run_manifest
from fmagenre.params import Params
from fmagenre.stage import run_stage
from fmagenre.summary import write_summary

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
