"""Every script in benchmarks/ still runs: each at its --quick size, ending with its JSON line.

Nothing else runs the benchmarks, so a script broke unnoticed when the code under it moved
(issue 26: embeddings.py called run_decode with an argument it no longer takes). The scripts
are found by listing the folder, so a new one is covered without being named here. The
figures at these sizes say little (warm-up dominates): `make bench` runs the full sizes.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import pytest
from conftest import PROJECT

SCRIPTS = sorted((PROJECT / "benchmarks").glob("[a-z]*.py"))


def numbers(value) -> list[float]:
    """Every number in a JSON value, nested ones too (booleans are not figures)."""
    if isinstance(value, dict):
        return [n for item in value.values() for n in numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in numbers(item)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [float(value)]
    return []


def test_the_benchmarks_folder_is_found():
    assert len(SCRIPTS) >= 8, SCRIPTS


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda path: path.stem)
def test_benchmark_runs_at_its_quick_size_and_ends_with_its_figures(script, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["TMPDIR"] = str(tmp_path)  # whatever a script leaves behind goes with the test
    result = subprocess.run(
        [sys.executable, str(script), "--quick"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    figures = json.loads(last)
    assert figures["benchmark"] == script.stem and figures["quick"] is True, last
    found = numbers({key: value for key, value in figures.items() if key != "quick"})
    assert found and all(math.isfinite(n) for n in found), last
    assert figures.get("ratio_vs_reference", 1.0) > 0, last
