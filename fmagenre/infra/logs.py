"""Logging set up once per process, the same way for every command and every stage.

Without a handler, Python shows only warnings (bare, through its last-resort handler) and
every ``log.info`` line of the library vanishes. Each entry point (``python -m fmagenre
COMMAND``, ``python -m stages.NAME``) calls :func:`configure_logging` once: ``[name] message``
lines on stderr, so stdout stays the command's own output (tables, JSON).
"""

from __future__ import annotations

import logging
import os
import sys


class _EntryHandler(logging.StreamHandler):
    """The handler this module installs; configuring again replaces it instead of adding one."""


def configure_logging(name: str, level: int = logging.INFO) -> None:
    """Send log records of ``level`` and above to stderr as ``[name] message``."""
    # TensorFlow's C++ start-up notes (oneDNN, "failed call to cuInit" without a GPU) are
    # noise here; TF_CPP_MIN_LOG_LEVEL=0 in the environment brings them back
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _EntryHandler)]:
        root.removeHandler(handler)
    handler = _EntryHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"[{name}] %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
