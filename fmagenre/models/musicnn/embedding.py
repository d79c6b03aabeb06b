"""One clip through the pretrained network: its tags and its embedding, as one fixed-size row.

A clip is cut into musicnn's 3-s patches (see ``inputs``), all of them go through the
network in one batch, and the clip is summarised by the mean over patches of the 50 tag
probabilities (what `tag` shows) and the mean and the max over patches of the 200-unit
penultimate layer (what the fifth model learns from): 450 float32 values. A patch-pooled
model (musicnn.pooling: patch) reads instead each patch's penultimate values, from the same
network pass (``patch_row``).

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


def patch_outputs(
    samples: np.ndarray, sr: int, seconds: float | None, network_path: str
) -> tuple[np.ndarray, np.ndarray]:
    """One network pass over a clip's patches: [patches x 50] tag probabilities and
    [patches x 200] penultimate values (the clip row and the patch rows both come from it)."""
    patches = clip_patches(samples, sr, seconds)
    run = network(network_path)
    tags, penultimate = [], []
    for start in range(0, len(patches), MAX_BATCH):
        out = run(patches[start : start + MAX_BATCH])
        tags.append(np.asarray(out["tags"]))
        penultimate.append(np.asarray(out["penultimate"]))
    tag_values, pen_values = np.concatenate(tags), np.concatenate(penultimate)
    if not (np.isfinite(tag_values).all() and np.isfinite(pen_values).all()):
        raise ValueError("the network gave non-finite values for this clip")
    return tag_values, pen_values


def clip_summary(tags: np.ndarray, penultimate: np.ndarray) -> np.ndarray:
    """The 450-value row of one clip: mean tag probabilities, mean and max penultimate."""
    row = np.concatenate([tags.mean(axis=0), penultimate.mean(axis=0), penultimate.max(axis=0)])
    return row.astype(np.float32)


def clip_row(samples: np.ndarray, sr: int, seconds: float | None, network_path: str) -> np.ndarray:
    """The 450-value row of one clip (see clip_summary)."""
    return clip_summary(*patch_outputs(samples, sr, seconds, network_path))


def model_row(
    samples: np.ndarray, sr: int, seconds: float | None, network_path: str, patches: int
) -> np.ndarray:
    """What a musicnn model reads from a clip: its clip row, or (``patches`` > 0, a
    patch-pooled model) its patch row."""
    tags, penultimate = patch_outputs(samples, sr, seconds, network_path)
    return patch_row(penultimate, patches) if patches else clip_summary(tags, penultimate)


def max_patches(samples: int, sr: int) -> int:
    """How many patches a clip of ``samples`` samples at ``sr`` gives at most: what
    clip_patches cuts from that much audio (so it matches it exactly, rounding included)."""
    return len(clip_patches(np.zeros(samples, np.float32), sr))


def patch_row(penultimate: np.ndarray, patches: int) -> np.ndarray:
    """A clip's penultimate rows flattened into ``patches`` x 200 float32 values, NaN after
    its own patches (a short clip has fewer), rounded to float16 as the patch store keeps
    them: the row a patch-pooled head reads, the same from the store and from a file."""
    if len(penultimate) > patches:
        raise ValueError(
            f"the clip gives {len(penultimate)} patches, more than the {patches} a row holds"
        )
    row = np.full((patches, PENULTIMATE_UNITS), np.nan, np.float32)
    row[: len(penultimate)] = penultimate.astype(np.float16)
    return row.reshape(-1)
