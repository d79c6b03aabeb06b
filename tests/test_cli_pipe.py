"""A reader that stops early (`| head`) ends a command quietly, as it does any Unix tool."""

import subprocess
import sys


def test_a_closed_pipe_ends_the_command_without_a_traceback() -> None:
    # `true` exits before the command has started, so its first write meets a closed pipe
    command = f"{sys.executable} -m fmagenre params --schema | true"
    run = subprocess.run(["bash", "-c", command], capture_output=True, text=True)
    assert run.returncode == 0  # true's
    assert "Traceback" not in run.stderr, run.stderr
    assert "BrokenPipe" not in run.stderr, run.stderr
