"""Peak memory of predict does not grow with the number of files.

Runs ``python -m fmagenre predict`` (CRNN, 2 workers, CSV to a file), in a fresh process
each, on a folder of N and of 10 N audio files (8-s clips: a few real MP3s under many names,
hard links, so the disk holds them once), and prints the peak resident memory of the
predict process and its wall time. predict streams (files in by batches, rows out as each
batch finishes), so the two peaks must stay within 20% of each other.

    python benchmarks/predict_memory.py [--files 200] [--quick]

Ends with one JSON line of the figures; exits 1 when the peaks differ by more than 20% (not
under --quick: at a few files, start-up allocations outweigh what the files add).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
SECONDS = 8.0
CHILD = """
import json, resource, sys
from fmagenre.cli import main
code = main(sys.argv[1:])
print(json.dumps({"exit": code, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))
"""


def run(files: Path, models: Path, out: Path, code: Path) -> dict:
    command = [sys.executable, "-c", CHILD, "predict", str(files), "--model", "crnn"]
    command += ["--models-dir", str(models), "--quiet", "--format", "csv", "--output", str(out)]
    command += ["--workers", "2"]
    env = {**os.environ, "PYTHONPATH": str(code), "TF_CPP_MIN_LOG_LEVEL": "3"}
    began = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=code)
    seconds = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"predict failed:\n{result.stderr[-3000:]}")
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    rows = len(out.read_text().splitlines()) - 1
    return {"files": rows, "peak_rss_mb": figures["peak_rss_mb"], "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--code", type=Path, default=PROJECT, help=argparse.SUPPRESS)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _predict_setup import make_crnn_folder, make_files, make_sources
    from _quick import parse_args

    args = parse_args(parser, files=1)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_crnn_folder(root / "models" / "crnn", SECONDS)
        sources = make_sources(root / "sources", SECONDS)
        for count in (args.files, 10 * args.files):
            make_files(root / f"in{count}", count, sources)
            runs.append(
                run(root / f"in{count}", root / "models", root / f"out{count}.csv", args.code)
            )
    small, large = runs
    ratio = large["peak_rss_mb"] / small["peak_rss_mb"]
    print("predict --model crnn --workers 2, 8-s MP3 clips, fresh process each:")
    for figures in runs:
        print(
            f"  {figures['files']:>6,} files: peak RSS {figures['peak_rss_mb']:,.0f} MiB, "
            f"{figures['seconds']:.0f} s ({figures['files'] / figures['seconds']:.1f} files/s)"
        )
    print(f"  peak ratio {ratio:.3f} (10x the files; must stay within 1.2)")
    figures = {"benchmark": "predict_memory", "small": small, "large": large}
    figures |= {"peak_ratio": round(ratio, 3), "within_20_percent": ratio <= 1.2}
    print(json.dumps({**figures, "quick": args.quick}))
    if ratio > 1.2 and not args.quick:
        sys.exit(1)


if __name__ == "__main__":
    main()
