"""Feature extraction speed: the features stage's code versus the plain librosa definition,
and how it scales from one worker process to two.

1. Per core: the same decoded 30 s clips go through fmagenre.features_reference (FMA's
   extraction written plainly) and fmagenre.features (the stage's code), alternating
   rounds in this process; the ratio of tracks per second is the figure (goal >= 2).
2. Scaling: the stage's map over tracks (fmagenre.trackmap, the path `dvc repro` takes)
   runs the same tracks on a warmed-up pool of 1 and then 2 worker processes; the ratio
   of throughputs is the figure (goal >= 1.7 on 2 cores).

    python benchmarks/features.py [--rounds 3] [--tracks 40]

Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from fmagenre.audio_rows import read_audio, usable_rows
from fmagenre.decode import run_decode
from fmagenre.decoded import read_decoded, with_audio
from fmagenre.feature_table import FeatureSettings, features_track
from fmagenre.features import compute_features
from fmagenre.features_reference import reference_features
from fmagenre.params import available_cores, parse_params
from fmagenre.sample_clips import real_clips
from fmagenre.trackmap import Journal, LocalPoolBackend, RowSpec, map_tracks

SR = 22050


def make_clips(folder: Path, count: int) -> list[Path]:
    """The real FMA clips, topped up with generated 30 s clips to ``count`` files."""
    paths = real_clips()[:count]
    rng = np.random.default_rng(3)
    t = np.arange(30 * 44100) / 44100
    while len(paths) < count:
        tones = sum(np.sin(2 * np.pi * f * t) for f in rng.uniform(80, 2000, 4))
        audio = (0.2 * tones / 4 + 0.05 * rng.standard_normal(len(t))).astype(np.float32)
        path = folder / f"gen{len(paths)}.mp3"
        sf.write(path, np.stack([audio, audio], 1), 44100, format="MP3", subtype="MPEG_LAYER_III")
        paths.append(path)
    return paths


def per_core(samples: list[np.ndarray], rounds: int) -> tuple[float, float]:
    compute_features(samples[0], SR), reference_features(samples[0], SR)  # warm up numba and caches
    ref_times, fast_times = [], []
    for _ in range(rounds):
        began = time.perf_counter()
        for y in samples:
            reference_features(y, SR)
        ref_times.append(time.perf_counter() - began)
        began = time.perf_counter()
        for y in samples:
            compute_features(y, SR)
        fast_times.append(time.perf_counter() - began)
    return len(samples) / statistics.median(ref_times), len(samples) / statistics.median(fast_times)


def pool_throughput(items, workers: int, work: Path, rounds: int) -> float:
    params = parse_params({"compute": {"workers": workers, "chunk_size": 2}})
    track_fn = functools.partial(features_track, settings=FeatureSettings(SR))
    backend = LocalPoolBackend(workers)
    try:
        warm = Journal.open(work / f"warm{workers}", {"warm": True})
        map_tracks(
            track_fn,
            items[: 2 * workers],
            compute=params.compute,
            journal=warm,
            progress=False,
            backend=backend,
        )
        rates = []
        for r in range(rounds):
            journal = Journal.open(work / f"run{workers}-{r}", {"run": r})
            rows = np.zeros((len(items), 518), np.float32)

            def keep(start, block, rows=rows):
                rows[start : start + len(block)] = block

            began = time.perf_counter()
            map_tracks(
                track_fn,
                items,
                compute=params.compute,
                journal=journal,
                on_rows=keep,
                row_spec=RowSpec((518,), "float32"),
                progress=False,
                backend=backend,
            )
            rates.append(len(items) / (time.perf_counter() - began))
        return statistics.median(rates)
    finally:
        backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tracks", type=int, default=40, help="tracks for the scaling run")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = make_clips(tmp, 10)
        tracks = pd.DataFrame(
            {
                "track_id": range(args.tracks),
                "path": [str(paths[i % len(paths)]) for i in range(args.tracks)],
            }
        )
        params = parse_params({"compute": {"workers": available_cores()}})
        run_decode(tracks, params, audio_out=tmp / "audio", work_dir=tmp / "w", progress=False)
        items = usable_rows(with_audio(read_decoded(tmp / "audio")), tmp / "audio")
        samples = [read_audio(item) for item in items[: len(paths)]]
        reference_rate, fast_rate = per_core(samples, args.rounds)
        one = pool_throughput(items, 1, tmp, args.rounds)
        two = pool_throughput(items, 2, tmp, args.rounds)

    print(f"per core, {len(samples)} clips of 30 s at {SR} Hz, median of {args.rounds} rounds:")
    print(f"  reference (plain librosa): {reference_rate:6.2f} tracks/s")
    print(
        f"  stage code (features.py):  {fast_rate:6.2f} tracks/s   -> {fast_rate / reference_rate:.2f}x"
    )
    print(
        f"scaling, {len(items)} tracks through the stage's process pool ({available_cores()} cores here):"
    )
    print(f"  1 worker:  {one:6.2f} tracks/s")
    print(f"  2 workers: {two:6.2f} tracks/s   -> {two / one:.2f}x")
    print(
        json.dumps(
            {
                "benchmark": "features",
                "ratio_vs_reference": round(fast_rate / reference_rate, 3),
                "scaling_1_to_2_workers": round(two / one, 3),
                "reference_tracks_per_s": round(reference_rate, 2),
                "fast_tracks_per_s": round(fast_rate, 2),
                "pool_1_worker_tracks_per_s": round(one, 2),
                "pool_2_workers_tracks_per_s": round(two, 2),
                "cores": available_cores(),
            }
        )
    )


if __name__ == "__main__":
    main()
