"""Stage entry points: expected faults end with one line and exit status 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import PROJECT


def run_stage(module: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_missing_input_names_the_file_and_what_to_run(tmp_path):
    (tmp_path / "params.yaml").write_text("data:\n  subset: synthetic\n")
    result = run_stage("stages.decode", tmp_path)
    assert result.returncode == 2
    assert (
        "[decode] error: data/tracks.parquet not found: run the stages before this one first"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_a_bad_params_file_stops_every_stage_before_any_work(tmp_path):
    (tmp_path / "params.yaml").write_text("model:\n  lr: -1\n")
    for stage in ("fetch", "train_crnn", "compare"):
        result = run_stage(f"stages.{stage}", tmp_path)
        assert (
            result.returncode == 2
            and "model.lr = -1 is not allowed (allowed: a number > 0 and <= 1)" in result.stderr
        )
        assert not (tmp_path / "data").exists()


def test_a_python_without_the_project_environment_is_told_to_activate_it(tmp_path):
    # -S leaves out site-packages: what DVC meets when `python` on the PATH is not the venv's
    result = subprocess.run(
        [sys.executable, "-S", "-m", "stages.fetch"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "is not installed for" in result.stderr and "source .venv/bin/activate" in result.stderr
    assert "Traceback" not in result.stderr
