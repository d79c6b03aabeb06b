"""Training / validation / test splits for a collection that brings none, without leaks.

An artist's tracks share a production sound; with one artist on both sides of a split, a
model is scored on how well it recognises the artist, not the genre (FMA's own split is
artist-filtered for this reason). So when the artists are known, every artist's tracks go to
one split, with the genres kept in proportion as far as the artists allow; otherwise each
genre is cut in the requested fractions. Both are seeded, so a seed gives one split.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from fmagenre.fma.facts import SPLITS
from fmagenre.infra.errors import UserError

log = logging.getLogger(__name__)

MIN_PER_GENRE = len(SPLITS)  # one track in each split


def check_genres(genres: pd.Series) -> None:
    """At least two genres, and enough tracks in each for three splits."""
    counts = genres.value_counts()
    if len(counts) < 2:
        only = f" ({counts.index[0]!r}, {int(counts.iloc[0])} tracks)" if len(counts) else ""
        raise UserError(
            f"the collection has {len(counts)} genre{only}: a genre classifier needs at least 2"
        )
    few = counts[counts < MIN_PER_GENRE].sort_values()
    if len(few):
        named = ", ".join(f"{genre!r} has {int(n)}" for genre, n in few.items())
        raise UserError(
            f"too few tracks for three splits: {named} (at least {MIN_PER_GENRE} a genre, one "
            "per split); add tracks, remove the genre, or give labels.csv a split column"
        )


def stratified_splits(genres: Sequence[str], fractions: Sequence[float], seed: int) -> np.ndarray:
    """Each genre cut in ``fractions`` (training, validation, test), at least one track each."""
    genres = pd.Series(list(genres))
    rng = np.random.default_rng(seed)
    splits = np.empty(len(genres), dtype=object)
    for genre in sorted(genres.unique()):
        members = np.flatnonzero(genres.to_numpy() == genre)
        rng.shuffle(members)
        sizes = _sizes(len(members), fractions)
        for split, part in zip(SPLITS, np.split(members, np.cumsum(sizes)[:-1]), strict=True):
            splits[part] = split
    return splits


def _sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """``n`` cut in ``fractions`` by largest remainder, each part at least 1 (n >= 3)."""
    exact = np.asarray(fractions, dtype=float) * n
    sizes = np.maximum(np.floor(exact).astype(int), 1)
    while sizes.sum() < n:
        sizes[int(np.argmax(exact - sizes))] += 1
    while sizes.sum() > n:
        sizes[int(np.argmax(np.where(sizes > 1, sizes - exact, -np.inf)))] -= 1
    return sizes.tolist()


def grouped_splits(
    genres: Sequence[str], groups: Sequence[int], fractions: Sequence[float], seed: int
) -> np.ndarray:
    """Every group (artist) in one split; each group, the largest first, goes where its
    genres are furthest below their share, so the genres stay in proportion as far as the
    groups allow."""
    frame = pd.DataFrame({"genre": list(genres), "group": list(groups)})
    names = sorted(frame["genre"].unique())
    counts = pd.crosstab(frame["group"], frame["genre"]).reindex(columns=names, fill_value=0)
    target = np.outer(np.asarray(fractions, dtype=float), counts.sum().to_numpy())
    have = np.zeros_like(target)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(counts))  # ties in size broken by the seed
    order = order[np.argsort(-counts.to_numpy().sum(axis=1)[order], kind="stable")]
    assigned = {}
    for row in order:
        tracks = counts.iloc[row].to_numpy()
        # the shortfall this group would fill in each split, relative to the split's share
        need = ((target - have) * tracks).sum(axis=1) / np.maximum(target.sum(axis=1), 1e-9)
        split = int(np.argmax(need))
        have[split] += tracks
        assigned[counts.index[row]] = SPLITS[split]
    missing = [
        f"{genre} ({', '.join(s for s, n in zip(SPLITS, have[:, g], strict=True) if n == 0)})"
        for g, genre in enumerate(names)
        if (have[:, g] == 0).any()
    ]
    if missing:
        log.warning(
            "too few artists to put every genre in every split; genre (split without it): %s",
            "; ".join(missing),
        )
    return frame["group"].map(assigned).to_numpy(dtype=object)
