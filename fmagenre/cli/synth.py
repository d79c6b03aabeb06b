"""``python -m fmagenre synth OUT_DIR``: write a synthetic dataset in FMA's layout anywhere."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from fmagenre.cli.arguments import non_negative_int, writable_folder
from fmagenre.infra.params import SynthParams, available_cores


def configure(parser: argparse.ArgumentParser) -> None:
    defaults = SynthParams()
    parser.add_argument(
        "out_dir", type=Path, help="folder to write fma_metadata/ and fma_<name>/ into"
    )
    parser.add_argument(
        "--name", default="synthetic", help="audio folder is fma_<name> (default: %(default)s)"
    )
    parser.add_argument("--tracks-per-genre", type=int, default=defaults.tracks_per_genre)
    parser.add_argument("--clip-seconds", type=float, default=defaults.clip_seconds)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--no-faults", action="store_true", help="do not inject the five faulty tracks"
    )
    parser.add_argument(
        "--zip",
        action="store_true",
        help="also pack fma_metadata.zip and fma_<name>.zip, with SHA-1",
    )
    parser.add_argument(
        "--workers", type=non_negative_int, default=0, help="processes (default: every core)"
    )


def run(args: argparse.Namespace) -> int:
    from fmagenre.synth import generate_dataset, pack_archives

    writable_folder(args.out_dir, "OUT_DIR")
    summary = generate_dataset(
        args.out_dir,
        name=args.name,
        tracks_per_genre=args.tracks_per_genre,
        clip_seconds=args.clip_seconds,
        seed=args.seed,
        faults=not args.no_faults,
        workers=args.workers or available_cores(),
    )
    tracks = pd.read_csv(args.out_dir / "fma_metadata" / "tracks.csv", index_col=0, header=[0, 1])
    splits = tracks[("set", "split")].value_counts().to_dict()
    print(
        f"wrote {summary.n_tracks} tracks of {tracks[('track', 'genre_top')].nunique()} genres to {args.out_dir}"
    )
    print(
        "  split: "
        + ", ".join(
            f"{split} {splits.get(split, 0)}" for split in ("training", "validation", "test")
        )
    )
    if summary.faults:
        print(
            "  faults: "
            + ", ".join(f"{kind} {tid:06d}" for tid, kind in sorted(summary.faults.items()))
        )
    if args.zip:
        for archive, sha1 in pack_archives(args.out_dir, args.out_dir, args.name).items():
            print(f"  {archive}  sha1 {sha1}")
    return 0
