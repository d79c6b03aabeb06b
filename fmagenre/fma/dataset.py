"""Labels and splits for training, from the tracks table only, for every model alike.

Every model (feature-based or CRNN) gets its labels and its official split here, from the
one tracks table, and loses the same tracks for the same reasons: audio decode marked
unusable, no model input (features or spectrogram failed), or a genre that never occurs in
the training split (a model cannot predict a class it was never shown). Each exclusion is
counted per split, so the metrics say what was left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.fma.facts import SPLITS
from fmagenre.infra.errors import UserError


@dataclass
class Split:
    track_ids: np.ndarray  # int64
    labels: np.ndarray  # int64 index into classes
    artist_ids: np.ndarray  # int64: the groups cross-validation keeps in one fold


@dataclass
class LabelledSplits:
    classes: list[str]
    splits: dict[str, Split]
    counts: dict[str, Any] = field(default_factory=dict)


def labelled_splits(
    tracks: pd.DataFrame,
    available: pd.Series | np.ndarray | list[int],
    manifest: pd.DataFrame | None = None,
) -> LabelledSplits:
    """Training/validation/test track ids and labels for the tracks that have a model input.

    ``available``: track ids for which the model has an input (a features row, a spectrogram).
    A table without artist_id (written by hand) makes each track its own artist, as the
    collection does for a track without one.
    """
    table = tracks[["track_id", "genre_top", "split"]].copy()
    table["artist_id"] = tracks["artist_id"] if "artist_id" in tracks else -tracks["track_id"]
    usable = pd.Series(True, index=table.index)
    if manifest is not None:
        usable = (
            table["track_id"]
            .map(manifest.set_index("track_id")["usable"])
            .fillna(False)
            .astype(bool)
        )
    has_input = table["track_id"].isin(set(int(t) for t in available))
    classes = sorted(
        table.loc[(table["split"] == "training") & usable & has_input, "genre_top"]
        .unique()
        .tolist()
    )
    known = table["genre_top"].isin(classes)
    keep = usable & has_input & known
    index = {name: i for i, name in enumerate(classes)}
    splits, counts = {}, {"excluded": {}}
    for split in SPLITS:
        in_split = table["split"] == split
        part = table[in_split & keep]
        splits[split] = Split(
            part["track_id"].to_numpy(np.int64),
            part["genre_top"].map(index).to_numpy(np.int64),
            part["artist_id"].to_numpy(np.int64),
        )
        counts[split] = int(len(part))
        counts["excluded"][split] = {
            "unusable_audio": int((in_split & ~usable).sum()),
            "no_model_input": int((in_split & usable & ~has_input).sum()),
            "genre_not_in_training": int((in_split & usable & has_input & ~known).sum()),
        }
    return LabelledSplits(classes, splits, counts)


def require_trainable(model: str, labelled: LabelledSplits) -> None:
    """Stop with one line when the data cannot train or select a classifier (the test split
    may be empty: it is only reported)."""
    for split in ("training", "validation"):
        if len(labelled.splits[split].labels) == 0:
            raise UserError(
                f"{model}: the {split} split has no usable tracks (counts: {labelled.counts})"
            )
    if len(labelled.classes) < 2:
        raise UserError(
            f"{model}: the training split has usable tracks of {len(labelled.classes)} genre "
            f"({', '.join(labelled.classes)}); a classifier needs at least 2"
        )


@dataclass
class FeatureSplits:
    """Feature matrices per split, aligned with LabelledSplits."""

    labelled: LabelledSplits
    columns: list[str]
    X: dict[str, np.ndarray]

    @property
    def classes(self) -> list[str]:
        return self.labelled.classes

    def y(self, split: str) -> np.ndarray:
        return self.labelled.splits[split].labels

    def track_ids(self, split: str) -> np.ndarray:
        return self.labelled.splits[split].track_ids

    def artist_ids(self, split: str) -> np.ndarray:
        return self.labelled.splits[split].artist_ids


def feature_splits(
    features: pd.DataFrame, tracks: pd.DataFrame, manifest: pd.DataFrame | None = None
) -> FeatureSplits:
    """The features table cut into the official splits, labels from the tracks table."""
    labelled = labelled_splits(tracks, features["track_id"], manifest)
    columns = [c for c in features.columns if c != "track_id"]
    by_id = features.set_index("track_id")
    X = {
        split: by_id.loc[part.track_ids, columns].to_numpy(np.float32)
        for split, part in labelled.splits.items()
    }
    return FeatureSplits(labelled, columns, X)
