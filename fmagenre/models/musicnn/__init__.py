"""The pretrained musicnn tagger (MSD_musicnn, Jordi Pons / MTG-UPF, ISC licence) in Keras 3.

- ``weights``: the original checkpoint, fetched from the package index once per user;
- ``network``: the Keras 3 port built from that checkpoint, saved as ``.keras``;
- ``inputs``: musicnn's input (16 kHz log-mel, 3-s patches) from the canonical audio;
- ``embedding``: one clip's tag probabilities and penultimate-layer summary;
- ``tags``: the 50 Last.fm tags the network knows.

Its stages are fmagenre.pipeline.pretrained and fmagenre.pipeline.embeddings.
"""

NETWORK_FILE = "musicnn.keras"  # the port's file name in models/pretrained and models/musicnn
