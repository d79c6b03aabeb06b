"""TensorFlow (seconds to import, hundreds of MB) loads only where a network is built or run."""

from __future__ import annotations

import subprocess
import sys

from conftest import PROJECT

# The one module that needs Keras at import: its class derives from keras.utils.PyDataset.
NEEDS_KERAS = {"fmagenre.models.crnn.batches"}

PROBE = """
import importlib, pkgutil, sys
import fmagenre
for info in pkgutil.walk_packages(fmagenre.__path__, "fmagenre."):
    if info.name in NEEDS_KERAS or info.name == "fmagenre.__main__":
        continue
    importlib.import_module(info.name)
    loaded = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
    if loaded:
        sys.exit(f"importing {info.name} loads {', '.join(loaded)}")
print("ok")
"""


def test_no_module_but_the_training_batches_imports_tensorflow():
    result = subprocess.run(
        [sys.executable, "-c", f"NEEDS_KERAS = {NEEDS_KERAS!r}\n{PROBE}"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
