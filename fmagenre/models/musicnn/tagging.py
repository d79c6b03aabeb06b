"""musicnn's 50 Last.fm tags of any audio file, as a model predict's code can run.

No training needed, so the tag command and the server tag files with this even before the
pipeline has trained anything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing the model code is slow; the tag command's --help must not wait
    from fmagenre.models.loading import LoadedModel

DEFAULT_SECONDS = 30.0  # FMA's clip length; the centre of a longer file is tagged
MODEL_NAME = "musicnn MSD"


def tagger(seconds: float = DEFAULT_SECONDS) -> LoadedModel:
    """A LoadedModel whose 'classes' are musicnn's 50 tags (no classifier: the network's own
    sigmoid outputs, averaged over the clip's patches)."""
    from fmagenre.audio.clip import DecodeSettings
    from fmagenre.infra.params import AudioParams
    from fmagenre.models.loading import InputRecipe, LoadedModel
    from fmagenre.models.musicnn.network import saved_network
    from fmagenre.models.musicnn.tags import MSD_TAGS

    recipe = InputRecipe(
        "tags",
        DecodeSettings(AudioParams().sr, seconds, "center"),
        min_seconds=3.0,
        min_seconds_source="musicnn's input is 3-s patches",
        network=str(saved_network()),
    )
    return LoadedModel(MODEL_NAME, list(MSD_TAGS), recipe, model=None)
