"""`python -m fmagenre features`: FMA's features of any audio files, one row per file."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import soundfile as sf
from conftest import tone
from threadpoolctl import threadpool_limits

from fmagenre.audio.decoding import decode_file
from fmagenre.cli import main
from fmagenre.features.compute import compute_features, feature_columns


def test_a_folder_gives_one_row_per_file_and_an_error_line_per_bad_file(
    tmp_path, real_clips, capsys
):
    inbox = tmp_path / "in"
    (inbox / "deep").mkdir(parents=True)
    for clip in real_clips[:2]:
        shutil.copy(clip, inbox / "deep" / clip.name)
    (inbox / "broken.mp3").write_bytes(b"not audio")
    sf.write(inbox / "blip.wav", tone(1.0, 22050), 22050)
    out = tmp_path / "features.parquet"
    status = main(["features", str(inbox), "--output", str(out), "--quiet", "--workers", "2"])
    captured = capsys.readouterr()
    assert status == 1 and "2 of 4 files have no features" in captured.err
    assert f"{inbox / 'broken.mp3'}: error: not a readable audio file" in captured.err
    assert f"{inbox / 'blip.wav'}: error: only 1.0 s of audio" in captured.err
    table = pd.read_parquet(out)
    # named as data/features.parquet names them, path instead of track_id
    assert list(table.columns) == ["path", *feature_columns()]
    assert table["path"].tolist() == [str(inbox / "deep" / c.name) for c in real_clips[:2]]
    for path, row in zip(table["path"], table.iloc[:, 1:].to_numpy(np.float32), strict=True):
        clip = decode_file(path, None, 30.0)  # the native-rate clip, as the features stage
        with threadpool_limits(1):  # as the pipeline's workers compute
            np.testing.assert_array_equal(row, compute_features(clip.samples, clip.source_sr))

    csv = tmp_path / "features.csv"
    assert main(["features", *table["path"], "--output", str(csv), "--quiet"]) == 0
    from_csv = pd.read_csv(csv)
    assert list(from_csv.columns) == list(table.columns)
    np.testing.assert_array_equal(
        from_csv.iloc[:, 1:].to_numpy(np.float32), table.iloc[:, 1:].to_numpy(np.float32)
    )


def test_bad_arguments_stop_with_one_line(tmp_path, capsys):
    assert main(["features", str(tmp_path), "--output", str(tmp_path / "x.parquet")]) == 2
    assert "no audio file found" in capsys.readouterr().err
    assert main(["features", str(tmp_path), "--output", str(tmp_path / "x.xlsx")]) == 2
    assert "--output must be a .parquet or .csv file" in capsys.readouterr().err
    assert not (tmp_path / "x.parquet").exists()
