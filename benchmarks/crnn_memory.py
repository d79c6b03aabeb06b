"""Peak memory of CRNN training does not grow with the number of tracks.

Trains one epoch, in a fresh process each, on N and on 4N synthetic tracks (10 s log-mel
spectrograms, the demo's shape) with the default model params, and prints each process's
peak resident memory. The batches stream rows from the store with plain file reads, so the
two peaks must stay within 20% of each other.

    python benchmarks/crnn_memory.py [--tracks 300] [--quick]

Ends with one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def child(folder: Path) -> None:
    """Train one epoch on the store in ``folder``; print the process's peak memory."""
    import pandas as pd

    from fmagenre.infra.params import parse_params
    from fmagenre.models.crnn.train import assemble, configure_tensorflow, fit_crnn

    configure_tensorflow(threads=2, seed=0)
    store = folder / "spectrograms"
    data = assemble(
        pd.read_parquet(store / "index.parquet"), pd.read_parquet(folder / "tracks.parquet")
    )
    trained = fit_crnn(store, data, parse_params({"model": {"epochs": 1}}), verbose=0)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracks = sum(len(split.rows) for split in data.splits.values())
    print(
        json.dumps(
            {
                "tracks": tracks,
                "peak_rss_mb": round(peak_kb / 1024, 1),
                "samples_per_second": round(trained.samples_per_second, 1),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=300)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _quick import parse_args

    args = parse_args(parser, tracks=20)
    if args.child:
        child(args.child)
        return
    from _crnn_data import make_store

    runs = []
    for tracks in (args.tracks, 4 * args.tracks):
        with tempfile.TemporaryDirectory() as tmp:
            _, table = make_store(
                Path(tmp), tracks
            )  # made here, so the child's memory is training's alone
            table.to_parquet(Path(tmp) / "tracks.parquet")
            out = subprocess.run(
                [sys.executable, __file__, "--child", tmp],
                capture_output=True,
                text=True,
                check=True,
            )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    small, large = runs
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    store_mb = lambda n: n * 431 * 128 * 2 / 2**20  # noqa: E731
    print("one training epoch, default model params, fresh process each:")
    for run in runs:
        print(
            f"  {run['tracks']:5d} tracks (store {store_mb(run['tracks']):6.0f} MiB): peak RSS {run['peak_rss_mb']:7.1f} MiB"
        )
    print(f"  4x the tracks -> {ratio:.3f}x the peak memory (must stay within 1.2x)")
    print(
        json.dumps(
            {
                "benchmark": "crnn_memory",
                "tracks": [small["tracks"], large["tracks"]],
                "peak_rss_mb": [small["peak_rss_mb"], large["peak_rss_mb"]],
                "ratio_vs_reference": round(ratio, 3),
                "reference": f"peak RSS with {small['tracks']} tracks",
                "within_20_percent": abs(ratio - 1) <= 0.2,
                "quick": args.quick,
            }
        )
    )


if __name__ == "__main__":
    main()
