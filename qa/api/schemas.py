"""Request and response bodies: the HTTP contract, also printed by `qa ask --json`."""

from __future__ import annotations

import datetime as dt
import unicodedata

from pydantic import BaseModel, Field, field_validator

MAX_QUESTION = 2000


def check_question(value: str) -> str:
    if not value.strip():
        raise ValueError("question must not be empty or whitespace")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\t\n\r" for ch in value):
        raise ValueError("question must not contain control characters")
    return value


class AskRequest(BaseModel):
    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION,
        examples=["How many Optimus robots will Tesla build next year?"],
    )
    k: int = Field(5, ge=1, le=50, description="passages to return (quotes: up to 3)")
    doc: list[str] = Field(default_factory=list, description="only these document ids")
    speaker: list[str] = Field(
        default_factory=list, description="only these speakers (display name or label as written)"
    )
    date_from: dt.date | None = Field(
        None, description="only documents dated on or after this day (undated ones are excluded)"
    )
    date_to: dt.date | None = Field(None, description="only documents dated on or before this day")

    _check = field_validator("question")(check_question)


class Passage(BaseModel):
    text: str
    doc_id: str
    speaker: str | None
    start: int
    end: int
    line_start: int
    line_end: int
    score: float
    label: str | None = Field(None, description="the speaker label as written in the transcript")
    segments: list[tuple[int, int]] = Field(
        default_factory=list,
        description="exact [start, end) slices of the source; text is them joined by single spaces",
    )
    time_start: float | None = Field(None, description="seconds: start of the first cue quoted")
    time_end: float | None = Field(None, description="seconds: end of the last cue quoted")
    title: str | None = None
    date: str | None = Field(None, description="YYYY-MM-DD, when the document has a date")


class Quote(Passage):
    """A verbatim quote: `" ".join(source_text[s:e] for s, e in segments) == text`; for plain
    text that is `source_text[start:end] == text`."""


class AskResponse(BaseModel):
    question: str
    answerable: bool
    answer: str
    quotes: list[Quote]
    passages: list[Passage]


class SearchResponse(BaseModel):
    passages: list[Passage]


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    model: str
    version: str


class Document(BaseModel):
    doc_id: str
    sha256: str
    chunks: int


class ErrorBody(BaseModel):
    error: str
    detail: str
