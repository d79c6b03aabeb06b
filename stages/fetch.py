"""fetch: the chosen subset in FMA's layout, and the tracks table (see fmagenre.fetch)."""

from fmagenre import paths
from fmagenre.fetch import fetch
from fmagenre.params import Params
from fmagenre.stage import run_stage
from fmagenre.summary import write_summary


def body(params: Params) -> None:
    summary = fetch(
        params,
        downloads=paths.DOWNLOADS,
        fma_root=paths.FMA_ROOT,
        tracks_out=paths.TRACKS,
        synthetic=paths.SYNTHETIC,
    )
    write_summary(paths.METRICS, paths.REPORTS, "fetch", summary, ("tracks",))


if __name__ == "__main__":
    run_stage("fetch", body)
