"""``python -m fmagenre warmup``: compile and cache librosa's numba code once, in one process,
and fetch the pretrained musicnn network into the user cache.

librosa compiles parts of itself with numba on first use and caches the machine code next
to its sources. Several fresh processes writing that cache at once can corrupt it (later
processes then crash with a segmentation fault), so `make install` runs this once, and on a
Dask cluster each worker machine should too. The pipeline's own process pools start with a
single worker for the same reason.
"""

from __future__ import annotations

import argparse
import time


def configure(parser: argparse.ArgumentParser) -> None:
    del parser  # no options


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from fmagenre.audio.melspec import LogMelSettings, log_mel
    from fmagenre.features.compute import compute_features
    from fmagenre.features.reference import reference_features

    began = time.perf_counter()
    for sr in (22050, 44100):  # the decoded rate and FMA's usual native rate
        y = (0.1 * np.random.default_rng(0).standard_normal(sr * 2)).astype(np.float32)
        compute_features(y, sr)
        reference_features(y, sr)
    log_mel(y, LogMelSettings(22050, 2048, 512, 128, 0.0, 11025.0, -80.0))
    print(f"numba code compiled and cached in {time.perf_counter() - began:.1f} s")
    # the pretrained musicnn network, so that `tag` works offline right after install
    from fmagenre.infra.errors import UserError
    from fmagenre.models.musicnn.network import saved_network

    try:
        print(f"pretrained musicnn network ready: {saved_network()}")
    except UserError as exc:
        print(f"note: {exc}; `tag` and the pretrained stage will try again")
    return 0
