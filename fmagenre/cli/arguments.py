"""Checks of command-line arguments shared by the commands, so a bad one is one line up front."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from fmagenre.infra.errors import UserError


def non_negative_int(text: str) -> int:
    """argparse type for --workers: a whole number >= 0 (0 = every core)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0 (0 = every core)")
    return value


def writable_folder(path: Path, option: str) -> Path:
    """``path`` as a folder this process can write in (created if missing), or UserError."""
    shown = os.fsencode(path).decode("utf-8", "backslashreplace")
    if path.exists() and not path.is_dir():
        raise UserError(f"{option} {shown} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"{option} {shown}: cannot write there ({exc.strerror})") from None
    return path
