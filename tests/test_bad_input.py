"""Bad input is normal input: each case ends in one clear line, a counted skip or a correct
result, never a traceback or a silent wrong answer (issue 13's cases 3-5, 7, 9 and 11)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from conftest import fill_disk, tone, write_mp3
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from test_classic import FAST, fabricate

from fmagenre.cli import main
from fmagenre.features.compute import feature_columns
from fmagenre.infra.errors import ParamsError
from fmagenre.infra.params import load_params, parse_params
from fmagenre.models import predict
from fmagenre.models.files import save_pipeline
from fmagenre.models.loading import load_model
from fmagenre.pipeline.decode import DecodeItem, DecodeSettings, decode_track, run_decode
from fmagenre.pipeline.train_classic import train_and_evaluate

PROJECT = Path(__file__).resolve().parents[1]
SR = 22050
SETTINGS = DecodeSettings(SR, 3.0, "center")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """An rf model folder as training writes it (its predictions need not mean anything)."""
    root = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, len(feature_columns()))), np.arange(30) % 3
    folder = root / "rf"
    folder.mkdir()
    save_pipeline(
        Pipeline([("model", RandomForestClassifier(10, random_state=0))]).fit(X, y), folder
    )
    (folder / "classes.json").write_text(json.dumps(["Folk", "Pop", "Rock"]))
    (folder / "params.json").write_text(
        json.dumps(
            {"input": {"audio": {"sr": SR, "duration": 3.0, "crop": "center"}, "min_seconds": 1.0}}
        )
    )
    return root


def _predict(models: Path, *args: str) -> int:
    return main(
        [
            "predict",
            *args,
            "--models-dir",
            str(models),
            "--model",
            "rf",
            "--quiet",
            "--workers",
            "1",
        ]
    )


# --------------------------------------------------------------------------------------
# Audio that is not audio
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("samples", "status", "error"),
    [
        (np.full(3 * SR, np.nan, np.float32), "corrupt", "samples are not finite"),
        (
            np.where(np.arange(3 * SR) == SR, np.inf, tone(3, SR)).astype(np.float32),
            "corrupt",
            "1 of 66150 samples are not finite",
        ),
        (np.full(3 * SR, 0.5, np.float32), "silent", ""),  # a DC offset is no sound
        (np.full(3 * SR, -0.2, np.float32) + 1e-6 * np.sin(np.arange(3 * SR)), "silent", ""),
        (tone(3, SR) + 0.5, "ok", ""),  # sound riding on a DC offset is sound
    ],
)
def test_non_finite_audio_is_corrupt_and_dc_is_silent(tmp_path, samples, status, error):
    path = tmp_path / "x.wav"
    sf.write(path, samples, SR, subtype="FLOAT")
    record = decode_track(DecodeItem(1, str(path)), SETTINGS).record
    assert record["status"] == status and error in record["error"]


def test_predict_refuses_nan_and_dc_files_with_an_error_line(models, tmp_path, capsys):
    sf.write(tmp_path / "nan.wav", np.full(3 * SR, np.nan, np.float32), SR, subtype="FLOAT")
    sf.write(tmp_path / "dc.wav", np.full(3 * SR, 0.5, np.float32), SR, subtype="FLOAT")
    assert _predict(models, str(tmp_path), "--format", "json") == 1
    rows = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert rows["nan.wav"]["status"] == "corrupt" and rows["nan.wav"]["predictions"] == []
    assert rows["dc.wav"]["status"] == "silent" and "no audible audio" in rows["dc.wav"]["error"]


# --------------------------------------------------------------------------------------
# --output, --workers, file names
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("", "--output is empty"),
        ("{tmp}", "is a folder"),
        ("/proc/x.json", "cannot write in /proc"),
        ("{tmp}/absent/x.json", "the folder {tmp}/absent does not exist"),
        ("{tmp}/song.mp3", "is one of the input files|has an audio file's name"),
        ("{tmp}/other.flac", "has an audio file's name"),
    ],
)
def test_a_bad_output_stops_before_any_work(tmp_path, output, expected, capsys):
    song = write_mp3(tmp_path / "song.mp3", tone(3, 44100), 44100)
    before = song.read_bytes()
    output = output.format(tmp=tmp_path)
    # no model at all: the output is checked first, so its error is the one reported
    code = main(["predict", str(song), "--models-dir", str(tmp_path / "none"), "--output", output])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: --output")
    assert re.search(expected.format(tmp=tmp_path), err[0])
    assert song.read_bytes() == before  # the input is never overwritten


def test_output_on_a_disk_that_is_full_is_one_line(models, small_disk, tmp_path, capsys):
    song = write_mp3(tmp_path / "song.mp3", tone(3, 44100), 44100)
    fill_disk(small_disk)
    assert _predict(models, str(song), "--output", str(small_disk / "out.csv")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: the disk is full (No space left on device writing {small_disk}/out.csv): "
        "free space and run again"
    ]
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]  # no half-written file


def test_workers_must_not_be_negative(models, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        _predict(models, str(tmp_path), "--workers", "-1")
    assert stop.value.code == 2
    assert "--workers: '-1' is not a whole number >= 0" in capsys.readouterr().err


def test_file_names_that_are_not_utf8_are_decoded_and_written_safely(models, tmp_path, capsys):
    name = os.fsdecode(b"caf\xe9.mp3")  # latin-1 bytes: not UTF-8
    write_mp3(tmp_path / "in" / "plain.mp3", tone(3, 44100), 44100).rename(tmp_path / "in" / name)
    out = tmp_path / "out.csv"
    assert _predict(models, str(tmp_path / "in"), "--format", "csv", "--output", str(out)) == 0
    text = out.read_text(encoding="utf-8")  # valid UTF-8
    assert "caf\\xe9.mp3,rf,ok," in text
    assert _predict(models, str(tmp_path / "in")) == 0
    assert "caf\\xe9.mp3" in capsys.readouterr().out


def test_predict_streams_batch_by_batch(models, tmp_path, monkeypatch):
    """Results come out while later files are still to do: after the first result, delete
    the files of the third batch, and they are reported missing, not classified. (The model
    classifies batch 1 while batch 2 is prepared, so the first result comes after batch 2.)"""
    monkeypatch.setattr(predict, "BATCH_CHUNKS", 2)  # one worker: batches of 2 chunks of 4 files
    files = [write_mp3(tmp_path / f"{i:03d}.mp3", tone(3, 44100, 200 + i), 44100) for i in range(2)]
    for i in range(2, 24):
        files.append(tmp_path / f"{i:03d}.mp3")
        os.link(files[i % 2], files[-1])
    stream = predict.predict_stream(files, load_model(models, "rf"), workers=1, progress=False)
    first = next(stream)
    for path in files[16:]:
        path.unlink()
    rest = [first, *stream]
    assert [p.status for p in rest] == ["ok"] * 16 + ["missing"] * 8


# --------------------------------------------------------------------------------------
# Params that used to pass and fail later
# --------------------------------------------------------------------------------------


def _params_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "params.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


PROJECT_PARAMS = (PROJECT / "params.yaml").read_text()
SR_LINE = next(  # where audio.sr is in the committed file, counted from 1
    n for n, line in enumerate(PROJECT_PARAMS.splitlines(), 1) if line.startswith("  sr: 22050")
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "params.yaml is empty"),
        (PROJECT_PARAMS.split("\nanalyze:")[0], "section 'analyze' is missing"),
        (
            PROJECT_PARAMS.replace("  sr: 22050", "  sr: 22050\n  sr: 8000"),
            rf"key 'sr' is given twice \(lines {SR_LINE} and {SR_LINE + 1}\)",
        ),
        (PROJECT_PARAMS.encode() + b"# caf\xe9\n", r"not UTF-8 text \(byte 0xe9 on line \d+\)"),
        (
            PROJECT_PARAMS.replace("fmin: 0.0", "fmin: 9000.0").replace("fmax:  ", "fmax: 4000"),
            "spectrogram.fmin = 9000 is not below spectrogram.fmax \\(4000 Hz\\)",
        ),
        (
            PROJECT_PARAMS.replace("fmin: 0.0", "fmin: 12000.0"),
            "is not below spectrogram.fmax \\(11025 Hz, half of audio.sr\\)",
        ),
        (
            PROJECT_PARAMS.replace(
                "url_base: https://os.unil.cloud.switch.ch/fma/", "url_base: ftp://x/"
            ),
            "data.url_base = 'ftp://x/' is not allowed \\(allowed: an http:// or https:// URL\\)",
        ),
        (
            PROJECT_PARAMS.replace("min_seconds: 3.0", "min_seconds: 20.0"),
            "decode.min_seconds = 20 is more than audio.duration = 10",
        ),
    ],
)
def test_params_that_would_fail_later_are_one_line_now(tmp_path, text, expected, capsys):
    path = _params_file(tmp_path, text)
    with pytest.raises(ParamsError, match=expected):
        load_params(path, complete=True)  # as `python -m fmagenre params` reads it
    assert main(["params", "--file", str(path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_params_file_that_is_a_folder(tmp_path, capsys):
    assert main(["params", "--file", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"error: {tmp_path} is a folder: name the params file (params.yaml)"
    )


def test_more_pca_components_than_training_tracks_is_one_line(tmp_path):
    features, tracks = fabricate(per_genre=40, features=40, seed=3)
    params = parse_params({**FAST, "preprocess": {"method": "pca", "pca_components": 600}})
    with pytest.raises(
        ParamsError,
        match=r"preprocess.pca_components = 600 is more than PCA can give here: at most \d+ \(the \d+ training tracks, 40 features\)",
    ):
        train_and_evaluate(
            "rf",
            features,
            tracks,
            None,
            params,
            model_dir=tmp_path / "rf",
            metrics_dir=tmp_path / "m",
        )


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["{tmp}/song.mp3"], "error: OUT_DIR {tmp}/song.mp3 is a file, not a folder"),
        (["/proc/x"], "error: OUT_DIR /proc/x: cannot write there"),
        (["{tmp}/out", "--workers", "-2"], "--workers: '-2' is not a whole number >= 0"),
    ],
)
def test_synth_refuses_bad_arguments_in_one_line(tmp_path, args, expected, capsys):
    (tmp_path / "song.mp3").write_bytes(b"x")
    try:
        code = main(["synth", *[a.format(tmp=tmp_path) for a in args], "--tracks-per-genre", "2"])
    except SystemExit as stop:  # argparse
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert expected.format(tmp=tmp_path) in err[-1]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", [["params"], ["predict", "x.mp3"], ["synth", "out"]])
def test_commands_without_the_environment_say_activate_it(command):
    # -S: a python without the project's packages (as the system python, venv not active)
    result = subprocess.run(
        [sys.executable, "-S", "-m", "fmagenre", *command],
        cwd=PROJECT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "is not installed for" in result.stderr and "source .venv/bin/activate" in result.stderr


# --------------------------------------------------------------------------------------
# audio.duration longer than the clips
# --------------------------------------------------------------------------------------


def test_a_duration_longer_than_the_clips_is_warned_about(tmp_path, caplog):
    paths = [
        write_mp3(tmp_path / f"{i}.mp3", tone(2, 22050, 300 + 50 * i), 22050) for i in range(4)
    ]
    tracks = pd.DataFrame({"track_id": range(2, 6), "path": [str(p) for p in paths]})
    params = parse_params(
        {
            "audio": {"duration": 6.0},
            "decode": {"min_seconds": 1.0},
            "compute": {"workers": 1},
        }
    )
    with caplog.at_level("WARNING"):
        summary = run_decode(
            tracks,
            params,
            audio_out=tmp_path / "audio",
            work_dir=tmp_path / "work",
            progress=False,
        )
    assert summary["status"]["short"] == 4
    warning = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning == [
        "4 of 4 tracks are shorter than audio.duration = 6 s (median 2.0 s of audio): "
        "audio.duration is probably longer than the clips; set it to their length in params.yaml"
    ]
