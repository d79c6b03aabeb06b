"""What C and C++ libraries print straight to the stderr file descriptor, captured.

mpg123 prints resync notes for every damaged MP3, and TensorFlow prints start-up notes
(oneDNN, missing CUDA drivers) that no environment variable silences any more. Printed, they
bury progress bars and real errors; captured at the file-descriptor level they can be kept
with the track they concern, or filtered.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

TENSORFLOW_NOISE = re.compile(
    r"All log messages before absl::InitializeLog|oneDNN custom operations|cudart_stub|cuda_platform|"
    r"cpu_feature_guard|To enable the following instructions|rebuild TensorFlow with the appropriate compiler|"
    r"Could not find cuda drivers|failed call to cuInit|generator_dataset_op"
)

# fd 2 belongs to the whole process: captures from several threads (a Dask worker with
# nthreads > 1) must take turns, or one restores fd 2 to another's deleted temporary file
# and notes land with the wrong track. Re-entrant, so a capture may nest inside another.
_capture_lock = threading.RLock()


@contextlib.contextmanager
def captured() -> Iterator[list[str]]:
    """Collect, as lines, what anything in this process writes to file descriptor 2 meanwhile."""
    lines: list[str] = []
    with _capture_lock:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr to capture
            yield lines
            return
        sys.stderr.flush()
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield lines
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                text = sink.read().decode("utf-8", "replace")
                lines.extend(line.strip() for line in text.splitlines() if line.strip())


@contextlib.contextmanager
def quiet_tensorflow() -> Iterator[None]:
    """Drop TensorFlow's start-up notes; anything else printed meanwhile is passed on."""
    with captured() as lines:
        yield
    for line in lines:
        if not TENSORFLOW_NOISE.search(line):
            print(line, file=sys.stderr)


def import_keras():
    """Import keras (and TensorFlow under it) without its start-up notes."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_tensorflow():
        import keras
        import tensorflow  # noqa: F401
    return keras
