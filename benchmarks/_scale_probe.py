"""Measure one command's whole process tree while it runs (for benchmarks/scale.py).

What is measured, and why this way:
- wall time, and the lifetime of the stage's own command inside it (the process whose
  command line holds ``marker``; DVC's hashing and caching are the rest);
- CPU time of the whole tree from ``getrusage(RUSAGE_CHILDREN)`` deltas: the kernel adds a
  process's CPU time to its parent's children total when the parent waits for it. A pool's
  workers are waited for by their parent, but a forkserver (the parent of the stages' pool
  workers) is not: it is orphaned when the stage exits, and its whole subtree's CPU time
  would be lost. So this process makes itself the "child subreaper" (Linux prctl): orphans
  of the tree are re-parented here and waited for here, and every process of the tree is
  counted exactly. A sampled figure (the last CPU time seen of every process of the tree,
  up to ``interval`` short per process) is kept beside it as a check;
- peak memory of the tree, sampled every ``interval`` s: the sum of RSS, and the sum of PSS.
  RSS over-counts a tree: pages shared between processes (the forkserver's preloaded
  modules in every worker, shared libraries) count once per process, and pages of a mapped
  file count while they stay mapped although the kernel can drop them. PSS divides each
  shared page among the processes mapping it, so the tree's PSS sum is its real footprint
  (read from /proc/<pid>/smaps_rollup: a few ms a sample);
- the peak disk use of a folder (the stages' resumable work in data/.work), sampled every
  ``disk_interval`` s, counting allocated blocks (the stores' shards are sparse);
- the machine's 1-minute load average before and after, and the cores other processes kept
  busy meanwhile (the machine's busy CPU time minus the tree's and this process's, over the
  wall time): a figure taken beside other work shows it there.
"""

from __future__ import annotations

import ctypes
import os
import resource
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

MB = 1e6
PR_SET_CHILD_SUBREAPER = 36
ORPHAN_GRACE_S = 30.0  # how long the tree's leftovers get to exit after its root


def become_subreaper() -> bool:
    """Have orphaned descendants re-parented to this process (Linux), so it can wait for them."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans(exclude: int) -> int:
    """Wait for every exited child of this process but ``exclude``; return how many are alive."""
    alive = 0
    for child in psutil.Process().children():
        if child.pid == exclude:
            continue
        try:
            pid, _ = os.waitpid(child.pid, os.WNOHANG)
        except ChildProcessError:
            continue
        alive += pid == 0
    return alive


@dataclass
class Measurement:
    returncode: int
    wall_s: float
    command_s: float  # lifetime of the marked command (0 when never seen)
    cpu_s: float  # user + system of every waited-for process of the tree
    cpu_sampled_s: float  # last CPU time seen of each process of the tree, summed
    peak_rss_mb: float  # of the whole tree
    peak_pss_mb: float
    command_peak_rss_mb: float  # of the marked command's subtree only
    command_peak_pss_mb: float
    folder_peak_mb: float  # peak allocated size of the watched folder
    load1_start: float
    load1_end: float
    other_cores: float  # cores other processes kept busy, on average
    samples: int
    leftovers: int  # processes of the tree still running ORPHAN_GRACE_S after it ended

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


def folder_bytes(path: Path) -> int:
    """Allocated bytes under ``path`` (each inode once: hard links to DVC's cache count once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, dirs, files in os.walk(path):
        for name in files + dirs:
            try:
                stat = os.lstat(os.path.join(folder, name))
            except OSError:
                continue  # deleted while walking
            key = (stat.st_dev, stat.st_ino)
            if key not in seen:
                seen.add(key)
                total += stat.st_blocks * 512
    return total


def _busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class _Sampler(threading.Thread):
    def __init__(
        self,
        pid: int,
        marker: str | None,
        watch: Path | None,
        interval: float,
        disk_interval: float,
        pss: bool,
    ):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.marker, self.watch = marker, watch
        self.interval, self.disk_interval, self.pss = interval, disk_interval, pss
        self.stop = threading.Event()
        self.peak = {"rss": 0, "pss": 0, "command_rss": 0, "command_pss": 0, "folder": 0}
        self.cpu: dict[tuple[int, float], float] = {}
        self.marked: set[tuple[int, float]] = set()
        self.command_first = self.command_last = 0.0
        self.samples = 0

    def run(self) -> None:
        next_disk = 0.0
        while not self.stop.is_set():
            self.sample()
            reap_orphans(exclude=self.root.pid)
            now = time.perf_counter()
            if self.watch is not None and now >= next_disk:
                if self.watch.exists():
                    self.peak["folder"] = max(self.peak["folder"], folder_bytes(self.watch))
                next_disk = now + self.disk_interval
            self.stop.wait(self.interval)

    def _is_marked(self, process: psutil.Process, key: tuple[int, float]) -> bool:
        """Whether the process runs the marked command. Only a yes is remembered: a process
        forked but not yet exec'd keeps its pid and creation time when it becomes the command."""
        if key in self.marked:
            return True
        try:
            marked = bool(self.marker) and self.marker in " ".join(process.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return False
        if marked:
            self.marked.add(key)
        return marked

    def tree(self) -> list[psutil.Process]:
        """The command's processes, and the orphans of its tree now re-parented here."""
        processes = []
        for child in psutil.Process().children():
            try:
                processes += [child, *child.children(recursive=True)]
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                continue
        return processes

    def sample(self) -> None:
        processes = self.tree()
        totals = {"rss": 0, "pss": 0, "command_rss": 0, "command_pss": 0}
        seen: dict[int, tuple[int, bool, int, int]] = {}  # pid -> parent, marked, rss, pss
        for process in processes:
            try:
                key = (process.pid, process.create_time())
                memory = process.memory_full_info() if self.pss else process.memory_info()
                cpu = process.cpu_times()
                parent = process.ppid()
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
            self.cpu[key] = cpu.user + cpu.system
            pss = getattr(memory, "pss", memory.rss)
            seen[process.pid] = (parent, self._is_marked(process, key), memory.rss, pss)
            totals["rss"] += memory.rss
            totals["pss"] += pss
        seen_command = False
        for pid, (_, _, rss, pss) in seen.items():
            if _in_marked_subtree(pid, seen):
                seen_command = True
                totals["command_rss"] += rss
                totals["command_pss"] += pss
        for name, value in totals.items():
            self.peak[name] = max(self.peak[name], value)
        if seen_command:
            now = time.perf_counter()
            self.command_first = self.command_first or now
            self.command_last = now
        self.samples += 1


def _in_marked_subtree(pid: int, seen: dict[int, tuple[int, bool, int, int]]) -> bool:
    while pid in seen:
        parent, marked, _, _ = seen[pid]
        if marked:
            return True
        pid = parent
    return False


def measure(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    log: Path | None = None,
    marker: str | None = None,
    watch: Path | None = None,
    interval: float = 0.2,
    disk_interval: float = 1.0,
    pss: bool = True,
) -> Measurement:
    """Run ``argv`` to completion (output to ``log``) and measure it. Call
    ``become_subreaper()`` once first, and start no other child meanwhile: every child of
    this process is taken for part of the tree."""
    load_start = os.getloadavg()[0]
    busy_before, own_before, children_before = _busy_seconds(), time.process_time(), _children_cpu()
    began = time.perf_counter()
    with open(log or os.devnull, "w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
        sampler = _Sampler(process.pid, marker, watch, interval, disk_interval, pss)
        sampler.start()
        try:
            returncode = process.wait()
            wall = time.perf_counter() - began  # the user waits this long, not for the orphans
            leftovers = _wait_for_orphans(process.pid)
        except BaseException:
            _kill_tree(process)
            raise
        finally:
            sampler.stop.set()
            sampler.join()
    cpu = _children_cpu() - children_before
    own = time.process_time() - own_before
    span = time.perf_counter() - began  # the CPU figures cover the orphans' last moments too
    other = max(0.0, (_busy_seconds() - busy_before - cpu - own) / span) if span > 0 else 0.0
    if watch is not None and watch.exists():  # what the stage left there
        sampler.peak["folder"] = max(sampler.peak["folder"], folder_bytes(watch))
    command_s = (
        sampler.command_last - sampler.command_first + interval if sampler.command_first else 0.0
    )
    return Measurement(
        returncode=returncode,
        wall_s=wall,
        command_s=min(command_s, wall),
        cpu_s=cpu,
        cpu_sampled_s=sum(sampler.cpu.values()),
        peak_rss_mb=sampler.peak["rss"] / MB,
        peak_pss_mb=sampler.peak["pss"] / MB,
        command_peak_rss_mb=sampler.peak["command_rss"] / MB,
        command_peak_pss_mb=sampler.peak["command_pss"] / MB,
        folder_peak_mb=sampler.peak["folder"] / MB,
        load1_start=load_start,
        load1_end=os.getloadavg()[0],
        other_cores=other,
        samples=sampler.samples,
        leftovers=leftovers,
    )


def _wait_for_orphans(root: int) -> int:
    """Give the tree's orphans (a forkserver closing down) time to exit, and wait for them."""
    deadline = time.perf_counter() + ORPHAN_GRACE_S
    while (alive := reap_orphans(exclude=root)) and time.perf_counter() < deadline:
        time.sleep(0.05)
    return alive


def _kill_tree(process: subprocess.Popen) -> None:
    """Stop the command this module started, and every process under it (Ctrl-C)."""
    try:
        tree = [*psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    process.terminate()
    for child in tree:
        try:
            child.terminate()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(tree, timeout=10)
    process.wait()
