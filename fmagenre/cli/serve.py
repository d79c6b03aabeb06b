"""``python -m fmagenre serve``: a local page (and JSON API) to classify and tag your files.

No authentication: it binds 127.0.0.1 unless told otherwise; keep it there or behind a
proxy of your own (docs/serve.md). Exit status 0 after Ctrl-C, 2 when it cannot start.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
from pathlib import Path

from fmagenre.cli.arguments import non_negative_int
from fmagenre.infra.errors import UserError
from fmagenre.infra.paths import MODELS, REPORTS
from fmagenre.models.names import MODEL_NAMES

CONNECTIONS_BESIDE_UPLOADS = 16  # pages, their scripts and images, /api/models


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=non_negative_int,
        default=8000,
        help="(default: %(default)s; 0: any free port)",
    )
    parser.add_argument(
        "--model",
        default="best",
        choices=["best", *MODEL_NAMES],
        help="the model chosen when a request names none (default: the best one of compare)",
    )
    parser.add_argument(
        "--max-upload-mb",
        type=float,
        default=100.0,
        help="largest file accepted, in MB (default: %(default)g)",
    )
    parser.add_argument(
        "--workers",
        type=non_negative_int,
        default=0,
        help="files analysed at once, each in a worker process (default: every core)",
    )
    parser.add_argument(
        "--queue",
        type=non_negative_int,
        default=32,
        help="uploads that may wait for a worker before the server answers 503 (default: %(default)s)",
    )
    parser.add_argument("--models-dir", type=Path, default=MODELS, help="(default: %(default)s)")
    parser.add_argument("--reports-dir", type=Path, default=REPORTS, help="(default: %(default)s)")


def bound_socket(host: str, port: int) -> socket.socket:
    """The listening socket, opened here so that a busy port is one line, not a traceback."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET  # a host name
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(
            f"cannot listen on {host}:{port} ({exc.strerror}): choose another --port or --host"
        ) from None
    sock.listen(128)
    return sock


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from fmagenre.infra.params import available_cores
    from fmagenre.serve.app import Settings, create_app

    if not 0.001 <= args.max_upload_mb <= 100_000:
        raise UserError("--max-upload-mb must be between 0.001 and 100000")
    sock = bound_socket(args.host, args.port)
    host, port = sock.getsockname()[:2]
    settings = Settings(
        args.models_dir,
        args.reports_dir,
        model=args.model,
        max_upload_bytes=int(args.max_upload_mb * 1e6),
        workers=args.workers or available_cores(),
        queue=args.queue,
    )
    shown = f"[{host}]" if ":" in host else host
    print(f"fmagenre serve: http://{shown}:{port}/ (Ctrl-C to stop)", file=sys.stderr, flush=True)
    if not is_loopback(args.host):
        print(
            "warning: listening beyond this machine; the server has no authentication: "
            "anyone who reaches it can upload files",
            file=sys.stderr,
        )
    config = uvicorn.Config(
        create_app(settings),
        log_level="warning",
        timeout_graceful_shutdown=5,
        # connections past the queue (each upload in progress holds up to 1 MB) get a 503
        limit_concurrency=settings.workers + settings.queue + CONNECTIONS_BESIDE_UPLOADS,
    )
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn finished the answers in flight, then passes Ctrl-C on
        pass
    print("fmagenre serve: stopped", file=sys.stderr)
    return 0
