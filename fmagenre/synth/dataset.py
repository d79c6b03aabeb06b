"""A synthetic dataset in FMA's exact layout, so every stage runs for real without FMA's servers.

It writes what fetch extracts from FMA's archives — ``fma_metadata/tracks.csv`` (the
two-level header), ``genres.csv`` and real MP3 files at ``fma_<name>/NNN/NNNNNN.mp3`` —
with the properties the pipeline must cope with on the real data: sparse track ids,
artists whose tracks share a sound, an artist-filtered split, mixed sample rates, channel
counts and bit-rate modes, and (on request) one track of each fault FMA really has.
Everything derives from (seed, artist id) and (seed, track id), so the bytes written do
not depend on the number of worker processes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from fmagenre.fma.facts import audio_dir_name, audio_relpath
from fmagenre.infra.atomic import remove
from fmagenre.infra.errors import UserError
from fmagenre.infra.params import ComputeParams
from fmagenre.infra.trackmap import TrackOutput, map_tracks
from fmagenre.synth.metadata import genres_csv, tracks_csv
from fmagenre.synth.recipes import GENRES, ArtistStyle, artist_style, render

FAULTS = ("no_audio", "truncated", "short", "silent", "missing")
FORMATS = (
    (44100, 2),
    (44100, 2),
    (44100, 2),
    (44100, 2),
    (44100, 2),
    (44100, 1),
    (48000, 2),
    (48000, 1),
    (22050, 2),
)
BITRATES = {
    ("CONSTANT", 0.3): 256000,
    ("CONSTANT", 0.5): 192000,
    ("VARIABLE", 0.3): 0,
    ("VARIABLE", 0.5): 0,
}
CITIES = (
    "Brooklyn, NY",
    "Berlin",
    "Montreal",
    "Lyon",
    "Austin, TX",
    "Lisbon",
    "Seoul",
    "Portland, OR",
    "Istanbul",
)
MAX_TRACK_ID = 155320


@dataclass(frozen=True)
class SynthSummary:
    root: Path
    name: str
    n_tracks: int
    faults: dict[int, str]


@dataclass(frozen=True)
class TrackJob:
    """Everything needed to write one track's file, independently of any other."""

    track_id: int
    path: str
    style: ArtistStyle
    seed: int
    sr: int
    channels: int
    seconds: float
    bitrate_mode: str
    compression: float
    fault: str


# --------------------------------------------------------------------------------------
# Planning: ids, artists, split, formats, faults
# --------------------------------------------------------------------------------------


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(k) for k in keys]))


def plan(
    tracks_per_genre: int, clip_seconds: float, seed: int, faults: bool
) -> tuple[pd.DataFrame, dict[int, ArtistStyle]]:
    """One row per track (metadata and audio format), and each artist's style."""
    rng = _rng(seed, 0)
    rows, styles = [], {}
    artist_id = 100 + int(rng.integers(0, 900))
    for genre in GENRES:
        sizes = _artist_sizes(tracks_per_genre, rng)
        splits = _artist_splits(sizes, rng)
        for size, split in zip(sizes, splits, strict=True):
            artist_id += int(rng.integers(1, 40))
            styles[artist_id] = artist_style(genre, _rng(seed, 1, artist_id))
            name = f"{_word(rng).title()} {_word(rng).title()}"
            album_id = artist_id * 3 + int(rng.integers(0, 3))
            city = str(rng.choice(CITIES))
            for number in range(1, size + 1):
                rows.append(
                    {
                        "genre": genre,
                        "artist_id": artist_id,
                        "artist_name": name,
                        "album_id": album_id,
                        "album_title": f"{_word(rng).title()} {_word(rng)}",
                        "city": city,
                        "split": split,
                        "number": number,
                        "title": f"{_word(rng).title()} {_word(rng)}",
                    }
                )
    table = pd.DataFrame(rows)
    order = rng.permutation(len(table))  # interleave genres over the id range, as in FMA
    ids = np.sort(rng.choice(np.arange(2, MAX_TRACK_ID + 1), size=len(table), replace=False))
    table["track_id"] = 0
    table.loc[order, "track_id"] = ids
    table = table.sort_values("track_id").reset_index(drop=True)
    formats = [FORMATS[i] for i in rng.integers(0, len(FORMATS), size=len(table))]
    table["sr"] = [sr for sr, _ in formats]
    table["channels"] = [channels for _, channels in formats]
    modes = list(BITRATES)
    picks = rng.integers(0, len(modes), size=len(table))
    table["bitrate_mode"] = [modes[i][0] for i in picks]
    table["compression"] = [modes[i][1] for i in picks]
    table["bit_rate"] = [BITRATES[modes[i]] or int(rng.integers(150, 260)) * 1000 for i in picks]
    table["seconds"] = float(clip_seconds)
    table["fault"] = ""
    if faults:
        for fault, genre in zip(
            FAULTS, rng.choice(GENRES, size=len(FAULTS), replace=False), strict=True
        ):
            candidates = table.index[(table["genre"] == genre) & (table["fault"] == "")]
            table.loc[int(rng.choice(candidates)), "fault"] = fault
        table.loc[table["fault"] == "short", "seconds"] = max(1.0, round(clip_seconds / 3, 3))
    return table, styles


def _artist_sizes(total: int, rng: np.random.Generator) -> list[int]:
    """Tracks per artist: 2 to 6 each, smaller for tiny genres so that every split gets an artist."""
    largest = int(np.clip(total // 5, 1, 6))
    smallest = min(2, largest)
    sizes: list[int] = []
    while sum(sizes) < total:
        sizes.append(int(rng.integers(smallest, largest + 1)))
    sizes[-1] -= sum(sizes) - total
    if sizes[-1] < smallest and len(sizes) > 1:
        leftover = sizes.pop()
        sizes[-1] += leftover
    return sizes


def _artist_splits(sizes: list[int], rng: np.random.Generator) -> list[str]:
    """Whole artists to test and validation, each as close to 10% of the tracks as sizes allow."""
    target = max(1, round(0.1 * sum(sizes)))
    splits = ["training"] * len(sizes)
    for split in ("test", "validation"):
        free = [i for i in rng.permutation(len(sizes)) if splits[i] == "training"]
        if len(free) <= 1:
            break
        held = 0
        for i in free:
            if held + sizes[i] <= target + 1:
                splits[i] = split
                held += sizes[i]
            if held >= target:
                break
        if held == 0:  # every artist is bigger than the target: take the smallest
            splits[min(free, key=lambda i: sizes[i])] = split
    return splits


SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ra",
    "ven",
    "dul",
    "tor",
    "sa",
    "bel",
    "no",
    "quin",
    "ar",
    "pe",
    "lu",
    "zan",
    "rho",
)


def _word(rng: np.random.Generator) -> str:
    return "".join(rng.choice(SYLLABLES, size=int(rng.integers(2, 4))))


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


def write_track(job: TrackJob) -> TrackOutput:
    """Render and encode one track (or write its fault). Runs on the map over tracks."""
    path = Path(job.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = TrackOutput({"track_id": job.track_id})
    if job.fault == "missing":
        return written
    if job.fault == "no_audio":
        # an ID3v2 tag and padding, no MPEG frame: what FMA's three empty files look like to a decoder
        path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x07\x76" + bytes(1014))
        return written
    rng = _rng(job.seed, 2, job.track_id)
    if job.fault == "silent":
        audio = np.zeros((int(job.seconds * job.sr), job.channels), dtype=np.float32)
    else:
        audio = render(job.style, rng, job.sr, job.seconds, job.channels)
    with sf.SoundFile(
        path,
        "w",
        job.sr,
        job.channels,
        format="MP3",
        subtype="MPEG_LAYER_III",
        compression_level=job.compression,
        bitrate_mode=job.bitrate_mode,
    ) as handle:
        handle.write(audio)
    if job.fault == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * 0.4) + 3])  # +3: cut inside a frame
    return written


def generate_dataset(
    root: Path,
    *,
    name: str = "synthetic",
    tracks_per_genre: int = 40,
    clip_seconds: float = 30.0,
    seed: int = 2026,
    faults: bool = True,
    workers: int = 1,
    progress: bool = True,
) -> SynthSummary:
    """Write fma_metadata/ and fma_<name>/ under ``root`` (replacing earlier ones)."""
    if tracks_per_genre < 2:
        raise UserError(f"tracks_per_genre must be at least 2 (got {tracks_per_genre})")
    if not 1 <= clip_seconds <= 600:
        raise UserError(f"clip_seconds must be between 1 and 600 (got {clip_seconds})")
    if not name.replace("_", "").isalnum():
        raise UserError(f"dataset name must be letters, digits or '_' (got {name!r})")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".synth-{os.getpid()}.tmp"
    remove(staging)
    try:
        table, styles = plan(tracks_per_genre, clip_seconds, seed, faults)
        audio_root = staging / audio_dir_name(name)
        jobs = [
            TrackJob(
                int(r.track_id),
                str(audio_root / audio_relpath(int(r.track_id))),
                styles[int(r.artist_id)],
                seed,
                int(r.sr),
                int(r.channels),
                float(r.seconds),
                str(r.bitrate_mode),
                float(r.compression),
                str(r.fault),
            )
            for r in table.itertuples()
        ]
        _run_jobs(jobs, workers, progress, root)
        metadata = staging / "fma_metadata"
        metadata.mkdir(parents=True)
        tracks_csv(table).to_csv(metadata / "tracks.csv")
        genres_csv(table).to_csv(metadata / "genres.csv", index=False)
        table.loc[table["fault"] != "", ["track_id", "fault"]].to_csv(
            metadata / "synthetic_faults.csv", index=False
        )
        for part in ("fma_metadata", audio_dir_name(name)):
            remove(root / part)
            os.replace(staging / part, root / part)
    finally:
        remove(staging)
    fault_map = {int(r.track_id): str(r.fault) for r in table.itertuples() if r.fault}
    return SynthSummary(root, name, len(table), fault_map)


def _run_jobs(jobs: list[TrackJob], workers: int, progress: bool, root: Path) -> None:
    """Write every track on the map over tracks (one track per task: a whole clip to render
    and encode); the dataset is useless with a track missing, so any failure stops it."""
    records = map_tracks(
        write_track,
        jobs,
        compute=ComputeParams(workers=max(1, workers), chunk_size=1),
        desc="synth",
        progress=progress,
    )
    failed = [
        (job.track_id, r["error"]) for job, r in zip(jobs, records, strict=True) if "error" in r
    ]
    if failed:
        track_id, error = failed[0]
        # the encoder's error on a full disk does not say so: the free space does
        free = shutil.disk_usage(root).free / 2**20
        raise UserError(
            f"{len(failed)} of {len(jobs)} synthetic tracks could not be written "
            f"(track {track_id}: {error}; {free:.1f} MiB free in {root})"
        )


def pack_archives(root: Path, out_dir: Path, name: str = "synthetic") -> dict[str, str]:
    """Zip the dataset as FMA ships it (fma_metadata.zip, fma_<name>.zip); return their SHA-1."""
    out_dir.mkdir(parents=True, exist_ok=True)
    checksums = {}
    for folder in ("fma_metadata", audio_dir_name(name)):
        archive = out_dir / f"{folder}.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as bundle:
            for file in sorted((Path(root) / folder).rglob("*")):
                if file.is_file():
                    info = zipfile.ZipInfo(
                        file.relative_to(root).as_posix(), date_time=(2017, 4, 1, 0, 0, 0)
                    )
                    bundle.writestr(info, file.read_bytes())
        with archive.open("rb") as packed:  # in chunks: the audio archive outgrows memory
            checksums[archive.name] = hashlib.file_digest(packed, "sha1").hexdigest()
    return checksums
