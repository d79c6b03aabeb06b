"""data.subset: folder end to end: `dvc exp run -S data.subset=folder -S data.folder=PATH` on a
genre-folder collection (the synthetic generator's, with spaces and non-ASCII names), the
rerun rules when the folder changes, predict's genres, the spec's stage names, and the way
back to the demo (conftest's ``pipeline``; every test leaves it as it found it)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from dvc_project import DvcProject, ran_stages

from fmagenre.models.names import MODEL_NAMES

pytestmark = pytest.mark.e2e

AFTER_COLLECTION = [
    "fetch",
    "decode",
    "manifest",
    "features",
    "spectrograms",
    "embeddings",
    "train_rf",
    "train_svm",
    "train_gbdt",
    "train_crnn",
    "train_musicnn",
    "train_ensemble",
    "compare",
    "analyze",
]


@pytest.fixture(scope="module")
def music(tmp_path_factory) -> Path:
    """Eight genre folders of six 4-s synthetic tracks, the five faults among them."""
    folder = tmp_path_factory.mktemp("folder") / "my music – à moi"
    subprocess.run(
        [sys.executable, "-m", "fmagenre", "synth", str(folder), "--layout", "folders"]
        + ["--tracks-per-genre", "6", "--clip-seconds", "4", "--seed", "9", "--workers", "2"],
        check=True,
        capture_output=True,
    )
    return folder


def stale(project: DvcProject) -> set[str]:
    return set(json.loads(project.dvc("status", "--json").stdout))


def test_the_spec_stage_names_are_stages(pipeline):
    listed = pipeline.dvc("stage", "list", "--name-only").stdout.split()
    assert {"train_rf", "train_svm", "train_gbdt", "train_crnn", "compare"} <= set(listed)
    assert not any("@" in name for name in listed)
    assert "train_rf" in pipeline.dvc("dag").stdout
    # what `dvc repro --force train_rf` would run: that stage alone (a dry run changes nothing)
    result = pipeline.dvc("repro", "--dry", "--force", "--single-item", "train_rf")
    assert ran_stages(result.stdout + result.stderr) == ["train_rf"]


def test_an_experiment_on_a_folder_trains_and_compares_the_five_models(pipeline, music):
    project = pipeline
    # quoted, as README says: -S values follow Hydra's grammar, where a bare value may not
    # hold spaces or letters outside ASCII
    result = project.dvc("exp", "run", "-S", "data.subset=folder", "-S", f"data.folder='{music}'")
    ran = ran_stages(result.stdout + result.stderr)
    assert ran[:3] == ["synth", "collection", "fetch"] and set(AFTER_COLLECTION) <= set(ran)
    root = project.root
    try:
        collection = json.loads((root / "reports" / "collection.json").read_text())
        assert collection["layout"] == "folders" and collection["tracks"] == 47
        genres = sorted(p.name for p in music.iterdir() if p.is_dir())
        tracks = pd.read_parquet(root / "data" / "tracks.parquet")
        assert sorted(tracks["genre_top"].unique()) == genres
        assert all(str(music) in path for path in tracks["path"])
        manifest = json.loads((root / "reports" / "manifest.json").read_text())
        assert manifest["status"]["silent"] == 1 and manifest["status"]["ok"] < 47
        board = json.loads((root / "reports" / "leaderboard.json").read_text())
        assert sorted(board["models"]) == sorted(MODEL_NAMES)
        # a few validation tracks: auto cross-validates the feature and embedding models;
        # the CRNN keeps the validation split
        for model in ("rf", "svm", "gbdt", "musicnn"):
            assert "-fold cv" in board["models"][model]["chosen_by"], model
        assert board["models"]["crnn"]["chosen_by"].startswith("validation (")
        for model in MODEL_NAMES:
            used = json.loads((root / "models" / model / "params.json").read_text())
            assert used["data"]["subset"] == "folder"
        clip = next((music / "Rock").glob("*.mp3"))
        predicted = project.run(
            sys.executable, "-m", "fmagenre", "predict", str(clip), "--format", "json"
        )
        rows = json.loads(predicted.stdout)
        assert {p["genre"] for p in rows[0]["predictions"]} <= set(genres)
        assert "synthetic" not in predicted.stderr.lower()
        folder_rules(project, music)
    finally:
        back_to_the_demo(project)


def folder_rules(project: DvcProject, music: Path) -> None:
    """What DVC reruns when the folder changes (the experiment's results in the workspace)."""
    assert "up to date" in project.dvc("status").stdout
    a_file = next((music / "Folk").glob("*.mp3"))
    a_file.touch()  # a new time, the same content: nothing to do
    assert "up to date" in project.dvc("status").stdout
    (music / "Folk" / "notes.txt").write_text("liner notes")
    copy = music / "Folk" / "a copy.mp3"
    shutil.copy(a_file, copy)  # the collection changes only in what it leaves out
    assert project.repro() == ["collection"]
    copy.unlink()
    (music / "Folk" / "notes.txt").unlink()
    assert project.repro() == []  # as before: from the run-cache
    moved = music / "Rock" / a_file.name
    shutil.move(a_file, moved)  # relabelled: the tracks table changes
    try:
        assert project.repro("fetch") == ["collection", "fetch"]
        assert {"decode", "features", "train_rf", "train_crnn"} <= stale(project)
    finally:
        shutil.move(moved, a_file)
    assert project.repro() == []


def back_to_the_demo(project: DvcProject) -> None:
    project.git("checkout", "--", "params.yaml")
    assert project.repro() == []  # every output comes back from the cache
    assert "up to date" in project.dvc("status").stdout
    assert project.git("status", "--porcelain").stdout == ""
    used = json.loads((project.root / "models" / "best" / "params.json").read_text())
    assert used["data"]["subset"] == "synthetic"
    project.dvc("exp", "remove", "--all-commits")
