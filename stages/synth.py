"""synth: the synthetic dataset's archives, for data.subset synthetic (see fmagenre.pipeline.synth)."""

from fmagenre.infra import paths
from fmagenre.infra.atomic import write_json
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.pipeline.synth import write_archives


def body(params: Params) -> None:
    write_json(paths.REPORTS / "synth.json", write_archives(params, paths.SYNTHETIC))


if __name__ == "__main__":
    run_stage("synth", body)
