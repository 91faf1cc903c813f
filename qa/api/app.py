"""The FastAPI app, assembled: lifespan (load once), error handlers, middleware, routers."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.api.limits import RequestLimits
from qa.api.observability import install as install_observability
from qa.api.redact import public_message
from qa.api.routes import ROUTERS
from qa.errors import QAError
from qa.service import QAService
from qa.settings import Settings, load_settings

log = logging.getLogger("qa.http")


def create_app(
    settings: Settings | None = None, service: QAService | None = None, watch: bool = False
) -> FastAPI:
    """The HTTP API over `service` (default: a new one from `settings`, or the environment).

    The model and the index load in the lifespan, so a missing or incompatible index stops the
    server before it accepts a request; `watch` keeps the index in line with the source folder.
    """
    cfg = settings or (service.settings if service else load_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = service or QAService(cfg, update_process=cfg.indexing.server_updates == "process")
        svc.load()  # model + index, once; a missing or incompatible index stops start-up here
        # Which path runs the model (onnx-fp32, or torch when there is no ONNX export): the two
        # give the same answers but differ in start-up time and memory.
        log.info("embedder", extra={"fields": {"backend": svc.embedder.backend}})
        app.state.service = svc
        stop = threading.Event()
        watcher = None
        if watch:
            watcher = threading.Thread(
                target=_watch, args=(svc, stop), name="qa-watch", daemon=True
            )
            watcher.start()
        yield
        stop.set()
        if watcher is not None:
            watcher.join(timeout=5)
        svc.close()

    app = FastAPI(
        title="qa",
        summary="Questions over interview transcripts, answered with verbatim, cited quotes.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(RequestLimits, settings=cfg)  # inside observability: ids and metrics apply
    install_observability(app, cfg.cors_origins, cfg.request_timeout)
    _install_error_handlers(app, cfg)
    for router in ROUTERS:
        app.include_router(router)
    from qa.web import router as web_router  # the web page: HTML routes with their own CSP

    app.include_router(web_router())
    return app


def _install_error_handlers(app: FastAPI, cfg: Settings) -> None:
    """Every error is a JSON `{error, detail}`; a QAError brings its own status and code, and
    its message names documents, never the server's folders."""
    folders = ((cfg.source_dir, "the source folder"), (cfg.index_dir, "the index folder"))

    @app.exception_handler(QAError)
    async def qa_error(_: Request, exc: QAError) -> JSONResponse:
        detail = public_message(exc.message, folders)
        body: dict[str, object] = {"error": exc.code, "detail": detail}
        if exc.status_code == 422:  # the shape of every 422 (InvalidRequestBody): with `errors`
            body["errors"] = [{"loc": ["request"], "msg": detail, "type": exc.code}]
        return JSONResponse(body, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Still logged with its traceback; the client gets JSON, and no internals.
        log.error("unhandled error", exc_info=exc)
        body = {"error": "internal_error", "detail": "the server failed; see its log"}
        return JSONResponse(body, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not even decode the body: bad JSON or bytes
            if request.headers.get("content-type", "").startswith("multipart/"):
                errors = [{"loc": ["body"], "msg": str(exc.detail), "type": "multipart_invalid"}]
                detail = f"request body is not a valid multipart form ({exc.detail})"
            else:
                errors = [{"loc": ["body"], "msg": str(exc.detail), "type": "json_invalid"}]
                detail = "request body is not valid JSON"
            body = {"error": "invalid_request", "detail": detail}
            return JSONResponse({**body, "errors": errors}, status_code=422)
        return JSONResponse(
            {"error": "http_error", "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if any(e["type"] == "json_invalid" for e in errors):
            detail = "request body is not valid JSON"
        else:
            names = {".".join(str(p) for p in e["loc"][1:]) or "body" for e in errors}
            detail = "invalid " + ", ".join(sorted(names))
        return JSONResponse(
            {"error": "invalid_request", "detail": detail, "errors": errors},
            status_code=422,
        )


def _watch(svc: QAService, stop: threading.Event) -> None:
    """The server's watcher thread: an error that ends watching (the source folder gone) is
    logged as one line, not a thread's traceback; the server goes on serving what it has."""
    from qa.watch import watch as watch_source

    try:
        watch_source(svc, stop)
    except QAError as exc:
        log.error("qa: watching the source folder stopped: %s", exc.message)
