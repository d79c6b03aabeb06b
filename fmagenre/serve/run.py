"""The trained models of the current run, with the leaderboard's scores, for the selector.

A model is offered when its folder is in the models folder (what predict would load); its
validation and test macro-F1 come from the compare stage's reports/leaderboard.json, and the
per-genre F1 chart is compare's reports/compare.png. Both may be missing (a model trained,
compare not run yet): the model is still offered, without scores.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fmagenre.models.names import MODEL_NAMES, title

log = logging.getLogger(__name__)

LEADERBOARD = "leaderboard.json"
FIGURE = "compare.png"
NO_MODEL = (
    "no trained model yet: run `make demo` (or `dvc repro`) to train them; "
    "musicnn's tags work without one"
)


@dataclass(frozen=True)
class TrainedModel:
    name: str
    title: str
    validation_macro_f1: float | None
    test_macro_f1: float | None
    best: bool


def _leaderboard(reports_dir: Path) -> dict[str, Any]:
    path = Path(reports_dir) / LEADERBOARD
    if not path.exists():
        return {}
    try:
        board = json.loads(path.read_text(encoding="utf-8"))
        return board if isinstance(board, dict) else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        log.warning("%s is unreadable (%s): models are listed without scores", path, exc)
        return {}


def _score(row: Any, key: str) -> float | None:
    value = row.get(key) if isinstance(row, dict) else None
    return float(value) if isinstance(value, int | float) else None


def trained_models(models_dir: Path, reports_dir: Path) -> list[TrainedModel]:
    """The models predict can load, best first (the leaderboard's order), then the others."""
    board = _leaderboard(reports_dir)
    scores = board.get("models") if isinstance(board.get("models"), dict) else {}
    best = board.get("best")
    found = [name for name in MODEL_NAMES if (Path(models_dir) / name / "classes.json").is_file()]

    def rank(name: str) -> tuple[int, int]:
        row = scores.get(name)
        position = row.get("rank") if isinstance(row, dict) else None
        return (
            position if isinstance(position, int) else len(MODEL_NAMES) + 1,
            MODEL_NAMES.index(name),
        )

    return [
        TrainedModel(
            name,
            title(name),
            _score(scores.get(name), "validation_macro_f1"),
            _score(scores.get(name), "test_macro_f1"),
            name == best,
        )
        for name in sorted(found, key=rank)
    ]


def models_answer(models_dir: Path, reports_dir: Path, default: str) -> dict[str, Any]:
    """GET /api/models: the selector's content, which model is chosen unless told, and the
    address of the per-genre F1 chart (None when compare has not drawn it)."""
    models = trained_models(models_dir, reports_dir)
    names = [model.name for model in models]
    if default == "best":
        default = next((m.name for m in models if m.best), names[0] if names else "")
    return {
        "models": [asdict(model) for model in models],
        "default": default if default in names else (names[0] if names else None),
        "message": "" if models else NO_MODEL,
        "figure": "/api/figure" if (Path(reports_dir) / FIGURE).is_file() else None,
    }
