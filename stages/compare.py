"""compare: leaderboard of every trained model, best chosen on validation (see fmagenre.pipeline.compare)."""

from fmagenre.infra import paths
from fmagenre.infra.params import Params
from fmagenre.infra.stage import run_stage
from fmagenre.pipeline.compare import compare


def body(params: Params) -> None:
    compare(
        paths.MODEL_DETAILS,
        models_dir=paths.MODELS,
        metrics_dir=paths.METRICS,
        leaderboard_md=paths.REPORTS / "leaderboard.md",
        leaderboard_json=paths.REPORTS / "leaderboard.json",
        per_genre_csv=paths.METRICS / "compare" / "per_genre.csv",
        figure=paths.REPORTS / "compare.png",
        best_json=paths.MODELS / "best.json",
        best_dir=paths.BEST_MODEL,
    )


if __name__ == "__main__":
    run_stage("compare", body)
