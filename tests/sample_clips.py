"""Where the real FMA clips that tests and benchmarks use are found.

Five real fma_small clips ship beside the project (``../shared/fixtures/fma_mp3``), not in it:
they are FMA's audio, not this project's. A clone may live deeper or elsewhere (a CI
checkout), so the folder is looked for above the project, or named by an environment
variable; absent, the tests that need it are skipped with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "FMAGENRE_REAL_CLIPS"
RELATIVE = Path("shared") / "fixtures" / "fma_mp3"
PROJECT = Path(__file__).resolve().parents[1]


def real_clips_folder() -> Path:
    """$FMAGENRE_REAL_CLIPS, else the nearest shared/fixtures/fma_mp3 above the project
    (the expected place, ../shared/fixtures/fma_mp3, when none is found)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    for folder in PROJECT.parents:
        if (folder / RELATIVE).is_dir():
            return folder / RELATIVE
    return PROJECT.parent / RELATIVE


def real_clips() -> list[Path]:
    """The real FMA clips (MP3), sorted; empty when the folder is absent."""
    return sorted(real_clips_folder().glob("*.mp3"))
