"""decode: every track's MP3, read once, into canonical audio (see fmagenre.decode)."""

import logging

import pandas as pd

from fmagenre import paths
from fmagenre.atomic import write_json
from fmagenre.decode import run_decode
from fmagenre.params import Params
from fmagenre.stage import run_stage

log = logging.getLogger("decode")


def body(params: Params) -> None:
    tracks = pd.read_parquet(paths.TRACKS)
    summary = run_decode(tracks, params, audio_out=paths.AUDIO, work_dir=paths.WORK / "decode")
    write_json(paths.REPORTS / "decode.json", summary)
    counts = ", ".join(f"{status} {count}" for status, count in summary["status"].items())
    log.info("%d tracks: %s", summary["tracks"], counts)


if __name__ == "__main__":
    run_stage("decode", body)
