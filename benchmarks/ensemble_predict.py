"""The ensemble's predict cost per file against each single model's, in one process, on the same files.

Builds, in a temporary folder, the five members' model folders with the pipeline's own
training and saving code on fabricated data (the Random Forest, SVM and CatBoost pipelines
on random rows of FMA's 518 features, the musicnn head on random 450-value embedding rows
with the pretrained network bundled, an untrained CRNN of the default architecture), then
the ensemble's folder as train_ensemble writes it. Accuracy is not measured, only cost, and
the cost is the inputs': decoding, the features, the log-mel, the musicnn embedding.

Each model runs ``predict_stream`` over the same N files (the real FMA clips under many
names when present, else synthesised MP3s) on one warm pool of workers, as `serve` keeps
it: each model is warmed up on one file first, then the models take turns for several
rounds (order rotated each round) and each one's median is kept. The reference is the CRNN
alone (the demo's best single model); the ratio to the cheapest single model is given too.
The ensemble computes each distinct input once (one features row for its three feature
models), so its time should be near the features + log-mel + embedding costs, not the sum
of the five models.

    python benchmarks/ensemble_predict.py [--files 40] [--seconds 30] [--rounds 3] [--workers 2] [--quick]

Ends with one JSON line of the figures; exits 1 when the ensemble's recipe holds an input
twice (it would compute it twice per file).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _predict_setup import CLASSES, make_crnn_folder, make_files, make_sources  # noqa: E402
from _quick import parse_args  # noqa: E402
from sample_clips import real_clips  # noqa: E402

SINGLES = ("rf", "svm", "gbdt", "crnn", "musicnn")
MODELS = (*SINGLES, "ensemble")
REFERENCE = "crnn"
FEATURE_MODELS = ("rf", "svm", "gbdt")
TRACKS_PER_GENRE = 20  # fabricated training data: 16 training, 2 validation, 2 test tracks
SPLITS = ("training",) * 8 + ("validation", "test")


def fabricated(columns: list[str], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A table of random rows under ``columns`` and its tracks table (8 genres, one artist each)."""
    rng = np.random.default_rng(seed)
    count = TRACKS_PER_GENRE * len(CLASSES)
    track_ids = np.arange(2, 2 + count)
    table = pd.DataFrame(
        rng.standard_normal((count, len(columns))).astype(np.float32), columns=columns
    )
    table.insert(0, "track_id", track_ids)
    tracks = pd.DataFrame(
        {
            "track_id": track_ids,
            "genre_top": [CLASSES[i % len(CLASSES)] for i in range(count)],
            "split": [SPLITS[(i // len(CLASSES)) % len(SPLITS)] for i in range(count)],
            "artist_id": track_ids,
        }
    )
    return table, tracks


def make_models(models: Path, metrics: Path, seconds: float, workers: int) -> None:
    """The five members' folders and the ensemble's (equal weights: they change no cost)."""
    from fmagenre.features.compute import feature_columns
    from fmagenre.infra.params import parse_params
    from fmagenre.models.musicnn.embedding import COLUMNS
    from fmagenre.models.musicnn.network import saved_network
    from fmagenre.pipeline.train_classic import train_and_evaluate
    from fmagenre.pipeline.train_ensemble import save_ensemble
    from fmagenre.pipeline.train_musicnn import train_musicnn

    params = parse_params(
        {
            "audio": {"duration": seconds},
            "compute": {"workers": workers},
            # one candidate each (the searched values of params.yaml change no predict cost)
            "rf": {"n_estimators": 500, "max_features": "sqrt", "min_samples_leaf": 1},
            "svm": {"C": 10.0},
            "gbdt": {"iterations": 50, "early_stopping_rounds": 50},
            # clip pooling: a fabricated clip table is enough, and the head's own cost is
            # a fraction of a millisecond per file either way (benchmarks/embeddings.py)
            "musicnn": {"classifier": "logistic", "C": 1.0, "pooling": "clip"},
        }
    )
    features, tracks = fabricated(feature_columns(), seed=0)
    for name in FEATURE_MODELS:
        train_and_evaluate(
            name, features, tracks, None, params, model_dir=models / name, metrics_dir=metrics
        )
    embeddings, tracks = fabricated(COLUMNS, seed=1)
    table = models.parent / "embeddings.parquet"
    embeddings.to_parquet(table)
    train_musicnn(
        table,
        models.parent / "patch_embeddings",  # not read under clip pooling
        tracks,
        None,
        params,
        network=saved_network(),
        model_dir=models / "musicnn",
        metrics_dir=metrics,
    )
    make_crnn_folder(models / "crnn", seconds)
    weights = {name: 1.0 / len(SINGLES) for name in SINGLES}
    save_ensemble(models / "ensemble", models, weights, CLASSES, params)


def timed(files: list[Path], loaded, pool) -> float:
    """Seconds of ``predict_stream`` over ``files``; every file must be classified."""
    from fmagenre.models.predict import predict_stream

    began = time.perf_counter()
    predictions = list(predict_stream(files, loaded, progress=False, executor=pool))
    seconds = time.perf_counter() - began
    failed = [p for p in predictions if p.probabilities is None]
    if failed:
        raise SystemExit(f"{loaded.name}: {len(failed)} file(s) not classified: {failed[0].error}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40, help="files per predict run")
    parser.add_argument("--seconds", type=float, default=30.0, help="clip length the models read")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    args = parse_args(parser, files=3, seconds=8.0, rounds=1)

    from fmagenre.infra.executors import open_executor
    from fmagenre.infra.params import ComputeParams
    from fmagenre.models.loading import load_model
    from fmagenre.models.predict import CHUNK_FILES

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        make_models(root / "models", root / "metrics", args.seconds, args.workers)
        print(f"six model folders built in {time.perf_counter() - began:.0f} s")
        loaded = {name: load_model(root / "models", name) for name in MODELS}
        parts = [part.kind for part in loaded["ensemble"].recipe.parts]
        clips = real_clips()
        sources = clips or make_sources(root / "sources", args.seconds, 5)
        files = make_files(root / "in", args.files, sources)
        origin = "real FMA clips" if clips else "synthesised MP3s"
        pool = open_executor(ComputeParams(workers=args.workers, chunk_size=CHUNK_FILES))
        try:
            warmup = {name: timed(files[:1], loaded[name], pool) for name in MODELS}
            runs: dict[str, list[float]] = {name: [] for name in MODELS}
            for round_ in range(args.rounds):
                order = MODELS[round_ % len(MODELS) :] + MODELS[: round_ % len(MODELS)]
                for name in order:
                    runs[name].append(timed(files, loaded[name], pool))
        finally:
            pool.shutdown(wait=True)

    per_file = {name: statistics.median(times) / len(files) for name, times in runs.items()}
    ensemble, reference = per_file["ensemble"], per_file[REFERENCE]
    cheapest = min(SINGLES, key=per_file.__getitem__)
    # what each distinct input costs: the cheapest feature model is its features and a small
    # head; the CRNN its log-mel and network; musicnn its embedding and a logistic regression
    inputs_once = (
        min(per_file[name] for name in FEATURE_MODELS) + per_file["crnn"] + per_file["musicnn"]
    )
    every_member = sum(per_file[name] for name in SINGLES)
    print(
        f"predict_stream on {len(files)} files ({origin}, models read {args.seconds:g} s), "
        f"{args.workers} workers, one warm pool; median of {args.rounds} round(s):"
    )
    for name in MODELS:
        rounds = " ".join(f"{t:.1f}" for t in runs[name])
        print(
            f"  {name:>8}: {per_file[name]:.3f} s/file  ({per_file[name] / reference:.2f}x crnn; "
            f"rounds {rounds} s; warm-up on 1 file {warmup[name]:.1f} s)"
        )
    print(f"  ensemble / crnn (reference): {ensemble / reference:.2f}x")
    print(f"  ensemble / cheapest single ({cheapest}): {ensemble / per_file[cheapest]:.2f}x")
    print(
        f"  the ensemble's inputs: {', '.join(parts)}; its time / (cheapest feature model + crnn + "
        f"musicnn) = {ensemble / inputs_once:.2f}x; / (all five models) = {ensemble / every_member:.2f}x"
    )
    distinct = len(parts) == len(set(parts))
    figures = {
        "benchmark": "ensemble_predict",
        "files": len(files),
        "clip_seconds": args.seconds,
        "workers": args.workers,
        "rounds": args.rounds,
        "seconds_per_file": {name: round(value, 4) for name, value in per_file.items()},
        "warmup_seconds": {name: round(value, 2) for name, value in warmup.items()},
        "ratio_vs_reference": round(ensemble / reference, 3),
        "reference": REFERENCE,
        "cheapest_single": cheapest,
        "ratio_vs_cheapest": round(ensemble / per_file[cheapest], 3),
        "ensemble_inputs": parts,
        "inputs_computed_once": distinct,
        "ratio_vs_inputs_once": round(ensemble / inputs_once, 3),
        "ratio_vs_all_members": round(ensemble / every_member, 3),
        "real_clips": origin == "real FMA clips",
    }
    print(json.dumps({**figures, "quick": args.quick}))
    if not distinct:
        sys.exit(1)


if __name__ == "__main__":
    main()
