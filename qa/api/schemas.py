"""Request bodies and error bodies. Responses are the records of `qa.models` themselves."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from qa.models import DAY_PATTERN, MAX_DOC_CHARS, MAX_FILTER_VALUES, MAX_SPEAKER_CHARS

MAX_QUESTION = 2000
_DAY = re.compile(DAY_PATTERN)  # filter dates, as qa.models.Filters takes them
# The same rules as check_question, stated in the schema so clients (and schemathesis) see them:
# some non-blank character, and no control characters other than tab and newlines.
_OK = r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"  # anything but control characters (tab and newlines are fine)
QUESTION_PATTERN = rf"^{_OK}*[^\s\x00-\x1f\x7f-\x9f]{_OK}*$"
# Filter values: some visible text and no control characters at all (qa.models.Filters.of).
_VISIBLE = r"[^\x00-\x1f\x7f-\x9f]"
FILTER_PATTERN = rf"^{_VISIBLE}*[^\s\x00-\x1f\x7f-\x9f]{_VISIBLE}*$"
DocId = Annotated[str, Field(min_length=1, max_length=MAX_DOC_CHARS, pattern=FILTER_PATTERN)]
SpeakerName = Annotated[
    str, Field(min_length=1, max_length=MAX_SPEAKER_CHARS, pattern=FILTER_PATTERN)
]


def check_question(value: object) -> object:
    if not isinstance(value, str):
        return value  # the type check reports it
    if not value.strip():
        raise ValueError("question must not be empty or whitespace")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise ValueError("question must not contain control characters")
    return value


class AskRequest(BaseModel):
    # Strict: `"k": "5"` or `"date_to": 0` are client bugs to report, not values to guess at.
    model_config = ConfigDict(strict=True, extra="forbid")

    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION,
        pattern=QUESTION_PATTERN,
        examples=["How many Optimus robots will Tesla build next year?"],
    )
    k: int = Field(5, ge=1, le=50, strict=False, description="passages to return (quotes: up to 3)")
    doc: list[DocId] = Field(
        default_factory=list, max_length=MAX_FILTER_VALUES, description="only these document ids"
    )
    speaker: list[SpeakerName] = Field(
        default_factory=list,
        max_length=MAX_FILTER_VALUES,
        description="only these speakers (display name or label as written)",
    )
    date_from: dt.date | None = Field(
        None,
        strict=False,
        description="only documents dated on or after this day (undated ones are excluded)",
    )
    date_to: dt.date | None = Field(
        None, strict=False, description="only documents dated on or before this day"
    )

    _check = field_validator("question", mode="before")(check_question)

    @field_validator("k", mode="before")
    @classmethod
    def _whole_number(cls, value: object) -> object:
        # JSON has one number type: 8.0 is the integer 8, but "8" and true are not numbers.
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("k must be a whole number")
        return value

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _iso_date_text(cls, value: object) -> object:
        if value is not None and not (isinstance(value, str) and _DAY.fullmatch(value)):
            raise ValueError("must be a YYYY-MM-DD string")
        return value


class ErrorBody(BaseModel):
    error: str
    detail: str


class FieldError(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class InvalidRequestBody(ErrorBody):
    """422: `detail` names the fields in one line, `errors` has one entry per problem."""

    errors: list[FieldError]


class DocumentText(BaseModel):
    """`POST /documents` as JSON (the other form is a multipart upload with a `file` part)."""

    name: str = Field(
        examples=["interview-2024-05.txt"], description="file name of a text format (.txt, …)"
    )
    text: str = Field(description="the transcript, stored as UTF-8")


# The error bodies each route may answer with, for the OpenAPI document.
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
