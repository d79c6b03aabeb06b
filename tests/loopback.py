"""A real HTTP server on 127.0.0.1 that serves files with Range support, and misbehaves on request.

Tests of the download code talk to it over a real socket: it can drop the connection
mid-file (once or more), hang up without answering, answer 5xx a few times, ignore Range,
resume from the wrong byte, redirect in a loop, trickle bytes, and it records every request.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Behaviour:
    drop_after: int | None = None  # close the connection after this many body bytes, ...
    drops: int = 1  # ... this many times
    hang_ups: int = 0  # once some bytes were sent, close this many connections unanswered
    server_errors: int = 0  # answer 500 this many times first
    ignore_range: bool = False
    resume_from_zero: bool = False  # answer a Range request with 206 from byte 0 (and say so)
    redirect_loop: bool = False  # answer every request with a redirect to itself
    trickle: int | None = None  # after this many body bytes, send one byte every 0.05 s
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    bytes_sent: int = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        behaviour = self.server.behaviour
        behaviour.requests.append((self.path, self.headers.get("Range")))
        if behaviour.hang_ups > 0 and behaviour.bytes_sent > 0:
            behaviour.hang_ups -= 1
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if behaviour.server_errors > 0:
            behaviour.server_errors -= 1
            self.send_error(500, "try again")
            return
        if behaviour.redirect_loop:
            self.send_response(302)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = self.server.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        data = path.read_bytes()
        start = 0
        range_header = self.headers.get("Range")
        if range_header and not behaviour.ignore_range:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if behaviour.resume_from_zero:
                start = 0
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if behaviour.drop_after is not None and behaviour.drop_after < len(body):
            self.wfile.write(body[: behaviour.drop_after])
            self.wfile.flush()
            behaviour.bytes_sent += behaviour.drop_after
            behaviour.drops -= 1
            if behaviour.drops <= 0:
                behaviour.drop_after = None
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if behaviour.trickle is not None:
            self.wfile.write(body[: behaviour.trickle])
            self.wfile.flush()
            behaviour.bytes_sent += behaviour.trickle
            deadline = time.monotonic() + 30  # bounded: the client gives up long before
            for byte in body[behaviour.trickle :]:
                if time.monotonic() > deadline:
                    break
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:  # the client hung up, as it should
                    break
                behaviour.bytes_sent += 1
                time.sleep(0.05)
            self.close_connection = True
            return
        self.wfile.write(body)
        behaviour.bytes_sent += len(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, behaviour: Behaviour):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.behaviour = behaviour


@contextlib.contextmanager
def serve(root: Path, behaviour: Behaviour | None = None) -> Iterator[tuple[str, Behaviour]]:
    """Serve ``root`` on a free loopback port; yield (base URL ending in '/', behaviour)."""
    behaviour = behaviour or Behaviour()
    server = _Server(Path(root), behaviour)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", behaviour
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
