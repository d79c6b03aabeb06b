"""No tracked file names a folder of one machine: a clone must work wherever it is put.

A home folder, the developers' work tree or a scratch folder under /tmp written into code,
configuration or a recorded result works on one machine only (CI clones elsewhere) and tells
a reader nothing. Paths are relative to the clone, or found at run time.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from conftest import PROJECT

# An absolute path (not the tail of a relative one such as ../../tmp/x) into a home folder,
# the work tree, a scratch folder, or a Windows or macOS user folder.
MACHINE_PATH = re.compile(
    r"(?<![\w.~/$-])(?:/(?:root|work|tmp|scratch|Users/[^/\s]+|home/[^/\s]+|var/folders)/"
    r"|[A-Za-z]:\\Users\\)"
)

# Each exception is one exact path in one file, with the reason it is not a machine's path.
ALLOWED = {
    ("tests/musicnn_reference/oracle.py", "/" + "tmp/musicnn-oracle"): (
        "the recipe for the reference outputs builds a throwaway venv there, on any machine"
    ),
}


def tracked_text_files() -> list[str]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=PROJECT, capture_output=True, check=True, timeout=60
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"not a git clone ({exc}): no tracked files to check")
    return [name for name in listed.decode().split("\0") if name]


def machine_paths(text: str) -> list[str]:
    """Each machine path of a text, as far as its first space or quote."""
    return [
        re.match(r"[^\s'\"`)\]]+", text[m.start() :]).group(0) for m in MACHINE_PATH.finditer(text)
    ]


def test_the_check_sees_machine_paths_and_leaves_relative_ones():
    home, work, scratch = "/" + "home/ana/fmagenre", "/" + "work/shared/x", "/" + "tmp/tmpab12cd/p"
    assert machine_paths(f'cd {home} && ls "{work}" ({scratch})') == [home, work, scratch]
    assert machine_paths("/" + "root/.cache/fmagenre") and machine_paths("C:" + "\\Users\\ana\\x")
    for fine in ("../shared/fixtures/fma_mp3", "../../tmp/x", "data/.work/x", "/usr/bin/env"):
        assert not machine_paths(fine), fine


def test_no_tracked_text_file_names_a_folder_of_one_machine():
    found = []
    files = tracked_text_files()
    for name in files:
        path = PROJECT / name
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary: an image, a model file
        text = data.decode("utf-8", errors="replace")
        found.extend(
            f"{name}: {hit}"
            for hit in machine_paths(text)
            if not any(hit.startswith(allowed) for file, allowed in ALLOWED if file == name)
        )
    assert len(files) > 100, f"only {len(files)} tracked files listed"
    assert not found, "absolute paths of one machine (make them relative): " + "; ".join(found)


def test_each_allowed_exception_is_still_there():
    for file, allowed in ALLOWED:
        assert allowed in (PROJECT / file).read_text(encoding="utf-8"), (file, allowed)
