"""compare: leaderboard of every trained model, best chosen on validation (see fmagenre.compare)."""

from fmagenre import paths
from fmagenre.compare import compare
from fmagenre.params import Params
from fmagenre.stage import run_stage


def body(params: Params) -> None:
    compare(
        paths.METRICS,
        compare_json=paths.METRICS / "compare.json",
        leaderboard_md=paths.REPORTS / "leaderboard.md",
        figure=paths.REPORTS / "compare.png",
        best_json=paths.MODELS / "best.json",
    )


if __name__ == "__main__":
    run_stage("compare", body)
