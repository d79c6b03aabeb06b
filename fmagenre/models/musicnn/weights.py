"""The pretrained MSD_musicnn checkpoint: obtained the way pip gets anything, verified, kept once.

musicnn 0.1.0 (ISC licence, Jordi Pons / MTG-UPF) ships its TensorFlow 1 checkpoints inside
its wheel on the Python package index. Its code cannot run in this project (it pins
numpy<1.17 and builds on tf.compat.v1.layers, which Keras 3 lacks), so only the weights are
used: ``python -m pip download`` fetches the wheel with the user's own index settings (no
host is written here), its SHA-256 is checked, and only the MSD_musicnn checkpoint and the
licence text are kept.

They are kept in a user-level cache, not in the project: every clone, every temporary copy
the tests make, and `tag` right after install share one copy, so the wheel is downloaded
once per machine and user. The DVC stage ``pretrained`` copies from this cache into its
output. A process lock makes concurrent first uses download once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fmagenre.infra.errors import UserError

REQUIREMENT = "musicnn==0.1.0"
WHEEL = "musicnn-0.1.0-py3-none-any.whl"
WHEEL_SHA256 = "f38a4890c648c1ddbb141c5d96d2b0a8cfcd36746002d896989f7b88beb65cfa"
FOLDER = "musicnn-0.1.0"  # inside the cache
PREFIX = "msd_musicnn"  # checkpoint prefix: tf.train.load_checkpoint reads <prefix>.index/.data
# wheel member -> kept file, with the kept file's SHA-256 (checked on every use)
MEMBERS: dict[str, tuple[str, str]] = {
    "musicnn/MSD_musicnn/.data-00000-of-00001": (
        f"{PREFIX}.data-00000-of-00001",
        "8579734ee6388f799ed0def4bbd0d1fdcbeaf213ef2a9dc860917bd76a303de6",
    ),
    "musicnn/MSD_musicnn/.index": (
        f"{PREFIX}.index",
        "87f3e0f3550c8d3bafc840374003e5c8af5eeb5ecf6add61af09a7822d3282c8",
    ),
    "musicnn-0.1.0.dist-info/LICENSE.md": (
        "LICENSE.md",
        "60c4194f702ddd969f969577743546327b4e9db560c07ec286be5cec27f55fcd",
    ),
}
CACHE_ENV = "FMAGENRE_CACHE"
PIP_TIMEOUT = 1800  # seconds; pip applies the user's own retries and timeouts within it


def cache_dir() -> Path:
    """$FMAGENRE_CACHE, else $XDG_CACHE_HOME/fmagenre, else ~/.cache/fmagenre."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "fmagenre"


@dataclass(frozen=True)
class Checkpoint:
    """The kept files: ``prefix`` is what tf.train.load_checkpoint takes."""

    folder: Path

    @property
    def prefix(self) -> Path:
        return self.folder / PREFIX

    @property
    def licence(self) -> Path:
        return self.folder / "LICENSE.md"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` holds every kept file, each with its expected SHA-256."""
    try:
        return all(sha256(folder / name) == digest for name, digest in MEMBERS.values())
    except OSError:
        return False


@contextlib.contextmanager
def cache_lock(name: str) -> Iterator[None]:
    """An exclusive lock across processes (a lock file in the cache), held while it runs."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / f".{name}.lock", "a+")  # noqa: SIM115 - held for the block
    except OSError as exc:
        raise UserError(
            f"cannot write the fmagenre cache {folder} ({exc.strerror}); set {CACHE_ENV} to a "
            "writable folder"
        ) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_checkpoint() -> Checkpoint:
    """The verified MSD_musicnn checkpoint in the user cache, obtained first if needed.

    Raises UserError (one line) when the wheel cannot be obtained or is not the expected one.
    """
    folder = cache_dir() / FOLDER
    if is_complete(folder):
        return Checkpoint(folder)
    with cache_lock(FOLDER):
        if not is_complete(folder):  # another process may have finished meanwhile
            with tempfile.TemporaryDirectory(prefix=".download-", dir=cache_dir()) as tmp:
                wheel = obtain_wheel(Path(tmp))
                extract(wheel, folder)
    return Checkpoint(folder)


def obtain_wheel(into: Path) -> Path:
    """The musicnn wheel, checked: one the user put in the cache, else pip's download."""
    placed = cache_dir() / WHEEL
    if placed.exists():
        check_wheel(placed)
        return placed
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--dest",
        str(into),
        REQUIREMENT,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    except subprocess.TimeoutExpired:
        result = None
    wheel = into / WHEEL
    if result is None or result.returncode != 0 or not wheel.exists():
        reason = "timed out" if result is None else _last_error(result.stderr + result.stdout)
        raise UserError(
            f"cannot obtain the pretrained musicnn weights: `pip download {REQUIREMENT}` failed "
            f"({reason}); they come from your package index like any requirement, so check that "
            f"pip reaches it (`pip config list`), or put {WHEEL} in {cache_dir()}"
        )
    check_wheel(wheel)
    return wheel


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    text = (errors or lines or ["no output"])[-1]
    return text[:300]


def check_wheel(wheel: Path) -> None:
    found = sha256(wheel)
    if found != WHEEL_SHA256:
        raise UserError(
            f"{wheel} is not the musicnn 0.1.0 wheel this project was built on (SHA-256 {found}, "
            f"expected {WHEEL_SHA256}); nothing was kept. Check your package index, or delete the file"
        )


def extract(wheel: Path, folder: Path) -> None:
    """Keep only the MSD checkpoint and the licence of the wheel, verified, in ``folder``."""
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=folder.parent))
    try:
        with zipfile.ZipFile(wheel) as archive:
            for member, (name, _) in MEMBERS.items():
                with archive.open(member) as source, open(staging / name, "wb") as target:
                    shutil.copyfileobj(source, target)
        if not is_complete(staging):
            raise UserError(f"{wheel}: its checkpoint files are not the expected ones")
        if folder.exists():
            shutil.rmtree(folder)  # an incomplete or damaged earlier copy
        os.replace(staging, folder)
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise UserError(
            f"cannot extract the musicnn weights from {wheel} into {folder}: {exc}"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
