"""Spectrogram throughput: the stage's code versus the plain per-track way.

The stage reads canonical audio from the decoded store (no second decode) and applies a
mel filterbank built once per process. The plain way, as a notebook would do it, is
librosa.load then librosa.feature.melspectrogram and power_to_db per file. Both run on
the same files in the same process, alternating rounds; the figure is the ratio.

    python benchmarks/spectrograms.py [--rounds 3] [--quick]

Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import soundfile as sf

from fmagenre.audio.decoded import read_decoded, with_audio
from fmagenre.audio.melspec import LogMelSettings
from fmagenre.audio.rows import usable_rows
from fmagenre.infra.params import parse_params
from fmagenre.pipeline.decode import run_decode
from fmagenre.pipeline.spectrograms import spectrogram_track

# the real FMA clips are found by the tests' helper (test infrastructure, not the package)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sample_clips import real_clips  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _quick import parse_args  # noqa: E402


def clips(folder: Path) -> list[Path]:
    paths = real_clips()
    rng = np.random.default_rng(1)
    for i in range(max(0, 8 - len(paths))):
        t = np.arange(30 * 44100) / 44100
        audio = 0.3 * np.sin(2 * np.pi * 110 * (i + 1) * t) + 0.05 * rng.standard_normal(len(t))
        path = folder / f"gen{i}.mp3"
        sf.write(
            path,
            np.stack([audio, audio], 1).astype(np.float32),
            44100,
            format="MP3",
            subtype="MPEG_LAYER_III",
        )
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parse_args(parser, rounds=1)
    warnings.filterwarnings("ignore")
    params = parse_params({"compute": {"workers": 1}})
    settings = LogMelSettings.from_params(params, params.audio.sr)
    spec = params.spectrogram

    def plain(path: Path) -> np.ndarray:
        y, sr = librosa.load(path, sr=params.audio.sr, mono=True, duration=params.audio.duration)
        mel = librosa.feature.melspectrogram(
            y=y, sr=sr, n_fft=spec.n_fft, hop_length=spec.hop_length, n_mels=spec.n_mels
        )
        return np.maximum(librosa.power_to_db(mel, ref=1.0, top_db=None), spec.db_floor).T.astype(
            np.float16
        )

    with tempfile.TemporaryDirectory() as tmp:
        paths = clips(Path(tmp))
        tracks = pd.DataFrame({"track_id": range(len(paths)), "path": [str(p) for p in paths]})
        run_decode(
            tracks,
            params,
            audio_out=Path(tmp) / "audio",
            work_dir=Path(tmp) / "work",
            progress=False,
        )
        items = usable_rows(with_audio(read_decoded(Path(tmp) / "audio")), Path(tmp) / "audio")
        plain(paths[0]), spectrogram_track(items[0], settings)  # warm up
        plain_times, stage_times = [], []
        for _ in range(args.rounds):
            began = time.perf_counter()
            for path in paths:
                plain(path)
            plain_times.append(time.perf_counter() - began)
            began = time.perf_counter()
            for item in items:
                spectrogram_track(item, settings)
            stage_times.append(time.perf_counter() - began)

    plain_rate = len(paths) / statistics.median(plain_times)
    stage_rate = len(items) / statistics.median(stage_times)
    row_bytes = settings.frames(int(params.audio.sr * params.audio.duration)) * spec.n_mels * 2
    print(f"{len(paths)} clips of 30 s, median of {args.rounds} rounds, one core")
    print(f"  plain (librosa.load + melspectrogram): {plain_rate:6.1f} tracks/s")
    print(f"  stage (decoded store + log_mel):        {stage_rate:6.1f} tracks/s")
    print(
        f"  ratio: {stage_rate / plain_rate:.2f}x; store row {row_bytes / 1e3:.0f} kB per track, "
        f"{row_bytes * 8000 / 1e9:.2f} GB for fma_small's 8,000 tracks"
    )
    print(
        json.dumps(
            {
                "benchmark": "spectrograms",
                "ratio_vs_reference": round(stage_rate / plain_rate, 3),
                "reference": "librosa.load + librosa.feature.melspectrogram + power_to_db per file",
                "tracks_per_second_per_core": round(stage_rate, 2),
                "reference_tracks_per_second_per_core": round(plain_rate, 2),
                "bytes_per_track": row_bytes,
                "fma_small_gigabytes": round(row_bytes * 8000 / 1e9, 2),
                "quick": args.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
