"""POST /ask and GET /search: questions in, cited verbatim quotes and passages out."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool

from qa.api.deps import ReadKey, ServiceDep
from qa.api.schemas import (
    ERRORS,
    MAX_QUESTION,
    QUESTION_PATTERN,
    AskRequest,
    DocId,
    SpeakerName,
    check_question,
)
from qa.errors import InvalidInput
from qa.models import DAY_PATTERN, Answer, Filters, SearchResult

log = logging.getLogger("qa.http")
router = APIRouter(tags=["questions"], responses=ERRORS)


# Both are `async def` and hand only the service call to the thread pool: for a sync endpoint
# FastAPI also validates the response model in the pool, a second hand-off.
@router.post("/ask", response_model=Answer)
async def ask(body: AskRequest, service: ServiceDep, _: ReadKey) -> Answer:
    """Answer a question with verbatim quotes, each cited by document, speaker and lines."""
    level = logging.INFO if service.settings.log_questions else logging.DEBUG
    log.log(level, "ask", extra={"fields": {"question": body.question, "k": body.k}})
    filters = Filters.of(
        docs=body.doc, speakers=body.speaker, date_from=body.date_from, date_to=body.date_to
    )
    return await run_in_threadpool(service.ask, body.question, k=body.k, filters=filters)


SEARCH_PARAMS = ("q", "k", "doc", "speaker", "date_from", "date_to")


@router.get("/search", response_model=SearchResult)
async def search(
    request: Request,
    service: ServiceDep,
    _: ReadKey,
    q: Annotated[
        str,
        Query(min_length=1, max_length=MAX_QUESTION, pattern=QUESTION_PATTERN),
        BeforeValidator(check_question),
    ],
    k: Annotated[int, Query(ge=1, le=50)] = 5,
    doc: Annotated[list[DocId] | None, Query()] = None,
    speaker: Annotated[list[SpeakerName] | None, Query()] = None,
    date_from: Annotated[str | None, Query(pattern=DAY_PATTERN)] = None,
    date_to: Annotated[str | None, Query(pattern=DAY_PATTERN)] = None,
) -> SearchResult:
    """The top passages for a query, with scores."""
    # As POST /ask refuses unknown fields: a misspelt filter (`speakr=`) must not be ignored.
    # (`_=…` and the like are clients' cache-busters, not filters.)
    unknown = sorted(
        p for p in set(request.query_params) - set(SEARCH_PARAMS) if not p.startswith("_")
    )
    if unknown:
        raise InvalidInput(
            f"unknown query parameter {', '.join(unknown)} (known: {', '.join(SEARCH_PARAMS)})"
        )
    filters = Filters.of(
        docs=doc or (), speakers=speaker or (), date_from=date_from, date_to=date_to
    )
    passages = await run_in_threadpool(service.search, q, k=k, filters=filters)
    return SearchResult(passages=tuple(passages))
