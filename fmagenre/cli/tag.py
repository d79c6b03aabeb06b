"""``python -m fmagenre tag PATH...``: what the pretrained musicnn network hears in your files.

No training needed: MSD_musicnn's 50 Last.fm tags (rock, Hip-Hop, jazz, female vocalists,
80s, ...) for each file, as the mean over its 3-s patches. The network is fetched from the
package index on first use and cached per user (see fmagenre.models.musicnn.weights). Files go
through the same decoding, worker pool and progress bar as predict, and the same exit
statuses: 0 all tagged, 1 some files failed (each has its own error line), 2 nothing could run.
"""

from __future__ import annotations

import argparse

from fmagenre.cli.arguments import non_negative_int
from fmagenre.infra.errors import UserError
from fmagenre.models.musicnn.tagging import DEFAULT_SECONDS


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="+", help="audio files (mp3, wav, flac, ogg) or folders of them"
    )
    parser.add_argument(
        "--top-k", type=int, default=5, help="tags to show per file (default: %(default)s)"
    )
    parser.add_argument(
        "--format",
        default="table",
        choices=["table", "json", "csv"],
        help="json gives every one of the 50 tags per file",
    )
    parser.add_argument(
        "--output", help="write the results to this file instead of standard output"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=DEFAULT_SECONDS,
        help="how much of each file to tag, around its centre (default: %(default)g)",
    )
    parser.add_argument(
        "--workers", type=non_negative_int, default=0, help="processes (default: every core)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from fmagenre.cli.predict import report
    from fmagenre.models.musicnn.tagging import tagger

    if not 3 <= args.seconds <= 3600:
        raise UserError("--seconds must be between 3 (one musicnn patch) and 3600")
    # json: every tag's mean probability per file, beside the top k
    return report(args, lambda: tagger(args.seconds), noun="tag", all_key="tags")
