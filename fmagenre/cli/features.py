"""``python -m fmagenre features PATH... --output FILE``: FMA's 518 features for any audio files.

The features are the pipeline's (fmagenre.features.compute: FMA's definition at each file's own
rate, with FMA's sr quirk), so a row means what a row of FMA's features.csv or of
data/features.parquet (features.sample_rate: native) means. Files go through predict's
machinery: the same worker pool, progress bar and per-file errors.

Exit status: 0 when every file has its row, 1 when some have none (each has its own error
line; the others are written), 2 when nothing could run (no files, bad arguments).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fmagenre.cli.arguments import non_negative_int
from fmagenre.fma.facts import CLIP_SECONDS
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import AudioParams, DecodeParams

FORMATS = (".parquet", ".csv")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", help="audio files (mp3, wav, flac, ogg) or folders of them"
    )
    parser.add_argument(
        "--output",
        type=Path,
        required=True,
        help="the table to write, FILE.parquet or FILE.csv: a path column and the 518 "
        "feature.statistic.NN columns of data/features.parquet",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=CLIP_SECONDS,
        help="seconds of a longer file to describe (default: %(default)s, FMA's clip length; "
        "a file at most 1 s longer is read whole, as FMA read its clips)",
    )
    parser.add_argument(
        "--crop",
        choices=["center", "start"],
        default=AudioParams().crop,
        help="which part of a longer file (default: %(default)s, as the pipeline's audio.crop)",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=DecodeParams().min_seconds,
        help="a file with less audio gets an error, not a row (default: %(default)s, as "
        "decode.min_seconds)",
    )
    parser.add_argument(
        "--workers", type=non_negative_int, default=0, help="processes (default: every core)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from fmagenre.cli.output import check_output
    from fmagenre.models.predict import find_audio_files

    if args.output.suffix.lower() not in FORMATS:
        raise UserError(f"--output must be a .parquet or .csv file (got {args.output.name!r})")
    if args.duration <= 0:
        raise UserError(f"--duration must be positive (got {args.duration:g})")
    if args.min_seconds < 0:
        raise UserError("--min-seconds cannot be negative")
    files = find_audio_files(args.paths)
    if not files:
        raise UserError("no audio file found in " + ", ".join(args.paths))
    # before any work: a bad --output must not wait for the last file, nor replace an input
    output = check_output(str(args.output), files)
    table, errors = file_features(
        files,
        duration=args.duration,
        crop=args.crop,
        min_seconds=args.min_seconds,
        workers=args.workers,
        progress=not args.quiet,
    )
    for path, error in errors:
        print(f"{path}: error: {error}", file=sys.stderr)
    write_table(table, output)
    print(f"wrote the features of {len(table)} files to {output}", file=sys.stderr)
    if errors:
        print(f"{len(errors)} of {len(files)} files have no features", file=sys.stderr)
    return 1 if errors else 0


def file_features(
    files: list[Path],
    *,
    duration: float,
    crop: str,
    min_seconds: float,
    workers: int = 0,
    progress: bool = True,
) -> tuple[Any, list[tuple[str, str]]]:
    """The table (path + 518 columns; one row per file that has features, in the order
    given) and (path, error) for each file that has none."""
    import numpy as np
    import pandas as pd

    from fmagenre.audio.clip import DecodeSettings
    from fmagenre.features.compute import QUIRK_SR, feature_columns
    from fmagenre.models.loading import InputRecipe
    from fmagenre.models.predict import display_path, input_batches, usable

    # the features stage's input at the native rate (the decode rate is not used there)
    recipe = InputRecipe(
        "features",
        DecodeSettings(QUIRK_SR, duration, crop),
        min_seconds=min_seconds,
        features_rate="native",
        min_seconds_source="--min-seconds",
        for_model=False,
    )
    paths: list[str] = []
    blocks: list[np.ndarray] = []
    errors: list[tuple[str, str]] = []
    for batch, records, rows in input_batches(
        files, recipe, workers=workers, progress=progress, desc="features"
    ):
        ok = np.array([usable(record) for record in records], dtype=bool)
        blocks.append(rows[ok])
        paths.extend(str(path) for path, good in zip(batch, ok, strict=True) if good)
        errors.extend(
            (display_path(path), record.get("error") or str(record.get("status", "failed")))
            for path, record in zip(batch, records, strict=True)
            if not usable(record)
        )
    values = np.concatenate(blocks) if blocks else np.zeros((0, len(feature_columns())), "float32")
    table = pd.DataFrame(values, columns=feature_columns())
    table.insert(0, "path", paths)
    return table, errors


def write_table(table: Any, path: Path) -> None:
    """Parquet or CSV by the file's suffix, written atomically (no half-written table)."""
    from fmagenre.infra.atomic import atomic_path, write_parquet

    if path.suffix.lower() == ".parquet":
        write_parquet(path, table)
        return
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)
