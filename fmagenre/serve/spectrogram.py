"""The log-mel spectrogram of an uploaded file as a PNG, drawn in a worker process.

It shows the audio the model heard: the clip decoded as the model's recipe decodes it, and
the CRNN's own log-mel settings when that model is chosen (the project's defaults otherwise).
"""

from __future__ import annotations

import io

from fmagenre.audio.clip import DecodeItem, decode_clip
from fmagenre.audio.melspec import LogMelSettings, log_mel
from fmagenre.infra.params import SpectrogramParams
from fmagenre.models.loading import InputRecipe


def settings_for(recipe: InputRecipe) -> LogMelSettings:
    if recipe.spectrogram is not None:
        return LogMelSettings(**recipe.spectrogram)
    spec, sr = SpectrogramParams(), recipe.audio.sr
    fmax = spec.fmax if spec.fmax is not None else sr / 2
    return LogMelSettings(
        sr, spec.n_fft, spec.hop_length, spec.n_mels, spec.fmin, float(fmax), spec.db_floor
    )


def spectrogram_png(path: str, recipe: InputRecipe) -> bytes | None:
    """The picture, or None when the file holds no audio to draw."""
    _, clip = decode_clip(DecodeItem(0, path), recipe.audio)
    if clip is None or not len(clip.samples):
        return None
    settings = settings_for(recipe)
    image = log_mel(clip.samples, settings)  # (frames, n_mels)

    from fmagenre.infra.figures import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 2.2), dpi=100)
    seconds = len(clip.samples) / settings.sr
    ax.imshow(
        image.T,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(0.0, seconds, 0, settings.n_mels),
    )
    ax.set_xlabel("seconds")
    ax.set_ylabel("mel band")
    fig.tight_layout(pad=0.3)
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()
