"""tracks.csv reading and the tidy tracks table: subset rules, exclusions, malformed input."""

from __future__ import annotations

import pandas as pd
import pytest

from fmagenre.fma.metadata import build_tracks_table, read_tracks_csv
from fmagenre.infra.errors import UserError


def write_tracks_csv(path, rows):
    """rows: (track_id, subset, split, genre_top, artist_id) in FMA's two-level format."""
    frame = pd.DataFrame(
        {
            ("album", "id"): [1] * len(rows),
            ("artist", "id"): [r[4] for r in rows],
            ("artist", "name"): ["a"] * len(rows),
            ("set", "split"): [r[2] for r in rows],
            ("set", "subset"): [r[1] for r in rows],
            ("track", "duration"): [30] * len(rows),
            ("track", "genre_top"): [r[3] for r in rows],
            ("track", "title"): ["t"] * len(rows),
        },
        index=pd.Index([r[0] for r in rows], name="track_id"),
    )
    frame.columns = pd.MultiIndex.from_tuples(frame.columns)
    frame.to_csv(path)
    return path


ROWS = [
    (2, "small", "training", "Hip-Hop", 1),
    (3, "medium", "training", "Jazz", 2),
    (5, "small", "test", "Folk", 3),
    (10, "large", "validation", "Rock", 4),
    (20, "medium", "training", None, 5),  # several genres: no genre_top
    (140, "small", "validation", "Pop", 6),
    (141, "large", "training", "Blues", 7),
]


@pytest.fixture
def tracks(tmp_path):
    return read_tracks_csv(write_tracks_csv(tmp_path / "tracks.csv", ROWS))


@pytest.mark.parametrize(
    "subset,ids,no_genre",
    [
        ("small", [2, 5, 140], 0),
        ("medium", [2, 3, 5, 140], 1),
        ("large", [2, 3, 5, 10, 140, 141], 1),
        ("full", [2, 3, 5, 10, 140, 141], 1),
    ],
)
def test_subset_rules_and_exclusions(tracks, tmp_path, subset, ids, no_genre):
    table, summary = build_tracks_table(tracks, subset, tmp_path / f"fma_{subset}")
    assert table["track_id"].tolist() == ids
    assert summary["excluded"]["no_genre_top"] == no_genre and summary["tracks"] == len(ids)
    assert list(table.columns) == [
        "track_id",
        "genre_top",
        "split",
        "artist_id",
        "duration",
        "path",
    ]
    row = table.set_index("track_id").loc[140]
    assert row["path"] == str(tmp_path / f"fma_{subset}" / "000" / "000140.mp3")
    assert (row["genre_top"], row["split"], row["artist_id"], row["duration"]) == (
        "Pop",
        "validation",
        6,
        30.0,
    )
    assert table["track_id"].dtype == "int64" and table["artist_id"].dtype == "int64"


def test_unknown_split_values_are_left_out_and_counted(tmp_path):
    tracks = read_tracks_csv(
        write_tracks_csv(tmp_path / "t.csv", ROWS + [(200, "small", "holdout", "Rock", 9)])
    )
    table, summary = build_tracks_table(tracks, "small", tmp_path)
    assert 200 not in table["track_id"].tolist() and summary["excluded"]["unknown_split"] == 1


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "tracks.csv"
    write_tracks_csv(path, ROWS)
    frame = pd.read_csv(path, index_col=0, header=[0, 1]).drop(columns=[("set", "split")])
    frame.to_csv(path)
    with pytest.raises(UserError, match=r"lacks the column\(s\) set.split"):
        read_tracks_csv(path)


def test_malformed_csv_is_a_clear_error(tmp_path):
    path = tmp_path / "tracks.csv"
    path.write_text("this,is\nnot,fma\n")
    with pytest.raises(UserError, match="tracks.csv"):
        read_tracks_csv(path)
    with pytest.raises(UserError, match="not found"):
        read_tracks_csv(tmp_path / "absent.csv")


def test_an_empty_subset_is_an_error_not_an_empty_table(tracks, tmp_path):
    only_large = tracks[tracks["subset"] == "large"]
    with pytest.raises(UserError, match="no track of subset 'small'"):
        build_tracks_table(only_large, "small", tmp_path)


def test_duplicate_track_ids_are_refused(tmp_path):
    """Two rows for one track give it two labels, and it would be decoded and scored twice."""
    rows = ROWS + [(140, "small", "training", "Rock", 6), (5, "small", "test", "Folk", 3)]
    rows += [(140, "small", "test", "Jazz", 6)]
    with pytest.raises(UserError) as info:
        read_tracks_csv(write_tracks_csv(tmp_path / "tracks.csv", rows))
    message = str(info.value)
    assert "track_id 140 more than once" in message and "3 duplicated row(s)" in message
    assert "\n" not in message
