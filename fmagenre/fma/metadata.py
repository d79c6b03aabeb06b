"""Reading FMA's metadata and making the one tracks table every later stage trusts.

tracks.csv has a two-level header and dozens of columns; the pipeline needs six of them,
selected by name. The tidy table written from it (track_id, genre_top, split, artist_id,
duration, path) is the only source of labels and split downstream, so the subset rules and
what is left out (and why) are decided here, once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from fmagenre.fma.facts import SPLITS, audio_relpath
from fmagenre.infra.errors import UserError

NEEDED = {
    ("set", "subset"): "subset",
    ("set", "split"): "split",
    ("track", "genre_top"): "genre_top",
    ("artist", "id"): "artist_id",
    ("track", "duration"): "duration",
}
# Which values of set.subset belong to each pipeline subset (FMA's subsets are nested).
SUBSET_MEMBERS = {
    "small": {"small"},
    "medium": {"small", "medium"},
    "large": {"small", "medium", "large"},
    "full": {"small", "medium", "large"},
    "synthetic": {"small"},
}
TRACKS_COLUMNS = ["track_id", "genre_top", "split", "artist_id", "duration", "path"]


def read_tracks_csv(path: Path) -> pd.DataFrame:
    """FMA's tracks.csv with the columns the pipeline needs (named as in NEEDED's values)."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} not found")
    try:
        raw = pd.read_csv(path, index_col=0, header=[0, 1], low_memory=False)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(
            f"{path} is not a tracks.csv in FMA's format (two header rows, then track_id): {exc}"
        ) from None
    missing = [f"{top}.{field}" for top, field in NEEDED if (top, field) not in raw.columns]
    if missing:
        raise UserError(
            f"{path} lacks the column(s) {', '.join(missing)} (is it FMA's tracks.csv?)"
        )
    tracks = raw[list(NEEDED)].copy()
    tracks.columns = list(NEEDED.values())
    index = pd.to_numeric(pd.Series(raw.index, dtype="object"), errors="coerce")
    if index.isna().any():
        bad = raw.index[index.isna().to_numpy()][0]
        raise UserError(f"{path} has a row whose track_id is not a number: {bad!r}")
    tracks.index = index.astype("int64").to_numpy()
    tracks.index.name = "track_id"
    duplicated = tracks.index.duplicated()
    if duplicated.any():
        # two rows for one track: its label and split would be ambiguous, and it would be
        # decoded, trained on and scored twice
        first = int(tracks.index[duplicated][0])
        raise UserError(
            f"{path} lists track_id {first} more than once "
            f"({int(duplicated.sum())} duplicated row(s) in all); is the file damaged?"
        )
    return tracks


def read_genres_csv(path: Path) -> pd.DataFrame:
    path = Path(path)
    try:
        genres = pd.read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise UserError(f"{path} cannot be read as FMA's genres.csv: {exc}") from None
    expected = {"genre_id", "#tracks", "parent", "title", "top_level"}
    if not expected <= set(genres.columns):
        raise UserError(
            f"{path} lacks the column(s) {', '.join(sorted(expected - set(genres.columns)))}"
        )
    return genres


def build_tracks_table(
    tracks: pd.DataFrame, subset: str, audio_root: Path
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The tidy table of a subset, and a summary of what it holds and what was left out."""
    members = SUBSET_MEMBERS[subset]
    in_subset = tracks[tracks["subset"].isin(members)]
    genre = in_subset["genre_top"].fillna("").astype(str).str.strip()
    split = in_subset["split"].fillna("").astype(str).str.strip()
    no_genre = genre == ""
    bad_split = ~split.isin(SPLITS) & ~no_genre
    artist = pd.to_numeric(in_subset["artist_id"], errors="coerce")
    bad_artist = artist.isna() & ~no_genre & ~bad_split
    keep = ~(no_genre | bad_split | bad_artist)
    table = pd.DataFrame(
        {
            "track_id": in_subset.index[keep].astype("int64"),
            "genre_top": genre[keep].to_numpy(),
            "split": split[keep].to_numpy(),
            "artist_id": artist[keep].astype("int64").to_numpy(),
            "duration": pd.to_numeric(in_subset["duration"][keep], errors="coerce")
            .astype("float64")
            .to_numpy(),
            "path": [
                str(Path(audio_root) / audio_relpath(int(tid))) for tid in in_subset.index[keep]
            ],
        }
    ).sort_values("track_id", ignore_index=True)
    if table.empty:
        raise UserError(
            f"no track of subset '{subset}' has a top-level genre and a split in tracks.csv"
        )
    summary = {
        "subset": subset,
        "tracks": len(table),
        "genres": int(table["genre_top"].nunique()),
        "per_split": {s: int((table["split"] == s).sum()) for s in SPLITS},
        "per_genre": {g: int(n) for g, n in table["genre_top"].value_counts().sort_index().items()},
        "excluded": {
            "no_genre_top": int(no_genre.sum()),
            "unknown_split": int(bad_split.sum()),
            "no_artist": int(bad_artist.sum()),
        },
    }
    return table[TRACKS_COLUMNS], summary


def read_tracks_table(path: Path) -> pd.DataFrame:
    """The tidy tracks table written by fetch, checked for the columns later stages use."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} not found: run the fetch stage first (dvc repro fetch)")
    table = pd.read_parquet(path)
    missing = [c for c in TRACKS_COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"{path} lacks the column(s) {', '.join(missing)}: rerun the fetch stage")
    return table
