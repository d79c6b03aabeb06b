"""One clip through the pretrained network: its tags and its embedding, as one fixed-size row.

A clip is cut into musicnn's 3-s patches (see ``inputs``), all of them go through the
network in one batch, and the clip is summarised by the mean over patches of the 50 tag
probabilities (what `tag` shows) and the mean and the max over patches of the 200-unit
penultimate layer (what the fifth model learns from): 450 float32 values.

Each process loads the network once and runs TensorFlow on one thread: the map over tracks
already runs one process per core, and more threads per process would only fight for them.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from fmagenre.models.musicnn.inputs import N_MELS, PATCH_FRAMES, clip_patches
from fmagenre.models.musicnn.network import PENULTIMATE_UNITS
from fmagenre.models.musicnn.tags import MSD_TAGS

TAG_COLUMNS = [f"tag.{tag}" for tag in MSD_TAGS]
COLUMNS = (
    TAG_COLUMNS
    + [f"penultimate_mean.{i:03d}" for i in range(PENULTIMATE_UNITS)]
    + [f"penultimate_max.{i:03d}" for i in range(PENULTIMATE_UNITS)]
)
TAGS = slice(0, len(MSD_TAGS))  # where the tag probabilities sit in a row
MAX_BATCH = 64  # patches per network call (21 s of audio): bounds memory for long files

_networks: dict[str, tuple[int, Any]] = {}
_lock = threading.Lock()


def network(path: Path | str) -> Any:
    """The saved network at ``path`` as a traced function of a patch batch, loaded once per
    process (again if the file changed). Traced once for any batch size: a quarter faster
    than calling the Keras model eagerly."""
    key = os.path.abspath(path)
    stamp = os.stat(key).st_mtime_ns
    with _lock:
        cached = _networks.get(key)
        if cached is None or cached[0] != stamp:
            single_thread_tensorflow()
            import tensorflow as tf

            from fmagenre.models.musicnn.network import load

            model = load(key)
            spec = tf.TensorSpec([None, PATCH_FRAMES, N_MELS], tf.float32)
            _networks[key] = (
                stamp,
                tf.function(lambda batch: model(batch, training=False), input_signature=[spec]),
            )
        return _networks[key][1]


def single_thread_tensorflow() -> None:
    """One TensorFlow thread in this process (possible only before TensorFlow starts up)."""
    from fmagenre.infra.native_stderr import import_keras

    import_keras()
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already running (e.g. another model was used in this process): keep its threads


def clip_row(samples: np.ndarray, sr: int, seconds: float | None, network_path: str) -> np.ndarray:
    """The 450-value row of one clip: mean tag probabilities, mean and max penultimate."""
    patches = clip_patches(samples, sr, seconds)
    run = network(network_path)
    tags, penultimate = [], []
    for start in range(0, len(patches), MAX_BATCH):
        out = run(patches[start : start + MAX_BATCH])
        tags.append(np.asarray(out["tags"]))
        penultimate.append(np.asarray(out["penultimate"]))
    tag_values = np.concatenate(tags)
    pen_values = np.concatenate(penultimate)
    row = np.concatenate([tag_values.mean(axis=0), pen_values.mean(axis=0), pen_values.max(axis=0)])
    if not np.isfinite(row).all():
        raise ValueError("the network gave non-finite values for this clip")
    return row.astype(np.float32)
