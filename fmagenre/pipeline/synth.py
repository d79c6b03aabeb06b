"""The synth stage's logic: the synthetic dataset as FMA ships its own, two zip archives.

fetch extracts them exactly as it extracts FMA's downloads. The stage exists on its own so
that a real subset never depends on the synthetic dataset: for one, it writes only a fixed
note, so editing ``synth.*`` reruns this stage (instantly) and changes nothing downstream.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from fmagenre.infra.atomic import atomic_path
from fmagenre.infra.params import Params
from fmagenre.synth.dataset import generate_dataset, pack_archives

log = logging.getLogger(__name__)

NAME = "synthetic"
NOT_USED = "NOT_USED.txt"


def write_archives(params: Params, out_dir: Path, *, progress: bool = True) -> dict[str, Any]:
    """Replace ``out_dir`` with fma_metadata.zip and fma_synthetic.zip (or, for a real
    subset, the note saying nothing is generated); return a summary."""
    out_dir = Path(out_dir)
    with atomic_path(out_dir) as staged:
        staged.mkdir()
        if params.data.subset != NAME:
            (staged / NOT_USED).write_text(
                "data.subset is not synthetic: no synthetic dataset is generated.\n",
                encoding="utf-8",
            )
            return {"generated": False}
        synth = params.synth
        with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".synth-") as tree:
            summary = generate_dataset(
                Path(tree),
                name=NAME,
                tracks_per_genre=synth.tracks_per_genre,
                clip_seconds=synth.clip_seconds,
                seed=synth.seed,
                faults=synth.faults,
                workers=params.compute.worker_count,
                progress=progress,
            )
            checksums = pack_archives(Path(tree), staged, NAME)
    faults = ", ".join(f"{kind} {tid}" for tid, kind in sorted(summary.faults.items()))
    log.info("synthetic faults (listed in fma_metadata/synthetic_faults.csv): %s", faults or "none")
    return {
        "generated": True,
        "tracks": summary.n_tracks,
        "injected_faults": len(summary.faults),
        "archives_sha1": checksums,
    }
