"""A real HTTP server on 127.0.0.1 that serves files with Range support, and misbehaves on request.

Tests of the download code talk to it over a real socket: it can drop the connection
mid-file (once or more), hang up without answering, answer 5xx a few times, ignore Range,
and it records every request.
"""

from __future__ import annotations

import contextlib
import threading
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
        path = self.server.root / self.path.lstrip("/")
        if not path.is_file():
            self.send_error(404, "Not Found")
            return
        data = path.read_bytes()
        start = 0
        range_header = self.headers.get("Range")
        if range_header and not behaviour.ignore_range:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
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
