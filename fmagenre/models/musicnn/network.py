"""MSD_musicnn as a Keras 3 model, built from the original checkpoint's variables by name.

The architecture is musicnn's ``build_musicnn`` (models.py of musicnn 0.1.0) at inference:

- input: a [187 frames x 96 mels] log-mel patch, batch-normalised (learnt statistics);
- front end, musically motivated: two *timbral* convolutions spanning 7 frames and 38 or 67
  mel bands (40 % and 70 % of 96), 204 filters each, and three *temporal* convolutions
  spanning 128, 64 and 32 frames of one band, 51 filters each; each is ReLU, batch norm,
  then a max over frequency, giving 561 channels per frame;
- mid end: three dense 1-D convolutions over time (64 filters, 7 frames, zero-padded 3+3),
  each ReLU then batch norm, the 2nd and 3rd with residual connections; the front end's
  output and the three are concatenated (753 channels per frame);
- back end: max and mean over time, interleaved as musicnn flattens them (1,506 values),
  batch norm, a 200-unit ReLU layer and batch norm (the *penultimate* layer, musicnn's
  embedding), then 50 sigmoid outputs, one per tag.

The checkpoint's TF1 layers are named in creation order (``conv2d_5``,
``batch_normalization_6``, ...); ``CHECKPOINT_NAMES`` maps each Keras layer to its source, so
a mismatch in any shape fails loudly rather than producing a silently wrong network.
Dropout is a no-op at inference and is left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from fmagenre.models.musicnn.inputs import N_MELS, PATCH_FRAMES
from fmagenre.models.musicnn.tags import MSD_TAGS

TIMBRAL = {"timbral_74": 38, "timbral_77": 67}  # mel bands spanned: int(0.4 * 96), int(0.7 * 96)
TEMPORAL = {"temporal_128": 128, "temporal_64": 64, "temporal_32": 32}  # frames spanned
FRONT_FILTERS = {"timbral": 204, "temporal": 51}  # int(1.6 * 128), int(1.6 * 32)
MID_FILTERS = 64
MID_KERNEL = 7
PENULTIMATE_UNITS = 200
BN_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default

# Keras layer -> TF1 layer of the checkpoint (creation order in musicnn's models.py)
CHECKPOINT_NAMES = {
    "input_bn": "batch_normalization",
    "timbral_74_conv": "conv2d",
    "timbral_74_bn": "batch_normalization_1",
    "timbral_77_conv": "conv2d_1",
    "timbral_77_bn": "batch_normalization_2",
    "temporal_128_conv": "conv2d_2",
    "temporal_128_bn": "batch_normalization_3",
    "temporal_64_conv": "conv2d_3",
    "temporal_64_bn": "batch_normalization_4",
    "temporal_32_conv": "conv2d_4",
    "temporal_32_bn": "batch_normalization_5",
    "mid_1_conv": "conv2d_5",
    "mid_1_bn": "batch_normalization_6",
    "mid_2_conv": "conv2d_6",
    "mid_2_bn": "batch_normalization_7",
    "mid_3_conv": "conv2d_7",
    "mid_3_bn": "batch_normalization_8",
    "pool_bn": "batch_normalization_9",
    "penultimate_dense": "dense",
    "penultimate_bn": "batch_normalization_10",
    "tags_dense": "dense_1",
}
OUTPUTS = ("tags", "penultimate")


def build() -> Any:
    """The MSD_musicnn graph with untrained weights: outputs ``tags`` (50) and ``penultimate`` (200)."""
    from fmagenre.infra.native_stderr import import_keras

    keras = import_keras()
    layers = keras.layers

    def batch_norm(name: str) -> Any:
        return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)

    patch = keras.Input((PATCH_FRAMES, N_MELS), name="log_mel")
    image = layers.Reshape((PATCH_FRAMES, N_MELS, 1), name="as_image")(patch)
    normalised = batch_norm("input_bn")(image)
    padded = layers.ZeroPadding2D(((3, 3), (0, 0)), name="time_pad")(normalised)

    def front_block(source: Any, name: str, kernel: tuple[int, int], padding: str) -> Any:
        filters = FRONT_FILTERS[name.split("_")[0]]
        x = layers.Conv2D(filters, kernel, padding=padding, activation="relu", name=f"{name}_conv")(
            source
        )
        x = batch_norm(f"{name}_bn")(x)
        bands = int(x.shape[2])
        x = layers.MaxPooling2D((1, bands), name=f"{name}_max_over_mels")(x)
        return layers.Reshape((PATCH_FRAMES, filters), name=f"{name}_squeeze")(x)

    front = [front_block(padded, name, (7, bands), "valid") for name, bands in TIMBRAL.items()]
    front += [
        front_block(normalised, name, (frames, 1), "same") for name, frames in TEMPORAL.items()
    ]
    front_end = layers.Concatenate(axis=-1, name="front_end")(front)

    def mid_block(source: Any, index: int) -> Any:
        x = layers.ZeroPadding1D(MID_KERNEL // 2, name=f"mid_{index}_pad")(source)
        x = layers.Conv1D(MID_FILTERS, MID_KERNEL, activation="relu", name=f"mid_{index}_conv")(x)
        return batch_norm(f"mid_{index}_bn")(x)

    mid_1 = mid_block(front_end, 1)
    mid_2 = layers.Add(name="mid_2_residual")([mid_block(mid_1, 2), mid_1])
    mid_3 = layers.Add(name="mid_3_residual")([mid_block(mid_2, 3), mid_2])
    mid_end = layers.Concatenate(axis=-1, name="mid_end")([front_end, mid_1, mid_2, mid_3])

    channels = int(mid_end.shape[-1])
    pooled_max = layers.GlobalMaxPooling1D(name="max_over_time")(mid_end)
    pooled_mean = layers.GlobalAveragePooling1D(name="mean_over_time")(mid_end)
    # musicnn concatenates [channels, 2] and flattens: max and mean of a channel side by side
    pair = (
        layers.Reshape((channels, 1), name="max_column")(pooled_max),
        layers.Reshape((channels, 1), name="mean_column")(pooled_mean),
    )
    pooled = layers.Flatten(name="pooled")(layers.Concatenate(axis=-1, name="max_mean")(list(pair)))
    x = batch_norm("pool_bn")(pooled)
    x = layers.Dense(PENULTIMATE_UNITS, activation="relu", name="penultimate_dense")(x)
    penultimate = batch_norm("penultimate_bn")(x)
    logits = layers.Dense(len(MSD_TAGS), name="tags_dense")(penultimate)
    tags = layers.Activation("sigmoid", name="tags")(logits)
    penultimate = layers.Identity(name="penultimate")(penultimate)
    return keras.Model(patch, {"tags": tags, "penultimate": penultimate}, name="msd_musicnn")


def checkpoint_weights(prefix: Path | str) -> dict[str, list[np.ndarray]]:
    """Each Keras layer's weights, in Keras order, read by name from the TF1 checkpoint."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    weights: dict[str, list[np.ndarray]] = {}
    for layer, source in CHECKPOINT_NAMES.items():
        if source.startswith("batch_normalization"):
            names = ("gamma", "beta", "moving_mean", "moving_variance")
        else:
            names = ("kernel", "bias")
        weights[layer] = [reader.get_tensor(f"{source}/{name}") for name in names]
    return weights


def from_checkpoint(prefix: Path | str) -> Any:
    """The Keras port with the original weights loaded (shapes checked layer by layer)."""
    model = build()
    for layer_name, values in checkpoint_weights(prefix).items():
        layer = model.get_layer(layer_name)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if layer_name.startswith("mid_") and layer_name.endswith("_conv"):
            # a TF1 Conv2D spanning every channel as its width: [7, C, 1, 64] is Conv1D's [7, C, 64]
            values = [values[0].reshape(expected[0]), values[1]]
        found = [tuple(v.shape) for v in values]
        if found != expected:
            raise ValueError(
                f"checkpoint layer {CHECKPOINT_NAMES[layer_name]} has shapes {found}, "
                f"the port's {layer_name} needs {expected}"
            )
        layer.set_weights(values)
    return model


PORT_VERSION = 1  # bump when build() changes: the cached .keras of an older port is rebuilt
SAVED_NAME = f"msd_musicnn-keras3-v{PORT_VERSION}.keras"


def saved_network() -> Path:
    """The Keras port saved as ``.keras`` in the user cache, converted once from the checkpoint.

    This is what `tag` loads right after install and what the pretrained stage copies.
    """
    from fmagenre.models.musicnn.weights import cache_lock, ensure_checkpoint

    checkpoint = ensure_checkpoint()
    path = checkpoint.folder / SAVED_NAME
    if path.exists():
        return path
    with cache_lock("keras"):
        if not path.exists():
            save(from_checkpoint(checkpoint.prefix), path)
    return path


def save(model: Any, path: Path) -> None:
    """Write ``model`` to ``path`` atomically (Keras insists on the .keras suffix)."""
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".save-", dir=path.parent) as tmp:
        staged = Path(tmp) / path.name
        model.save(staged)
        os.replace(staged, path)


def load(path: Path | str) -> Any:
    """The saved port (standard Keras layers only: loads in safe mode, no custom objects)."""
    from fmagenre.infra.native_stderr import import_keras

    return import_keras().models.load_model(path, compile=False, safe_mode=True)
