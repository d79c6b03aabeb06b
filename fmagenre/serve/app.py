"""The Starlette application: the page, its files, and the JSON API.

Routes: ``GET /`` the page; ``/static/*`` its script and style; ``GET /api/models`` the
trained models with their scores; ``GET /api/figure`` the run's per-genre F1 chart;
``POST /api/predict`` one file (multipart field ``file``; query ``model``, ``top_k``,
``tags``, ``spectrogram``). Every refusal is JSON ``{"error": one line}`` with a 4xx status;
an unexpected fault is a 500 with one line, its traceback only in the server's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from fmagenre.infra.errors import UserError
from fmagenre.serve import analysis
from fmagenre.serve.analysis import AnalysisFailed, Analyzer, Busy, check_model
from fmagenre.serve.run import FIGURE, models_answer
from fmagenre.serve.uploads import UploadRefused, received_upload

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_TOP = 50  # musicnn has 50 tags; no model here has more genres


@dataclass(frozen=True)
class Settings:
    models_dir: Path
    reports_dir: Path
    model: str = "best"  # the model used when a request names none
    max_upload_bytes: int = 100 * 1000 * 1000
    workers: int = 2
    queue: int = 32  # uploads that may wait for a worker


def error(code: int, message: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=code)


def _count(request: Request, key: str, default: int) -> int:
    text = request.query_params.get(key, str(default))
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOP:
        raise UploadRefused(400, f"{key} must be a whole number from 1 to {MAX_TOP}, not {text!r}")
    return int(text)


def create_app(settings: Settings) -> Starlette:
    uploads = tempfile.TemporaryDirectory(prefix="fmagenre-serve-")
    analyzer = Analyzer(
        settings.models_dir, settings.reports_dir, workers=settings.workers, queue=settings.queue
    )

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def models(request: Request) -> Response:
        answer = models_answer(settings.models_dir, settings.reports_dir, settings.model)
        answer["max_upload_mb"] = round(settings.max_upload_bytes / 1e6, 3)
        return JSONResponse(answer)

    async def figure(request: Request) -> Response:
        path = settings.reports_dir / FIGURE
        if not path.is_file():
            return error(
                404, "no per-genre F1 chart yet: run `make demo` (the compare stage draws it)"
            )
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-store"})

    async def predict(request: Request) -> Response:
        try:
            # the body is read first, even when the query is wrong: a client that is still
            # sending would otherwise get a reset connection instead of the answer
            async with received_upload(
                request, settings.max_upload_bytes, Path(uploads.name)
            ) as upload:
                choice = models_answer(settings.models_dir, settings.reports_dir, settings.model)
                named = request.query_params.get("model") or choice["default"] or ""
                item = await analyzer.analyse(
                    analysis.Request(
                        upload.path,
                        upload.name,
                        model=check_model(named, [m["name"] for m in choice["models"]]),
                        top_k=_count(request, "top_k", 3),
                        tags=_count(request, "tags", 5),
                        spectrogram=request.query_params.get("spectrogram", "1")
                        not in ("0", "false"),
                    )
                )
            return JSONResponse([item])  # as predict --format json: a list, one object per file
        except UserError as exc:
            return error(400, str(exc))
        except UploadRefused as exc:
            return error(exc.status, exc.message)
        except AnalysisFailed as exc:
            return error(exc.status, exc.message, status=exc.item["status"], result=exc.item)
        except Busy:
            return error(503, "the server is busy with other uploads: try again in a minute")
        except ClientDisconnect:
            log.info("a client went away during its upload")
            return Response(status_code=499)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error(exc.status_code, str(exc.detail))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("unexpected fault answering %s", request.url.path, exc_info=exc)
        return error(
            500, f"internal error ({type(exc).__name__}); the server's log has the details"
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        warming = asyncio.get_running_loop().run_in_executor(None, analyzer.warm_up)
        try:
            yield
        finally:
            await warming
            analyzer.close()
            uploads.cleanup()

    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/models", models),
            Route("/api/figure", figure),
            Route("/api/predict", predict, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
