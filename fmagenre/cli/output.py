"""Where predict's results go: checked before any work, written as they come.

predict may run for hours on a folder of 10,000 files, so a bad ``--output`` must stop it
before the first file is decoded, not after the last; and rows are written as each batch
finishes (to standard output, or to a temporary file beside ``--output`` that replaces it
when complete), so memory does not hold every result and an interrupted run leaves no
half-written file. An input file is never overwritten.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from fmagenre.infra.atomic import atomic_path
from fmagenre.infra.errors import UserError
from fmagenre.models.predict import AUDIO_EXTENSIONS, Prediction, display_path


def check_output(given: str, inputs: list[Path]) -> Path:
    """The --output path, or UserError naming what is wrong with it (before any work)."""
    if not given.strip():
        raise UserError("--output is empty: name the file to write the results to")
    path = Path(given)
    shown = display_path(given)
    if path.is_dir():
        raise UserError(f"--output {shown} is a folder: name a file to write the results to")
    if path.suffix.lower() in AUDIO_EXTENSIONS:
        raise UserError(
            f"--output {shown} has an audio file's name; results are text: use .txt, .json or .csv"
        )
    if path.exists() and any(_same(path, source) for source in inputs):
        raise UserError(f"--output {shown} is one of the input files: it would be overwritten")
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"--output {shown}: the folder {display_path(folder)} does not exist")
    try:  # what writing will do: a temporary file beside the output, renamed over it
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(
            f"--output {shown}: cannot write in {display_path(folder)} ({exc.strerror})"
        ) from None
    return path


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


@contextlib.contextmanager
def open_output(path: Path | None) -> Iterator[TextIO]:
    """Standard output, or a temporary file that becomes ``path`` only when complete."""
    if path is None:
        yield sys.stdout
        return
    try:
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as stream:
            yield stream
    except OSError as exc:  # a full disk: say which file could not be written
        if exc.filename is not None:
            raise
        raise OSError(exc.errno, exc.strerror, display_path(path)) from None


class Writer:
    """What every format is told: where to write, the model, how many classes per file, the
    paths and classes to come (for widths), what a class is called (genre, tag), and the JSON
    key for every class's probability (None: only the top k)."""

    def __init__(
        self,
        stream: TextIO,
        model: str,
        k: int,
        paths: list[str],
        classes: list[str],
        *,
        noun: str = "genre",
        all_key: str | None = None,
    ):
        self.stream, self.model, self.k = stream, model, k
        self.paths, self.classes = paths, classes
        self.noun, self.all_key = noun, all_key

    def begin(self) -> None:
        pass

    def write(self, p: Prediction) -> None:
        raise NotImplementedError

    def end(self) -> None:
        pass


class TableWriter(Writer):
    """Aligned columns: one line per file, its top genres or its error."""

    def begin(self) -> None:
        self.width = min(60, max(len(p) for p in self.paths))
        self.name_width = max((len(name) for name in self.classes), default=0)
        self.stream.write(f"{'file':<{self.width}}  top {self.noun}s ({self.model})\n")

    def write(self, p: Prediction) -> None:
        width = self.width
        shown = p.path if len(p.path) <= width else "..." + p.path[-(width - 3) :]
        if p.probabilities is None:
            line = f"{shown:<{width}}  error: {p.error}"
        else:
            ranked = "   ".join(
                f"{genre:<{self.name_width}} {probability:6.1%}"
                for genre, probability in p.top(self.k)
            )
            line = f"{shown:<{width}}  {ranked}" + (f"   ({p.note})" if p.note else "")
        self.stream.write(line + "\n")
        self.stream.flush()


class JsonWriter(Writer):
    """A JSON list of one object per file, written item by item."""

    def begin(self) -> None:
        self.count = 0
        self.stream.write("[")

    def write(self, p: Prediction) -> None:
        item = p.to_json(self.model, self.k, noun=self.noun, all_key=self.all_key)
        text = json.dumps(item, indent=2).replace("\n", "\n  ")
        self.stream.write(("," if self.count else "") + "\n  " + text)
        self.stream.flush()
        self.count += 1

    def end(self) -> None:
        self.stream.write("\n]\n")


class CsvWriter(Writer):
    """One CSV row per file: path, model, status, error, then genre and probability pairs."""

    def begin(self) -> None:
        self.csv = csv.writer(self.stream)
        ranks = [f"{kind}_{i}" for i in range(1, self.k + 1) for kind in (self.noun, "probability")]
        self.csv.writerow(["path", "model", "status", "error", *ranks])

    def write(self, p: Prediction) -> None:
        ranked = [value for genre, prob in p.top(self.k) for value in (genre, f"{prob:.6f}")]
        blanks = [""] * (2 * self.k - len(ranked))
        self.csv.writerow([p.path, self.model, p.status, p.error, *ranked, *blanks])
        self.stream.flush()


WRITERS = {"table": TableWriter, "json": JsonWriter, "csv": CsvWriter}
