"""Processes that die with the process they work for, whatever kills it.

A pool worker holds 300+ MB and the stores open; when the stage or predict that started it
is killed (SIGKILL from the OOM killer, a closed terminal, ``kill -9``), nothing runs in
the dead process to stop its workers, and they would live on with parent 1, forever. So
each worker watches its owner itself:

- Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG)``) kills it the instant its
  direct parent exits, when that parent is the owner;
- a daemon thread checks every half second that the owner (pid and start time, so a
  reused pid does not fool it) is still alive, and kills this process when it is not.
  It covers what the kernel signal cannot: an owner that is a grandparent (pool workers
  are forked by multiprocessing's forkserver, not by the stage), and systems without prctl.

A DVC stage follows ``dvc`` the same way (``follow_dvc``): a stage whose ``dvc`` is gone
writes outputs nobody will record, and would race the next ``dvc repro``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import threading
import time

import psutil

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
CHECK_SECONDS = 0.5


def parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask the kernel to send ``sig`` to this process when its parent exits (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def owner_token(pid: int | None = None) -> tuple[int, float]:
    """(pid, start time) of a process: what a worker needs to recognise its owner."""
    process = psutil.Process(pid or os.getpid())
    return process.pid, process.create_time()


def is_alive(token: tuple[int, float]) -> bool:
    """True while the process of ``token`` runs (a zombie, or a new process reusing the pid,
    is not it)."""
    pid, started = token
    try:
        process = psutil.Process(pid)
        return process.create_time() == started and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def die_with(token: tuple[int, float], sig: int = signal.SIGKILL) -> None:
    """End this process with ``sig`` as soon as the owner of ``token`` is gone."""
    if os.getppid() == token[0]:
        parent_death_signal(sig)
    if not is_alive(token):  # the owner died before the signal was armed
        os.kill(os.getpid(), sig)
    watcher = threading.Thread(
        target=_watch, args=(token, sig), name="fmagenre-die-with-owner", daemon=True
    )
    watcher.start()


def _watch(token: tuple[int, float], sig: int) -> None:
    while is_alive(token):
        time.sleep(CHECK_SECONDS)
    os.kill(os.getpid(), sig)


def follow_dvc() -> None:
    """In a stage run by ``dvc repro``: end with SIGTERM when that dvc process ends.

    Only under DVC (it sets DVC_STAGE): a stage started by hand, say under nohup, must not
    die with the shell that started it.
    """
    if os.environ.get("DVC_STAGE"):
        die_with(owner_token(os.getppid()), signal.SIGTERM)
