"""train_musicnn: a light classifier on the pretrained musicnn embeddings (see fmagenre.classic)."""

from fmagenre import paths
from fmagenre.classic_stage import train_stage
from fmagenre.musicnn.stage import NETWORK_FILE
from fmagenre.stage import run_stage

if __name__ == "__main__":
    run_stage(
        "train_musicnn",
        lambda params: train_stage(
            "musicnn",
            params,
            table=paths.EMBEDDINGS,
            # predict embeds a new file with this network: the model folder is self-contained
            bundled={NETWORK_FILE: paths.PRETRAINED / NETWORK_FILE},
        ),
    )
