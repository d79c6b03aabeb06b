"""The synthetic dataset: FMA's exact layout, real MP3s, an artist split, faults, determinism."""

from __future__ import annotations

import ast
import hashlib
import os
import tracemalloc
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf
from conftest import fill_disk

from fmagenre.cli import main
from fmagenre.fma.facts import SMALL_GENRES, TOP_LEVEL_GENRES, audio_relpath
from fmagenre.infra.errors import UserError
from fmagenre.synth import FAULTS, generate_dataset, pack_archives

TINY = dict(tracks_per_genre=6, clip_seconds=3.0, seed=11)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth")
    return generate_dataset(root, workers=2, progress=False, **TINY)


def read_tracks(root: Path) -> pd.DataFrame:
    return pd.read_csv(root / "fma_metadata" / "tracks.csv", index_col=0, header=[0, 1])


def test_tracks_csv_has_fmas_header_format_and_columns(dataset):
    raw = (dataset.root / "fma_metadata" / "tracks.csv").read_text().splitlines()
    assert (
        raw[0].startswith(",album,album")
        and raw[1].startswith(",date_released")
        and raw[2].startswith("track_id,,")
    )
    tracks = read_tracks(dataset.root)
    assert tracks.index.name == "track_id" and len(tracks) == dataset.n_tracks == 48
    for column in [
        ("set", "subset"),
        ("set", "split"),
        ("track", "genre_top"),
        ("track", "genres_all"),
        ("artist", "id"),
        ("track", "duration"),
        ("track", "title"),
        ("artist", "name"),
    ]:
        assert column in tracks.columns
    assert list(tracks.columns.get_level_values(0).unique()) == ["album", "artist", "set", "track"]
    assert set(tracks[("set", "subset")]) == {"small"}
    assert (
        tracks.index.is_monotonic_increasing
        and tracks.index.min() >= 2
        and tracks.index.max() <= 155320
    )
    for genre, genres_all in zip(
        tracks[("track", "genre_top")], tracks[("track", "genres_all")], strict=True
    ):
        ids = ast.literal_eval(genres_all)
        assert ids[0] == SMALL_GENRES[genre] and len(ids) == 2


def test_genres_csv(dataset):
    genres = pd.read_csv(dataset.root / "fma_metadata" / "genres.csv")
    assert list(genres.columns) == ["genre_id", "#tracks", "parent", "title", "top_level"]
    top = genres[genres["parent"] == 0]
    assert dict(zip(top["title"], top["genre_id"], strict=True)) == TOP_LEVEL_GENRES
    counted = top.set_index("title")["#tracks"]
    assert all(counted[genre] == 6 for genre in SMALL_GENRES)


def test_split_is_by_artist_and_covers_every_genre(dataset):
    tracks = read_tracks(dataset.root)
    splits_per_artist = tracks[("set", "split")].groupby(tracks[("artist", "id")]).nunique()
    assert (splits_per_artist == 1).all()
    table = pd.crosstab(tracks[("track", "genre_top")], tracks[("set", "split")])
    assert list(table.index) == sorted(SMALL_GENRES) and (table > 0).all().all()


def test_audio_files_are_real_mp3_with_varied_formats(dataset):
    tracks = read_tracks(dataset.root)
    rates, channels = set(), set()
    for track_id in tracks.index:
        path = dataset.root / "fma_synthetic" / audio_relpath(track_id)
        if dataset.faults.get(track_id) in ("missing",):
            assert not path.exists()
            continue
        if dataset.faults.get(track_id) in ("no_audio", "truncated"):
            continue
        info = sf.info(path)
        assert info.format == "MP3" and info.subtype == "MPEG_LAYER_III"
        expected = 1.0 if dataset.faults.get(track_id) == "short" else 3.0
        assert abs(info.duration - expected) < 0.1
        rates.add(info.samplerate)
        channels.add(info.channels)
    assert len(rates) >= 2 and channels == {1, 2}


def test_each_fault_is_there_once_and_behaves_as_declared(dataset):
    assert sorted(dataset.faults.values()) == sorted(FAULTS)
    listed = pd.read_csv(dataset.root / "fma_metadata" / "synthetic_faults.csv")
    assert dict(zip(listed["track_id"], listed["fault"], strict=True)) == dataset.faults
    path = {
        kind: dataset.root / "fma_synthetic" / audio_relpath(tid)
        for tid, kind in dataset.faults.items()
    }
    assert not path["missing"].exists()
    with pytest.raises(sf.LibsndfileError):
        sf.read(path["no_audio"])
    silent, _ = sf.read(path["silent"])
    assert abs(silent).max() < 1e-4
    truncated, _ = sf.read(path["truncated"])
    assert 0.2 * 3.0 < len(truncated) / sf.info(path["truncated"]).samplerate < 0.7 * 3.0


def test_same_seed_same_bytes_whatever_the_worker_count(dataset, tmp_path):
    again = generate_dataset(tmp_path, workers=1, progress=False, **TINY)

    def digest(root):
        return {
            p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file()
        }

    assert digest(again.root) == digest(dataset.root)
    other = generate_dataset(tmp_path / "other", workers=1, progress=False, **{**TINY, "seed": 12})
    assert digest(other.root) != digest(dataset.root)


def test_pack_archives_uses_fmas_internal_layout(dataset, tmp_path):
    checksums = pack_archives(dataset.root, tmp_path, "synthetic")
    assert set(checksums) == {"fma_metadata.zip", "fma_synthetic.zip"}
    for name, sha1 in checksums.items():
        assert hashlib.sha1((tmp_path / name).read_bytes()).hexdigest() == sha1
    with zipfile.ZipFile(tmp_path / "fma_metadata.zip") as bundle:
        assert "fma_metadata/tracks.csv" in bundle.namelist()
    with zipfile.ZipFile(tmp_path / "fma_synthetic.zip") as bundle:
        some_id = next(tid for tid in read_tracks(dataset.root).index if tid not in dataset.faults)
        assert f"fma_synthetic/{audio_relpath(some_id).as_posix()}" in bundle.namelist()


def test_packing_holds_one_file_in_memory_not_the_archive(tmp_path):
    """At 2,000 tracks of 30 s the stage's memory grew with the archive (1.2 GB read whole
    to checksum it); packing now holds about one file at a time."""
    folder = tmp_path / "tree" / "fma_synthetic" / "000"
    folder.mkdir(parents=True)
    (tmp_path / "tree" / "fma_metadata").mkdir()
    for i in range(40):
        (folder / f"{i:06d}.mp3").write_bytes(os.urandom(512 * 1024))  # 20 MiB in all
    tracemalloc.start()
    try:
        checksums = pack_archives(tmp_path / "tree", tmp_path / "out", "synthetic")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    archive = tmp_path / "out" / "fma_synthetic.zip"
    assert archive.stat().st_size > 20 * 2**20
    assert checksums["fma_synthetic.zip"] == hashlib.sha1(archive.read_bytes()).hexdigest()
    assert peak < 4 * 2**20, f"packing peaked at {peak / 2**20:.1f} MiB"


def test_a_full_disk_stops_it_with_one_line_and_leaves_nothing(small_disk):
    fill_disk(small_disk)
    with pytest.raises(
        UserError, match=r"of 48 synthetic tracks could not be written .* 0.0 MiB free"
    ):
        generate_dataset(small_disk / "root", workers=1, progress=False, **TINY)
    assert [p.name for p in (small_disk / "root").iterdir()] == []


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(UserError, match="tracks_per_genre must be at least 2"):
        generate_dataset(tmp_path, tracks_per_genre=1, progress=False)
    with pytest.raises(UserError, match="clip_seconds"):
        generate_dataset(tmp_path, clip_seconds=0.5, progress=False)


def test_cli_writes_and_zips(tmp_path, capsys):
    assert (
        main(
            [
                "synth",
                str(tmp_path),
                "--tracks-per-genre",
                "3",
                "--clip-seconds",
                "1",
                "--no-faults",
                "--zip",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "wrote 24 tracks of 8 genres" in out and "fma_synthetic.zip  sha1 " in out
    assert (tmp_path / "fma_metadata.zip").exists() and "faults" not in out
