"""predict: the pipeline's own decode and feature code on new files, any format, errors per file."""

from __future__ import annotations

import csv
import io
import json

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import sound, write_mp3, write_official_csv
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from test_features import assert_parity

from fmagenre.audio.clip import DecodeSettings
from fmagenre.cli import main
from fmagenre.features.reference import reference_features
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import parse_params
from fmagenre.models.files import save_pipeline
from fmagenre.models.loading import InputRecipe, load_model, saved_rate
from fmagenre.models.predict import find_audio_files, predict_stream, prepare_input
from fmagenre.pipeline.features import run_official_features
from fmagenre.pipeline.train_classic import train_and_evaluate

CLASSES = ["Drone", "Hiss", "Whistle"]
SR = 22050


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A tiny RF trained, through the pipeline's own input code, on three kinds of sound."""
    root = tmp_path_factory.mktemp("models")
    recipe = InputRecipe("features", DecodeSettings(SR, 3.0, "center"))
    X, y = [], []
    for label, kind in enumerate(CLASSES):
        for seed in range(6):
            path = write_mp3(
                root / "train" / f"{kind}{seed}.mp3", sound(kind, 3.0, 44100, seed), 44100
            )
            X.append(prepare_input(str(path), recipe).row)
            y.append(label)
    pipeline = Pipeline(
        [("impute", SimpleImputer()), ("model", RandomForestClassifier(50, random_state=0))]
    ).fit(np.array(X), y)
    folder = root / "rf"
    folder.mkdir()
    save_pipeline(pipeline, folder)
    (folder / "classes.json").write_text(json.dumps(CLASSES))
    (folder / "params.json").write_text(
        json.dumps(
            {
                "input": {
                    "audio": {"sr": SR, "duration": 3.0, "crop": "center"},
                    "min_seconds": 2.0,
                    "features_source": "computed",
                }
            }
        )
    )
    (root / "best.json").write_text(json.dumps({"model": "rf"}))
    return root


@pytest.fixture
def inbox(tmp_path):
    """New files in every supported format, one broken, one silent, in nested folders."""
    write_mp3(tmp_path / "a" / "drone.mp3", sound("Drone", 4.0, 48000, 99), 48000)
    sf.write(tmp_path / "a" / "whistle.wav", sound("Whistle", 2.5, 22050, 98), 22050)
    (tmp_path / "b" / "deep").mkdir(parents=True)
    sf.write(tmp_path / "b" / "deep" / "hiss.flac", sound("Hiss", 3.0, 44100, 97), 44100)
    sf.write(
        tmp_path / "b" / "drone.ogg",
        sound("Drone", 3.0, 44100, 96),
        44100,
        format="OGG",
        subtype="VORBIS",
    )
    (tmp_path / "b" / "broken.mp3").write_bytes(b"nothing here")
    sf.write(tmp_path / "b" / "blip.wav", sound("Whistle", 1.5, 22050, 95), 22050)
    write_mp3(tmp_path / "b" / "silence.mp3", np.zeros(3 * 44100, np.float32), 44100)
    (tmp_path / "b" / "notes.txt").write_text("not audio")
    return tmp_path


def test_files_and_folders_are_classified_with_errors_per_file(models, inbox):
    files = find_audio_files([str(inbox / "a"), str(inbox / "b")])
    assert [f.name for f in files] == [
        "drone.mp3",
        "whistle.wav",
        "blip.wav",
        "broken.mp3",
        "hiss.flac",
        "drone.ogg",
        "silence.mp3",
    ]
    predictions = {
        p.path.split("/")[-1]: p
        for p in predict_stream(files, load_model(models), workers=2, progress=False)
    }
    assert predictions["drone.mp3"].top(1)[0][0] == "Drone"
    assert predictions["drone.ogg"].top(1)[0][0] == "Drone"
    assert predictions["hiss.flac"].top(1)[0][0] == "Hiss"
    assert predictions["whistle.wav"].top(1)[0][0] == "Whistle"
    assert (
        "only 2.5 s of audio" in predictions["whistle.wav"].note
    )  # shorter than the 3 s the model expects
    # below the model's decode.min_seconds: training never saw such a clip, so no guess
    assert predictions["blip.wav"].probabilities is None and predictions["blip.wav"].error == (
        "only 1.5 s of audio; the model needs at least 2 s (decode.min_seconds)"
    )
    assert (
        predictions["broken.mp3"].probabilities is None
        and "not a readable audio file" in predictions["broken.mp3"].error
    )
    assert (
        predictions["silence.mp3"].probabilities is None
        and "no audible audio" in predictions["silence.mp3"].error
    )
    for p in predictions.values():
        if p.probabilities:
            assert abs(sum(p.probabilities.values()) - 1) < 1e-6


def test_cli_formats_and_exit_status(models, inbox, tmp_path, capsys):
    good = [str(inbox / "a" / "drone.mp3"), str(inbox / "a" / "whistle.wav")]
    assert main(["predict", *good, "--models-dir", str(models), "--quiet", "--top-k", "2"]) == 0
    table = capsys.readouterr().out
    assert "top genres (rf)" in table and "Drone" in table.splitlines()[1]
    assert (
        main(
            [
                "predict",
                *good,
                str(inbox / "b" / "broken.mp3"),
                "--models-dir",
                str(models),
                "--quiet",
                "--format",
                "json",
            ]
        )
        == 1
    )
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert [len(r["predictions"]) for r in rows] == [3, 3, 0] and rows[2]["error"]
    assert "1 of 3 files could not be classified" in captured.err
    out = tmp_path / "predictions.csv"
    assert (
        main(
            [
                "predict",
                str(inbox / "a"),
                "--models-dir",
                str(models),
                "--quiet",
                "--format",
                "csv",
                "--output",
                str(out),
                "--top-k",
                "1",
            ]
        )
        == 0
    )
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [row["genre_1"] for row in table] == ["Drone", "Whistle"] and float(
        table[0]["probability_1"]
    ) > 0.5


def test_missing_model_says_which_stage_to_run(tmp_path, capsys):
    with pytest.raises(UserError, match=r"dvc repro train_crnn"):
        load_model(tmp_path, "crnn")
    with pytest.raises(UserError, match="no model has been chosen yet"):
        load_model(tmp_path, "best")
    assert main(["predict", "x.mp3", "--models-dir", str(tmp_path), "--model", "svm"]) == 2
    assert "dvc repro train_svm" in capsys.readouterr().err


def test_real_fma_clips_get_a_valid_distribution(models, real_clips):
    predictions = list(
        predict_stream(list(real_clips), load_model(models, "rf"), workers=1, progress=False)
    )
    for prediction in predictions:
        assert prediction.status == "ok" and prediction.error == ""
        values = np.array(list(prediction.probabilities.values()))
        assert set(prediction.probabilities) == set(CLASSES)
        assert np.all(values >= 0) and abs(values.sum() - 1) < 1e-6


def test_a_model_trained_on_fmas_features_csv_gets_the_same_features_at_predict(
    tmp_path, real_clips
):
    """official and computed are interchangeable: a model trained on features.csv (FMA's
    three-header layout, the values FMA's features.py gives) is fed the same values by
    predict for a real FMA clip, computed from the MP3 at its native rate."""
    official = np.stack(
        [reference_features(*librosa.load(clip, sr=None, mono=True)) for clip in real_clips]
    )
    genres = [f"Genre{i}" for i in range(len(real_clips))]
    rng = np.random.default_rng(0)
    ids, rows, tracks = [], [], []
    for i, clip in enumerate(real_clips):
        # the clip itself is a test track; jittered copies of it teach the model its genre
        for j, split in enumerate(["test"] + ["training"] * 6 + ["validation"] * 2):
            track_id = int(clip.stem) if split == "test" else 900_000 + 10 * i + j
            ids.append(track_id)
            jitter = 1 + (0.02 * rng.standard_normal(518) if split != "test" else 0)
            rows.append(official[i] * jitter)
            tracks.append(
                {
                    "track_id": track_id,
                    "genre_top": genres[i],
                    "split": split,
                    "artist_id": 100 * i + (j > 0),
                    "duration": 30.0,
                    "path": str(clip),
                }
            )
    csv = write_official_csv(tmp_path / "features.csv", ids, np.array(rows, np.float32))
    tracks = pd.DataFrame(tracks)
    run_official_features(tracks, csv, out_path=tmp_path / "features.parquet")
    params = parse_params(
        {
            "data": {"subset": "small"},  # FMA's features.csv: a real subset
            "audio": {"duration": 30.0},  # of 30-s clips, as features.csv describes them
            "features": {"source": "official"},
            "rf": {"n_estimators": 50, "min_samples_leaf": 1, "max_features": "sqrt"},
            "compute": {"workers": 1},
            # one artist per genre: too few to cross-validate by artist (not this test's point)
            "train": {"selection": "validation"},
        }
    )
    train_and_evaluate(
        "rf",
        pd.read_parquet(tmp_path / "features.parquet"),
        tracks,
        None,
        params,
        model_dir=tmp_path / "models" / "rf",
        metrics_dir=tmp_path / "metrics",
    )
    loaded = load_model(tmp_path / "models", "rf")
    assert loaded.recipe.features_rate == "native" and not loaded.notes
    for clip, expected in zip(real_clips, official, strict=True):
        assert_parity(prepare_input(str(clip), loaded.recipe).row, expected)
    predictions = list(predict_stream(list(real_clips), loaded, workers=1, progress=False))
    assert [p.top(1)[0][0] for p in predictions] == genres
    # what predict computed for such a model before: the decoded audio's features, another kind
    decoded = prepare_input(str(real_clips[0]), InputRecipe("features", loaded.recipe.audio)).row
    relative = np.abs(decoded - official[0]) / np.maximum(np.abs(official[0]), 1e-3)
    assert np.median(relative) > 0.05


def test_models_saved_before_the_rate_was_recorded_keep_their_features():
    assert saved_rate({"features_source": "official"}) == "native"  # features.csv is native
    assert saved_rate({"features_source": "computed"}) == "decoded"  # the old stage's audio
    assert saved_rate({"features_source": "computed", "features_sample_rate": "native"}) == (
        "native"
    )


def test_a_model_of_the_synthetic_demo_says_its_genres_are_not_music(models, tmp_path, capsys):
    import shutil

    for subset, expected in (("synthetic", 1), ("small", 0), (None, 0)):
        folder = tmp_path / str(subset)
        shutil.copytree(models, folder)
        used = json.loads((folder / "rf" / "params.json").read_text())
        if subset:
            used["data"] = {"subset": subset}
        (folder / "rf" / "params.json").write_text(json.dumps(used))
        notes = load_model(folder, "rf").notes
        assert sum("not real music genres" in note for note in notes) == expected, subset
    main(["predict", str(tmp_path / "x.wav"), "--models-dir", str(tmp_path / "synthetic")])
    err = capsys.readouterr().err
    assert "note: this model was trained on the synthetic demo dataset" in err
    assert "fmagenre tag" in err and "real FMA" in err
