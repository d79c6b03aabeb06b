"""The fetch stage's logic: get a subset's metadata and audio into FMA's layout, then the tracks table.

For a real subset: download (resumable, SHA-1 verified) fma_metadata.zip and
fma_<subset>.zip into a downloads folder that is never a pipeline output, so a verified
archive survives reruns, then extract what the pipeline reads. For ``synthetic``: extract
the two archives the synth stage wrote, the same way. For ``folder``: nothing to fetch; the
collection stage's table of the user's folder becomes the tracks table. Every way, the result
is the tidy tracks table.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pandas as pd

from fmagenre.collection.table import tracks_from_collection
from fmagenre.fma.archive import safe_extract
from fmagenre.fma.download import download
from fmagenre.fma.facts import FMA_SHA1, audio_dir_name
from fmagenre.fma.metadata import build_tracks_table, read_tracks_csv
from fmagenre.infra.atomic import atomic_path, write_parquet
from fmagenre.infra.params import Params

log = logging.getLogger(__name__)

# What the pipeline reads from the 342 MiB metadata archive (features.csv for features.source: official).
METADATA_MEMBERS = (
    "fma_metadata/tracks.csv",
    "fma_metadata/genres.csv",
    "fma_metadata/features.csv",
)
METADATA_REQUIRED = ("fma_metadata/tracks.csv", "fma_metadata/genres.csv")


def fetch(
    params: Params,
    *,
    downloads: Path,
    fma_root: Path,
    tracks_out: Path,
    synthetic: Path | None = None,
    collection: Path | None = None,
    checksums: dict[str, str] = FMA_SHA1,
    progress: bool = True,
    retries: int = 5,
    backoff: float = 2.0,
) -> dict[str, Any]:
    """Bring ``params.data.subset`` into ``fma_root`` and write the tracks table; return a
    summary. ``synthetic`` is the folder of the synth stage's archives, ``collection`` the
    collection stage's table."""
    subset = params.data.subset
    if subset == "folder":
        if collection is None:
            raise ValueError("the folder subset needs the collection stage's table")
        return fetch_collection(pd.read_parquet(collection), fma_root, tracks_out)
    if subset == "synthetic":
        if synthetic is None:
            raise ValueError("the synthetic subset needs the synth stage's folder")
        source: dict[str, Any] = {"archives_extracted": 0}
        for archive in ("fma_metadata.zip", f"{audio_dir_name(subset)}.zip"):
            path = Path(synthetic) / archive
            if not path.exists():
                raise FileNotFoundError(2, f"{path} not found", str(path))
            safe_extract(path, fma_root, progress=progress)
            source["archives_extracted"] += 1
    else:
        source = {"archives_verified": 0}
        base = (
            params.data.url_base
            if params.data.url_base.endswith("/")
            else params.data.url_base + "/"
        )
        archives = (
            ("fma_metadata.zip", METADATA_MEMBERS, METADATA_REQUIRED),
            (f"{audio_dir_name(subset)}.zip", None, ()),
        )
        for archive, members, required in archives:
            path = download(
                urljoin(base, archive),
                downloads / archive,
                checksums[archive],
                progress=progress,
                retries=retries,
                backoff=backoff,
            )
            safe_extract(path, fma_root, members, required=required, progress=progress)
            source["archives_verified"] += 1
    tracks = read_tracks_csv(fma_root / "fma_metadata" / "tracks.csv")
    table, summary = build_tracks_table(tracks, subset, fma_root / audio_dir_name(subset))
    write_parquet(tracks_out, table)
    log.info(
        "%s: %d tracks of %d genres (%s); left out: %s",
        subset,
        summary["tracks"],
        summary["genres"],
        ", ".join(f"{k} {v}" for k, v in summary["per_split"].items()),
        ", ".join(f"{k} {v}" for k, v in summary["excluded"].items()),
    )
    return {**summary, **source}


NOT_USED = "NOT_USED.txt"


def fetch_collection(collection: pd.DataFrame, fma_root: Path, tracks_out: Path) -> dict[str, Any]:
    """The tracks table of the user's folder; ``fma_root`` gets a note, as nothing is fetched."""
    table, summary = tracks_from_collection(collection)
    with atomic_path(fma_root) as staged:
        staged.mkdir()
        (staged / NOT_USED).write_text(
            "data.subset is folder: the audio stays in data.folder, nothing is fetched.\n",
            encoding="utf-8",
        )
    write_parquet(tracks_out, table)
    log.info(
        "folder: %d tracks of %d genres (%s)",
        summary["tracks"],
        summary["genres"],
        ", ".join(f"{k} {v}" for k, v in summary["per_split"].items()),
    )
    return summary
