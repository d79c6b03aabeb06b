"""Decoding throughput: the decode stage's per-track code versus librosa.load.

Both decode the same MP3 files in the same process, alternating rounds so that machine noise
hits both alike; the figure that matters is the ratio. Files: the real FMA clips in
../shared/fixtures/fma_mp3 (when present) plus generated 30 s MP3s at FMA's other sample
rates and channel counts.

    python benchmarks/decode.py [--rounds 5] [--quick]

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
import soundfile as sf

from fmagenre.pipeline.decode import DecodeItem, DecodeSettings, decode_track

# the real FMA clips are found by the tests' helper (test infrastructure, not the package)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sample_clips import real_clips  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _quick import parse_args  # noqa: E402

SR = 22050


def generated_clips(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i, (sr, channels) in enumerate(
        [(44100, 2), (44100, 1), (48000, 2), (22050, 2), (32000, 1)]
    ):
        t = np.arange(30 * sr) / sr
        notes = np.sin(2 * np.pi * 220 * (1 + (t * 2).astype(int) % 5 / 4) * t)
        signal = 0.3 * notes + 0.05 * rng.standard_normal(len(t))
        audio = np.stack([signal] * channels, axis=1).astype(np.float32)
        path = folder / f"gen{i}_{sr}_{channels}.mp3"
        sf.write(path, audio, sr, format="MP3", subtype="MPEG_LAYER_III")
        paths.append(path)
    return paths


def time_all(fn, paths: list[Path]) -> float:
    began = time.perf_counter()
    for path in paths:
        fn(path)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parse_args(parser, rounds=1)
    warnings.filterwarnings("ignore")
    settings = DecodeSettings(SR, 30.0, "center")

    def ours(path: Path) -> None:
        output = decode_track(DecodeItem(0, str(path)), settings)
        assert output.record["status"] in ("ok", "short"), output.record

    def reference(path: Path) -> None:
        librosa.load(path, sr=SR, mono=True)

    with tempfile.TemporaryDirectory() as tmp:
        paths = real_clips() + generated_clips(Path(tmp))
        audio_seconds = sum(min(30.0, sf.info(path).duration) for path in paths)
        ours(paths[0]), reference(paths[0])  # warm up: imports, libsndfile, soxr plans
        ref_times, our_times = [], []
        for _ in range(args.rounds):
            ref_times.append(time_all(reference, paths))
            our_times.append(time_all(ours, paths))

    ref, our = statistics.median(ref_times), statistics.median(our_times)
    print(
        f"{len(paths)} files, {audio_seconds:.0f} s of audio, median of {args.rounds} rounds, one core"
    )
    print(
        f"  librosa.load(sr={SR}, mono=True): {ref:.3f} s  ({audio_seconds / ref:,.0f} s of audio per second)"
    )
    print(
        f"  decode stage (decode_track):     {our:.3f} s  ({audio_seconds / our:,.0f} s of audio per second)"
    )
    print(f"  ratio: {ref / our:.2f}x librosa.load")
    figures = {
        "benchmark": "decode",
        "ratio_vs_reference": round(ref / our, 3),
        "reference": f"librosa.load(path, sr={SR}, mono=True)",
        "audio_seconds_per_second_per_core": round(audio_seconds / our, 1),
        "reference_audio_seconds_per_second_per_core": round(audio_seconds / ref, 1),
        "files": len(paths),
        "rounds": args.rounds,
        "quick": args.quick,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.exit(main())
