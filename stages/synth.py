"""synth: the synthetic dataset's archives, for data.subset synthetic (see fmagenre.synth.archives)."""

from fmagenre import paths
from fmagenre.atomic import write_json
from fmagenre.params import Params
from fmagenre.stage import run_stage
from fmagenre.synth.archives import write_archives


def body(params: Params) -> None:
    write_json(paths.REPORTS / "synth.json", write_archives(params, paths.SYNTHETIC))


if __name__ == "__main__":
    run_stage("synth", body)
