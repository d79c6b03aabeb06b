"""Facts about the Free Music Archive that several modules share: archives, checksums,
the audio path scheme and the genres of the classification task."""

from __future__ import annotations

from pathlib import Path

FMA_URL_BASE = "https://os.unil.cloud.switch.ch/fma/"

# SHA-1 of each archive, as published by FMA.
FMA_SHA1: dict[str, str] = {
    "fma_metadata.zip": "f0df49ffe5f2a6008d7dc83c6915b31835dfe733",
    "fma_small.zip": "ade154f733639d52e35e32f5593efe5be76c6d70",
    "fma_medium.zip": "c67b69ea232021025fca9231fc1c7c1a063ab50b",
    "fma_large.zip": "497109f4dd721066b5ce5e5f250ec604dc78939e",
    "fma_full.zip": "0f0ace23fbe9ba30ecb7e95f763e435ea802b8ab",
}

# Archive sizes in bytes (approximate, for disk-space checks and docs).
FMA_ARCHIVE_GIB: dict[str, float] = {
    "fma_metadata.zip": 342 / 1024,
    "fma_small.zip": 7.2,
    "fma_medium.zip": 22.0,
    "fma_large.zip": 93.0,
    "fma_full.zip": 879.0,
}

AUDIO_SUBSETS = ("small", "medium", "large", "full")

# The eight balanced genres of fma_small, with FMA's genre ids.
SMALL_GENRES: dict[str, int] = {
    "Electronic": 15,
    "Experimental": 38,
    "Folk": 17,
    "Hip-Hop": 21,
    "Instrumental": 1235,
    "International": 2,
    "Pop": 10,
    "Rock": 12,
}

# All sixteen top-level genres (the classes of medium, large and full).
TOP_LEVEL_GENRES: dict[str, int] = {
    "International": 2,
    "Blues": 3,
    "Jazz": 4,
    "Classical": 5,
    "Old-Time / Historic": 8,
    "Country": 9,
    "Pop": 10,
    "Rock": 12,
    "Easy Listening": 13,
    "Soul-RnB": 14,
    "Electronic": 15,
    "Folk": 17,
    "Spoken": 20,
    "Hip-Hop": 21,
    "Experimental": 38,
    "Instrumental": 1235,
}

SPLITS = ("training", "validation", "test")


def audio_relpath(track_id: int) -> Path:
    """FMA's path scheme: track 2 lives at 000/000002.mp3 inside fma_<subset>/."""
    name = f"{track_id:06d}"
    return Path(name[:3]) / f"{name}.mp3"


def audio_dir_name(subset: str) -> str:
    """Folder (and archive stem) holding a subset's audio: fma_small, fma_synthetic ..."""
    return f"fma_{subset}"
