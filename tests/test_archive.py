"""Safe extraction: unsafe entries refuse the whole archive; a partial tree never looks complete."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest

from fmagenre.fma.archive import safe_extract
from fmagenre.infra.errors import UserError


def make_zip(path, entries):
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    return path


def test_extracts_fma_layout(tmp_path):
    archive = make_zip(
        tmp_path / "fma_small.zip",
        {"fma_small/000/000002.mp3": b"a", "fma_small/001/001234.mp3": b"b"},
    )
    written = safe_extract(archive, tmp_path / "out", progress=False)
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in written) == [
        "fma_small/000/000002.mp3",
        "fma_small/001/001234.mp3",
    ]
    assert (tmp_path / "out" / "fma_small" / "001" / "001234.mp3").read_bytes() == b"b"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["fma_small"]  # no staging left behind


@pytest.mark.parametrize(
    "name", ["../evil.txt", "/abs.txt", "fma_small/../../evil.txt", "C:/evil.txt"]
)
def test_unsafe_entries_refuse_the_whole_archive(tmp_path, name):
    archive = make_zip(tmp_path / "bad.zip", {"fma_small/000/000002.mp3": b"a", name: b"evil"})
    with pytest.raises(UserError, match="unsafe entry"):
        safe_extract(archive, tmp_path / "out", progress=False)
    assert not (tmp_path / "evil.txt").exists() and not list((tmp_path / "out").rglob("*.mp3"))


def test_symlink_entries_are_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        info = zipfile.ZipInfo("fma_small/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(info, "/etc/passwd")
    with pytest.raises(UserError, match="symbolic link"):
        safe_extract(archive, tmp_path / "out", progress=False)


def test_members_and_required(tmp_path):
    archive = make_zip(
        tmp_path / "fma_metadata.zip",
        {"fma_metadata/tracks.csv": b"t", "fma_metadata/echonest.csv": b"e"},
    )
    safe_extract(
        archive,
        tmp_path / "out",
        ["fma_metadata/tracks.csv", "fma_metadata/features.csv"],
        progress=False,
    )
    assert [p.name for p in (tmp_path / "out" / "fma_metadata").iterdir()] == ["tracks.csv"]
    with pytest.raises(UserError, match="lacks fma_metadata/genres.csv"):
        safe_extract(
            archive, tmp_path / "out", required=["fma_metadata/genres.csv"], progress=False
        )


def test_corrupt_archive_is_a_clear_error(tmp_path):
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UserError, match="not a readable zip archive"):
        safe_extract(tmp_path / "broken.zip", tmp_path / "out", progress=False)


def test_too_little_free_space_is_refused_before_extracting(tmp_path, monkeypatch):
    import shutil
    from collections import namedtuple

    archive = make_zip(tmp_path / "fma_small.zip", {"fma_small/000/000002.mp3": b"x" * (12 << 20)})
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(1 << 30, 1 << 30, 1 << 20))
    with pytest.raises(UserError) as info:
        safe_extract(archive, tmp_path / "out", progress=False)
    message = str(info.value)
    assert "not enough disk space in" in message and str(tmp_path / "out") in message
    assert "it needs 0.01 GiB, 0.00 GiB are free" in message
    assert "delete" not in message.replace("do not delete", "")
    assert archive.exists() and not list((tmp_path / "out").rglob("*.mp3"))


@pytest.mark.parametrize("code", ["ENOSPC", "EACCES"])
def test_a_failed_write_does_not_blame_the_archive(tmp_path, monkeypatch, code):
    """A full disk mid-extraction is the disk's fault: never tell the user to delete the
    verified archive."""
    import errno
    import shutil

    archive = make_zip(tmp_path / "fma_small.zip", {"fma_small/000/000002.mp3": b"x" * 1000})
    real_copy = shutil.copyfileobj

    def write_fails(source, sink, length=0):
        sink.write(source.read(100))
        raise OSError(getattr(errno, code), os.strerror(getattr(errno, code)))

    monkeypatch.setattr(shutil, "copyfileobj", write_fails)
    with pytest.raises(UserError) as info:
        safe_extract(archive, tmp_path / "out", progress=False)
    message = str(info.value)
    assert "the archive is fine: do not delete it" in message
    assert "delete it and run again" not in message
    if code == "ENOSPC":
        assert "filled up" in message and "GiB must be free" in message
    assert not list((tmp_path / "out").rglob("*.mp3")) and not list((tmp_path / "out").iterdir())
    monkeypatch.setattr(shutil, "copyfileobj", real_copy)
    safe_extract(archive, tmp_path / "out", progress=False)  # the same archive extracts fine
    assert (tmp_path / "out/fma_small/000/000002.mp3").read_bytes() == b"x" * 1000
