"""Receiving one uploaded file: refused early when too large, never kept after the answer.

The size limit is checked twice: against Content-Length before a byte of the body is read,
and against the bytes actually streamed (a client may send no length, or lie). The body is
parsed by Starlette's multipart parser (python-multipart) as it arrives, spooled to disk past
1 MB, then copied to a temporary file of ours with a random name in a private folder: the
decoders need a path, and the client's file name is only ever shown, never used as one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from fmagenre.models.predict import AUDIO_EXTENSIONS

FIELD = "file"  # the form field that holds the file
FORM_OVERHEAD = 64 * 1024  # multipart boundaries and part headers, beside the file itself
DRAIN_LIMIT = 8 * 1024 * 1024  # read on past the limit so the client gets its 413, then stop


class UploadRefused(Exception):
    """An upload this server will not analyse: the HTTP status and a one-line reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Upload:
    path: Path  # our temporary copy
    name: str  # the client's name for it, cleaned for display


def shown_name(given: str | None) -> str:
    """The client's file name as text to show: its last component, no control characters,
    at most 120 characters (non-ASCII letters are kept: they are a name, not a threat)."""
    text = (given or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    if text in ("", ".", ".."):
        return "upload"
    return text if len(text) <= 120 else text[:58] + "..." + text[-59:]


def _suffix(name: str) -> str:
    """The extension our copy gets, so the decoders see the format the client named
    (only one of the audio extensions; anything else gets none)."""
    suffix = Path(name).suffix.lower()
    return suffix if suffix in AUDIO_EXTENSIONS else ""


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.3g} MB"


async def _counted(request: Request, limit: int) -> AsyncIterator[bytes]:
    """The body's chunks, until it passes the limit. Past it, up to DRAIN_LIMIT more bytes
    are read and dropped (a client still sending then gets the 413 rather than a reset
    connection; one that sends more is cut off), and the upload is refused."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received <= limit + FORM_OVERHEAD:
            yield chunk
        elif received > limit + FORM_OVERHEAD + DRAIN_LIMIT:
            break
    if received > limit + FORM_OVERHEAD:
        raise UploadRefused(
            413, f"the upload is larger than the server's limit of {_megabytes(limit)}"
        )


@contextlib.asynccontextmanager
async def received_upload(request: Request, limit: int, folder: Path) -> AsyncIterator[Upload]:
    """The one file of a multipart request, as our temporary copy, deleted on exit."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise UploadRefused(415, f"send the file as multipart/form-data in a field named {FIELD!r}")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise UploadRefused(
            413,
            f"the upload ({_megabytes(int(declared))}) is larger than the server's limit of "
            f"{_megabytes(limit)}",
        )
    parser = MultiPartParser(request.headers, _counted(request, limit), max_files=1, max_fields=16)
    try:
        form = await parser.parse()
    except MultiPartException as exc:  # a second file, a malformed body
        raise UploadRefused(400, f"{exc} (send one file per request)") from None
    try:
        part = form.get(FIELD)
        if not isinstance(part, UploadFile):
            fields = sorted({key for key, _ in form.multi_items()})
            got = ", ".join(repr(key) for key in fields) if fields else "no field"
            raise UploadRefused(400, f"no file in the form field {FIELD!r} (got {got})")
        name = shown_name(part.filename)
        if not part.size:
            raise UploadRefused(400, f"{name}: the file is empty")
        if part.size > limit:
            raise UploadRefused(
                413, f"{name}: larger than the server's limit of {_megabytes(limit)}"
            )
        with _temporary_file(folder, _suffix(name)) as path:
            await run_in_threadpool(_copy, part, path)
            yield Upload(path, name)
    finally:
        await form.close()


def _copy(part: UploadFile, path: Path) -> None:
    part.file.seek(0)
    with open(path, "wb") as out:
        shutil.copyfileobj(part.file, out, 1024 * 1024)


@contextlib.contextmanager
def _temporary_file(folder: Path, suffix: str) -> Iterator[Path]:
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=suffix, dir=folder)
    os.close(fd)
    try:
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
