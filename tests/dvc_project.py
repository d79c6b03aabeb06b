"""A throwaway copy of the project in which tests run real DVC commands.

The copy holds the code, dvc.yaml, the committed params.yaml and DVC's config (not data,
dvc.lock or caches), is its own git repository, and runs stages with the interpreter running
the tests, so `python -m stages.x` imports the copy's code.

Tests never read the workspace's params.yaml: `dvc exp run -S` rewrites it in place (README's
experiments do), so they take the committed one (``committed_params``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

PROJECT = Path(__file__).resolve().parents[1]
COPIED = [
    "dvc.yaml",
    "pyproject.toml",
    "collection",  # data.folder's default (README only)
    ".gitignore",
    ".dvcignore",
    "fmagenre",
    "stages",
    "vendor",  # the offline plots page (.dvc/config: plots.html_template)
]


def committed_params() -> str:
    """params.yaml as committed (HEAD), whatever experiments did to the workspace's copy;
    the file itself only where the project is not a git checkout."""
    try:
        return subprocess.run(
            ["git", "show", "HEAD:params.yaml"],
            cwd=PROJECT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return (PROJECT / "params.yaml").read_text(encoding="utf-8")


class DvcProject:
    def __init__(self, root: Path):
        self.root = root
        env = dict(os.environ)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        env["DVC_NO_ANALYTICS"] = "1"
        env["PYTHONUNBUFFERED"] = "1"
        env.pop("PYTHONPATH", None)
        self.env = env

    @classmethod
    def copy_of_project(cls, root: Path) -> DvcProject:
        root.mkdir(parents=True, exist_ok=True)
        for name in COPIED:
            source = PROJECT / name
            if source.is_dir():
                shutil.copytree(
                    source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                )
            else:
                shutil.copy2(source, root / name)
        (root / "params.yaml").write_text(committed_params(), encoding="utf-8")
        (root / ".dvc").mkdir()
        shutil.copy2(PROJECT / ".dvc" / "config", root / ".dvc" / "config")
        shutil.copy2(PROJECT / ".dvc" / ".gitignore", root / ".dvc" / ".gitignore")
        shutil.copytree(PROJECT / ".dvc" / "plots", root / ".dvc" / "plots")  # custom templates
        project = cls(root)
        project.git("init", "-q")
        project.git("config", "user.email", "tests@fmagenre.local")
        project.git("config", "user.name", "fmagenre tests")
        return project

    # -- commands ---------------------------------------------------------------------------

    def run(
        self, *args: str, check: bool = True, timeout: float = 900
    ) -> subprocess.CompletedProcess:
        result = subprocess.run(
            list(args), cwd=self.root, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} failed with {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-6000:]}"
            )
        return result

    def git(self, *args: str) -> subprocess.CompletedProcess:
        return self.run("git", *args)

    def dvc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.run(*self.dvc_command(), *args, check=check)

    @staticmethod
    def dvc_command() -> list[str]:
        return [sys.executable, "-m", "dvc"]

    def repro(self, *args: str) -> list[str]:
        """Run `dvc repro`; return the names of the stages that actually ran."""
        result = self.dvc("repro", *args)
        return ran_stages(result.stdout + result.stderr)

    def commit_all(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    # -- params -----------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        return yaml.safe_load((self.root / "params.yaml").read_text())

    def set_params(self, **sections: dict[str, Any]) -> None:
        params = self.params()
        for section, values in sections.items():
            params.setdefault(section, {}).update(values)
        (self.root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def ran_stages(output: str) -> list[str]:
    return re.findall(r"Running stage '([\w@.-]+)'", output)


# dvc.yaml's stages, in the order `dvc repro` runs them
STAGES = [
    "synth",
    "collection",
    "fetch",
    "decode",
    "manifest",
    "features",
    "spectrograms",
    "pretrained",
    "embeddings",
    "train_rf",
    "train_svm",
    "train_gbdt",
    "train_crnn",
    "train_musicnn",
    "train_ensemble",
    "compare",
    "analyze",
]

# A server address that refuses connections: a real subset's fetch fails at once, as offline.
OFFLINE = "http://127.0.0.1:9/"

# Small enough that the whole pipeline runs in about a minute on 2 cores.
TINY_PARAMS: dict[str, dict[str, Any]] = {
    "data": {"subset": "synthetic", "url_base": OFFLINE},
    "synth": {"tracks_per_genre": 6, "clip_seconds": 4.0, "seed": 7, "faults": True},
    "audio": {"sr": 22050, "duration": 4.0, "crop": "center"},
    # 3 of 48 tracks are unusable by design (no audio, silent, missing)
    "decode": {"max_bad_fraction": 0.2, "min_seconds": 1.0},
    "compute": {"backend": "local", "workers": 2, "scheduler": "", "chunk_size": 4},
    "rf": {
        "n_estimators": [100],
        "max_features": ["sqrt"],
        "max_depth": [None],
        "min_samples_leaf": [1],
    },
    "svm": {"C": [1.0, 10.0], "gamma": ["scale"]},
    "gbdt": {
        "iterations": 150,
        "learning_rate": [0.2],
        "depth": [4],
        "l2_leaf_reg": [3.0],
        "border_count": 16,
        "early_stopping_rounds": 30,
    },
    "musicnn": {"classifier": ["logistic"], "C": [1.0], "max_iter": 500},
    "model": {
        "variant": "parallel",
        "lr": 0.003,
        "epochs": 3,
        "batch_size": 8,
        "crop_frames": 64,
        "conv_filters": [4, 8],
        "kernel_size": 3,
        "gru_units": 8,
        "dropout": 0.1,
        "l2": 0.0001,
        "patience": 3,
        "lr_patience": 2,
        "seed": 1,
    },
}
