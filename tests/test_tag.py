"""`python -m fmagenre tag`: pretrained musicnn's tags for any file, with no training."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import tone, write_mp3

from fmagenre.cli import main
from fmagenre.models.musicnn.tags import MSD_TAGS

REFERENCE = Path(__file__).parent / "musicnn_reference" / "reference.npz"


@pytest.mark.slow
def test_real_clips_get_musicnns_own_tags(real_clips, capsys):
    args = ["tag", *map(str, real_clips), "--format", "json", "--quiet", "--workers", "1"]
    assert main(args) == 0
    rows = {Path(row["path"]).name: row for row in json.loads(capsys.readouterr().out)}
    reference = np.load(REFERENCE)
    for name, expected in zip(reference["clip_names"], reference["clip_tags"], strict=True):
        row = rows[str(name)]
        assert list(row["tags"]) == list(MSD_TAGS)  # every tag, in musicnn's order
        got = np.array(list(row["tags"].values()))
        assert np.abs(got - expected).max() < 2e-4  # musicnn's own whole-file pipeline
        top = [t["tag"] for t in row["predictions"]]
        assert top == [MSD_TAGS[i] for i in np.argsort(-got)[:5]]
    assert rows["000005.mp3"]["predictions"][0]["tag"] == "Hip-Hop"
    assert rows["001075.mp3"]["predictions"][0]["tag"] == "electronic"
    assert {t["tag"] for t in rows["002012.mp3"]["predictions"][:2]} == {"metal", "rock"}


@pytest.fixture
def inbox(tmp_path):
    write_mp3(tmp_path / "in" / "hum.mp3", tone(5.0, 44100, freq=110.0), 44100)
    sf.write(tmp_path / "in" / "blip.wav", tone(1.5, 22050), 22050)
    (tmp_path / "in" / "broken.flac").write_bytes(b"not audio")
    return tmp_path / "in"


def test_formats_errors_per_file_and_exit_status(inbox, tmp_path, capsys):
    assert main(["tag", str(inbox), "--quiet", "--workers", "1", "--top-k", "3"]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].split()[-4:] == ["top", "tags", "(musicnn", "MSD)"]
    by_file = {line.split()[0].rsplit("/", 1)[-1]: line for line in lines[1:]}
    assert "error: only 1.5 s of audio; the model needs at least 3 s" in by_file["blip.wav"]
    assert "error:" in by_file["broken.flac"] and by_file["hum.mp3"].count("%") == 3
    assert "2 of 3 files could not be tagged" in captured.err

    out = tmp_path / "tags.csv"
    assert main(["tag", str(inbox / "hum.mp3"), "--format", "csv", "--output", str(out)]) == 0
    (row,) = list(csv.DictReader(io.StringIO(out.read_text())))
    assert row["tag_1"] in MSD_TAGS and 0 < float(row["probability_1"]) <= 1
    assert row["model"] == "musicnn MSD" and row["status"] == "short"  # 5 s of the 30 s asked

    assert main(["tag", str(inbox / "hum.mp3"), "--seconds", "2"]) == 2
    assert "--seconds must be between 3" in capsys.readouterr().err
