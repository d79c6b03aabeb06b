"""Every stage's cost curve, measured: the whole pipeline on 500 to 4,000 tracks of 30 s.

For each size N, a fresh scratch copy of the project (code, dvc.yaml, the committed
params.yaml; tests/dvc_project.py makes it as the end-to-end tests do) with params.yaml
changed only where real-length data needs it:

    synth.tracks_per_genre = N / 8   (8 genres, balanced, as fma_small)
    synth.clip_seconds     = 30      (FMA's clip length)
    audio.duration         = 30

and everything else as committed, which is what a real-FMA run uses (README, "Running on the
real FMA": data.subset and audio.duration are the only changes; the synthetic subset stays
here because FMA cannot be downloaded). Then every stage, one at a time, in the order
`dvc repro` runs them (tests/dvc_project.py's STAGES, which the end-to-end tests check
against `dvc repro`), each as `dvc repro -s <stage>`, so that each cost is the stage's
own; per stage: wall time (and how much of it the stage's command took, DVC's hashing and
caching being the rest), CPU time and peak memory (RSS and PSS) of the whole process tree,
the outputs' size (dvc.lock), the peak size of data/.work (the stages' resumable partial
results), the project's size on disk after it, and the machine's load (benchmarks/
_scale_probe.py says how each is measured).

At one size (--scaling-at, default 1,000) the per-track stages that run on the map over
tracks (decode, features, spectrograms, embeddings) run again on a Dask LocalCluster of 1
and then 2 workers: their speed-up gives the extrapolation per added Dask worker.

Each size's figures go to RESULTS/tracks-NNNNN.json as soon as it is measured; a size
already there is not measured again (--force does), so an interrupted run resumes and a run
with every size present only reports. The report: a table per size, each stage's exponent k
(least-squares fit of log time against log tracks), extrapolations to fma_small, medium and
large, a figure (--plot), and one JSON line.

    python benchmarks/scale.py --tracks 504 1000 2000 4000 [--plot docs/scale/scale.png]

Run by hand, on an otherwise idle machine (it takes hours, and needs about 3 MB of disk per
track of the largest size; each size's scratch project is deleted once measured unless
--keep). Not run by `make bench`. CI runs `--quick`: the same code on 16 and 24 tracks of 4 s,
the stages up to decode only (the synthetic faults would be too large a share of so few tracks
for the manifest stage), the results in a temporary folder: a minute, not hours.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(PROJECT / "tests"))

from _quick import parse_args  # noqa: E402
from _scale_probe import become_subreaper, folder_bytes, measure  # noqa: E402
from dvc_project import COPIED, STAGES, DvcProject  # noqa: E402

GENRES = 8
CLIP_SECONDS = 30.0
DEFAULT_SIZES = (504, 1000, 2000, 4000)  # 504: tracks per genre must be whole (8 genres)
DEFAULT_RESULTS = HERE / "scale-results"
# FMA's subsets: tracks (fma_small's 8 genres are balanced; medium and large have 16, unbalanced)
TARGETS = {"small": 8000, "medium": 25000, "large": 106574}
# stages doing the same work for every track (goal: time exponent k <= 1.1, flat memory)
PER_TRACK = ("synth", "fetch", "decode", "manifest", "features", "spectrograms", "embeddings")
# per-track stages on the map over tracks, which a Dask cluster spreads
MAPPED = ("decode", "features", "spectrograms", "embeddings")
# generating the synthetic data: not part of a real FMA run (fetch downloads and extracts)
NOT_REAL = ("synth",)
MODEL_FITTING = ("train_rf", "train_svm", "train_gbdt", "train_crnn", "train_musicnn")
SCALING_WORKERS = (1, 2)
QUICK_LAST_STAGE = "decode"


# --------------------------------------------------------------------------------------
# Measuring one size
# --------------------------------------------------------------------------------------


def scale_params(tracks: int, clip_seconds: float) -> dict[str, dict[str, Any]]:
    """The only changes to the committed params.yaml (everything else as committed)."""
    if tracks % GENRES:
        raise SystemExit(f"--tracks {tracks}: must be a multiple of {GENRES} (balanced genres)")
    return {
        "synth": {"tracks_per_genre": tracks // GENRES, "clip_seconds": clip_seconds},
        "audio": {"duration": clip_seconds},
    }


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model or platform.processor(),
        "cores": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "system": platform.platform(),
        "python": platform.python_version(),
    }


def outs_megabytes(lock: dict[str, Any], stage: str) -> float:
    """Size of a stage's outputs as dvc.lock records them (metrics and plots included)."""
    entry = lock.get("stages", {}).get(stage, {})
    return sum(out.get("size", 0) for out in entry.get("outs", [])) / 1e6


def stage_extras(root: Path, stage: str) -> dict[str, Any]:
    """Figures a stage reports that explain its time (the CRNN's epochs)."""
    if stage == "train_crnn":
        path = root / "reports" / "models" / "crnn.json"
        try:
            report = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return {}
        found = _find_key(report, "epochs_run")
        return {"epochs_run": found} if found is not None else {}
    return {}


def _find_key(data: Any, key: str) -> Any:
    if isinstance(data, dict):
        if key in data:
            return data[key]
        data = list(data.values())
    if isinstance(data, list):
        for value in data:
            found = _find_key(value, key)
            if found is not None:
                return found
    return None


def run_stage(project: DvcProject, stage: str, log: Path, *force: str) -> dict[str, Any]:
    """`dvc repro -s <stage>` measured; raises with the log's tail when it fails."""
    measured = measure(
        [*DvcProject.dvc_command(), "repro", "-s", *force, stage],
        cwd=project.root,
        env=project.env,
        log=log,
        marker=" -m stages.",
        watch=project.root / "data" / ".work",
    )
    if measured.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        raise RuntimeError(f"stage {stage} failed ({measured.returncode}):\n" + "\n".join(tail))
    return measured.as_dict()


def measure_size(tracks: int, args: argparse.Namespace, out: Path, logs: Path) -> dict[str, Any]:
    """Run and measure the whole pipeline at one size; write ``out`` after every stage."""
    scratch = Path(tempfile.mkdtemp(prefix=f"fmagenre-scale-{tracks}-", dir=args.scratch))
    changes = scale_params(tracks, args.clip_seconds)
    result: dict[str, Any] = {
        "tracks": tracks,
        "complete": False,
        "params_changed": changes,
        "machine": machine(),
        "commit": commit(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "stages": {},
    }
    logs.mkdir(parents=True, exist_ok=True)
    try:
        project = DvcProject.copy_of_project(scratch / "project")
        project.set_params(**changes)
        project.commit_all(f"scale benchmark: {tracks} tracks")
        order = STAGES[: STAGES.index(QUICK_LAST_STAGE) + 1] if args.quick else list(STAGES)
        result["order"] = order
        for stage in order:
            print(f"[{tracks} tracks] {stage} ...", flush=True)
            figures = run_stage(project, stage, logs / f"{stage}.log")
            lock = yaml.safe_load((project.root / "dvc.lock").read_text())
            figures["outs_mb"] = round(outs_megabytes(lock, stage), 3)
            figures["project_mb"] = round(folder_bytes(project.root) / 1e6, 1)
            figures.update(stage_extras(project.root, stage))
            result["stages"][stage] = figures
            write_result(out, result)
            print(
                f"[{tracks} tracks] {stage}: {figures['wall_s']:.1f} s, "
                f"{figures['peak_rss_mb']:.0f} MB, load {figures['load1_start']:.2f}",
                flush=True,
            )
        if tracks == args.scaling_at:
            result["worker_scaling"] = measure_worker_scaling(project, order, logs)
        result["complete"] = True
        result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
        write_result(out, result)
    finally:
        if args.keep:
            # relative to the result file: a record names no folder of one machine
            result["scratch"] = os.path.relpath(scratch / "project", out.parent)
            write_result(out, result)
            print(f"kept the scratch project: {scratch / 'project'}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return result


def rerun_stages(path: Path, stages: list[str], args: argparse.Namespace) -> None:
    """Measure ``stages`` again in the scratch project a --keep run left, with the code as it
    is now (after a fix, or to repeat a doubtful measurement); the first figures stay in the
    result's "before"."""
    result = json.loads(path.read_text())
    root = path.parent / result.get("scratch", "")  # (an absolute path, as once written, too)
    if not (root / "dvc.yaml").exists():
        raise SystemExit(f"{path}: no kept scratch project to rerun in (measure with --keep)")
    for name in COPIED:  # the code as it is now
        source, target = PROJECT / name, root / name
        if source.is_dir():
            shutil.rmtree(target)
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    project = DvcProject(root)
    logs = args.results / "logs" / f"tracks-{result['tracks']:05d}"
    logs.mkdir(parents=True, exist_ok=True)
    for stage in stages:
        print(f"[{result['tracks']} tracks] {stage} again ...", flush=True)
        figures = run_stage(project, stage, logs / f"{stage}-rerun.log", "--force")
        lock = yaml.safe_load((root / "dvc.lock").read_text())
        figures["outs_mb"] = round(outs_megabytes(lock, stage), 3)
        figures["project_mb"] = round(folder_bytes(root) / 1e6, 1)
        figures.update(stage_extras(root, stage))
        result.setdefault("before", {}).setdefault(stage, result["stages"][stage])
        result["stages"][stage] = {**figures, "commit": commit()}
        write_result(path, result)
    if not args.keep:
        shutil.rmtree(root.parent, ignore_errors=True)
        del result["scratch"]
        write_result(path, result)


def commit() -> str:
    """The project's git commit, marked when the worktree has changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *COPIED],
            cwd=PROJECT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def measure_worker_scaling(
    project: DvcProject, order: list[str], logs: Path
) -> dict[str, dict[str, Any]]:
    """The mapped stages again on a Dask LocalCluster of 1, then 2 workers (same outputs)."""
    figures: dict[str, dict[str, Any]] = {}
    for stage in (s for s in order if s in MAPPED):
        figures[stage] = {}
        for workers in SCALING_WORKERS:
            project.set_params(compute={"backend": "dask", "workers": workers})
            print(f"[scaling] {stage} on {workers} Dask worker(s) ...", flush=True)
            run = run_stage(project, stage, logs / f"{stage}-dask{workers}.log", "--force")
            figures[stage][str(workers)] = {
                key: run[key]
                for key in ("wall_s", "command_s", "cpu_s", "load1_start", "other_cores")
            }
    project.set_params(compute={"backend": "local", "workers": 0})
    return figures


def write_result(path: Path, result: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_suffix(".tmp")
    staged.write_text(json.dumps(result, indent=1) + "\n")
    os.replace(staged, path)


def load_results(folder: Path, sizes: list[int]) -> list[dict[str, Any]]:
    results = []
    for tracks in sizes:
        path = result_path(folder, tracks)
        if path.exists():
            data = json.loads(path.read_text())
            if data.get("complete"):
                results.append(data)
    return results


def result_path(folder: Path, tracks: int) -> Path:
    return folder / f"tracks-{tracks:05d}.json"


# --------------------------------------------------------------------------------------
# Curves
# --------------------------------------------------------------------------------------


def fit_exponent(tracks: list[float], values: list[float]) -> tuple[float, float]:
    """Least-squares fit of log(value) = log(a) + k log(tracks): returns (k, a)."""
    import numpy as np

    points = [(n, v) for n, v in zip(tracks, values, strict=True) if v > 0]
    if len(points) < 2:
        return math.nan, math.nan
    x = np.log([n for n, _ in points])
    y = np.log([v for _, v in points])
    k, log_a = np.polyfit(x, y, 1)
    return float(k), float(math.exp(log_a))


def top_exponent(tracks: list[float], values: list[float]) -> float:
    """The exponent between the two largest sizes: the growth rate the extrapolation uses.

    Not the all-sizes fit: a fixed cost (starting Python, loading TensorFlow) weighs most at
    the smallest size and pulls that fit's exponent below the large-size growth rate.
    """
    (n1, v1), (n2, v2) = sorted(zip(tracks, values, strict=True))[-2:]
    if v1 <= 0 or v2 <= 0:
        return 0.0
    return math.log(v2 / v1) / math.log(n2 / n1)


def power_law(tracks: list[float], values: list[float], target: float) -> float:
    """The power law through the two largest sizes (``top_exponent``), at ``target`` tracks:
    for peak memory, whose small rise between sizes is no cost per track."""
    n2, v2 = max(zip(tracks, values, strict=True))
    return v2 * (target / n2) ** top_exponent(tracks, values)


def extrapolate(tracks: list[float], values: list[float], target: float) -> float:
    """The time (or disk) at ``target`` tracks from the two largest sizes: the larger of the
    power law through them and a fixed cost plus a cost per track through them.

    Below an exponent of 1 the power law would make every further track cheaper than the last,
    while a per-track stage's tracks cost the same and only its fixed cost is amortised: the
    line is the honest reading there. Above 1 the power law is the larger, and the one to take.
    """
    (n1, v1), (n2, v2) = sorted(zip(tracks, values, strict=True))[-2:]
    line = v2 + (v2 - v1) / (n2 - n1) * (target - n2)  # sizes are distinct: n2 > n1
    return max(power_law(tracks, values, target), line)


def _rounded(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 3)


def amdahl(speedup: float) -> float:
    """Serial fraction f of a stage that ran ``speedup`` times faster on 2 workers than on 1
    (T(w) = T(1) (f + (1 - f) / w)), clamped to [0, 1]."""
    return min(1.0, max(0.0, 2.0 / speedup - 1.0)) if speedup > 0 else 1.0


def analyse(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Exponents, goal checks and extrapolations from the measured sizes."""
    sizes = [r["tracks"] for r in results]
    order = results[-1]["order"]
    stages: dict[str, Any] = {}
    for stage in order:
        rows = [r["stages"][stage] for r in results]
        wall = [row["wall_s"] for row in rows]
        rss = [row["peak_rss_mb"] for row in rows]
        k, _ = fit_exponent(sizes, wall)
        cpu = [row["cpu_s"] for row in rows]
        k_cpu, _ = fit_exponent(sizes, cpu)
        entry: dict[str, Any] = {"k": _rounded(k), "k_cpu": _rounded(k_cpu)}
        if len(sizes) >= 2:
            entry["k_top"] = round(top_exponent(sizes, wall), 3)
            entry["k_cpu_top"] = round(top_exponent(sizes, cpu), 3)
            entry["extrapolated_s"] = {
                name: round(extrapolate(sizes, wall, n), 1) for name, n in TARGETS.items()
            }
            entry["extrapolated_peak_rss_mb"] = {
                name: round(power_law(sizes, rss, n), 1) for name, n in TARGETS.items()
            }
            entry["outs_mb_per_track"] = round(rows[-1]["outs_mb"] / sizes[-1], 4)
            if all(row.get("epochs_run") for row in rows):
                entry.update(_per_epoch(sizes, rows))
        if 1000 in sizes and 4000 in sizes:
            low, high = rows[sizes.index(1000)], rows[sizes.index(4000)]
            entry["rss_growth_1000_4000"] = round(high["peak_rss_mb"] / low["peak_rss_mb"], 3)
            entry["pss_growth_1000_4000"] = round(high["peak_pss_mb"] / low["peak_pss_mb"], 3)
        if stage in PER_TRACK and entry["k"] is not None:
            entry["goal_k"] = bool(k <= 1.1)
        if stage not in MODEL_FITTING and "rss_growth_1000_4000" in entry:
            entry["goal_memory"] = bool(entry["rss_growth_1000_4000"] <= 1.2)
        stages[stage] = entry
    analysis: dict[str, Any] = {"sizes": sizes, "stages": stages}
    if len(sizes) >= 2:
        analysis["extrapolated_total_s"] = {
            name: round(
                sum(stages[s]["extrapolated_s"][name] for s in order if s not in NOT_REAL), 1
            )
            for name in TARGETS
        }
        analysis["extrapolated_disk_gb"] = {
            name: round(
                extrapolate(sizes, [r["stages"][order[-1]]["project_mb"] for r in results], n)
                / 1e3,
                1,
            )
            for name, n in TARGETS.items()
        }
        # a --rerun runs in a complete project, whose folder holds every later stage's
        # outputs too: a fresh run's disk peak is in the first measurement ("before")
        peak_project = [
            max(
                s["project_mb"] + s["folder_peak_mb"]
                for s in {**r["stages"], **r.get("before", {})}.values()
            )
            for r in results
        ]
        analysis["measured_project_peak_gb"] = {
            str(n): round(v / 1e3, 2) for n, v in zip(sizes, peak_project, strict=True)
        }
    scaling = next((r["worker_scaling"] for r in results if "worker_scaling" in r), None)
    if scaling and len(sizes) >= 2:
        analysis["workers"] = per_worker(scaling, stages, order)
    return analysis


def _per_epoch(sizes: list[int], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The CRNN, extrapolated per epoch and then at its epoch cap.

    Early stopping ran more epochs on more data (28, 30, 34, 40 at 504 ... 4,000 tracks), which
    makes the whole time look superlinear; an epoch's cost grows linearly, and the number of
    epochs is bounded by params.yaml's model.epochs, so the extrapolation is an upper bound.
    """
    cap = yaml.safe_load((PROJECT / "params.yaml").read_text())["model"]["epochs"]
    per_epoch = [row["wall_s"] / row["epochs_run"] for row in rows]
    k_epoch, _ = fit_exponent(sizes, per_epoch)
    return {
        "epochs_run": [row["epochs_run"] for row in rows],
        "epoch_cap": cap,
        "k_per_epoch": _rounded(k_epoch),
        "k_per_epoch_top": round(top_exponent(sizes, per_epoch), 3),
        "extrapolated_s": {
            name: round(cap * extrapolate(sizes, per_epoch, n), 1) for name, n in TARGETS.items()
        },
    }


def per_worker(
    scaling: dict[str, dict[str, Any]], stages: dict[str, Any], order: list[str]
) -> dict[str, Any]:
    """Each mapped stage's 1 -> 2 worker speed-up and serial fraction, and the whole run at
    fma_small/medium/large on a cluster of w workers (the rest of the pipeline as measured)."""
    out: dict[str, Any] = {"stages": {}, "total_s": {}}
    serial: dict[str, float] = {}
    for stage, runs in scaling.items():
        speedup = runs["1"]["wall_s"] / runs["2"]["wall_s"]
        serial[stage] = amdahl(speedup)
        out["stages"][stage] = {
            "speedup_1_to_2": round(speedup, 3),
            "serial_fraction": round(serial[stage], 3),
        }
    for name in TARGETS:
        totals = {}
        for workers in (2, 4, 8, 16, 32):
            total = 0.0
            for stage in (s for s in order if s not in NOT_REAL):
                two = stages[stage]["extrapolated_s"][name]
                if stage in serial:
                    f = serial[stage]
                    one = two / (f + (1 - f) / 2)  # T(1) from T(2)
                    total += one * (f + (1 - f) / workers)
                else:
                    total += two
            totals[str(workers)] = round(total, 1)
        out["total_s"][name] = totals
    return out


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{result['tracks']} tracks of {result['params_changed']['synth']['clip_seconds']:g} s")
    header = f"{'stage':<15}{'wall s':>9}{'cmd s':>9}{'CPU s':>9}{'RSS MB':>9}{'PSS MB':>9}{'outs MB':>10}{'work MB':>9}{'load1':>7}{'other':>7}"
    print(header)
    print("-" * len(header))
    total = 0.0
    for stage, row in result["stages"].items():
        total += row["wall_s"]
        print(
            f"{stage:<15}{row['wall_s']:>9.1f}{row['command_s']:>9.1f}{row['cpu_s']:>9.1f}"
            f"{row['peak_rss_mb']:>9.0f}{row['peak_pss_mb']:>9.0f}{row['outs_mb']:>10.1f}"
            f"{row['folder_peak_mb']:>9.0f}{row['load1_start']:>7.2f}{row['other_cores']:>7.2f}"
        )
    print(f"{'total':<15}{total:>9.1f}")


def print_analysis(analysis: dict[str, Any]) -> None:
    if len(analysis["sizes"]) < 2:
        return
    print(
        "\nexponent k (time ~ tracks^k): fit over every size, and between the two largest"
        " (k top); the extrapolation goes through the two largest sizes: power law above k top 1,"
        " a fixed cost plus a cost per track below"
    )
    print(
        f"{'stage':<15}{'k':>7}{'k CPU':>7}{'k top':>7}{'CPU top':>8}"
        + "".join(f"{name + ' s':>11}" for name in TARGETS)
        + f"{'RSS x':>8}"
    )
    for stage, entry in analysis["stages"].items():
        growth = entry.get("rss_growth_1000_4000")
        print(
            f"{stage:<15}{entry['k']:>7.2f}{entry['k_cpu']:>7.2f}"
            f"{entry['k_top']:>7.2f}{entry['k_cpu_top']:>8.2f}"
            + "".join(f"{entry['extrapolated_s'][name]:>11.0f}" for name in TARGETS)
            + (f"{growth:>8.2f}" if growth else "")
        )
    for stage, entry in analysis["stages"].items():
        if "epoch_cap" in entry:
            print(
                f"{stage}: epochs run {entry['epochs_run']} (early stopping); per epoch k "
                f"{entry['k_per_epoch']:.2f}, top {entry['k_per_epoch_top']:.2f}: extrapolated "
                f"at its cap of {entry['epoch_cap']} epochs (an upper bound)"
            )
    totals = analysis["extrapolated_total_s"]
    print(
        "whole pipeline but synth (a real run downloads instead): "
        + ", ".join(f"{name} {_hours(s)}" for name, s in totals.items())
    )
    if "workers" in analysis:
        for stage, entry in analysis["workers"]["stages"].items():
            print(
                f"  {stage}: {entry['speedup_1_to_2']:.2f}x from 1 to 2 Dask workers (serial fraction {entry['serial_fraction']:.2f})"
            )
        for name, totals in analysis["workers"]["total_s"].items():
            print(
                f"  {name} on w workers: "
                + ", ".join(f"{w}: {_hours(s)}" for w, s in totals.items())
            )


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["tracks"] for r in results]
    order = results[-1]["order"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    shown = [s for s in order if max(r["stages"][s]["wall_s"] for r in results) >= 5]
    for axis in (left, right):  # one colour per stage: the default cycle has only ten
        axis.set_prop_cycle(color=plt.cm.tab20.colors[: len(shown)])
    for stage in shown:
        style = "-" if stage in PER_TRACK else "--"
        left.plot(
            sizes, [r["stages"][stage]["wall_s"] for r in results], style, marker="o", label=stage
        )
        right.plot(
            sizes,
            [r["stages"][stage]["peak_rss_mb"] for r in results],
            style,
            marker="o",
            label=stage,
        )
    for axis, label in ((left, "wall time (s)"), (right, "peak RSS of the stage's processes (MB)")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks(sizes, [f"{n:,}" for n in sizes])
        axis.minorticks_off()
        axis.set_xlabel(f"tracks ({results[-1]['params_changed']['audio']['duration']:g} s clips)")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
    left.set_title("time per stage (dashed: model fitting)")
    right.set_title("peak memory per stage")
    right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    cpu = results[-1]["machine"]["cpu"]
    figure.suptitle(
        f"fmagenre, synthetic data at FMA's clip length; {results[-1]['machine']['cores']} cores ({cpu})",
        fontsize=9,
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    print(f"figure: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS,
        help="folder of the per-size JSON files (default: %(default)s; --quick: a temporary one)",
    )
    parser.add_argument(
        "--scratch",
        type=Path,
        default=None,
        help="where the scratch projects go (default: the system's temporary folder)",
    )
    parser.add_argument(
        "--clip-seconds",
        type=float,
        default=CLIP_SECONDS,
        help="clip length (default: FMA's %(default)g s; shorter only to try the script)",
    )
    parser.add_argument(
        "--scaling-at",
        type=int,
        default=1000,
        help="size at which to measure 1 -> 2 Dask workers (0: never)",
    )
    parser.add_argument("--force", action="store_true", help="measure sizes already measured again")
    parser.add_argument("--keep", action="store_true", help="keep each size's scratch project")
    parser.add_argument(
        "--rerun",
        nargs="+",
        metavar="STAGE",
        help="measure these stages again, with the code as it is now, in the projects a --keep run left",
    )
    parser.add_argument("--plot", type=Path, help="write the curves to this PNG")
    args = parse_args(parser, tracks=[16, 24], clip_seconds=4.0, scaling_at=0, results=None)
    with tempfile.TemporaryDirectory(prefix="fmagenre-scale-quick-") as quick_results:
        args.results = args.results or Path(quick_results)
        run(args)


def run(args: argparse.Namespace) -> None:
    sizes = sorted(set(args.tracks))
    for tracks in sizes:
        scale_params(tracks, args.clip_seconds)  # stops on a bad size before any work
    if not become_subreaper():
        print("note: cannot become a child subreaper; CPU times of orphaned workers may be missing")
    for tracks in sizes if args.rerun else ():
        rerun_stages(result_path(args.results, tracks), args.rerun, args)
    for tracks in sizes if not args.rerun else ():
        path = result_path(args.results, tracks)
        if path.exists() and not args.force and json.loads(path.read_text()).get("complete"):
            print(f"{tracks} tracks: measured already ({path}); --force measures again")
            continue
        measure_size(tracks, args, path, args.results / "logs" / f"tracks-{tracks:05d}")
    results = load_results(args.results, sizes)
    for result in results:
        print_table(result)
    analysis = analyse(results)
    print_analysis(analysis)
    if args.plot and len(results) >= 2:
        plot(results, args.plot)
    print(json.dumps({"benchmark": "scale", **analysis, "quick": args.quick}))


if __name__ == "__main__":
    main()
