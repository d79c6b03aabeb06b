"""benchmarks/scale.py's arithmetic: the exponents, extrapolations and goal checks that
README's real-FMA figures come from, on made-up curves whose answer is known."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "scale.py"


@pytest.fixture(scope="module")
def scale() -> Any:
    spec = importlib.util.spec_from_file_location("scale_benchmark", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _row(wall: float, rss: float, outs: float = 1.0) -> dict[str, float]:
    return {
        "wall_s": wall,
        "cpu_s": 1.5 * wall,
        "peak_rss_mb": rss,
        "peak_pss_mb": 0.8 * rss,
        "outs_mb": outs,
        "project_mb": 10 * outs,
        "folder_peak_mb": 0.0,
    }


def _results(curves: dict[str, Any], sizes: list[int]) -> list[dict[str, Any]]:
    """One result per size, each stage's (wall, rss) given as functions of the size."""
    return [
        {
            "tracks": n,
            "order": list(curves),
            "stages": {
                stage: _row(wall(n), rss(n), outs=n / 1000) for stage, (wall, rss) in curves.items()
            },
        }
        for n in sizes
    ]


def test_fit_recovers_a_power_law(scale: Any) -> None:
    sizes = [504, 1000, 2000, 4000]
    for k in (0.5, 1.0, 1.3):
        fitted, a = scale.fit_exponent(sizes, [0.02 * n**k for n in sizes])
        assert fitted == pytest.approx(k, abs=1e-9)
        assert a == pytest.approx(0.02, rel=1e-9)
    assert math.isnan(scale.fit_exponent([1000], [3.0])[0])


def test_extrapolation_follows_the_largest_sizes_not_the_fixed_cost(scale: Any) -> None:
    """A stage with a fixed start-up cost: the all-sizes fit says sublinear, the two largest
    sizes say nearly linear, and the extrapolation keeps the cost per track they show."""
    sizes = [504, 1000, 2000, 4000]
    wall = [30.0 + 0.1 * n for n in sizes]
    k_all, a_all = scale.fit_exponent(sizes, wall)
    k_top = scale.top_exponent(sizes, wall)
    assert k_all < k_top < 1.0
    assert k_top == pytest.approx(math.log(430 / 230) / math.log(2))
    # the true cost at 8,000 and 106,574 tracks: the power law through the top two sizes
    # falls short of it, more so the further it reaches; the extrapolation does not
    for target in (8000, 106_574):
        true_cost = 30.0 + 0.1 * target
        assert scale.extrapolate(sizes, wall, target) == pytest.approx(true_cost)
        assert 430 * (target / 4000) ** k_top < 0.99 * true_cost
    assert abs(a_all * 8000**k_all - 830) > 10.0


def test_superlinear_growth_is_extrapolated_by_its_power_law(scale: Any) -> None:
    sizes = [1000, 2000, 4000]
    wall = [1e-4 * n**1.3 for n in sizes]
    assert scale.top_exponent(sizes, wall) == pytest.approx(1.3)
    assert scale.extrapolate(sizes, wall, 25_000) == pytest.approx(1e-4 * 25_000**1.3)
    # a cost that falls with the size is not extrapolated below zero
    falling = [3.0, 2.5, 2.2]
    assert 0 < scale.extrapolate(sizes, falling, 106_574) < 2.2


def test_serial_fraction_from_the_two_worker_speedup(scale: Any) -> None:
    assert scale.amdahl(2.0) == 0.0
    assert scale.amdahl(1.0) == 1.0
    assert scale.amdahl(1.6) == pytest.approx(0.25)
    assert scale.amdahl(0.0) == 1.0


def test_goals_flag_superlinear_time_and_growing_memory(scale: Any) -> None:
    curves = {
        "synth": (lambda n: 0.6 * n, lambda n: 800.0),
        "decode": (lambda n: 0.02 * n, lambda n: 700.0),  # linear, flat: meets both goals
        "features": (lambda n: 1e-4 * n**1.3, lambda n: 500 + 0.2 * n),  # both goals missed
        "train_rf": (lambda n: 0.01 * n, lambda n: 300 + 0.2 * n),  # model fitting: no memory goal
    }
    analysis = scale.analyse(_results(curves, [504, 1000, 2000, 4000]))
    stages = analysis["stages"]
    assert stages["decode"]["goal_k"] and stages["decode"]["goal_memory"]
    assert stages["decode"]["k"] == pytest.approx(1.0, abs=1e-3)
    assert not stages["features"]["goal_k"]
    assert stages["features"]["rss_growth_1000_4000"] == pytest.approx(1300 / 700, abs=1e-3)
    assert not stages["features"]["goal_memory"]
    assert "goal_memory" not in stages["train_rf"] and "goal_k" not in stages["train_rf"]
    # a real run downloads instead of generating: synth is left out of the totals
    small = sum(stages[s]["extrapolated_s"]["small"] for s in ("decode", "features", "train_rf"))
    assert analysis["extrapolated_total_s"]["small"] == pytest.approx(small, abs=0.2)
    assert stages["decode"]["extrapolated_s"]["small"] == pytest.approx(160, rel=1e-3)


def test_the_crnn_is_extrapolated_per_epoch_at_its_epoch_cap(scale: Any) -> None:
    """More data, more epochs before early stopping: the whole time looks superlinear, an
    epoch's cost is linear, and the extrapolation takes the cap (an upper bound)."""
    cap = yaml.safe_load((SCRIPT.parents[1] / "params.yaml").read_text())["model"]["epochs"]
    sizes = [1000, 2000, 4000]
    epochs = {1000: 30, 2000: 34, 4000: 36}
    results = _results({"train_crnn": (lambda n: 0.01 * n * epochs[n], lambda n: 1600.0)}, sizes)
    for result in results:
        result["stages"]["train_crnn"]["epochs_run"] = epochs[result["tracks"]]
    entry = scale.analyse(results)["stages"]["train_crnn"]
    assert entry["k"] > 1.1
    assert entry["k_per_epoch"] == pytest.approx(1.0, abs=1e-3)
    assert entry["epochs_run"] == [30, 34, 36]
    assert entry["extrapolated_s"]["small"] == pytest.approx(cap * 0.01 * 8000, rel=1e-3)


def test_a_rerun_in_a_complete_project_does_not_count_as_a_fresh_runs_disk_peak(scale: Any) -> None:
    """--rerun measures a stage again in a project that already holds every later output, so
    its folder size is not what a fresh run needs; the first measurement is."""
    curves = {
        "decode": (lambda n: 0.02 * n, lambda n: 700.0),
        "features": (lambda n: 0.1 * n, lambda n: 1000.0),
    }
    results = _results(curves, [1000, 2000])
    fresh = scale.analyse(results)["measured_project_peak_gb"]
    rerun = results[-1]["stages"]["decode"]
    results[-1]["before"] = {"decode": dict(rerun)}
    results[-1]["stages"]["decode"] = {**rerun, "project_mb": 50_000.0, "wall_s": 38.0}
    analysis = scale.analyse(results)
    assert analysis["measured_project_peak_gb"] == fresh
    assert analysis["stages"]["decode"]["k_top"] == pytest.approx(math.log(38 / 20) / math.log(2))


def test_flat_memory_with_a_small_rise_is_not_extrapolated_as_a_cost_per_track(scale: Any) -> None:
    """Peak memory rising 5 % from 2,000 to 4,000 tracks (a fluctuating level caught over a
    longer run) stays within a few tens of percent at 106,574 tracks, not a line's 2.6x."""
    curves = {"decode": (lambda n: 0.02 * n, lambda n: {2000: 700.0, 4000: 735.0}[n])}
    entry = scale.analyse(_results(curves, [2000, 4000]))["stages"]["decode"]
    large = entry["extrapolated_peak_rss_mb"]["large"]
    assert large == pytest.approx(735 * (106_574 / 4000) ** math.log2(735 / 700), abs=0.1)
    assert large < 1.3 * 735 < scale.extrapolate([2000, 4000], [700.0, 735.0], 106_574)
