"""The CRNN: convolutions for local timbre and texture, a recurrent layer for how they unfold.

Two designs, chosen by ``model.variant``:

- ``parallel``: a convolutional branch (Conv2D-BatchNorm-ReLU-MaxPool blocks over the
  spectrogram, then global pooling) beside a recurrent branch (a bidirectional GRU over the
  frequency-pooled frames), concatenated before the softmax. The GRU sees the whole time
  resolution, the convolutions the whole frequency resolution.
- ``sequential``: the conv blocks first, then the bidirectional GRU over their output
  frames (the classic CRNN), which is cheaper because the GRU runs on pooled time.

The input is standardised inside the model (per-mel mean and deviation of the training
set), so a saved model applies to raw log-mel rows exactly what training did.
"""

from __future__ import annotations

import numpy as np

from fmagenre.infra.params import ModelParams


def build_crnn(
    crop_frames: int,
    n_mels: int,
    n_classes: int,
    params: ModelParams,
    mel_mean: np.ndarray,
    mel_std: np.ndarray,
):
    """A compiled-ready Keras functional model: [batch, crop_frames, n_mels] -> class probabilities."""
    from fmagenre.infra.native_stderr import import_keras

    keras = import_keras()
    layers = keras.layers

    regularizer = keras.regularizers.L2(params.l2) if params.l2 > 0 else None
    inputs = keras.Input(shape=(crop_frames, n_mels), name="log_mel")
    normalised = layers.Normalization(
        axis=-1, mean=mel_mean, variance=np.square(mel_std), name="standardise"
    )(inputs)
    image = layers.Reshape((crop_frames, n_mels, 1), name="as_image")(normalised)

    def conv_blocks(x, pools):
        for i, (filters, pool) in enumerate(zip(params.conv_filters, pools, strict=True)):
            x = layers.Conv2D(
                filters,
                params.kernel_size,
                padding="same",
                use_bias=False,
                kernel_regularizer=regularizer,
                name=f"conv{i + 1}",
            )(x)
            # momentum 0.9: moving statistics settle within tens of steps, which small datasets need
            x = layers.BatchNormalization(momentum=0.9, name=f"bn{i + 1}")(x)
            x = layers.ReLU(name=f"relu{i + 1}")(x)
            x = layers.MaxPooling2D(pool, padding="same", name=f"pool{i + 1}")(x)
        return x

    n_blocks = len(params.conv_filters)
    if params.variant == "parallel":
        conv = conv_blocks(image, [(2, 2)] * n_blocks)
        conv = layers.GlobalAveragePooling2D(name="conv_summary")(conv)
        # the recurrent branch: keep every other frame's detail, pool frequency by 4
        recurrent = layers.MaxPooling2D((2, 4), padding="same", name="rnn_pool")(image)
        recurrent = layers.Reshape((-1, recurrent.shape[2]), name="rnn_frames")(recurrent)
        recurrent = layers.Bidirectional(layers.GRU(params.gru_units), name="bigru")(recurrent)
        features = layers.Concatenate(name="both_branches")([conv, recurrent])
    else:
        # pool frequency harder than time, so the GRU still sees a sequence
        pools = [(2, 2)] * max(0, n_blocks - 1) + [(1, 4)] if n_blocks else []
        conv = conv_blocks(image, pools[:n_blocks])
        frames = layers.Reshape((-1, conv.shape[2] * conv.shape[3]), name="conv_frames")(conv)
        features = layers.Bidirectional(layers.GRU(params.gru_units), name="bigru")(frames)
    features = layers.Dropout(params.dropout, name="dropout")(features)
    outputs = layers.Dense(
        n_classes, activation="softmax", kernel_regularizer=regularizer, name="genre"
    )(features)
    return keras.Model(inputs, outputs, name=f"crnn_{params.variant}")
