"""The collection table (data/collection.parquet) and the tracks table fetch makes of it.

Apart from the listing and splitting code, so that fetch depends only on this: how a table
becomes the tracks table, not how a folder is read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fmagenre.fma.facts import SPLITS
from fmagenre.fma.metadata import TRACKS_COLUMNS
from fmagenre.infra.errors import UserError

COLLECTION_COLUMNS = [
    "track_id",
    "path",
    "genre",
    "split",
    "artist_id",
    "artist",
    "bytes",
    "sha1",
]


def empty_collection() -> pd.DataFrame:
    """What the collection stage writes for FMA or the synthetic data: always the same."""
    return pd.DataFrame({name: pd.Series(dtype=column_dtype(name)) for name in COLLECTION_COLUMNS})


def column_dtype(column: str) -> str:
    return "int64" if column in ("track_id", "artist_id", "bytes") else "object"


def tracks_from_collection(collection: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The tracks table of a collection (fetch's output), and fetch's summary of it."""
    missing = [c for c in COLLECTION_COLUMNS if c not in collection.columns]
    if missing or collection.empty:
        raise UserError(
            "data/collection.parquet holds no collection: rerun the collection stage "
            "(dvc repro collection) with data.subset: folder"
        )
    table = pd.DataFrame(
        {
            "track_id": collection["track_id"].astype("int64"),
            "genre_top": collection["genre"].astype(str),
            "split": collection["split"].astype(str),
            "artist_id": collection["artist_id"].astype("int64"),
            "duration": np.nan,  # not known before decoding (FMA's comes from its metadata)
            "path": collection["path"].astype(str),
        }
    )[TRACKS_COLUMNS]
    summary = {
        "subset": "folder",
        "tracks": len(table),
        "genres": int(table["genre_top"].nunique()),
        "per_split": {s: int((table["split"] == s).sum()) for s in SPLITS},
        "per_genre": {g: int(n) for g, n in table["genre_top"].value_counts().sort_index().items()},
        "excluded": {},
    }
    return table, summary
