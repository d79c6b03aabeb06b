"""fetch: the chosen subset in FMA's layout, and the tracks table (see fmagenre.pipeline.fetch)."""

from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.infra.summary import write_summary
from fmagenre.pipeline.fetch import fetch


def body(params: Params) -> None:
    summary = fetch(
        params,
        downloads=paths.DOWNLOADS,
        fma_root=paths.FMA_ROOT,
        tracks_out=paths.TRACKS,
        synthetic=paths.SYNTHETIC,
        collection=paths.COLLECTION,
    )
    write_summary(paths.METRICS, paths.REPORTS, "fetch", summary, ("tracks",))


if __name__ == "__main__":
    run_stage("fetch", body)
