"""One run at a time per work folder: a lock file that names the process holding it.

Two runs of one stage would share ``data/.work/<stage>``: the second empties or resumes what
the first is still writing, and both fail in confusing ways (a shard "not found" half-way).
DVC's own lock does not help when the first run was orphaned by a killed ``dvc``.

The lock is ``flock`` on a small file holding the holder's pid. The kernel releases it when
the holder exits, however it dies, so a stale lock of a dead process is simply taken over;
the pid written inside only serves the message that names who holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from fmagenre.infra.errors import UserError


@contextlib.contextmanager
def run_lock(path: Path | str, what: str) -> Iterator[None]:
    """Hold the lock at ``path`` for the body; raise UserError at once when another process has it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            raise UserError(
                f"{what} is already running{holder} (lock {path}); wait for it to finish or stop "
                "it, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock; the file stays, harmless and reused


def _holder(fd: int) -> str:
    text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    return f" as process {text}" if text.isdigit() else ""
