"""POST /ask and GET /search: questions in, cited verbatim quotes and passages out."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BeforeValidator
from starlette.concurrency import run_in_threadpool

from qa.api.deps import ReadKey, ServiceDep
from qa.api.schemas import (
    ERRORS,
    MAX_QUESTION,
    QUESTION_PATTERN,
    AskRequest,
    AskResponse,
    SearchResponse,
    check_question,
)

log = logging.getLogger("qa.http")
router = APIRouter(tags=["questions"], responses=ERRORS)


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# Both are `async def` and hand only the service call to the thread pool: for a sync endpoint
# FastAPI also validates the response model in the pool, a second hand-off.
@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, service: ServiceDep, _: ReadKey) -> dict[str, Any]:
    """Answer a question with verbatim quotes, each cited by document, speaker and lines."""
    level = logging.INFO if service.settings.log_questions else logging.DEBUG
    log.log(level, "ask", extra={"fields": {"question": body.question, "k": body.k}})

    def answer() -> dict[str, Any]:
        return service.ask(
            body.question,
            k=body.k,
            docs=body.doc,
            speakers=body.speaker,
            date_from=_iso(body.date_from),
            date_to=_iso(body.date_to),
        ).to_dict()

    return await run_in_threadpool(answer)


@router.get("/search", response_model=SearchResponse)
async def search(
    service: ServiceDep,
    _: ReadKey,
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

    def passages() -> dict[str, Any]:
        hits = service.search(
            q,
            k=k,
            docs=doc or (),
            speakers=speaker or (),
            date_from=_iso(date_from),
            date_to=_iso(date_to),
        )
        return {"passages": [h.to_dict() for h in hits]}

    return await run_in_threadpool(passages)
