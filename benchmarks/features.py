"""Feature extraction speed: the features stage's code versus the plain librosa definition,
and how the stage scales from one worker process to two.

1. Per core, as a pipeline worker runs (one BLAS/OpenMP thread and one numba thread): the
   same 30 s clips go through fmagenre.features.reference (FMA's features.py written
   plainly) and fmagenre.features.compute (the stage's code), alternating rounds in this process,
   at the clips' native rate (44.1 kHz: features.sample_rate native, FMA's definition) and
   at 22,050 Hz (features.sample_rate decoded). Times are this process's CPU time, so other
   users of a shared machine do not enter the ratio (goal >= 2.5 at the native rate). The
   whole per-track cost of the stage at the native rate (decoding the MP3 again, then the
   features) is reported too: it is what real-FMA estimates start from.
2. Parity: the largest relative difference of each feature group between the two codes
   on the real clips at their native rate (values above the tests' absolute floor).
3. Scaling: the stage's map over tracks (fmagenre.infra.trackmap, the path `dvc repro` takes)
   runs the same tracks at the native rate on warmed-up pools of 1 and 2 worker processes,
   in alternating rounds; the figure is the ratio of wall-clock throughputs (goal >= 1.7
   on 2 idle cores: a machine busy with other work gives less).

    python benchmarks/features.py [--rounds 3] [--tracks 40] [--clips 10] [--quick]

Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
from threadpoolctl import threadpool_limits

from fmagenre.audio.decoding import decode_file
from fmagenre.features.compute import compute_features, feature_columns
from fmagenre.features.reference import reference_features
from fmagenre.infra.executors import ProcessPool
from fmagenre.infra.params import available_cores, parse_params
from fmagenre.infra.trackmap import Journal, RowSpec, map_tracks
from fmagenre.pipeline.decode import DecodeItem, DecodeSettings
from fmagenre.pipeline.features import native_features_track

# the real FMA clips are found by the tests' helper (test infrastructure, not the package)
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from sample_clips import real_clips  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _quick import parse_args  # noqa: E402

SR = 22050
SETTINGS = DecodeSettings(SR, 30.0, "center")  # the stage's excerpt: FMA's 30 s clips, whole
# the parity tests' absolute floors (tests/test_features.py): below floor / 1e-3 a value's
# relative difference says nothing
MOMENT_FLOOR, OTHER_FLOOR, RTOL = 1e-4, 1e-5, 1e-3


def make_clips(folder: Path, count: int) -> list[Path]:
    """The real FMA clips, topped up with generated 30 s 44.1 kHz stereo MP3s to ``count``."""
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


def single_threaded() -> threadpool_limits:
    """One thread for BLAS/OpenMP and numba, as fmagenre.infra.trackmap's workers run."""
    import numba

    numba.set_num_threads(1)
    return threadpool_limits(limits=1)


def cpu_rates(
    contenders: dict[str, Callable[[], object]], count: int, rounds: int
) -> dict[str, float]:
    """Tracks per CPU-second of each contender (``count`` tracks a call), median of rounds
    that alternate between them."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            began = time.process_time()
            run()
            times[name].append(time.process_time() - began)
    return {name: count / statistics.median(spent) for name, spent in times.items()}


def per_core(paths: list[Path], rounds: int) -> dict[str, float]:
    native = [decode_file(path, None, SETTINGS.duration) for path in paths]
    at_22050 = [decode_file(path, SR, SETTINGS.duration).samples for path in paths]
    items = [DecodeItem(i, str(path)) for i, path in enumerate(paths)]
    with single_threaded():
        for clip in native[:1]:  # warm up numba and librosa's caches
            compute_features(clip.samples, clip.source_sr)
            reference_features(clip.samples, clip.source_sr)
        return cpu_rates(
            {
                "reference_native": lambda: [
                    reference_features(c.samples, c.source_sr) for c in native
                ],
                "fast_native": lambda: [compute_features(c.samples, c.source_sr) for c in native],
                "reference_22050": lambda: [reference_features(y, SR) for y in at_22050],
                "fast_22050": lambda: [compute_features(y, SR) for y in at_22050],
                "stage_native": lambda: [native_features_track(i, SETTINGS) for i in items],
            },
            len(paths),
            rounds,
        )


def parity(paths: list[Path]) -> dict[str, float]:
    """Per feature group, the largest |fast - reference| / |reference| at the native rate."""
    columns = np.array(feature_columns())
    moments = np.array([c.split(".")[1] in ("skew", "kurtosis") for c in columns])
    floor = np.where(moments, MOMENT_FLOOR, OTHER_FLOOR) / RTOL
    groups = np.array([c.split(".")[0] for c in columns])
    worst = dict.fromkeys(sorted(set(groups)), 0.0)
    for path in paths:
        clip = decode_file(path, None, SETTINGS.duration)
        fast = compute_features(clip.samples, clip.source_sr).astype(np.float64)
        reference = reference_features(clip.samples, clip.source_sr).astype(np.float64)
        judged = np.isfinite(reference) & (np.abs(reference) >= floor)
        relative = np.abs(fast - reference) / np.where(judged, np.abs(reference), 1.0)
        for group in worst:
            mask = judged & (groups == group)
            if mask.any():
                worst[group] = max(worst[group], float(relative[mask].max()))
    return worst


def pool_throughputs(items: list[DecodeItem], work: Path, rounds: int) -> dict[int, float]:
    """Tracks per second of the stage's map on warmed-up pools of 1 and 2 workers, in rounds
    that alternate between them, so that a shared machine's changing load falls on both."""
    track_fn = functools.partial(native_features_track, settings=SETTINGS)
    pools = {workers: ProcessPool(workers) for workers in (1, 2)}
    rates: dict[int, list[float]] = {workers: [] for workers in pools}
    try:
        for r in range(-1, rounds):  # round -1 warms the workers up (imports, numba, caches)
            for workers, pool in pools.items():
                params = parse_params({"compute": {"workers": workers, "chunk_size": 2}})
                journal = Journal.open(work / f"run{workers}-{r}", {"run": r})
                began = time.perf_counter()
                map_tracks(
                    track_fn,
                    items if r >= 0 else items[: 2 * workers],
                    compute=params.compute,
                    journal=journal,
                    on_rows=lambda start, block: None,
                    row_spec=RowSpec((518,), "float32"),
                    progress=False,
                    executor=pool,
                )
                if r >= 0:
                    rates[workers].append(len(items) / (time.perf_counter() - began))
    finally:
        for pool in pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
    return {workers: statistics.median(values) for workers, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tracks", type=int, default=40, help="tracks for the scaling run")
    parser.add_argument(
        "--clips",
        type=int,
        default=10,
        help="clips per core round (real ones first), parity on their real ones",
    )
    args = parse_args(parser, rounds=1, tracks=4, clips=2)
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        paths = make_clips(tmp, args.clips)
        rates = per_core(paths, args.rounds)
        real = real_clips()[: args.clips]
        worst = parity(real)
        items = [DecodeItem(i, str(paths[i % len(paths)])) for i in range(args.tracks)]
        one, two = pool_throughputs(items, tmp, args.rounds).values()

    native = rates["fast_native"] / rates["reference_native"]
    at_22050 = rates["fast_22050"] / rates["reference_22050"]
    print(
        f"per core (one thread), {len(paths)} clips of 30 s, tracks per CPU-second, "
        f"median of {args.rounds} rounds:"
    )
    print(f"  {'':22s} {'reference':>9s} {'features.py':>11s}   ratio")
    print(
        f"  {'native rate (44.1 kHz)':22s} {rates['reference_native']:9.2f} "
        f"{rates['fast_native']:11.2f}   {native:.2f}x"
    )
    print(
        f"  {'22,050 Hz':22s} {rates['reference_22050']:9.2f} "
        f"{rates['fast_22050']:11.2f}   {at_22050:.2f}x"
    )
    print(
        f"  the stage per track at the native rate, MP3 decoding included: {rates['stage_native']:.2f}"
    )
    print(f"parity at the native rate on {len(real)} real clips (largest relative difference):")
    for group, value in worst.items():
        print(f"  {group:20s} {value:.1e}")
    print(f"scaling, {len(items)} tracks at the native rate through the stage's process pool:")
    print(f"  1 worker:  {one:6.2f} tracks/s")
    print(
        f"  2 workers: {two:6.2f} tracks/s   -> {two / one:.2f}x ({available_cores()} cores here)"
    )
    print(
        json.dumps(
            {
                "benchmark": "features",
                "ratio_vs_reference_native": round(native, 3),
                "ratio_vs_reference_22050": round(at_22050, 3),
                "scaling_1_to_2_workers": round(two / one, 3),
                **{f"{name}_tracks_per_cpu_s": round(rate, 2) for name, rate in rates.items()},
                "pool_1_worker_tracks_per_s": round(one, 2),
                "pool_2_workers_tracks_per_s": round(two, 2),
                "parity_max_relative": {group: float(f"{v:.2e}") for group, v in worst.items()},
                "cores": available_cores(),
                "quick": args.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
