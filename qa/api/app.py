"""The FastAPI app: model and index load once in `lifespan`; routes parse, call, return."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BeforeValidator, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.answertype import places
from qa.api.limits import RequestLimits
from qa.api.observability import install as install_observability
from qa.api.redact import public_message
from qa.api.schemas import (
    MAX_QUESTION,
    QUESTION_PATTERN,
    AskRequest,
    AskResponse,
    DocId,
    Document,
    DocumentText,
    DocumentWritten,
    ErrorBody,
    Health,
    InvalidRequestBody,
    SearchResponse,
    SpeakerName,
    UpdateResult,
    check_question,
)
from qa.errors import BadUpload, Forbidden, QAError, Unauthorized
from qa.ingest import upload as uploads
from qa.models import Filters, dump
from qa.service import QAService
from qa.settings import Settings, load_settings
from qa.web import router as web_router

log = logging.getLogger("qa.http")

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody},
    503: {"model": ErrorBody, "description": "index or model unavailable"},
    422: {"model": InvalidRequestBody, "description": "invalid request"},
}
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "bad name, encoding or transcript"},
    401: {"model": ErrorBody, "description": "the request lacks the QA_API_KEY Bearer token"},
    403: {"model": ErrorBody, "description": "write endpoints are disabled (no QA_API_KEY)"},
    409: {"model": ErrorBody, "description": "another update held the index lock too long"},
    413: {
        "model": ErrorBody,
        "description": "document larger than QA_MAX_UPLOAD_BYTES, a .docx inflating past its"
        " limit, or a PDF with too many pages",
    },
    415: {"model": ErrorBody, "description": "not a transcript format qa reads"},
    **ERRORS,
}
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "application/json": {"schema": DocumentText.model_json_schema()},
        },
    }
}
# Multipart framing and JSON escaping around a document of the maximum size.
BODY_SLACK = 64 * 1024


def _check_bearer(request: Request, expected: str, name: str) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    # Constant-time comparison: response timing must not reveal how much of a guess was right.
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode(), expected.encode()
    ):
        raise Unauthorized(f"this endpoint needs `Authorization: Bearer <{name}>`")


def create_app(
    settings: Settings | None = None, service: QAService | None = None, watch: bool = False
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = service or QAService(settings or load_settings())
        svc.load()  # model + index, once; a missing or incompatible index stops start-up here
        places()  # the place list (50 ms) loads now, not on the first "which city" question
        # Which path runs the model (onnx-fp32, or torch when there is no ONNX export): the two
        # give the same answers but differ in start-up time and memory.
        log.info("embedder", extra={"fields": {"backend": svc.embedder.backend}})
        app.state.service = svc
        stop = threading.Event()
        watcher = None
        if watch:
            from qa.watch import watch as watch_source

            watcher = threading.Thread(
                target=watch_source, args=(svc, stop), name="qa-watch", daemon=True
            )
            watcher.start()
        yield
        stop.set()
        if watcher is not None:
            watcher.join(timeout=5)

    app = FastAPI(
        title="qa",
        summary="Questions over interview transcripts, answered with verbatim, cited quotes.",
        version="0.1.0",
        lifespan=lifespan,
    )

    cfg = settings or (service.settings if service else load_settings())
    app.add_middleware(RequestLimits, settings=cfg)  # inside observability: ids and metrics apply
    install_observability(app, cfg.cors_origins, cfg.request_timeout)

    @app.exception_handler(QAError)
    async def qa_error(request: Request, exc: QAError) -> JSONResponse:
        s = svc(request).settings if hasattr(request.app.state, "service") else cfg
        folders = ((s.source_dir, "the source folder"), (s.index_dir, "the index folder"))
        detail = public_message(exc.message, folders)
        return JSONResponse({"error": exc.code, "detail": detail}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        # Still logged with its traceback by the server; the client gets JSON, and no internals.
        log.error("unhandled error", exc_info=exc)
        body = {"error": "internal_error", "detail": "the server failed; see its log"}
        return JSONResponse(body, status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not even decode the body: bad JSON or bytes
            errors = [{"loc": ["body"], "msg": str(exc.detail), "type": "json_invalid"}]
            body = {"error": "invalid_request", "detail": "request body is not valid JSON"}
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

    def svc(request: Request) -> QAService:
        service: QAService = request.app.state.service
        return service

    # The key checks are `async def` although they never await: a sync dependency is run in the
    # thread pool, one more thread hand-off per request for a few microseconds of work.
    async def authorized(request: Request) -> None:
        """Write endpoints: closed (403) unless QA_API_KEY is set and sent as a Bearer token."""
        key = svc(request).settings.api_key
        if key is None or not key.get_secret_value():
            raise Forbidden("write endpoints are disabled: set QA_API_KEY to enable them")
        _check_bearer(request, key.get_secret_value(), "QA_API_KEY")

    async def reader(request: Request) -> None:
        """Read endpoints: open, unless QA_READ_API_KEY is set."""
        key = svc(request).settings.read_api_key
        if key is not None and key.get_secret_value():
            _check_bearer(request, key.get_secret_value(), "QA_READ_API_KEY")

    key_required = [Depends(authorized)]
    read_key = [Depends(reader)]

    # /ask and /search are `async def` and hand only the service call to the thread pool: for a
    # sync endpoint FastAPI also validates the response model in the pool, a second hand-off.
    @app.post("/ask", response_model=AskResponse, responses=ERRORS, dependencies=read_key)
    async def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        """Answer a question with verbatim quotes, each cited by document, speaker and lines."""
        service = svc(request)
        level = logging.INFO if service.settings.log_questions else logging.DEBUG
        log.log(level, "ask", extra={"fields": {"question": body.question, "k": body.k}})

        filters = Filters.of(
            docs=body.doc, speakers=body.speaker, date_from=body.date_from, date_to=body.date_to
        )

        def answer() -> dict[str, Any]:
            result: dict[str, Any] = dump(service.ask(body.question, k=body.k, filters=filters))
            return result

        return await run_in_threadpool(answer)

    @app.get("/search", response_model=SearchResponse, responses=ERRORS, dependencies=read_key)
    async def search(
        request: Request,
        q: Annotated[
            str,
            Query(min_length=1, max_length=MAX_QUESTION, pattern=QUESTION_PATTERN),
            BeforeValidator(check_question),
        ],
        k: Annotated[int, Query(ge=1, le=50)] = 5,
        doc: Annotated[list[DocId] | None, Query()] = None,
        speaker: Annotated[list[SpeakerName] | None, Query()] = None,
        date_from: Annotated[dt.date | None, Query()] = None,
        date_to: Annotated[dt.date | None, Query()] = None,
    ) -> dict[str, Any]:
        """The top passages for a query, with scores."""
        service = svc(request)

        filters = Filters.of(
            docs=doc or (), speakers=speaker or (), date_from=date_from, date_to=date_to
        )

        def passages() -> dict[str, Any]:
            return {"passages": dump(service.search(q, k=k, filters=filters))}

        return await run_in_threadpool(passages)

    @app.get("/health", response_model=Health)
    def health(request: Request) -> dict[str, Any]:
        result: dict[str, Any] = dump(svc(request).status())
        return result

    @app.get("/documents", response_model=list[Document], dependencies=read_key)
    def documents(request: Request) -> list[dict[str, Any]]:
        """The indexed documents with their content hashes and chunk counts."""
        result: list[dict[str, Any]] = dump(svc(request).documents())
        return result

    @app.get(
        "/documents/{doc_id:path}/text",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {}}}, 404: {"model": ErrorBody}},
        dependencies=read_key,
    )
    def document_text(doc_id: str, request: Request) -> PlainTextResponse:
        """The document's canonical text, which every quote's offsets refer to.

        For text formats, the file as UTF-8; for .docx and .pdf, the text extracted when it was
        indexed: `" ".join(text[s:e] for s, e in quote.segments) == quote.text`.
        """
        return PlainTextResponse(svc(request).document_text(doc_id))

    @app.post(
        "/documents",
        response_model=DocumentWritten,
        status_code=201,
        responses={200: {"model": DocumentWritten, "description": "replaced"}, **WRITE_ERRORS},
        openapi_extra=UPLOAD_BODY,
        dependencies=key_required,
    )
    async def add_document(request: Request, response: Response) -> dict[str, Any]:
        """Store a transcript (multipart `file`, or JSON `{name, text}`) and index it.

        201 when the document is new, 200 when it replaced one of the same name. A refused
        upload (name, size, encoding, no transcript text) writes nothing.
        """
        service = svc(request)
        limit = service.settings.max_upload_bytes
        length = request.headers.get("content-length", "")
        if length.isdigit():
            uploads.check_size(max(0, int(length) - BODY_SLACK), limit)
        name, data = await _read_upload(request, limit)
        doc_id, report = await run_in_threadpool(service.add_document, name, data)
        if doc_id not in report.doc_ids.added:
            response.status_code = 200
        return {"doc_id": doc_id, "update": dump(report)}

    @app.delete(
        "/documents/{doc_id:path}",
        response_model=UpdateResult,
        responses=WRITE_ERRORS,
        dependencies=key_required,
    )
    def delete_document(doc_id: str, request: Request) -> dict[str, Any]:
        """Delete a transcript from the source folder and the index."""
        result: dict[str, Any] = dump(svc(request).delete_document(doc_id))
        return result

    @app.post(
        "/index/update",
        response_model=UpdateResult,
        responses=WRITE_ERRORS,
        dependencies=key_required,
    )
    def update_index(request: Request) -> dict[str, Any]:
        """Bring the index in line with the source folder (what `qa index update` does)."""
        result: dict[str, Any] = dump(svc(request).update())
        return result

    app.include_router(web_router())  # the web page (qa/web): HTML routes with their own CSP
    return app


async def _read_upload(request: Request, limit: int) -> tuple[str, bytes]:
    """(file name, bytes) from a multipart `file` part or a JSON `{name, text}` body."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=10) as form:
            part = form.get("file")
            if not isinstance(part, UploadFile):
                raise BadUpload("multipart upload needs a `file` part")
            data = await part.read(limit + 1)
            uploads.check_size(len(data), limit)
            return part.filename or "", data
    if ctype.startswith("application/json"):
        body = await request.body()
        uploads.check_size(max(0, len(body) - BODY_SLACK), limit)
        try:
            doc = DocumentText.model_validate_json(body)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
            ) from exc
        return doc.name, uploads.encode(doc.name, doc.text, limit)
    raise BadUpload("send the transcript as multipart/form-data (`file`) or JSON {name, text}")
