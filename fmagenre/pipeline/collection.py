"""The collection stage's logic: a labelled folder of the user's own music, listed and split.

It runs on its own, before fetch, so that DVC sees the folder: the stage depends on
``data.folder`` itself (dvc.yaml), and a file added, removed or relabelled there reruns
this stage and whatever its output changes, and nothing when nothing changed. For FMA and
the synthetic data it writes the same empty table every time, so those never depend on it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fmagenre.collection.dataset import build_collection
from fmagenre.collection.table import empty_collection
from fmagenre.infra.atomic import write_parquet
from fmagenre.infra.params import Params

log = logging.getLogger(__name__)

NAME = "folder"


def collect(params: Params, out: Path, *, progress: bool = True) -> dict[str, Any]:
    """Write the collection table of ``params.data.folder`` to ``out`` (an empty table when
    data.subset is not folder); return its summary."""
    data = params.data
    if data.subset != NAME:
        write_parquet(out, empty_collection())
        return {"used": False, "subset": data.subset}
    split = data.split
    frame, summary = build_collection(
        Path(data.folder),
        (split.training, split.validation, split.test),
        params.train.seed,
        progress=progress,
    )
    write_parquet(out, frame)
    left_out = ", ".join(f"{kind} {n}" for kind, n in summary["left_out"].items()) or "nothing"
    log.info(
        "%s (%s layout): %d tracks of %d genres, split %s (%s); left out: %s",
        data.folder,
        summary["layout"],
        summary["tracks"],
        summary["genres"],
        summary["split_method"],
        ", ".join(f"{k} {v}" for k, v in summary["per_split"].items()),
        left_out,
    )
    return {"used": True, **summary}
