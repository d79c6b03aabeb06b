"""Fault injection: killed processes, a second run, a disk that fills up.

Each test makes the fault really happen (SIGKILL, a real tmpfs that fills, a real second
process holding the lock) and checks what the user gets: no process left behind, one line,
the work kept.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from conftest import fill_disk

from fmagenre.infra.errors import UserError
from fmagenre.infra.runlock import run_lock
from fmagenre.infra.stage import run_stage
from fmagenre.infra.store import RowStore

PROJECT = Path(__file__).resolve().parents[1]


def _python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=kwargs.pop("cwd", PROJECT),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _wait_for_descendants(process: psutil.Process, count: int, timeout: float = 120) -> list:
    deadline = time.monotonic() + timeout
    seen: dict[int, psutil.Process] = {}
    while time.monotonic() < deadline:
        for child in process.children(recursive=True):
            seen.setdefault(child.pid, child)
        if len(seen) >= count:
            return list(seen.values())
        time.sleep(0.1)
    raise AssertionError(f"only {len(seen)} descendants of {process.pid} appeared")


def _survivors(processes: list, within: float) -> list:
    deadline = time.monotonic() + within
    while True:
        alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            for p in alive:  # never leave them behind, even when the test fails
                p.kill()
            return alive
        time.sleep(0.2)


# --------------------------------------------------------------------------------------
# Orphans
# --------------------------------------------------------------------------------------

SLOW_MAP = """
    import functools, time
    from pathlib import Path
    from fmagenre.infra.params import ComputeParams
    from fmagenre.infra.journal import Journal
    from fmagenre.infra.trackmap import TrackOutput, map_tracks

    def slow(item):
        time.sleep(60)
        return TrackOutput({{"item": item}})

    if __name__ == "__main__":
        {before}
        journal = Journal.open(Path({work!r}), {{"test": 1}})
        map_tracks(slow, list(range(8)), compute=ComputeParams(workers=2, chunk_size=1),
                   journal=journal, progress=False)
"""


@pytest.mark.slow
def test_sigkill_of_the_driver_leaves_no_worker_forkserver_or_tracker(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(SLOW_MAP.format(work=str(tmp_path / "work"), before="")))
    driver = subprocess.Popen([sys.executable, str(script)], cwd=PROJECT)
    # the resource tracker, the forkserver and a worker (the first chunk runs alone)
    descendants = _wait_for_descendants(psutil.Process(driver.pid), 3)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    assert _survivors(descendants, within=5) == []


@pytest.mark.slow
def test_a_stage_ends_when_its_dvc_is_killed(tmp_path):
    """follow_dvc: the stage (and so its workers) ends with the dvc that ran it."""
    env = {**os.environ, "DVC_STAGE": "decode"}
    # the stage script exists before the stand-in for dvc starts it (a loaded machine can
    # start the child before this process writes the file)
    (tmp_path / "stage.py").write_text(
        textwrap.dedent(
            SLOW_MAP.format(
                work=str(tmp_path / "work"),
                before="from fmagenre.infra.lifetime import follow_dvc; follow_dvc()",
            )
        )
    )
    # a stand-in for dvc: starts the 'stage', which starts a pool, then is SIGKILLed
    parent = _python(
        f"""
        import subprocess, sys, time
        stage = subprocess.Popen([sys.executable, {str(tmp_path / "stage.py")!r}])
        print(stage.pid, flush=True)
        time.sleep(600)
        """,
        env=env,
    )
    stage_pid = int(parent.stdout.readline())
    stage = psutil.Process(stage_pid)
    workers = _wait_for_descendants(stage, 3)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert _survivors([stage, *workers], within=5) == []


# --------------------------------------------------------------------------------------
# One run at a time
# --------------------------------------------------------------------------------------

HOLD = """
    import sys, time
    from fmagenre.infra.runlock import run_lock
    with run_lock(sys.argv[1], "the test stage"):
        print("held", flush=True)
        time.sleep(600)
"""


def test_a_held_lock_stops_a_second_run_with_the_holders_pid(tmp_path):
    lock = tmp_path / "work" / "decode.lock"
    holder = _python(HOLD, str(lock))
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UserError, match=rf"already running as process {holder.pid} "):
            with run_lock(lock, "the decode stage"):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path):
    lock = tmp_path / "decode.lock"
    holder = _python(HOLD, str(lock))
    assert holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert lock.read_text().strip() == str(holder.pid)  # the dead run's pid is still written
    with run_lock(lock, "the decode stage"):
        assert lock.read_text().strip() == str(os.getpid())


# --------------------------------------------------------------------------------------
# A disk that fills up after the free-space check
# --------------------------------------------------------------------------------------


STORE_ON_FULL_DISK = """
    import errno, sys
    from pathlib import Path
    import numpy as np
    from fmagenre.infra.store import RowStore
    disk = Path(sys.argv[1])
    store = RowStore.create(disk / "store", 3, (262144,), "int16", 2)  # 1.5 MiB, sparse
    with open(disk / "filler", "wb") as handle:  # the disk fills after the check
        try:
            while True:
                handle.write(b"x" * 65536); handle.flush()
        except OSError:
            pass
    try:
        store.write(0, np.ones((3, 262144), dtype="int16"))
        store.flush()
    except OSError as exc:
        print(errno.errorcode[exc.errno], exc.filename)
"""


def test_a_store_write_on_a_full_disk_is_an_error_not_sigbus(small_disk):
    # in a child process: a memory-mapped write would kill it with SIGBUS (exit -7)
    child = _python(STORE_ON_FULL_DISK, str(small_disk))
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    code, filename = out.split()
    assert code == "ENOSPC"
    assert filename.startswith(str(small_disk / "store" / "shard-"))


def test_a_stage_on_a_full_disk_ends_in_one_line(small_disk, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(small_disk)
    (small_disk / "params.yaml").write_text((PROJECT / "params.yaml").read_text())
    store = RowStore.create(small_disk / "store", 3, (262144,), "int16", 2)
    rows = np.ones((3, 262144), dtype="int16")

    def body(params):
        fill_disk(small_disk)
        store.write(0, rows)
        store.flush()

    with pytest.raises(SystemExit) as stop:
        run_stage("decode", body)
    assert stop.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("[decode] error: the disk is full (No space left on device writing ")
    assert "finished work is kept" in lines[0]


@pytest.mark.e2e
def test_killing_dvc_ends_its_stage_and_an_immediate_rerun_resumes(tmp_path):
    from dvc_project import TINY_PARAMS, DvcProject

    project = DvcProject.copy_of_project(tmp_path / "project")
    project.set_params(**TINY_PARAMS)
    project.commit_all("tiny")
    project.repro("fetch")
    dvc = subprocess.Popen(
        [sys.executable, "-m", "dvc", "repro", "decode"],
        cwd=project.root,
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    stage = None
    while stage is None and time.monotonic() < deadline:
        stages = [
            p
            for p in psutil.Process(dvc.pid).children(recursive=True)
            if "stages.decode" in " ".join(p.cmdline())
        ]
        stage = stages[0] if stages else None
        time.sleep(0.1)
    assert stage is not None, "the decode stage never started"
    pool = _wait_for_descendants(stage, 3)  # resource tracker, forkserver, a worker
    assert stage.is_running()  # killed mid-stage, as the OOM killer would
    dvc.send_signal(signal.SIGKILL)
    dvc.wait()
    assert _survivors([stage, *pool], within=5) == []
    assert project.repro("decode") == ["decode"]  # no race with an orphan, no misleading error
