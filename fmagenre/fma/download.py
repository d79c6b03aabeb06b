"""Downloading FMA's archives: resumable, verified, never trusted before the checksum says so.

FMA's archives are 7 to 879 GiB, and downloads that size get interrupted. So a download
goes to ``<name>.part``, resumes from where it stopped with an HTTP Range request, retries
transient failures with backoff, and becomes ``<name>`` only once its SHA-1 matches FMA's
published one. A connection that trickles (below a minimum rate over a window) counts as a
failure, not as progress, and a resumed reply must start at the bytes already held. A small ``<name>.verified`` record (size, mtime, SHA-1) lets later runs skip
both the download and the hashing of an archive already checked. On a mismatch nothing the
user had is deleted or replaced, and the message says what to do.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import requests
import urllib3
from tqdm.auto import tqdm

from fmagenre.infra.disk import require_free_space
from fmagenre.infra.errors import UserError

log = logging.getLogger(__name__)

CHUNK = 1 << 20  # 1 MiB, for hashing
NETWORK_CHUNK = 1 << 16  # small reads, so a dropped connection loses at most 64 KiB
OFFLINE_HINT = (
    "this machine cannot reach it; to go back to the synthetic dataset, restore "
    "data.subset: synthetic (`git checkout params.yaml` undoes an experiment's -S) and run "
    "`dvc repro`: its data come back from DVC's cache"
)


MIN_RATE = 10 * 1024  # bytes per second, averaged over RATE_WINDOW ...
RATE_WINDOW = 60.0  # ... seconds: slower than that is a stalled connection, not progress


class TransientError(Exception):
    """A failure worth retrying: dropped connection, timeout, 5xx."""


class StalledError(TransientError):
    """The connection delivers, but too slowly to ever finish: retried, never counted as progress."""


def sha1_of(path: Path, progress: bool = False) -> str:
    digest = hashlib.sha1()
    size = path.stat().st_size
    with (
        open(path, "rb") as handle,
        tqdm(
            total=size,
            unit="B",
            unit_scale=True,
            desc=f"verify {path.name}",
            disable=not progress,
            leave=False,
        ) as bar,
    ):
        while block := handle.read(CHUNK):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def _record_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".verified")


def is_verified(dest: Path, sha1: str) -> bool:
    """True when ``dest`` was verified before and has not changed since (no re-hash)."""
    record = _record_path(dest)
    if not (dest.exists() and record.exists()):
        return False
    try:
        data = json.loads(record.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return False
    stat = dest.stat()
    return data == {"sha1": sha1, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _mark_verified(dest: Path, sha1: str) -> None:
    stat = dest.stat()
    _record_path(dest).write_text(
        json.dumps({"sha1": sha1, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}) + "\n"
    )


def download(
    url: str,
    dest: Path,
    sha1: str,
    *,
    progress: bool = True,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 30.0,
    session: requests.Session | None = None,
    min_rate: float = MIN_RATE,
    rate_window: float = RATE_WINDOW,
) -> Path:
    """Make ``dest`` a verified copy of ``url``; return it. Raises UserError on a fault a user must fix."""
    scheme = urlparse(url).scheme
    if scheme not in ("http", "https") or not urlparse(url).netloc:
        raise UserError(
            f"cannot download {url!r}: not an http:// or https:// URL (check data.url_base in params.yaml)"
        )
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if is_verified(dest, sha1):
        log.info("%s: already downloaded and verified", dest.name)
        return dest
    if dest.exists():
        # Someone put the archive there (or an earlier run's record was lost): check it, never clobber it.
        actual = sha1_of(dest, progress)
        if actual != sha1:
            raise UserError(
                f"{dest} does not match FMA's checksum (SHA-1 {actual}, expected {sha1}): the file is damaged or "
                f"not the right archive. It was left untouched; delete it and run again to download it afresh."
            )
        _mark_verified(dest, sha1)
        return dest

    part = dest.with_name(dest.name + ".part")
    session = session or requests.Session()
    attempt = 0
    started = size = _size(part)
    while True:
        try:
            _fetch_into(session, url, part, timeout, progress, (min_rate, rate_window))
            break
        except requests.TooManyRedirects:
            raise UserError(
                f"downloading {url} failed: the server redirects in a loop; check data.url_base in params.yaml"
            ) from None
        except (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema) as exc:
            raise UserError(f"cannot download {url!r}: {exc}; check data.url_base") from None
        except (TransientError, requests.ConnectionError) as exc:
            # Retries count failures in a row: an attempt that moved the download on proves
            # the connection works, so a huge download survives any number of drops (a
            # trickle that stalled proves nothing).
            if _size(part) > size and not isinstance(exc, StalledError):
                attempt = 0
            size = _size(part)
            attempt += 1
            if isinstance(exc, requests.ConnectionError):
                if size == started:  # the host never answered: most likely offline
                    if attempt > min(retries, 2):
                        raise UserError(
                            f"cannot reach {url}: {_reason(exc)}; {OFFLINE_HINT}"
                        ) from None
                    time.sleep(backoff * attempt)
                    continue
                exc = TransientError(f"cannot reconnect: {_reason(exc)}")
            if attempt > retries:
                raise UserError(
                    f"downloading {url} failed {attempt} times in a row ({exc}); run again to resume from {size:,} bytes"
                ) from None
            wait = backoff * 2 ** (attempt - 1)
            log.warning(
                "%s: %s; retrying in %.1f s (%d/%d)", dest.name, exc, wait, attempt, retries
            )
            time.sleep(wait)

    actual = sha1_of(part, progress)
    if actual != sha1:
        raise UserError(
            f"the download of {dest.name} does not match FMA's checksum (SHA-1 {actual}, expected {sha1}); nothing was "
            f"extracted. The bytes are kept in {part} for inspection: delete it and run again to download afresh "
            "(if it fails again, the server's copy or data.url_base is wrong)."
        )
    os.replace(part, dest)
    _mark_verified(dest, sha1)
    return dest


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in (
        "Name or service not known",
        "Temporary failure in name resolution",
        "Connection refused",
        "No route to host",
        "Network is unreachable",
        "timed out",
    ):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


def _fetch_into(
    session: requests.Session,
    url: str,
    part: Path,
    timeout: float,
    progress: bool,
    rate: tuple[float, float] = (MIN_RATE, RATE_WINDOW),
) -> None:
    """Append the rest of ``url`` to ``part``. Raises TransientError for retryable failures."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        response = session.get(url, headers=headers, stream=True, timeout=timeout)
    except requests.Timeout as exc:
        raise TransientError(f"timed out: {exc}") from None
    with response:
        if response.status_code == 416 and have:
            return  # the part is already complete: verification decides
        if response.status_code >= 500:
            raise TransientError(f"server error {response.status_code}")
        if response.status_code not in (200, 206):
            raise UserError(
                f"downloading {url} failed: HTTP {response.status_code} {response.reason}. Check data.url_base in params.yaml."
            )
        if response.status_code == 200 and have:
            log.info("%s: the server ignored the resume request; starting over", part.name)
            have = 0
        if response.status_code == 206 and _range_start(response) != have:
            # bytes from elsewhere appended to the part would only show as a bad checksum
            # at the very end: start over instead
            part.unlink()
            raise TransientError(
                f"the server resumed at {response.headers.get('Content-Range') or 'an unknown byte'} "
                f"instead of byte {have:,}; starting over"
            )
        total = _total_size(response, have)
        if total is not None:
            require_free_space(part.parent, total - have, f"for the rest of {part.name}")
        mode = "ab" if have else "wb"
        with (
            open(part, mode) as handle,
            tqdm(
                total=total,
                initial=have,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                disable=not progress,
            ) as bar,
        ):
            try:
                for block in _blocks(response, *rate):
                    handle.write(block)
                    bar.update(len(block))
            except (
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.Timeout,
                urllib3.exceptions.HTTPError,
            ) as exc:
                raise TransientError(
                    f"connection dropped after {handle.tell():,} bytes ({type(exc).__name__})"
                ) from None
        if total is not None and part.stat().st_size < total:
            raise TransientError(f"connection closed at {part.stat().st_size:,} of {total:,} bytes")


def _blocks(response: requests.Response, min_rate: float, window: float) -> Iterator[bytes]:
    """The body as it arrives (each read returns what came, however little, so a trickle is
    seen); StalledError when a window of ``window`` seconds brings less than ``min_rate``
    bytes a second (a per-read timeout never fires on a server sending 4 bytes a second)."""
    started, received = time.monotonic(), 0
    while block := response.raw.read1(NETWORK_CHUNK, decode_content=True):
        yield block
        received += len(block)
        elapsed = time.monotonic() - started
        if elapsed >= window:
            if received < min_rate * elapsed:
                raise StalledError(
                    f"stalled: {received:,} bytes in {elapsed:.0f} s, below the minimum of "
                    f"{min_rate / 1024:g} KiB/s"
                )
            started, received = time.monotonic(), 0


def _range_start(response: requests.Response) -> int | None:
    """The first byte a 206 reply carries, from its Content-Range (None when absent)."""
    match = re.match(r"bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _total_size(response: requests.Response, have: int) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    if response.status_code == 206 and "/" in content_range:
        tail = content_range.rsplit("/", 1)[1]
        return int(tail) if tail.isdigit() else None
    length = response.headers.get("Content-Length")
    return (
        int(length) + (have if response.status_code == 206 else 0)
        if length and length.isdigit()
        else None
    )
