"""Extracting FMA's zip archives safely.

Python's zipfile reads FMA's archives where some unzip tools fail. Entries are checked
before anything is written: an absolute path, a drive letter, a '..' component or a
symbolic link could write outside the destination, so the whole archive is refused. The
tree is extracted into a temporary folder beside the destination and renamed into place,
so a half-extracted tree never looks complete.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from tqdm.auto import tqdm

from fmagenre.infra.atomic import remove
from fmagenre.infra.disk import require_free_space
from fmagenre.infra.errors import UserError


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why an entry may not be extracted, or None when it is safe."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or path.is_absolute():
        return "an absolute path"
    if len(name) > 1 and name[1] == ":":
        return "a drive letter"
    if ".." in path.parts:
        return "a '..' component"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    return None


def safe_extract(
    zip_path: Path,
    dest_dir: Path,
    members: Iterable[str] | None = None,
    *,
    required: Iterable[str] = (),
    progress: bool = True,
) -> list[Path]:
    """Extract ``zip_path`` (or only those of ``members`` it has) into ``dest_dir``; return the
    files written. Entries in ``required`` must be there.

    Top-level folders of the archive replace same-named folders in ``dest_dir`` only once
    their extraction has finished.
    """
    zip_path, dest_dir = Path(zip_path), Path(dest_dir)
    try:
        bundle = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UserError(
            f"{zip_path} is not a readable zip archive ({exc}); delete it and run again to download it afresh"
        ) from None
    with bundle:
        infos = [info for info in bundle.infolist() if not info.is_dir()]
        if members is not None:
            wanted = set(members)
            infos = [info for info in infos if info.filename in wanted]
        missing = set(required) - {info.filename for info in infos}
        if missing:
            raise UserError(f"{zip_path} lacks {', '.join(sorted(missing))}; is it FMA's archive?")
        for info in infos:
            reason = unsafe_reason(info)
            if reason:
                raise UserError(
                    f"{zip_path} holds an unsafe entry {info.filename!r} ({reason}); nothing was extracted"
                )
        dest_dir.mkdir(parents=True, exist_ok=True)
        total = sum(info.file_size for info in infos)
        require_free_space(
            dest_dir, total, f"to extract {zip_path.name}", " (the archive is fine: keep it)"
        )
        staging = dest_dir / f".extract-{zip_path.stem}-{os.getpid()}.tmp"
        remove(staging)
        written = []
        try:
            with tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=f"extract {zip_path.name}",
                disable=not progress,
            ) as bar:
                for info in infos:
                    target = staging / PurePosixPath(info.filename.replace("\\", "/"))
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with bundle.open(info) as source, open(target, "wb") as sink:
                        shutil.copyfileobj(source, sink, 1 << 20)
                    written.append(Path(info.filename))
                    bar.update(info.file_size)
            for top in sorted({path.parts[0] for path in written}):
                remove(dest_dir / top)
                os.replace(staging / top, dest_dir / top)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as exc:
            raise UserError(
                f"extracting {zip_path} failed ({exc}); delete it and run again to download it afresh"
            ) from None
        except OSError as exc:
            # The file system's fault (a full disk, no permission), not the archive's: the
            # user must not be told to delete a verified multi-GiB download.
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise UserError(
                    f"the disk holding {dest_dir} filled up while extracting {zip_path.name}: "
                    f"{total / 2**30:.2f} GiB must be free there; free space and run again "
                    "(the archive is fine: do not delete it)"
                ) from None
            raise UserError(
                f"extracting {zip_path.name} into {dest_dir} failed ({exc}); fix the cause "
                "(permissions, the disk) and run again (the archive is fine: do not delete it)"
            ) from None
        finally:
            remove(staging)
    return [dest_dir / path for path in written]
