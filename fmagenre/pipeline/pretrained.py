"""The pretrained stage's logic: the Keras port and musicnn's licence into the project.

The port is converted once per user (``network.saved_network``); this stage copies it and
the licence into ``models/pretrained``, the DVC output the embeddings and the musicnn
model depend on.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fmagenre.infra.atomic import atomic_path, write_json
from fmagenre.models.musicnn import NETWORK_FILE, weights
from fmagenre.models.musicnn.network import PORT_VERSION, saved_network
from fmagenre.models.musicnn.tags import MSD_TAGS

CREDIT = (
    "MSD_musicnn from musicnn 0.1.0 (https://github.com/jordipons/musicnn) by Jordi Pons, "
    "Music Technology Group, Universitat Pompeu Fabra; ISC licence (LICENSE.md)"
)


def export_pretrained(out_dir: Path) -> dict[str, Any]:
    """Copy the port and the licence into ``out_dir``, with a note of what they are."""
    network = saved_network()
    checkpoint = weights.ensure_checkpoint()
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        shutil.copy2(network, tmp / NETWORK_FILE)
        shutil.copy2(checkpoint.licence, tmp / "LICENSE.md")
        write_json(
            tmp / "info.json",
            {
                "model": "MSD_musicnn",
                "credit": CREDIT,
                "source": f"{weights.WHEEL} (SHA-256 {weights.WHEEL_SHA256})",
                "port_version": PORT_VERSION,
                "tags": list(MSD_TAGS),
            },
        )
    return {
        "network_bytes": (out_dir / NETWORK_FILE).stat().st_size,
        "tags": len(MSD_TAGS),
        "cache": str(checkpoint.folder),
    }
