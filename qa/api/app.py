"""The FastAPI app: model and index load once in `lifespan`; routes parse, call, return."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator
from starlette.exceptions import HTTPException as StarletteHTTPException

from qa.api.observability import install as install_observability
from qa.api.schemas import (
    MAX_QUESTION,
    QUESTION_PATTERN,
    AskRequest,
    AskResponse,
    Document,
    ErrorBody,
    Health,
    InvalidRequestBody,
    SearchResponse,
    check_question,
)
from qa.errors import QAError
from qa.service import QAService
from qa.settings import Settings

log = logging.getLogger("qa.http")

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody},
    503: {"model": ErrorBody, "description": "index or model unavailable"},
    422: {"model": InvalidRequestBody, "description": "invalid request"},
}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def create_app(settings: Settings | None = None, service: QAService | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        svc = service or QAService(settings or Settings())
        svc.load()  # model + index, once; a missing or incompatible index stops start-up here
        app.state.service = svc
        yield

    app = FastAPI(
        title="qa",
        summary="Questions over interview transcripts, answered with verbatim, cited quotes.",
        version="0.1.0",
        lifespan=lifespan,
    )

    cfg = settings or (service.settings if service else Settings())
    install_observability(app, cfg.cors_origins, cfg.request_timeout)

    @app.exception_handler(QAError)
    async def qa_error(_: Request, exc: QAError) -> JSONResponse:
        return JSONResponse({"error": exc.code, "detail": exc.message}, status_code=exc.status_code)

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

    @app.post("/ask", response_model=AskResponse, responses=ERRORS)
    def ask(body: AskRequest, request: Request) -> dict[str, Any]:
        """Answer a question with verbatim quotes, each cited by document, speaker and lines."""
        service = svc(request)
        level = logging.INFO if service.settings.log_questions else logging.DEBUG
        log.log(level, "ask", extra={"fields": {"question": body.question, "k": body.k}})
        answer = service.ask(
            body.question,
            k=body.k,
            docs=body.doc,
            speakers=body.speaker,
            date_from=_iso(body.date_from),
            date_to=_iso(body.date_to),
        )
        return answer.to_dict()

    @app.get("/search", response_model=SearchResponse, responses=ERRORS)
    def search(
        request: Request,
        q: Annotated[
            str,
            Query(min_length=1, max_length=MAX_QUESTION, pattern=QUESTION_PATTERN),
            BeforeValidator(check_question),
        ],
        k: Annotated[int, Query(ge=1, le=50)] = 5,
        doc: Annotated[list[str] | None, Query()] = None,
        speaker: Annotated[list[str] | None, Query()] = None,
        date_from: Annotated[dt.date | None, Query()] = None,
        date_to: Annotated[dt.date | None, Query()] = None,
    ) -> dict[str, Any]:
        """The top passages for a query, with scores."""
        hits = svc(request).search(
            q,
            k=k,
            docs=doc or (),
            speakers=speaker or (),
            date_from=_iso(date_from),
            date_to=_iso(date_to),
        )
        return {"passages": [h.to_dict() for h in hits]}

    @app.get("/health", response_model=Health)
    def health(request: Request) -> dict[str, Any]:
        return svc(request).status()

    @app.get("/documents", response_model=list[Document])
    def documents(request: Request) -> list[dict[str, Any]]:
        """The indexed documents with their content hashes and chunk counts."""
        return svc(request).documents()

    return app
