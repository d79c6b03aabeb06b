"""Embedding speed and memory: the embeddings stage's per-track code on 30-s clips, and the
cost of the head under musicnn.pooling clip and patch.

1. Per core: in this process, on one TensorFlow thread, the same 30-s clips go through
   - the reference, musicnn's own recipe with the same Keras port: librosa.load of the MP3
     at 16 kHz, the log-mel, and one patch per network call (musicnn's BATCH_SIZE = 1);
   - the clip row alone (embedding.clip_row on the stage's audio): the stage before it kept
     patch rows;
   - the stage's code (fmagenre.pipeline.embeddings.embed_track): the decode stage's canonical
     audio read from its store, resampled to 16 kHz, all of a clip's patches in one call,
     the clip row and the patch rows from that one pass.
   Alternating rounds, median; tracks per second per core (must >= 1, goal >= 2) and the
   ratios. On a shared machine wall time includes other people's work, so the figures in CPU
   seconds of this process are printed too.
2. Memory: the stage (run_embeddings, one process, writing both outputs) on N and 4N tracks,
   each in a fresh process; their peak resident memory must stay within 20 % of each other.
3. The head (models.classic.fit_candidate, each of logistic, svm and mlp) on a fabricated,
   learnable table of --head-tracks 30-s tracks (10 patches of 200 values, the clip rows made
   from them): training and prediction milliseconds per track under pooling patch, and the
   ratio against pooling clip, the reference, in this process.

    python benchmarks/embeddings.py [--rounds 3] [--tracks 10] [--head-tracks 2000] [--quick]

Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from fmagenre.audio.decoded import read_decoded
from fmagenre.infra.params import parse_params
from fmagenre.pipeline.decode import run_decode
from fmagenre.pipeline.manifest import run_manifest

SECONDS = 30.0
SPLIT_CYCLE = ("training",) * 8 + ("validation", "test")


def decoded_store(folder: Path, count: int) -> pd.DataFrame:
    """``count`` 30-s tracks (the real FMA clips, topped up with generated ones), decoded."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from features import make_clips  # the features benchmark's clips: real ones first

    paths = make_clips(folder, min(count, 10))
    tracks = pd.DataFrame(
        {"track_id": range(count), "path": [str(paths[i % len(paths)]) for i in range(count)]}
    )
    params = parse_params({"audio": {"duration": SECONDS}, "compute": {"workers": 1}})
    run_decode(tracks, params, audio_out=folder / "audio", work_dir=folder / "w", progress=False)
    run_manifest(read_decoded(folder / "audio"), params, manifest_out=folder / "manifest.parquet")
    return tracks.merge(pd.read_parquet(folder / "manifest.parquet"), on="track_id")


def per_core(folder: Path, table: pd.DataFrame, network: str, rounds: int) -> dict[str, float]:
    import librosa

    from fmagenre.audio.rows import read_audio, usable_rows
    from fmagenre.models.musicnn import inputs
    from fmagenre.models.musicnn.embedding import clip_row, max_patches
    from fmagenre.models.musicnn.embedding import network as traced
    from fmagenre.pipeline.embeddings import ClipRow, embed_track

    run = traced(network)  # one TensorFlow thread from here on
    items = [
        ClipRow(item.track_id, item.row, item.store, 22050, SECONDS)
        for item in usable_rows(table, folder / "audio")
    ]
    patches = max_patches(int(SECONDS * 22050), 22050)

    def reference(path: str) -> None:
        audio, _ = librosa.load(path, sr=inputs.SR)
        patches = inputs.log_mel(audio)
        count = len(patches) // inputs.PATCH_FRAMES
        patches = patches[: count * inputs.PATCH_FRAMES].reshape(count, inputs.PATCH_FRAMES, -1)
        for patch in patches:
            run(patch[None])

    def clip_only(item: ClipRow) -> None:
        clip_row(read_audio(item), item.sr, item.seconds, network)

    def stage(item: ClipRow) -> None:
        embed_track(item, network, patches)

    reference(table["path"].iloc[0]), clip_only(items[0]), stage(items[0])  # warm up
    timings: dict[str, list[tuple[float, float]]] = {"reference": [], "clip": [], "stage": []}
    for _ in range(rounds):
        for name, work, inputs_ in (
            ("reference", reference, table["path"].tolist()),
            ("clip", clip_only, items),
            ("stage", stage, items),
        ):
            wall, cpu = time.perf_counter(), time.process_time()
            for one in inputs_:
                work(one)
            timings[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    n = len(items)
    return {
        f"{name}_{kind}": n / statistics.median(t[i] for t in values)
        for name, values in timings.items()
        for i, kind in enumerate(("tracks_per_s", "tracks_per_cpu_s"))
    }


def child(folder: Path, count: int, network: str) -> None:
    """Run the embeddings stage's logic on the first ``count`` tracks; print its peak memory."""
    from fmagenre.pipeline.embeddings import run_embeddings

    manifest = pd.read_parquet(folder / "manifest.parquet").head(count)
    began = time.perf_counter()
    summary = run_embeddings(
        manifest,
        folder / "audio",
        Path(network),
        parse_params({"compute": {"workers": 1}}),
        out_path=folder / f"embeddings{count}.parquet",
        patches_dir=folder / f"patches{count}",
        work_dir=folder / f"work{count}",
        progress=False,
    )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "tracks": summary["tracks"],
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "seconds": round(time.perf_counter() - began, 1),
            }
        )
    )


def peak_memory(folder: Path, count: int, network: str) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", str(folder), "--tracks", str(count), network],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def head_tables(count: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A learnable table of ``count`` tracks (8 genres, 10 patches of 200 values each, the
    clip row made from them as the stage makes it) as clip rows and as patch rows, and its
    tracks table (8 of 10 training, 1 validation, 1 test)."""
    from fmagenre.models.musicnn.embedding import COLUMNS, clip_summary, patch_row

    rng = np.random.default_rng(seed)
    genres = [f"g{i}" for i in range(8)]
    centres = rng.normal(0, 0.5, (len(genres), 200))
    labels = np.arange(count) % len(genres)
    clip, patches = [], []
    for label in labels:
        penultimate = centres[label] + rng.normal(0, 1, (10, 200))
        clip.append(clip_summary(rng.uniform(0, 1, (10, 50)), penultimate))
        patches.append(patch_row(penultimate, 10))
    ids = np.arange(count) + 1
    tracks = pd.DataFrame(
        {
            "track_id": ids,
            "genre_top": [genres[label] for label in labels],
            "split": [SPLIT_CYCLE[i % len(SPLIT_CYCLE)] for i in range(count)],
        }
    )
    frames = []
    for values, columns in ((clip, COLUMNS), (patches, [f"p{i}" for i in range(2000)])):
        frame = pd.DataFrame(np.array(values, np.float32), columns=columns)
        frame.insert(0, "track_id", ids)
        frames.append(frame)
    return frames[0], frames[1], tracks


def head_costs(count: int) -> dict[str, dict[str, float]]:
    """Milliseconds per track to train each head (on the training tracks) and to predict
    (the test tracks), under pooling clip and patch."""
    from fmagenre.fma.dataset import feature_splits
    from fmagenre.infra.params import parse_params
    from fmagenre.models.classic import candidates, fit_candidate, predict_proba

    clip_table, patch_table, tracks = head_tables(count)
    costs: dict[str, dict[str, float]] = {}
    for head in ("logistic", "svm", "mlp"):
        for pooling, table in (("clip", clip_table), ("patch", patch_table)):
            settings = {"classifier": head, "C": 1.0, "hidden_layers": 1, "alpha": 0.001}
            params = parse_params({"musicnn": {**settings, "pooling": pooling}})
            data = feature_splits(table, tracks)
            began = time.process_time()
            model = fit_candidate(
                "musicnn",
                candidates("musicnn", params)[0],
                (data.X["training"], data.y("training")),
                params,
            )
            trained = time.process_time() - began
            began = time.process_time()
            predict_proba(model, data.X["test"], len(data.classes))
            predicted = time.process_time() - began
            costs[f"{head}_{pooling}"] = {
                "train_ms_per_track": 1000 * trained / len(data.X["training"]),
                "predict_ms_per_track": 1000 * predicted / len(data.X["test"]),
            }
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--tracks", type=int, default=10, help="N: clips per core round and memory run"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("network", nargs="?", help=argparse.SUPPRESS)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _quick import parse_args

    parser.add_argument(
        "--head-tracks", type=int, default=2000, help="tracks of the fabricated head table"
    )
    args = parse_args(parser, rounds=1, tracks=1, head_tracks=80)
    warnings.filterwarnings("ignore")
    if args.child:
        child(args.child, args.tracks, args.network)
        return
    from fmagenre.models.musicnn.network import saved_network

    network = str(saved_network())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        table = decoded_store(folder, 4 * args.tracks)
        rates = per_core(folder, table.head(args.tracks), network, args.rounds)
        small = peak_memory(folder, args.tracks, network)
        large = peak_memory(folder, 4 * args.tracks, network)
    heads = head_costs(args.head_tracks)

    ratio = rates["stage_tracks_per_s"] / rates["reference_tracks_per_s"]
    memory_ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    print(f"per core, {args.tracks} clips of 30 s, median of {args.rounds} rounds (one TF thread):")
    for name, title in (
        ("reference", "musicnn's recipe, 1 patch/call"),
        ("clip", "clip row only"),
        ("stage", "stage code (clip + patch rows)"),
    ):
        print(
            f"  {title:32s} {rates[f'{name}_tracks_per_s']:5.2f} tracks/s "
            f"({rates[f'{name}_tracks_per_cpu_s']:5.2f} per CPU second)"
        )
    patch_rows_ratio = rates["stage_tracks_per_cpu_s"] / rates["clip_tracks_per_cpu_s"]
    print(
        f"  ratio vs reference: {ratio:.2f}x; with patch rows vs without: {patch_rows_ratio:.3f}x"
    )
    print(
        f"peak memory of the stage: {small['tracks']} tracks {small['peak_rss_mb']:.0f} MiB, "
        f"{large['tracks']} tracks {large['peak_rss_mb']:.0f} MiB ({memory_ratio:.3f}x)"
    )
    print(f"the head, {args.head_tracks} fabricated tracks of 10 patches, CPU ms per track:")
    head_figures = {}
    for head in ("logistic", "svm", "mlp"):
        clip, patch = heads[f"{head}_clip"], heads[f"{head}_patch"]
        for kind in ("train", "predict"):
            key = f"{kind}_ms_per_track"
            head_figures[f"{head}_{kind}_ms_per_track_clip"] = round(clip[key], 3)
            head_figures[f"{head}_{kind}_ms_per_track_patch"] = round(patch[key], 3)
            head_figures[f"{head}_{kind}_patch_vs_clip"] = round(patch[key] / clip[key], 2)
        print(
            f"  {head:8s} train {clip['train_ms_per_track']:7.2f} clip, "
            f"{patch['train_ms_per_track']:7.2f} patch; predict {clip['predict_ms_per_track']:6.3f}"
            f" clip, {patch['predict_ms_per_track']:6.3f} patch"
        )
    print(
        json.dumps(
            {
                "benchmark": "embeddings",
                "stage_tracks_per_s_per_core": round(rates["stage_tracks_per_s"], 2),
                "stage_tracks_per_cpu_s": round(rates["stage_tracks_per_cpu_s"], 2),
                "reference_tracks_per_s_per_core": round(rates["reference_tracks_per_s"], 2),
                "reference_tracks_per_cpu_s": round(rates["reference_tracks_per_cpu_s"], 2),
                "clip_only_tracks_per_s_per_core": round(rates["clip_tracks_per_s"], 2),
                "clip_only_tracks_per_cpu_s": round(rates["clip_tracks_per_cpu_s"], 2),
                "with_patch_rows_vs_clip_only_cpu": round(patch_rows_ratio, 3),
                "ratio_vs_reference": round(ratio, 3),
                "peak_rss_mb_n": small["peak_rss_mb"],
                "peak_rss_mb_4n": large["peak_rss_mb"],
                "memory_ratio_4n_vs_n": round(memory_ratio, 3),
                "tracks_n": small["tracks"],
                "head_tracks": args.head_tracks,
                **head_figures,
                "quick": args.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
