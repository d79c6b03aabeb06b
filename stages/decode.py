"""decode: every track's MP3, read once, into canonical audio (see fmagenre.pipeline.decode)."""

import logging

import pandas as pd

from fmagenre.infra import paths
from fmagenre.infra.atomic import write_json
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.pipeline.decode import run_decode

log = logging.getLogger("decode")


def body(params: Params) -> None:
    tracks = pd.read_parquet(paths.TRACKS)
    summary = run_decode(tracks, params, audio_out=paths.AUDIO, work_dir=paths.WORK / "decode")
    write_json(paths.REPORTS / "decode.json", summary)
    counts = ", ".join(f"{status} {count}" for status, count in summary["status"].items())
    log.info("%d tracks: %s", summary["tracks"], counts)


if __name__ == "__main__":
    run_stage("decode", body)
