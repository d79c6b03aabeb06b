"""fetch: the chosen subset in FMA's layout, and the tracks table (see fmagenre.fetch)."""

from fmagenre import paths
from fmagenre.atomic import write_json
from fmagenre.fetch import fetch
from fmagenre.params import Params
from fmagenre.stage import run_stage


def body(params: Params) -> None:
    summary = fetch(
        params, downloads=paths.DOWNLOADS, fma_root=paths.FMA_ROOT, tracks_out=paths.TRACKS
    )
    write_json(paths.METRICS / "fetch.json", summary)


if __name__ == "__main__":
    run_stage("fetch", body)
