"""fetch end to end: synthetic archives served over loopback HTTP, as FMA would serve them."""

from __future__ import annotations

import hashlib
import shutil
import zipfile

import pandas as pd
import pytest
from loopback import serve

from fmagenre.infra.errors import UserError
from fmagenre.infra.params import parse_params
from fmagenre.pipeline.fetch import fetch
from fmagenre.pipeline.synth import write_archives
from fmagenre.synth import generate_dataset, pack_archives


@pytest.fixture(scope="module")
def served_small(tmp_path_factory):
    """A synthetic dataset packed as fma_metadata.zip + fma_small.zip, with their SHA-1."""
    root = tmp_path_factory.mktemp("made")
    generate_dataset(
        root,
        name="small",
        tracks_per_genre=3,
        clip_seconds=1.0,
        seed=3,
        faults=False,
        progress=False,
    )
    served = tmp_path_factory.mktemp("served")
    return served, pack_archives(root, served, "small")


def run_fetch(tmp_path, url, checksums, subset="small"):
    params = parse_params({"data": {"subset": subset, "url_base": url}, "compute": {"workers": 1}})
    return fetch(
        params,
        downloads=tmp_path / "downloads",
        fma_root=tmp_path / "fma",
        tracks_out=tmp_path / "tracks.parquet",
        checksums=checksums,
        progress=False,
        backoff=0.01,
    )


def test_fetch_small_downloads_verifies_extracts_and_builds_the_table(served_small, tmp_path):
    served, checksums = served_small
    with serve(served) as (url, behaviour):
        summary = run_fetch(tmp_path, url, checksums)
        assert sorted(path for path, _ in behaviour.requests) == [
            "/fma_metadata.zip",
            "/fma_small.zip",
        ]
        run_fetch(tmp_path, url, checksums)  # again: the verified archives are not downloaded twice
        assert len(behaviour.requests) == 2
    table = pd.read_parquet(tmp_path / "tracks.parquet")
    assert len(table) == summary["tracks"] == 24 and summary["genres"] == 8
    assert all(
        (tmp_path / "fma" / "fma_small").joinpath(p.split("fma_small/")[1]).exists()
        for p in table["path"]
    )
    assert summary["archives_verified"] == 2
    assert (tmp_path / "downloads" / "fma_small.zip").exists()


def test_checksum_mismatch_extracts_nothing(served_small, tmp_path):
    served, checksums = served_small
    wrong = {**checksums, "fma_small.zip": "f" * 40}
    with serve(served) as (url, _), pytest.raises(UserError, match="does not match FMA's checksum"):
        run_fetch(tmp_path, url, wrong)
    assert (
        not (tmp_path / "fma" / "fma_small").exists() and not (tmp_path / "tracks.parquet").exists()
    )


def test_an_archive_with_a_path_traversal_entry_is_refused_whole(served_small, tmp_path):
    served, checksums = served_small
    evil = tmp_path / "evil_served"
    shutil.copytree(served, evil)
    with zipfile.ZipFile(evil / "fma_small.zip", "a") as bundle:
        bundle.writestr("fma_small/../../escaped.txt", b"outside the extraction folder")
    tampered = {
        **checksums,
        "fma_small.zip": hashlib.sha1((evil / "fma_small.zip").read_bytes()).hexdigest(),
    }
    with serve(evil) as (url, _), pytest.raises(UserError, match="unsafe entry"):
        run_fetch(tmp_path / "run", url, tampered)
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not (tmp_path / "run" / "fma" / "fma_small").exists()
    assert not (tmp_path / "run" / "tracks.parquet").exists()


def test_synthetic_subset_extracts_the_synth_stage_archives_instead_of_downloading(tmp_path):
    params = parse_params(
        {
            "data": {"subset": "synthetic", "url_base": "http://127.0.0.1:9/"},
            "synth": {"tracks_per_genre": 2, "clip_seconds": 1.0, "faults": True},
            "compute": {"workers": 1},
        }
    )
    made = write_archives(params, tmp_path / "synthetic", progress=False)
    assert made["generated"] and made["injected_faults"] == 5
    assert sorted(p.name for p in (tmp_path / "synthetic").iterdir()) == [
        "fma_metadata.zip",
        "fma_synthetic.zip",
    ]
    summary = fetch(
        params,
        downloads=tmp_path / "dl",
        fma_root=tmp_path / "fma",
        tracks_out=tmp_path / "t.parquet",
        synthetic=tmp_path / "synthetic",
        progress=False,
    )
    assert summary["archives_extracted"] == 2 and summary["tracks"] == 16
    assert not (tmp_path / "dl").exists()
    assert pd.read_parquet(tmp_path / "t.parquet")["path"].str.contains("fma_synthetic").all()
    faults = pd.read_csv(tmp_path / "fma" / "fma_metadata" / "synthetic_faults.csv")
    assert len(faults) == 5  # extracted with the rest of the metadata


def test_for_a_real_subset_the_synth_stage_writes_the_same_note_whatever_its_params(tmp_path):
    notes = []
    for seed in (1, 2):
        params = parse_params({"data": {"subset": "small"}, "synth": {"seed": seed}})
        assert write_archives(params, tmp_path / str(seed), progress=False) == {"generated": False}
        notes.append({p.name: p.read_bytes() for p in (tmp_path / str(seed)).iterdir()})
    assert notes[0] == notes[1] and list(notes[0]) == ["NOT_USED.txt"]
