"""``python -m fmagenre predict PATH...``: the genre of your own audio files.

Exit status: 0 when every file was classified, 1 when some files could not be (each has
its own error line; the others are still classified), 2 when nothing could run (no model,
no files, bad arguments).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from fmagenre.cli.arguments import non_negative_int
from fmagenre.infra.errors import UserError
from fmagenre.infra.paths import MODELS

if TYPE_CHECKING:
    from fmagenre.models.predict import LoadedModel


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", help="audio files (mp3, wav, flac, ogg) or folders of them"
    )
    parser.add_argument(
        "--model",
        default="best",
        choices=["best", "rf", "svm", "gbdt", "crnn", "musicnn"],
        help="which trained model (default: the best one chosen by the compare stage)",
    )
    parser.add_argument(
        "--top-k", type=int, default=3, help="genres to show per file (default: %(default)s)"
    )
    parser.add_argument("--format", default="table", choices=["table", "json", "csv"])
    parser.add_argument(
        "--output", help="write the results to this file instead of standard output"
    )
    parser.add_argument(
        "--workers",
        type=non_negative_int,
        default=0,
        help="processes for decoding and features (default: every core)",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=MODELS,
        help="where the pipeline saved its models (default: %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from fmagenre.models.predict import load_model

    return report(args, lambda: load_model(args.models_dir, args.model))


def report(
    args: argparse.Namespace,
    load: Callable[[], LoadedModel],
    *,
    noun: str = "genre",
    all_key: str | None = None,
) -> int:
    """Run the model ``load`` gives on every file of args.paths, writing results as they come
    in args.format; shared by predict and tag (``noun``: what a class is called in the
    output; ``all_key``: JSON key under which every class's probability is written)."""
    from fmagenre.cli.output import WRITERS, check_output, open_output
    from fmagenre.models.predict import display_path, find_audio_files, predict_stream

    if args.top_k < 1:
        raise UserError("--top-k must be at least 1")
    files = find_audio_files(args.paths)
    # before any work: a bad --output must not wait for the last file to be decoded
    output = check_output(args.output, files) if args.output is not None else None
    loaded = load()
    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    if not files:
        raise UserError("no audio file found in " + ", ".join(args.paths))
    total = failed = 0
    with open_output(output) as stream:
        writer = WRITERS[args.format](
            stream,
            loaded.name,
            args.top_k,
            [display_path(f) for f in files],
            loaded.classes,
            noun=noun,
            all_key=all_key,
        )
        writer.begin()
        for prediction in predict_stream(
            files, loaded, workers=args.workers, progress=not args.quiet, desc=args.command
        ):
            writer.write(prediction)
            total += 1
            failed += prediction.probabilities is None
        writer.end()
    if output is not None:
        print(f"wrote {total} results to {display_path(output)}", file=sys.stderr)
    if failed:
        print(f"{failed} of {total} files could not be {noun_verb(noun)}", file=sys.stderr)
    return 1 if failed else 0


def noun_verb(noun: str) -> str:
    return "tagged" if noun == "tag" else "classified"
