"""The leaderboard's interval of test accuracy: a bootstrap over the test tracks, from the
confusion counts alone."""

from __future__ import annotations

import numpy as np

from fmagenre.models.intervals import accuracy_interval


def confusion(right: int, wrong: int) -> list[list[int]]:
    return [[right, wrong], [0, 0]]


def test_it_holds_the_accuracy_and_narrows_with_more_tracks():
    small = accuracy_interval(confusion(35, 14))  # the demo's 49 test tracks, 0.714
    large = accuracy_interval(confusion(571, 229))  # fma_small's 800, the same rate
    for low, high in (small, large):
        assert 0.0 <= low < 0.714 < high <= 1.0
    assert (small[1] - small[0]) > 3 * (large[1] - large[0])
    assert accuracy_interval(confusion(35, 14)) == small  # seeded


def test_it_is_the_bootstrap_of_resampled_tracks():
    """Resampling the tracks themselves gives the same interval as the binomial shortcut."""
    correct = np.array([1] * 35 + [0] * 14)
    rng = np.random.default_rng(1)
    means = rng.choice(correct, size=(20_000, correct.size), replace=True).mean(axis=1)
    explicit = np.percentile(means, [2.5, 97.5])
    low, high = accuracy_interval(confusion(35, 14))
    assert abs(low - explicit[0]) <= 0.021 and abs(high - explicit[1]) <= 0.021  # one track


def test_all_right_all_wrong_and_no_tracks():
    assert accuracy_interval(confusion(20, 0)) == (1.0, 1.0)
    assert accuracy_interval(confusion(0, 20)) == (0.0, 0.0)
    assert accuracy_interval(confusion(0, 0)) is None
