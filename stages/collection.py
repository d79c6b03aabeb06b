"""collection: your own labelled music, for data.subset folder (see fmagenre.pipeline.collection)."""

from fmagenre.infra import paths
from fmagenre.infra.atomic import write_json
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.pipeline.collection import collect


def body(params: Params) -> None:
    write_json(paths.REPORTS / "collection.json", collect(params, paths.COLLECTION))


if __name__ == "__main__":
    run_stage("collection", body)
