"""``--quick`` for every benchmark: the small sizes that CI runs (tests/test_benchmarks.py).

A benchmark nothing runs breaks unnoticed when the code under it moves; at these sizes each
script runs in seconds, so every test run proves it still works end to end. Its figures say
little (warm-up dominates), so the JSON line says ``"quick": true``. Options given on the
command line still win over the quick sizes.
"""

from __future__ import annotations

import argparse
from typing import Any


def parse_args(parser: argparse.ArgumentParser, **quick: Any) -> argparse.Namespace:
    """Parse the command line, with ``quick`` (option name -> value) as defaults under --quick."""
    sizes = ", ".join(f"--{name.replace('_', '-')} {value}" for name, value in quick.items())
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"small sizes ({sizes}): seconds, to check the script runs; figures say little",
    )
    if parser.parse_known_args()[0].quick:
        parser.set_defaults(**quick)
    return parser.parse_args()
