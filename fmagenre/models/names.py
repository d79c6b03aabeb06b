"""The six models by name: how reports title them and which DVC stage trains each.

One table, so that compare's leaderboard and predict's "run dvc repro STAGE" hints agree
when a model is added.
"""

from __future__ import annotations

# name: (title in reports and figures, the stage that writes models/<name>), in
# leaderboard order (which also breaks ties of validation macro-F1)
MODELS: dict[str, tuple[str, str]] = {
    "rf": ("Random Forest", "train_rf"),
    "svm": ("SVM (RBF)", "train_svm"),
    "gbdt": ("CatBoost", "train_gbdt"),
    "crnn": ("CRNN", "train_crnn"),
    "musicnn": ("musicnn embeddings", "train_musicnn"),
    "ensemble": ("Ensemble", "train_ensemble"),
}
MODEL_NAMES = tuple(MODELS)


def title(name: str) -> str:
    """A model's title; an unknown model's own name."""
    return MODELS[name][0] if name in MODELS else name


def training_stage(name: str) -> str:
    """The DVC stage that trains a known model (predict names it when the model is missing)."""
    return MODELS[name][1]
