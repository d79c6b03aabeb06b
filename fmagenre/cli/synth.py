"""``python -m fmagenre synth OUT_DIR``: write a synthetic dataset anywhere, in FMA's layout
or as a labelled folder for data.subset: folder (``--layout folders|csv``)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from fmagenre.cli.arguments import non_negative_int, writable_folder
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import SynthParams, available_cores

if TYPE_CHECKING:
    from fmagenre.synth.dataset import SynthSummary


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
        "--layout",
        choices=("fma", "folders", "csv"),
        default="fma",
        help="fma: fma_metadata/ and fma_<name>/NNN/NNNNNN.mp3; folders: one sub-folder per "
        "genre; csv: files and a labels.csv (path,genre,artist), the two layouts of "
        "data.subset: folder (default: %(default)s)",
    )
    parser.add_argument(
        "--workers", type=non_negative_int, default=0, help="processes (default: every core)"
    )


def run(args: argparse.Namespace) -> int:
    from fmagenre.synth import pack_archives

    writable_folder(args.out_dir, "OUT_DIR")
    if args.layout != "fma":
        if args.zip:
            raise UserError(
                "--zip packs FMA's layout only; leave it out with --layout " + args.layout
            )
        return _labelled_folder(args)
    summary = _generate(args, args.out_dir)
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
    _print_faults(summary)
    if args.zip:
        for archive, sha1 in pack_archives(args.out_dir, args.out_dir, args.name).items():
            print(f"  {archive}  sha1 {sha1}")
    return 0


def _labelled_folder(args: argparse.Namespace) -> int:
    """Generate in FMA's layout inside OUT_DIR, then move the files into the chosen layout."""
    from fmagenre.synth.layouts import rearrange

    args.out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=args.out_dir, prefix=".fma-layout-") as tree:
        summary = _generate(args, Path(tree))
        moved = rearrange(Path(tree), args.name, args.layout, args.out_dir)
    print(
        f"wrote {moved} audio files of {summary.n_tracks} tracks to {args.out_dir} "
        f"({args.layout} layout)"
    )
    _print_faults(summary)
    print(f"  use it: data.subset: folder, data.folder: {args.out_dir}")
    return 0


def _generate(args: argparse.Namespace, root: Path) -> SynthSummary:
    from fmagenre.synth import generate_dataset

    return generate_dataset(
        root,
        name=args.name,
        tracks_per_genre=args.tracks_per_genre,
        clip_seconds=args.clip_seconds,
        seed=args.seed,
        faults=not args.no_faults,
        workers=args.workers or available_cores(),
    )


def _print_faults(summary: SynthSummary) -> None:
    if summary.faults:
        faults = sorted(summary.faults.items())
        print("  faults: " + ", ".join(f"{kind} {tid:06d}" for tid, kind in faults))
