"""The synthetic dataset rearranged as users' own collections come: the data.subset folder
layouts (one sub-folder per genre, or a labels.csv), so tests and demos of that subset run
on files made here rather than on music that cannot be shipped."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd

from fmagenre.fma.facts import audio_dir_name, audio_relpath

LAYOUTS = ("fma", "folders", "csv")
# An en dash: every file name written holds a space and a letter outside ASCII, as real
# collections' names do ("Artist – Title.mp3").
DASH = "\u2013"


def rearrange(root: Path, name: str, layout: str, out: Path) -> int:
    """Move the tracks of the FMA-layout dataset at ``root`` into ``out`` in ``layout``
    (folders: ``<genre>/<artist> – <title> (<id>).mp3``; csv: ``tracks/<artist>/...`` and a
    labels.csv of path, genre and artist, no split). Return the number of files moved."""
    if layout not in LAYOUTS[1:]:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS[1:])}, not {layout!r}")
    tracks = pd.read_csv(root / "fma_metadata" / "tracks.csv", index_col=0, header=[0, 1])
    audio = root / audio_dir_name(name)
    labels, moved = [], 0
    for track_id, row in tracks.iterrows():
        source = audio / audio_relpath(int(track_id))
        genre, artist = str(row[("track", "genre_top")]), str(row[("artist", "name")])
        file_name = f"{artist} {DASH} {row[('track', 'title')]} ({int(track_id):06d}).mp3"
        relative = Path(genre if layout == "folders" else "tracks") / (
            file_name if layout == "folders" else Path(artist) / file_name
        )
        labels.append((relative.as_posix(), genre, artist))
        if source.exists():  # the injected 'missing' fault has no file, in any layout
            (out / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(source, out / relative)
            moved += 1
    if layout == "csv":
        with open(out / "labels.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["path", "genre", "artist"])
            writer.writerows(labels)
    return moved
