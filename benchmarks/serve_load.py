"""fmagenre serve under load: every answer checked, latency percentiles, peak memory.

Starts `python -m fmagenre serve` on a free loopback port (a tiny trained run made here, or
the run in --run, e.g. `--run .` after `make demo`), warms it with one request, times R
requests alone (the reference), then sends N requests from C concurrent clients (the five
real FMA clips in turn, spectrogram included) while sampling the resident memory of the
server and its worker processes every 0.1 s.

    python benchmarks/serve_load.py [--requests 100] [--clients 10] [--run DIR] [--quick]

Ends with one JSON line: requests, clients, failures (any answer that is not a 200 with a
genre and musicnn tags), p50/p90/p99/max latency, their ratio to one request alone, and the
peak RSS of the server process and of server + workers. Exits 1 when any request failed.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tests"))

import psutil  # noqa: E402
import requests  # noqa: E402
import sample_clips  # noqa: E402
from serve_server import running_server, tiny_run  # noqa: E402

sys.path.insert(0, str(PROJECT / "benchmarks"))
from _quick import parse_args  # noqa: E402

REFERENCE_REQUESTS = 3


class MemorySampler(threading.Thread):
    """Peak RSS of a process and of it with its children, sampled until stopped."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak_server = self.peak_total = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            try:
                server = self.process.memory_info().rss
                children = sum(
                    child.memory_info().rss for child in self.process.children(recursive=True)
                )
            except psutil.Error:
                continue
            self.peak_server = max(self.peak_server, server)
            self.peak_total = max(self.peak_total, server + children)


def check(answer: requests.Response) -> str:
    """'' for a good answer, else what is wrong with it."""
    if answer.status_code != 200:
        return f"{answer.status_code}: {answer.text[:200]}"
    (item,) = answer.json()
    if item["model"] and not item["predictions"]:
        return "no genre"
    if not item["tags"]["predictions"] or not item["spectrogram"]:
        return "no tags or spectrogram"
    return ""


def send(url: str, clip: Path, content: bytes) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        answer = requests.post(
            url + "api/predict", files={"file": (clip.name, content)}, timeout=600
        )
        problem = check(answer)
    except requests.RequestException as exc:
        problem = f"{type(exc).__name__}: {exc}"
    return time.perf_counter() - started, problem


def percentile(values: list[float], q: float) -> float:
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, round(q * (len(ranked) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--run", type=Path, help="a checkout whose models/ and reports/ to serve")
    args = parse_args(parser, requests=20, clients=4)
    clips = sample_clips.real_clips()
    if not clips:
        print(f"no real clips in {sample_clips.real_clips_folder()}", file=sys.stderr)
        return 2
    contents = {clip: clip.read_bytes() for clip in clips}
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        if args.run is not None:
            models, reports = args.run / "models", args.run / "reports"
        else:
            models, reports = tiny_run(Path(tmp) / "run")
        with running_server(models, reports) as server:
            send(server.url, clips[0], contents[clips[0]])  # warm: workers start, models load
            alone = [
                send(server.url, clip, contents[clip])[0] for clip in clips[:REFERENCE_REQUESTS]
            ]
            sampler = MemorySampler(server.process.pid)
            sampler.start()
            order = [clips[i % len(clips)] for i in range(args.requests)]
            started = time.perf_counter()
            with cf.ThreadPoolExecutor(args.clients) as pool:
                results = list(pool.map(lambda clip: send(server.url, clip, contents[clip]), order))
            wall = time.perf_counter() - started
            sampler.done.set()
            sampler.join()
            alive = server.process.poll() is None
    latencies = [seconds for seconds, _ in results]
    problems = [problem for _, problem in results if problem]
    for problem in sorted(set(problems)):
        print(f"failed: {problem}", file=sys.stderr)
    reference = statistics.median(alone)
    figures = {
        "benchmark": "serve_load",
        "quick": args.quick,
        "requests": args.requests,
        "clients": args.clients,
        "failures": len(problems),
        "server_alive_after": alive,
        "wall_seconds": round(wall, 2),
        "requests_per_second": round(args.requests / wall, 2),
        "alone_seconds": round(reference, 3),
        "p50_seconds": round(percentile(latencies, 0.5), 3),
        "p90_seconds": round(percentile(latencies, 0.9), 3),
        "p99_seconds": round(percentile(latencies, 0.99), 3),
        "max_seconds": round(max(latencies), 3),
        "p50_ratio_vs_alone": round(percentile(latencies, 0.5) / reference, 2),
        "peak_server_rss_mb": round(sampler.peak_server / 2**20, 1),
        "peak_server_and_workers_rss_mb": round(sampler.peak_total / 2**20, 1),
        "run": str(args.run) if args.run else "tiny",
    }
    print(json.dumps(figures))
    return 0 if not problems and alive else 1


if __name__ == "__main__":
    sys.exit(main())
