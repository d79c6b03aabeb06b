"""Every fault a user's own file can have gets one line in words from features, predict and
tag: what is wrong with the file and what to do; never a library's exception or warning.

The files are real (soundfile writes WAV, FLAC, OGG and the project's MP3 encoding helper
the MP3s); the commands run as a user runs them, their whole output checked.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf
from conftest import tone, write_mp3
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline

from fmagenre.cli import main
from fmagenre.features.compute import MIN_SAMPLE_RATE, feature_columns
from fmagenre.models.files import save_pipeline

# a library's words: a class name (ParameterError, LibsndfileError, UserWarning), a
# traceback, the decoder's notes
LIBRARY_TEXT = re.compile(r"\b[A-Z]\w*(Error|Exception|Warning)\b|Traceback|Note: |librosa|mpg123")

LOW_RATE = "the sample rate, 8,000 Hz, is too low for FMA's features"
# each bad file: the words of its line, from the features command
BAD = {
    "low.wav": LOW_RATE,
    "low.mp3": LOW_RATE,
    "half.wav": "only 0.5 s of audio, less than --min-seconds (3 s); give a lower --min-seconds",
    "two.wav": "only 2.0 s of audio, less than --min-seconds (3 s)",
    "empty.mp3": "the file is empty (0 bytes): copy or download it again",
    "text.mp3": "not a readable audio file (2500 bytes): it is damaged or not audio; convert it",
    "header.wav": "the file holds no audio (a header and no sound)",
    "silent.wav": "the file holds no audible audio (silence, or a constant level",
    "missing.mp3": "no such file: check the path",
}
# files that are fine, however unusual
GOOD = ("rate11k.wav", "stereo.wav", "six.wav", "rate192k.wav", "truncated.mp3", "a.flac", "a.ogg")


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inbox")
    sf.write(folder / "low.wav", tone(5.0, 8000), 8000)
    write_mp3(folder / "low.mp3", tone(5.0, 8000), 8000)
    sf.write(folder / "rate11k.wav", tone(5.0, 11025), 11025)
    sf.write(folder / "stereo.wav", tone(5.0, 22050, channels=2), 22050)
    sf.write(folder / "six.wav", tone(5.0, 48000, channels=6), 48000)
    sf.write(folder / "rate192k.wav", tone(4.0, 192000), 192000)
    sf.write(folder / "half.wav", tone(0.5, 22050), 22050)
    sf.write(folder / "two.wav", tone(2.0, 22050), 22050)
    sf.write(folder / "silent.wav", np.zeros(5 * 22050, np.float32), 22050)
    sf.write(folder / "a.flac", tone(5.0, 44100), 44100)
    sf.write(folder / "a.ogg", tone(5.0, 44100), 44100, format="OGG", subtype="VORBIS")
    (folder / "empty.mp3").write_bytes(b"")
    (folder / "text.mp3").write_text("hello, this is not audio\n" * 100)
    (folder / "header.wav").write_bytes((folder / "half.wav").read_bytes()[:44])
    whole = write_mp3(folder / "whole.mp3", tone(30.0, 44100), 44100).read_bytes()
    (folder / "truncated.mp3").write_bytes(whole[: len(whole) // 2])
    (folder / "whole.mp3").unlink()
    (folder / "nothing.mp3").mkdir()  # a folder named like a file, with no audio in it
    return folder


def paths(inbox) -> list[str]:
    return [str(inbox / name) for name in (*BAD, *GOOD, "nothing.mp3")]


def error_lines(err: str) -> dict[str, str]:
    """File name -> its error line, from `PATH: error: ...` lines (one per file, checked)."""
    found: dict[str, str] = {}
    for line in err.splitlines():
        match = re.match(r"(\S+): error: (.*)", line) or re.match(r"(\S+)\s+error: (.*)", line)
        if match:
            name = match.group(1).rsplit("/", 1)[-1]
            assert name not in found, f"two lines for {name}"
            found[name] = match.group(2)
    return found


def assert_in_words(output: str) -> None:
    assert not LIBRARY_TEXT.search(output), output


def test_the_features_command_says_in_words_what_is_wrong_with_each_file(inbox, tmp_path, capfd):
    out = tmp_path / "features.csv"
    status = main(["features", *paths(inbox), "--output", str(out), "--quiet", "--workers", "1"])
    captured = capfd.readouterr()
    assert status == 1, captured.err
    assert_in_words(captured.out + captured.err)
    errors = error_lines(captured.err)
    assert set(errors) == set(BAD), captured.err
    for name, words in BAD.items():
        assert words in errors[name], (name, errors[name])
    assert (
        f"needs at least {MIN_SAMPLE_RATE:,} Hz; convert the file to 22,050 Hz" in errors["low.wav"]
    )
    assert "model" not in errors["two.wav"]  # no model is involved here
    assert "nothing.mp3 holds no .mp3/.wav/.flac/.ogg file" in captured.err
    assert f"{len(BAD)} of {len(BAD) + len(GOOD)} files have no features" in captured.err
    written = out.read_text().splitlines()
    assert len(written) == 1 + len(GOOD)


@pytest.fixture(scope="module")
def native_features_model(tmp_path_factory):
    """A model on FMA's native-rate features: predict computes them as the features command."""
    root = tmp_path_factory.mktemp("models")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, len(feature_columns()))), np.arange(40) % 2
    folder = root / "rf"
    folder.mkdir()
    model = Pipeline([("model", RandomForestClassifier(10, random_state=0))]).fit(X, y)
    save_pipeline(model, folder)
    (folder / "classes.json").write_text(json.dumps(["Folk", "Rock"]))
    settings = {"audio": {"sr": 22050, "duration": 30.0, "crop": "center"}, "min_seconds": 3.0}
    inputs = {**settings, "features_source": "computed", "features_sample_rate": "native"}
    (folder / "params.json").write_text(json.dumps({"input": inputs}))
    (root / "best.json").write_text(json.dumps({"model": "rf"}))
    return root


def test_predict_says_in_words_what_is_wrong_with_each_file(inbox, native_features_model, capfd):
    status = main(
        ["predict", *paths(inbox), "--models-dir", str(native_features_model), "--quiet"]
        + ["--workers", "1"]
    )
    captured = capfd.readouterr()
    assert status == 1, captured.err
    assert_in_words(captured.out + captured.err)
    errors = error_lines(captured.out + captured.err)
    assert set(errors) == set(BAD), captured.out
    assert LOW_RATE in errors["low.wav"] and LOW_RATE in errors["low.mp3"]
    short = "s of audio; the model needs at least 3 s (decode.min_seconds)"
    assert errors["half.wav"] == f"only 0.5 {short}" and errors["two.wav"] == f"only 2.0 {short}"
    for name in set(BAD) - {"half.wav", "two.wav"}:
        assert BAD[name] in errors[name], (name, errors[name])


def test_tag_says_in_words_what_is_wrong_with_each_file(inbox, capfd):
    status = main(["tag", *paths(inbox), "--quiet", "--workers", "1"])
    captured = capfd.readouterr()
    assert status == 1, captured.err
    assert_in_words(captured.out + captured.err)
    errors = error_lines(captured.out)
    # musicnn's input is 16 kHz audio, which an 8 kHz file becomes like any other
    low = {"low.wav", "low.mp3"}
    assert set(errors) == set(BAD) - low, captured.out
    short = "s of audio; the model needs at least 3 s (musicnn's input is 3-s patches)"
    assert errors["half.wav"] == f"only 0.5 {short}" and errors["two.wav"] == f"only 2.0 {short}"
    for name in set(BAD) - low - {"half.wav", "two.wav"}:
        assert BAD[name] in errors[name], (name, errors[name])
