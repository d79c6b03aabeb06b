"""The train_musicnn stage's logic: the fifth model, a light classifier on the pretrained
musicnn embeddings, trained and reported as the feature-based models are.

With musicnn.pooling: patch it learns from the per-patch store instead (still one row per
track: fmagenre.models.pooling). The model folder carries the network that made the
embeddings, so predict can embed a new file with exactly it: the folder is self-contained.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fmagenre.infra.params import Params
from fmagenre.models.musicnn import NETWORK_FILE
from fmagenre.models.musicnn.patch_store import patch_table
from fmagenre.pipeline.train_classic import train_and_evaluate


def train_musicnn(
    embeddings: Path,
    patch_embeddings: Path,
    tracks: pd.DataFrame,
    manifest: pd.DataFrame | None,
    params: Params,
    *,
    network: Path,
    model_dir: Path,
    metrics_dir: Path,
    details_dir: Path | None = None,
) -> dict[str, Any]:
    """Search, fit, save (with ``network`` bundled) and report the musicnn classifier, on the
    clip table or the patch store as musicnn.pooling says."""
    patches = params.musicnn.pooling == "patch"
    return train_and_evaluate(
        "musicnn",
        patch_table(patch_embeddings) if patches else pd.read_parquet(embeddings),
        tracks,
        manifest,
        params,
        model_dir=model_dir,
        metrics_dir=metrics_dir,
        details_dir=details_dir,
        bundled={NETWORK_FILE: network},
    )
