"""Does the committed dvc.lock match the committed code and params? (a CI step, .ci/run)

A fresh clone has no outputs, so `dvc status` there reports every output and every data
dependency as deleted; that is expected. What must not appear is a stage whose command,
code or params differ from what dvc.lock recorded, or a stage dvc.lock does not know: then
`make demo` on the clone reruns it, and the reference run in dvc.lock and metrics/ no
longer describes the code. Exit status 1 lists them.

    python tests/lock_status.py [PROJECT]     (default: this project, as committed at HEAD)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]


def stale_entries(status: dict[str, Any]) -> list[str]:
    """What in `dvc status --json` of a clone without outputs says dvc.lock is stale."""
    stale = []
    for stage, changes in status.items():
        for change in changes:
            if isinstance(change, str):  # "changed command", "always changed" ...
                stale.append(f"{stage}: {change}")
                continue
            for kind, items in change.items():
                if kind == "changed outs":
                    continue  # no outputs in a fresh clone: all deleted, as expected
                for path, state in items.items():
                    if isinstance(state, dict):  # a params file: key -> modified/new/deleted
                        stale += [f"{stage}: {path}: {k} {v}" for k, v in state.items()]
                    elif state != "deleted":  # a deleted dep is an output not yet made
                        stale.append(f"{stage}: {path} {state}")
    return stale


def clone_status(project: Path) -> dict[str, Any]:
    """`dvc status --json` in a fresh clone of ``project``'s HEAD."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    with tempfile.TemporaryDirectory(prefix="lock-status-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(project), str(clone)], check=True, env=env)
        result = subprocess.run(
            [sys.executable, "-m", "dvc", "status", "--json"],
            cwd=clone,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(result.stdout or "{}")


def main(argv: list[str]) -> int:
    project = Path(argv[1]) if len(argv) > 1 else PROJECT
    stale = stale_entries(clone_status(project))
    if stale:
        print(
            "dvc.lock does not match the committed code and params; regenerate it (make demo",
            file=sys.stderr,
        )
        print("on a clean clone, then commit dvc.lock and metrics/):", file=sys.stderr)
        for line in stale:
            print(f"  {line}", file=sys.stderr)
        return 1
    print("dvc.lock matches the committed code and params")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
