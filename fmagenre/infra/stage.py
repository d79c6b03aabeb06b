"""The shared entry point of the DVC stage modules under stages/.

A stage module is thin: it reads params, calls the library and writes its outputs. This
wrapper gives every stage the same behaviour on the faults a user can meet: one line and
exit status 2 for a UserError (bad params, offline, checksum mismatch ...) or a full disk,
exit status 130 with a note that the work done so far is kept on Ctrl-C. It also holds the
stage's run lock (one run at a time) and, under ``dvc repro``, ends the stage when dvc ends.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from fmagenre.infra import paths
from fmagenre.infra.disk import disk_full_message, is_disk_full
from fmagenre.infra.errors import UserError
from fmagenre.infra.lifetime import follow_dvc
from fmagenre.infra.params import Params, load_params
from fmagenre.infra.runlock import run_lock


def run_stage(name: str, body: Callable[[Params], None]) -> None:
    """Load and validate params.yaml, run ``body``, exit with a clear status."""
    logging.basicConfig(level=logging.INFO, format=f"[{name}] %(message)s", stream=sys.stderr)
    # TensorFlow C++ logs (oneDNN notes, "failed call to cuInit" on machines without a GPU) are
    # noise here; TF_CPP_MIN_LOG_LEVEL=0 brings them back
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        follow_dvc()
        params = load_params()
        with run_lock(paths.WORK / f"{name}.lock", f"the {name} stage"):
            body(params)
    except UserError as exc:
        print(f"[{name}] error: {exc}", file=sys.stderr)
        sys.exit(2)
    except FileNotFoundError as exc:
        # an input an earlier stage writes is missing (a stage run on its own, a deleted file)
        missing = exc.filename or str(exc)
        print(
            f"[{name}] error: {missing} not found: run the stages before this one first (dvc repro {name})",
            file=sys.stderr,
        )
        sys.exit(2)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        print(
            f"[{name}] error: {disk_full_message(exc)}; finished work is kept: free space and "
            f"run again to resume (dvc repro {name})",
            file=sys.stderr,
        )
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"[{name}] interrupted: finished work is kept; run again to resume", file=sys.stderr)
        sys.exit(130)
