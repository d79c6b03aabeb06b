"""How far a test accuracy can be trusted: a bootstrap interval over the test tracks.

With 49 test tracks one track is 2 points of accuracy, and two models a point apart on 800
tracks may not differ either; the leaderboard shows the interval beside the figure so that
nobody reads a tie as a ranking. The bootstrap resamples the test tracks with replacement.
For accuracy only whether each track was right matters, so a resample's count of right
tracks is binomial with the observed rate: the confusion counts are enough, no per-track
file is read. Seeded, so the same counts always give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DRAWS = 10_000
SEED = 0


def accuracy_interval(
    confusion: Sequence[Sequence[int]], *, level: float = 0.95, draws: int = DRAWS
) -> tuple[float, float] | None:
    """The percentile bootstrap interval of accuracy; None for a split with no track."""
    counts = np.asarray(confusion, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return None
    right = int(np.trace(counts))
    resampled = np.random.default_rng(SEED).binomial(total, right / total, size=draws) / total
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(resampled, [tail, 100 - tail])
    return round(float(low), 4), round(float(high), 4)
