"""Figures as PNG files: matplotlib without a display (the Agg backend), written atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fmagenre.infra.atomic import atomic_path


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (imported on first use: it is slow to import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Any, path: Path) -> None:
    """Write ``fig`` to ``path`` as a PNG (100 dpi, tight box) and free it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight")
    pyplot().close(fig)
