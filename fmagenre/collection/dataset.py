"""A labelled folder made into a collection table: its tracks, each with genre, split, artist.

The collection stage lists the folder, hashes every file (a recording under two names is
one track) and fixes the split; fetch then turns the table into the tracks table. Track ids
are the files' ranks in path order, so the same folder gives the same ids on every machine.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fmagenre.collection.listing import Listing, drop_duplicates, list_collection
from fmagenre.collection.splitting import check_genres, grouped_splits, stratified_splits
from fmagenre.collection.table import COLLECTION_COLUMNS, column_dtype
from fmagenre.fma.facts import SPLITS

log = logging.getLogger(__name__)


def build_collection(
    folder: Path, fractions: tuple[float, float, float], seed: int, *, progress: bool = True
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The folder's tracks with genre, split and artist, and a summary of how they were
    found and split and what was left out."""
    listing = list_collection(folder)
    rows = drop_duplicates(listing, progress=progress)
    rows["artist_id"] = _artist_ids(rows["artist"])
    if listing.has_split:
        method = "labels.csv"
        if rows["genre"].nunique() < 2:
            check_genres(rows["genre"])
        _warn_of_shared_artists(rows)
    else:
        check_genres(rows["genre"])
        if listing.has_artist and (rows["artist"] != "").any():
            method = "grouped by artist"
            rows["split"] = grouped_splits(rows["genre"], rows["artist_id"], fractions, seed)
        else:
            method = "stratified by genre"
            rows["split"] = stratified_splits(rows["genre"], fractions, seed)
    rows.insert(0, "track_id", np.arange(1, len(rows) + 1, dtype=np.int64))
    frame = rows[COLLECTION_COLUMNS].astype({c: column_dtype(c) for c in COLLECTION_COLUMNS})
    return frame, _summary(folder, listing, frame, method)


def _artist_ids(artists: pd.Series) -> np.ndarray:
    """Named artists numbered in name order; a track without one is its own artist."""
    names = sorted(a for a in artists.unique() if a != "")
    ids = {name: i for i, name in enumerate(names, start=1)}
    unnamed = iter(range(len(names) + 1, len(names) + 1 + len(artists)))
    return np.array([ids[a] if a else next(unnamed) for a in artists], dtype=np.int64)


def _warn_of_shared_artists(rows: pd.DataFrame) -> None:
    named = rows[rows["artist"] != ""]
    spread = named.groupby("artist")["split"].nunique()
    shared = spread[spread > 1]
    if len(shared):
        log.warning(
            "labels.csv puts %d artist(s) in more than one split (e.g. %s): a model scored on "
            "an artist it was trained on looks better than it is",
            len(shared),
            ", ".join(repr(a) for a in shared.index[:3]),
        )


def _summary(folder: Path, listing: Listing, frame: pd.DataFrame, method: str) -> dict[str, Any]:
    return {
        "folder": str(folder),
        "layout": listing.layout,
        "tracks": len(frame),
        "genres": int(frame["genre"].nunique()),
        "split_method": method,
        "per_split": {s: int((frame["split"] == s).sum()) for s in SPLITS},
        "per_genre": {g: int(n) for g, n in frame["genre"].value_counts().sort_index().items()},
        "artists": int(frame.loc[frame["artist"] != "", "artist"].nunique()),
        "left_out": dict(sorted(listing.skipped.items())),
        "left_out_examples": {k: v for k, v in sorted(listing.examples.items())},
        "gigabytes": round(float(frame["bytes"].sum()) / 1e9, 3),
    }
