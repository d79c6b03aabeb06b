"""``python -m fmagenre predict PATH...``: the genre of your own audio files.

Exit status: 0 when every file was classified, 1 when some files could not be (each has
its own error line; the others are still classified), 2 when nothing could run (no model,
no files, bad arguments).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

from fmagenre.atomic import write_text
from fmagenre.errors import UserError
from fmagenre.paths import MODELS


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
        "--output", type=Path, help="write the results to this file instead of standard output"
    )
    parser.add_argument(
        "--workers",
        type=int,
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
    from fmagenre.predict import load_model

    if args.top_k < 1:
        raise UserError("--top-k must be at least 1")
    return report(args, load_model(args.models_dir, args.model), FORMATS)


def report(args: argparse.Namespace, loaded, formats: dict) -> int:
    """Run ``loaded`` on every file of args.paths and write the results in args.format
    (``formats[name](predictions, model, k)``); shared by predict and tag."""
    from fmagenre.predict import find_audio_files, predict_files

    for note in loaded.notes:
        print(f"note: {note}", file=sys.stderr)
    files = find_audio_files(args.paths)
    if not files:
        raise UserError("no audio file found in " + ", ".join(args.paths))
    predictions = predict_files(
        files,
        loaded,
        workers=args.workers,
        progress=not args.quiet,
        desc=getattr(args, "command", "predict"),
    )
    text = formats[args.format](predictions, loaded.name, args.top_k)
    if args.output:
        write_text(args.output, text)
        print(f"wrote {len(predictions)} predictions to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    failed = sum(p.probabilities is None for p in predictions)
    if failed:
        print(f"{failed} of {len(predictions)} files could not be classified", file=sys.stderr)
    return 1 if failed else 0


def as_table(predictions, model: str, k: int, noun: str = "genre") -> str:
    width = min(60, max(len(p.path) for p in predictions))
    name_width = max(
        (len(genre) for p in predictions for genre in (p.probabilities or {})), default=0
    )
    lines = [f"{'file':<{width}}  top {noun}s ({model})"]
    for p in predictions:
        shown = p.path if len(p.path) <= width else "..." + p.path[-(width - 3) :]
        if p.probabilities is None:
            lines.append(f"{shown:<{width}}  error: {p.error}")
        else:
            ranked = "   ".join(
                f"{genre:<{name_width}} {probability:6.1%}" for genre, probability in p.top(k)
            )
            lines.append(f"{shown:<{width}}  {ranked}" + (f"   ({p.note})" if p.note else ""))
    return "\n".join(lines) + "\n"


def as_json(predictions, model: str, k: int) -> str:
    return json.dumps(json_rows(predictions, model, k), indent=2) + "\n"


def json_rows(predictions, model: str, k: int, noun: str = "genre") -> list[dict]:
    return [
        {
            "path": p.path,
            "model": model,
            "status": p.status,
            "predictions": [{noun: g, "probability": round(v, 6)} for g, v in p.top(k)],
            "error": p.error,
            "note": p.note,
        }
        for p in predictions
    ]


def as_csv(predictions, model: str, k: int, noun: str = "genre") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "path",
            "model",
            "status",
            "error",
            *[f"{kind}_{i}" for i in range(1, k + 1) for kind in (noun, "probability")],
        ]
    )
    for p in predictions:
        ranked = [
            value for genre, probability in p.top(k) for value in (genre, f"{probability:.6f}")
        ]
        writer.writerow([p.path, model, p.status, p.error, *ranked, *[""] * (2 * k - len(ranked))])
    return buffer.getvalue()


FORMATS = {"table": as_table, "json": as_json, "csv": as_csv}
