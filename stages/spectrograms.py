"""spectrograms: log-mel store of every track with audio (see fmagenre.pipeline.spectrograms)."""

import logging

from fmagenre.audio.decoded import read_decoded, with_audio
from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.infra.summary import write_summary
from fmagenre.pipeline.spectrograms import run_spectrograms

log = logging.getLogger("spectrograms")


def body(params: Params) -> None:
    summary = run_spectrograms(
        with_audio(read_decoded(paths.AUDIO)),
        paths.AUDIO,
        params,
        out_dir=paths.SPECTROGRAMS,
        work_dir=paths.WORK / "spectrograms",
    )
    write_summary(paths.METRICS, paths.REPORTS, "spectrograms", summary, ("tracks",))
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
