"""Free disk space, checked before the pipeline's large writes.

Archives, their extraction and the row stores reach hundreds of GB on fma_large. A disk
that fills half-way shows up late and badly (a SIGBUS in a memory-mapped write, a
truncated file), so each large write asks first and stops with what is needed and free. A
disk that fills later anyway (another process writing) ends the stage with one line too.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from fmagenre.infra.errors import UserError


def require_free_space(target: Path, needed: int, purpose: str, note: str = "") -> None:
    """Raise UserError unless the disk holding ``target`` (or its nearest existing parent)
    has ``needed`` bytes free."""
    folder = Path(target)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise UserError(
            f"not enough disk space in {folder} {purpose}: it needs {needed / 2**30:.2f} GiB, "
            f"{free / 2**30:.2f} GiB are free{note}"
        )


def is_disk_full(exc: BaseException) -> bool:
    """True for the write errors of a full disk or an exhausted quota."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def disk_full_message(exc: OSError) -> str:
    where = f" writing {exc.filename}" if exc.filename else ""
    return f"the disk is full ({exc.strerror or 'no space left on device'}{where})"
