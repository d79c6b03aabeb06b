"""The synthetic dataset's metadata as FMA writes its own: tracks.csv and genres.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fmagenre.fma.facts import SMALL_GENRES, TOP_LEVEL_GENRES

# Illustrative sub-genres (ids chosen not to collide with FMA's top-level ones).
SUBGENRES: dict[str, tuple[tuple[int, str], ...]] = {
    "Electronic": ((4001, "Techno"), (4002, "House"), (4003, "Chiptune")),
    "Experimental": ((4011, "Noise"), (4012, "Drone"), (4013, "Musique Concrete")),
    "Folk": ((4021, "Singer-Songwriter"), (4022, "Free-Folk"), (4023, "British Folk")),
    "Hip-Hop": ((4031, "Rap"), (4032, "Hip-Hop Beats"), (4033, "Boom-Bap")),
    "Instrumental": ((4041, "Soundtrack"), (4042, "Ambient"), (4043, "Piano Solo")),
    "International": ((4051, "Indian"), (4052, "Middle East"), (4053, "Turkish")),
    "Pop": ((4061, "Synth-Pop"), (4062, "Power-Pop"), (4063, "Indie Pop")),
    "Rock": ((4071, "Punk"), (4072, "Garage"), (4073, "Psych-Rock")),
}
LICENSE = "Attribution-NonCommercial-ShareAlike 3.0 International"


def tracks_csv(table: pd.DataFrame) -> pd.DataFrame:
    """The plan as FMA's tracks.csv: two-level columns (alphabetical within each level)."""
    sub = subgenre_ids(table)
    date = pd.Timestamp("2009-01-01") + pd.to_timedelta(table["track_id"] // 20, unit="h")
    columns = {
        ("album", "date_released"): (date - pd.Timedelta(days=30)).dt.strftime("%Y-%m-%d 00:00:00"),
        ("album", "id"): table["album_id"],
        ("album", "title"): table["album_title"],
        ("album", "tracks"): table.groupby("album_id")["track_id"].transform("count"),
        ("album", "type"): "Album",
        ("artist", "id"): table["artist_id"],
        ("artist", "location"): table["city"],
        ("artist", "name"): table["artist_name"],
        ("set", "split"): table["split"],
        ("set", "subset"): "small",
        ("track", "bit_rate"): table["bit_rate"],
        ("track", "date_created"): date.dt.strftime("%Y-%m-%d %H:%M:%S"),
        ("track", "duration"): np.ceil(table["seconds"]).astype(int),
        ("track", "genre_top"): table["genre"],
        ("track", "genres"): [f"[{s}]" for s in sub],
        ("track", "genres_all"): [
            f"[{SMALL_GENRES[g]}, {s}]" for g, s in zip(table["genre"], sub, strict=True)
        ],
        ("track", "interest"): (table["track_id"] * 7919 % 5000 + 100).astype(int),
        ("track", "license"): LICENSE,
        ("track", "listens"): (table["track_id"] * 104729 % 3000 + 20).astype(int),
        ("track", "number"): table["number"],
        ("track", "title"): table["title"],
    }
    frame = pd.DataFrame(
        {
            key: list(value) if not isinstance(value, str) else value
            for key, value in columns.items()
        },
        index=table["track_id"].to_numpy(),
    )
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.index.name = "track_id"
    return frame


def subgenre_ids(table: pd.DataFrame) -> list[int]:
    """Each artist works in one sub-genre of its genre."""
    return [SUBGENRES[g][a % 3][0] for g, a in zip(table["genre"], table["artist_id"], strict=True)]


def genres_csv(table: pd.DataFrame) -> pd.DataFrame:
    """FMA's genres.csv: the 16 top-level genres and the synthetic sub-genres, with counts."""
    counts = table["genre"].value_counts()
    rows = []
    for title, genre_id in TOP_LEVEL_GENRES.items():
        rows.append(
            {
                "genre_id": genre_id,
                "#tracks": int(counts.get(title, 0)),
                "parent": 0,
                "title": title,
                "top_level": genre_id,
            }
        )
    sub_counts = pd.Series(subgenre_ids(table)).value_counts()
    for genre, children in SUBGENRES.items():
        for child_id, title in children:
            n = int(sub_counts.get(child_id, 0))
            rows.append(
                {
                    "genre_id": child_id,
                    "#tracks": n,
                    "parent": SMALL_GENRES[genre],
                    "title": title,
                    "top_level": SMALL_GENRES[genre],
                }
            )
    return pd.DataFrame(rows).sort_values("genre_id").reset_index(drop=True)
