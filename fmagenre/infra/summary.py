"""A stage's summary, split between a DVC metric (the counts worth comparing) and a report.

`dvc metrics show` lists every key of every metrics file in one table, so a stage's metric
holds only the one or two counts people compare across runs (tracks, usable tracks); the
rest (counts per status, failures, timings, sizes) goes to ``reports/<stage>.json``, which
nothing machine-dependent can turn into a `dvc metrics diff`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fmagenre.infra.atomic import write_json


def write_summary(
    metrics_dir: Path,
    reports_dir: Path,
    stage: str,
    summary: dict[str, Any],
    metrics: Iterable[str],
) -> None:
    """``reports/<stage>.json`` (all of ``summary``) and ``metrics/<stage>.json`` (its
    ``metrics`` keys)."""
    write_json(Path(reports_dir) / f"{stage}.json", summary)
    write_json(Path(metrics_dir) / f"{stage}.json", {key: summary[key] for key in metrics})
