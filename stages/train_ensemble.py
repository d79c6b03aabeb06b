"""train_ensemble: the sixth model, a weighted average of the others (see fmagenre.pipeline.train_ensemble)."""

from fmagenre.fma.metadata import read_tracks_table
from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.pipeline.train_ensemble import train_ensemble


def body(params: Params) -> None:
    train_ensemble(
        read_tracks_table(paths.TRACKS),
        params,
        models_dir=paths.MODELS,
        model_dir=paths.MODELS / "ensemble",
        metrics_dir=paths.METRICS,
        details_dir=paths.MODEL_DETAILS,
    )


if __name__ == "__main__":
    run_stage("train_ensemble", body)
