"""What a labelled folder holds: its audio files and their genres, in one of two layouts.

Most genre datasets ship as one sub-folder per genre (GTZAN: ``genres/blues/blues.00000.au``);
a collection with more to say (its own split, its artists) comes with a ``labels.csv``. Both
end as the same rows. Whatever else the folder holds (cover art, playlists, hidden files,
formats the decoder cannot read) is counted and named in the report, never silently dropped.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from fmagenre.fma.facts import SPLITS
from fmagenre.infra.errors import UserError

log = logging.getLogger(__name__)

LABELS_FILE = "labels.csv"
REQUIRED_COLUMNS = ("path", "genre")
OPTIONAL_COLUMNS = ("split", "artist")
# What libsndfile (the decoder) reads, by the names these formats' files usually carry.
AUDIO_SUFFIXES = frozenset(
    ".mp3 .wav .wave .flac .ogg .oga .opus .au .snd .aif .aiff .aifc .caf .w64 .rf64".split()
)
# Audio it cannot read: counted apart, so the report can say to convert them.
UNREADABLE_SUFFIXES = frozenset(".m4a .aac .mp4 .wma .ape .alac .mpc .wv .mid .midi".split())
EXAMPLES = 3  # file names shown per kind of skipped file


@dataclass
class Listing:
    """The labelled files of a folder (``rows``: path, genre, split, artist, as strings; split
    and artist empty where not given) and what was left out, by kind."""

    layout: str  # "folders" or "csv"
    rows: pd.DataFrame
    has_split: bool = False
    has_artist: bool = False
    folder: Path = Path(".")
    skipped: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def name(self, path: str) -> str:
        """A file as the report names it: relative to the folder when it is inside."""
        try:
            return Path(path).relative_to(self.folder).as_posix()
        except ValueError:
            return path

    def skip(self, kind: str, name: str) -> None:
        self.skipped[kind] += 1
        shown = self.examples.setdefault(kind, [])
        if len(shown) < EXAMPLES:
            shown.append(name)


def list_collection(folder: Path) -> Listing:
    """The labelled audio of ``folder``: its labels.csv when it has one, else one
    sub-folder per genre."""
    folder = Path(folder)
    if not folder.exists():
        raise UserError(
            f"data.folder = '{folder}': no such folder (a relative path starts at the project root)"
        )
    if not folder.is_dir():
        raise UserError(f"data.folder = '{folder}' is a file, not a folder of music")
    if (folder / LABELS_FILE).is_file():
        listing = _from_labels_csv(folder)
    else:
        listing = _from_genre_folders(folder)
    if listing.rows.empty:
        raise UserError(_nothing_found(folder, listing))
    return listing


def _nothing_found(folder: Path, listing: Listing) -> str:
    found = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in listing.skipped.items())
    if listing.layout == "csv":
        return f"{folder / LABELS_FILE} lists no usable audio file" + (
            f" (left out: {found})" if found else ""
        )
    return (
        f"{folder} holds no audio file in a genre sub-folder"
        + (f" (found: {found})" if found else " (it is empty)")
        + f": put each genre's files in a sub-folder named after it, or add a {LABELS_FILE} "
        "with columns path,genre"
    )


def _audio_kind(path: Path) -> str | None:
    """Why a file is not taken as audio, or None when it is."""
    if path.name.startswith("."):
        return "hidden_file"  # .DS_Store, macOS's ._name.mp3 companions, editors' files
    suffix = path.suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return None
    return "unreadable_format" if suffix in UNREADABLE_SUFFIXES else "not_audio"


def _walk(folder: Path) -> list[Path]:
    """Every file below ``folder``, hidden folders left out, in a stable order."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts[:-1])
    )


def _from_genre_folders(folder: Path) -> Listing:
    listing = Listing("folders", pd.DataFrame(), folder=folder)
    rows = []
    for path in _walk(folder):
        relative = path.relative_to(folder)
        kind = _audio_kind(path)
        if kind is None and len(relative.parts) < 2:
            kind = "outside_a_genre_folder"
        if kind is not None:
            listing.skip(kind, relative.as_posix())
            continue
        rows.append((str(path), relative.parts[0].strip(), "", ""))
    listing.rows = pd.DataFrame(rows, columns=["path", "genre", "split", "artist"])
    return listing


def _from_labels_csv(folder: Path) -> Listing:
    labels = folder / LABELS_FILE
    try:
        table = pd.read_csv(
            labels,
            dtype=str,
            keep_default_na=False,
            encoding="utf-8-sig",
            quoting=csv.QUOTE_MINIMAL,
        )
    except pd.errors.EmptyDataError:
        raise UserError(
            f"{labels} is empty: it needs a header line path,genre and a row per file"
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(f"{labels} is not a readable UTF-8 CSV file: {str(exc).strip()}") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    unknown = [c for c in table.columns if c not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if unknown or missing:
        problem = "; ".join(
            [f"no column {', '.join(repr(c) for c in missing)}"] * bool(missing)
            + [f"unknown column(s) {', '.join(repr(c) for c in unknown)}"] * bool(unknown)
        )
        raise UserError(
            f"{labels}: {problem}; its columns are path and genre, optionally split "
            f"({' / '.join(SPLITS)}) and artist"
        )
    table = table.apply(lambda column: column.str.strip())
    listing = Listing("csv", pd.DataFrame(), "split" in table, "artist" in table, folder=folder)
    for column in OPTIONAL_COLUMNS:
        if column not in table:
            table[column] = ""
    _check_cells(labels, table, listing.has_split)
    rows, seen = [], {}
    for line, row in zip(range(2, len(table) + 2), table.itertuples(index=False), strict=True):
        given = Path(row.path)
        path = given if given.is_absolute() else folder / given
        key = str(path.resolve())
        if key in seen:
            first_line, first_genre = seen[key]
            if first_genre != row.genre:
                raise UserError(
                    f"{labels}: lines {first_line} and {line} give {row.path!r} two genres "
                    f"({first_genre!r} and {row.genre!r}); give each file one"
                )
            listing.skip("listed_twice", row.path)
            continue
        seen[key] = (line, row.genre)
        if row.genre == "":
            listing.skip("no_genre", row.path)
        elif not path.is_file():
            listing.skip("missing_file", row.path)
        elif _audio_kind(path) not in (None, "hidden_file"):
            listing.skip(_audio_kind(path) or "not_audio", row.path)
        else:
            rows.append((str(path), row.genre, row.split.lower(), row.artist))
    listing.rows = pd.DataFrame(rows, columns=["path", "genre", "split", "artist"])
    if listing.skipped["missing_file"]:
        log.warning(
            "%s: %d listed file(s) do not exist, e.g. %s (paths are relative to the folder)",
            labels,
            listing.skipped["missing_file"],
            ", ".join(listing.examples["missing_file"]),
        )
    return listing


def _check_cells(labels: Path, table: pd.DataFrame, has_split: bool) -> None:
    """Cells that make the whole file ambiguous stop the stage, naming the line."""
    empty = table.index[table["path"] == ""]
    if len(empty):
        raise UserError(f"{labels}, line {int(empty[0]) + 2}: the path is empty")
    if has_split:
        split = table["split"].str.lower()
        bad = table.index[~split.isin(SPLITS)]
        if len(bad):
            line, value = int(bad[0]) + 2, table.loc[bad[0], "split"]
            raise UserError(
                f"{labels}, line {line}: split {value!r} is not one of {', '.join(SPLITS)} "
                f"({len(bad)} such line(s); drop the column to have the splits made for you)"
            )


def content_digest(path: Path, block: int = 1 << 20) -> str:
    """SHA-1 of a file's bytes: two names for one recording are one track."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def drop_duplicates(listing: Listing, *, progress: bool = True) -> pd.DataFrame:
    """The listing's rows with their content hash and size, each recording once.

    Copies with one genre are kept once, under the first name in path order, the others
    counted as duplicates. Copies labelled with different genres are all left out and
    counted apart: which label is right cannot be known, and a wrong one would be trained on
    or scored. Empty files are all kept: each is an unreadable track for decode to count.
    """
    rows = listing.rows.sort_values("path", ignore_index=True)
    paths = tqdm(rows["path"], desc="hashing", unit="file", disable=not progress, leave=False)
    rows["bytes"] = [Path(p).stat().st_size for p in rows["path"]]
    rows["sha1"] = [content_digest(Path(p)) for p in paths]
    content = rows["bytes"] > 0
    genres = rows[content].groupby("sha1")["genre"].nunique()
    conflicting = content & rows["sha1"].isin(genres.index[genres > 1])
    repeated = content & ~conflicting & rows["sha1"].duplicated()
    first = rows[~repeated & ~conflicting].drop_duplicates("sha1").set_index("sha1")["path"]
    for path, sha1 in rows.loc[repeated, ["path", "sha1"]].itertuples(index=False):
        listing.skip("duplicate_content", f"{listing.name(path)} (= {listing.name(first[sha1])})")
    for path, genre in rows.loc[conflicting, ["path", "genre"]].itertuples(index=False):
        listing.skip("duplicate_with_other_genres", f"{listing.name(path)} ({genre})")
    if conflicting.any():
        log.warning(
            "%d file(s) are copies of one recording labelled with different genres, e.g. %s: "
            "all left out (reports/collection.json lists them)",
            int(conflicting.sum()),
            ", ".join(listing.examples["duplicate_with_other_genres"][:2]),
        )
    return rows[~repeated & ~conflicting].reset_index(drop=True)
