"""data.subset: folder: a user's labelled folder listed, checked, de-duplicated and split,
then made into the tracks table (both layouts, real MP3s, the bad inputs users have)."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import tone, write_mp3

from fmagenre.cli import main
from fmagenre.collection.dataset import build_collection
from fmagenre.collection.splitting import grouped_splits, stratified_splits
from fmagenre.collection.table import COLLECTION_COLUMNS, empty_collection, tracks_from_collection
from fmagenre.fma.facts import SPLITS
from fmagenre.fma.metadata import TRACKS_COLUMNS
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import parse_params
from fmagenre.pipeline.collection import collect
from fmagenre.pipeline.fetch import fetch

FRACTIONS = (0.8, 0.1, 0.1)


def build(folder: Path, seed: int = 3) -> tuple[pd.DataFrame, dict]:
    return build_collection(folder, FRACTIONS, seed, progress=False)


def genre_folders(root: Path, counts: dict[str, int], suffix: str = ".wav") -> Path:
    """Genre sub-folders of short real audio files, each with its own content."""
    for g, (genre, n) in enumerate(counts.items()):
        for i in range(n):
            path = root / genre / f"track {i:02d}{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            samples = tone(0.5, 8000, freq=200 + 40 * g + 3 * i)
            if suffix == ".mp3":
                write_mp3(path, samples, 8000)
            else:
                sf.write(path, samples, 8000)
    return root


# -- the synthetic generator writes both layouts ---------------------------------------------


@pytest.fixture(scope="module")
def synthetic_layouts(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("layouts")
    out = {}
    for layout in ("folders", "csv"):
        out[layout] = root / layout
        args = ["synth", str(out[layout]), "--layout", layout, "--tracks-per-genre", "4"]
        assert main([*args, "--clip-seconds", "2", "--seed", "5", "--workers", "2"]) == 0
    return out


def test_synth_writes_a_genre_folder_layout_with_spaces_and_non_ascii_names(synthetic_layouts):
    root = synthetic_layouts["folders"]
    genres = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert len(genres) == 8 and "Hip-Hop" in genres
    files = sorted(root.rglob("*.mp3"))
    assert len(files) == 8 * 4 - 1  # the injected 'missing' fault has no file
    assert all(" " in f.name and not f.name.isascii() for f in files)
    frame, summary = build(root)
    assert summary["layout"] == "folders" and summary["split_method"] == "stratified by genre"
    assert summary["tracks"] == 31 and summary["genres"] == 8
    # every genre in every split, in the requested proportions (at least one each)
    per = frame.groupby(["genre", "split"]).size().unstack(fill_value=0)
    assert (per[list(SPLITS)] >= 1).all().all()
    assert frame["track_id"].tolist() == list(range(1, 32))


def test_synth_csv_layout_is_split_by_artist_with_no_artist_in_two_splits(synthetic_layouts):
    root = synthetic_layouts["csv"]
    labels = pd.read_csv(root / "labels.csv")
    assert labels.columns.tolist() == ["path", "genre", "artist"] and len(labels) == 32
    frame, summary = build(root)
    assert summary["layout"] == "csv" and summary["split_method"] == "grouped by artist"
    assert summary["left_out"] == {"missing_file": 1}
    assert frame.groupby("artist")["split"].nunique().max() == 1
    assert set(frame["split"]) == set(SPLITS)
    assert frame.groupby("artist")["artist_id"].nunique().max() == 1


def test_the_split_is_seeded(synthetic_layouts):
    root = synthetic_layouts["folders"]
    first, again, other = build(root, 1)[0], build(root, 1)[0], build(root, 2)[0]
    assert first.equals(again)
    assert not first["split"].equals(other["split"])


# -- splits ------------------------------------------------------------------------------------


def test_stratified_splits_cut_each_genre_in_its_fractions():
    genres = ["a"] * 100 + ["b"] * 30 + ["c"] * 3
    splits = pd.Series(stratified_splits(genres, FRACTIONS, 0))
    counts = pd.crosstab(pd.Series(genres), splits)
    assert counts.loc["a"].to_dict() == {"test": 10, "training": 80, "validation": 10}
    assert counts.loc["b"].to_dict() == {"test": 3, "training": 24, "validation": 3}
    assert counts.loc["c"].to_dict() == {"test": 1, "training": 1, "validation": 1}


def test_grouped_splits_keep_each_artist_whole_and_genres_in_proportion():
    rng = np.random.default_rng(0)
    genres = ["a"] * 300 + ["b"] * 200
    artists = np.concatenate([rng.integers(0, 60, 300), rng.integers(100, 140, 200)])
    splits = grouped_splits(genres, artists, FRACTIONS, 7)
    frame = pd.DataFrame({"genre": genres, "artist": artists, "split": splits})
    assert frame.groupby("artist")["split"].nunique().max() == 1
    share = pd.crosstab(frame["genre"], frame["split"], normalize="index")
    assert share["training"].between(0.7, 0.9).all()
    assert share[["validation", "test"]].gt(0.04).all().all()


def test_too_few_artists_for_every_split_is_a_warning_not_a_failure(caplog):
    genres = ["a"] * 6 + ["b"] * 6
    artists = [1] * 6 + [2, 2, 3, 3, 4, 4]
    with caplog.at_level(logging.WARNING):
        splits = grouped_splits(genres, artists, FRACTIONS, 0)
    assert set(splits[:6]) == {"training"}
    assert "a (validation, test)" in caplog.text


# -- bad input -------------------------------------------------------------------------------


def test_a_folder_that_does_not_exist_or_is_a_file(tmp_path):
    with pytest.raises(UserError, match=r"^data.folder = '.*nowhere': no such folder"):
        build(tmp_path / "nowhere")
    (tmp_path / "file.mp3").write_bytes(b"x")
    with pytest.raises(UserError, match="is a file, not a folder of music"):
        build(tmp_path / "file.mp3")


def test_an_empty_folder_and_one_with_no_genre_folders(tmp_path):
    with pytest.raises(
        UserError, match=r"holds no audio file in a genre sub-folder \(it is empty\)"
    ):
        build(tmp_path)
    (tmp_path / "loose.mp3").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UserError, match=r"found: 1 outside a genre folder, 1 not audio\)"):
        build(tmp_path)


def test_one_genre_only(tmp_path):
    genre_folders(tmp_path, {"Rock": 5})
    with pytest.raises(UserError, match=r"has 1 genre \('Rock', 5 tracks\): .* at least 2"):
        build(tmp_path)


def test_a_genre_with_too_few_tracks_is_named_with_its_count(tmp_path):
    genre_folders(tmp_path, {"Rock": 5, "Folk": 2, "Jazz": 1})
    with pytest.raises(UserError, match=r"'Jazz' has 1, 'Folk' has 2 \(at least 3 a genre"):
        build(tmp_path)


def test_other_files_are_counted_by_kind_and_named(tmp_path):
    genre_folders(tmp_path, {"Rock": 3, "Folk": 3})
    (tmp_path / "Rock" / "cover.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / "Rock" / ".DS_Store").write_bytes(b"x")
    (tmp_path / "Folk" / "._track 00.wav").write_bytes(b"x")  # macOS resource fork
    (tmp_path / "Folk" / "live.m4a").write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.mp3").write_bytes(b"x")
    frame, summary = build(tmp_path)
    assert len(frame) == 6
    assert summary["left_out"] == {"hidden_file": 2, "not_audio": 1, "unreadable_format": 1}
    assert summary["left_out_examples"]["unreadable_format"] == ["Folk/live.m4a"]


def test_duplicates_by_content_are_kept_once_and_counted(tmp_path, caplog):
    genre_folders(tmp_path, {"Rock": 4, "Folk": 4})
    shutil.copy(tmp_path / "Rock" / "track 00.wav", tmp_path / "Rock" / "copy of track 00.wav")
    shutil.copy(tmp_path / "Rock" / "track 01.wav", tmp_path / "Folk" / "same as rock.wav")
    (tmp_path / "Rock" / "empty one.wav").write_bytes(b"")
    (tmp_path / "Rock" / "empty two.wav").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        frame, summary = build(tmp_path)
    assert summary["left_out"] == {"duplicate_content": 1, "duplicate_with_other_genres": 2}
    assert summary["left_out_examples"]["duplicate_content"] == [
        "Rock/track 00.wav (= Rock/copy of track 00.wav)"
    ]
    assert "2 file(s) are copies of one recording labelled with different genres" in caplog.text
    assert frame["sha1"][frame["bytes"] > 0].is_unique
    # the first path in order is the copy kept; both copies of the relabelled one are out;
    # empty files stay, for decode to count
    kept = {Path(p).relative_to(tmp_path).as_posix() for p in frame["path"]}
    assert "Rock/copy of track 00.wav" in kept and "Rock/track 00.wav" not in kept
    assert not {"Folk/same as rock.wav", "Rock/track 01.wav"} & kept
    assert {"Rock/empty one.wav", "Rock/empty two.wav"} <= kept


def write_labels(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "labels.csv").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"labels.csv is empty: it needs a header line path,genre"),
        ("path,genre,mood\n", r"unknown column\(s\) 'mood'; its columns are path and genre"),
        ("file,genre\n", r"no column 'path'; unknown column\(s\) 'file'; its"),
        ("path,genre\n,Rock\n", r"labels.csv, line 2: the path is empty"),
        (
            "path,genre,split\na.wav,Rock,training\nb.wav,Rock,train\n",
            r"line 3: split 'train' is not one of training, validation, test",
        ),
        (
            "path,genre,split\na.wav,Rock,training\nb.wav,Rock,\n",
            r"line 3: split '' is not one of",
        ),
        ("path,genre\na.wav,Rock\n./a.wav,Folk\n", r"lines 2 and 3 give './a.wav' two genres"),
    ],
)
def test_a_bad_labels_csv_stops_with_one_line(tmp_path, text, message):
    genre_folders(tmp_path, {"x": 1})
    shutil.copy(tmp_path / "x" / "track 00.wav", tmp_path / "a.wav")
    shutil.copy(tmp_path / "x" / "track 00.wav", tmp_path / "b.wav")
    write_labels(tmp_path, text)
    with pytest.raises(UserError, match=message) as error:
        build(tmp_path)
    assert "\n" not in str(error.value)


def test_labels_csv_rows_without_a_file_or_genre_are_counted(tmp_path, caplog):
    genre_folders(tmp_path / "audio", {"Rock": 3, "Folk": 4})
    rows = [f"audio/{g}/track {i:02d}.wav,{g}" for g in ("Rock", "Folk") for i in range(3)]
    rows += ["audio/gone.wav,Rock", "audio/Rock/track 00.wav,Rock", "audio/Folk/track 00.wav,"]
    write_labels(tmp_path, "path,genre\n" + "\n".join(rows[:6] + rows[6:7] + rows[7:8]) + "\n")
    with caplog.at_level(logging.WARNING):
        frame, summary = build(tmp_path)
    assert len(frame) == 6
    assert summary["left_out"] == {"listed_twice": 1, "missing_file": 1}
    assert "1 listed file(s) do not exist, e.g. audio/gone.wav" in caplog.text
    kept = rows[:3] + rows[4:6] + ["audio/Folk/track 03.wav,Folk"] + rows[8:]
    write_labels(tmp_path, "path,genre\n" + "\n".join(kept) + "\n")
    frame, summary = build(tmp_path)
    assert len(frame) == 6 and summary["left_out"] == {"no_genre": 1}


def test_labels_csv_split_is_used_as_given_and_shared_artists_are_warned_of(tmp_path, caplog):
    genre_folders(tmp_path, {"Rock": 2, "Folk": 2})
    lines = [
        "path,genre,split,artist",
        "Rock/track 00.wav,Rock,Training,Ann",
        "Rock/track 01.wav,Rock,test,Ann",
        "Folk/track 00.wav,Folk,training,Bo",
        "Folk/track 01.wav,Folk,validation,",
    ]
    write_labels(tmp_path, "\ufeff" + "\n".join(lines) + "\n")  # a BOM, as spreadsheets write
    with caplog.at_level(logging.WARNING):
        frame, summary = build(tmp_path)
    assert summary["split_method"] == "labels.csv"
    given = {
        Path(p).relative_to(tmp_path).as_posix(): s
        for p, s in zip(frame["path"], frame["split"], strict=True)
    }
    assert given == {
        "Rock/track 00.wav": "training",
        "Rock/track 01.wav": "test",
        "Folk/track 00.wav": "training",
        "Folk/track 01.wav": "validation",
    }
    assert "1 artist(s) in more than one split (e.g. 'Ann')" in caplog.text
    # an unnamed artist is its own: never grouped with another track
    assert frame["artist_id"].nunique() == 3


def test_the_real_fma_clips_in_a_csv_layout_of_flac_wav_and_mp3(real_clips, tmp_path):
    """Real music in three formats and at other rates, labelled by a CSV with their FMA genres."""
    genres = {"000005": "Hip-Hop", "010250": "Instrumental"}
    rows = ["path,genre,artist"]
    for clip in real_clips:
        samples, sr = sf.read(clip)
        for i, (seconds, suffix, rate) in enumerate(
            [(4.0, ".flac", sr), (6.0, ".wav", 22050), (5.0, ".mp3", sr)]
        ):
            piece = samples[int(i * 5 * sr) : int((i * 5 + seconds) * sr)]
            if rate != sr:
                piece = piece[:: sr // rate] if sr % rate == 0 else piece
                rate = rate if sr % rate == 0 else sr
            name = f"clips/{clip.stem} – part {i}{suffix}"
            (tmp_path / "clips").mkdir(exist_ok=True)
            sf.write(tmp_path / name, piece, rate)
            rows.append(f"{name},{genres.get(clip.stem, 'Experimental')},{clip.stem}")
    write_labels(tmp_path, "\n".join(rows) + "\n")
    frame, summary = build(tmp_path)
    assert summary["tracks"] == 15 and summary["genres"] == 3
    assert summary["split_method"] == "grouped by artist"
    table, fetched = tracks_from_collection(frame)
    assert table.columns.tolist() == TRACKS_COLUMNS and fetched["tracks"] == 15
    for path in table["path"]:
        info = sf.info(path)
        assert info.frames > 0


# -- the stages --------------------------------------------------------------------------------


def test_for_fma_and_the_demo_the_collection_stage_writes_the_same_empty_table(tmp_path):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    collect(parse_params({"data": {"subset": "synthetic"}}), a)
    collect(parse_params({"data": {"subset": "small", "folder": "x"}, "train": {"seed": 1}}), b)
    assert a.read_bytes() == b.read_bytes()
    assert pd.read_parquet(a).columns.tolist() == COLLECTION_COLUMNS


def test_collect_then_fetch_make_the_tracks_table_of_a_folder(tmp_path):
    folder = genre_folders(tmp_path / "my music", {"Rock": 3, "Folk": 4}, suffix=".mp3")
    params = parse_params({"data": {"subset": "folder", "folder": str(folder)}})
    summary = collect(params, tmp_path / "collection.parquet", progress=False)
    assert summary["used"] and summary["tracks"] == 7
    fetched = fetch(
        params,
        downloads=tmp_path / "downloads",
        fma_root=tmp_path / "fma",
        tracks_out=tmp_path / "tracks.parquet",
        collection=tmp_path / "collection.parquet",
    )
    tracks = pd.read_parquet(tmp_path / "tracks.parquet")
    assert fetched["tracks"] == 7 and set(tracks["genre_top"]) == {"Rock", "Folk"}
    assert (tmp_path / "fma" / "NOT_USED.txt").exists() and not (tmp_path / "downloads").exists()
    assert all(Path(p).is_file() for p in tracks["path"])
    json.dumps(summary)  # the report is plain JSON


def test_fetch_of_a_folder_without_its_collection_says_which_stage_to_run(tmp_path):
    with pytest.raises(UserError, match=r"dvc repro collection"):
        tracks_from_collection(empty_collection())
