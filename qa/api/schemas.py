"""Request and response bodies: the HTTP contract, also printed by `qa ask --json`."""

from __future__ import annotations

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
    speaker: list[str] = Field(default_factory=list, description="only these speakers")

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


class Quote(Passage):
    """A verbatim quote: `source_text[start:end] == text`."""


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


class DocumentText(BaseModel):
    """`POST /documents` as JSON (the other form is a multipart upload with a `file` part)."""

    name: str = Field(examples=["interview-2024-05.txt"], description="file name, .txt")
    text: str = Field(description="the transcript, stored as UTF-8")


class UpdateResult(BaseModel):
    """What an index update did (`qa index update --json` prints the same)."""

    added: int
    changed: int
    removed: int
    unchanged: int
    chunks_embedded: int
    seconds: float
    texts_embedded: int
    documents: int
    chunks: int
    sentences: int
    version: str
    written: bool
    phases: dict[str, float]
    doc_ids: dict[str, list[str]]


class DocumentWritten(BaseModel):
    doc_id: str
    update: UpdateResult
