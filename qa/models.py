"""The data that flows through the pipeline: plain, frozen records with exact offsets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Turn:
    """One speaker's uninterrupted stretch of text; `speaker` is None before the first label."""

    speaker: str | None
    start: int  # content offsets in the source text, label excluded
    end: int
    label_start: int | None = None  # where the label itself begins, when there is one


@dataclass(frozen=True, slots=True)
class Transcript:
    doc_id: str
    text: str
    sha256: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence inside one turn, the unit a quote is made of."""

    start: int
    end: int
    chunk_id: int
    line_start: int
    line_end: int


@dataclass(frozen=True, slots=True)
class Chunk:
    """A retrievable passage: a piece of one turn, never two speakers."""

    id: int
    doc_id: str
    speaker: str | None
    start: int
    end: int
    line_start: int
    line_end: int
    text: str
    turn_index: int
    question: str | None = None  # the interviewer's turn this chunk answers, if any


@dataclass(frozen=True, slots=True)
class Hit:
    chunk: Chunk
    score: float

    def to_dict(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "text": c.text,
            "doc_id": c.doc_id,
            "speaker": c.speaker,
            "start": c.start,
            "end": c.end,
            "line_start": c.line_start,
            "line_end": c.line_end,
            "score": round(self.score, 4),
        }


@dataclass(frozen=True, slots=True)
class Quote:
    text: str
    doc_id: str
    speaker: str | None
    start: int
    end: int
    line_start: int
    line_end: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(self.score, 4)
        return d


@dataclass(frozen=True, slots=True)
class Answer:
    question: str
    answerable: bool
    answer: str
    quotes: tuple[Quote, ...] = field(default_factory=tuple)
    passages: tuple[Hit, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answerable": self.answerable,
            "answer": self.answer,
            "quotes": [q.to_dict() for q in self.quotes],
            "passages": [p.to_dict() for p in self.passages],
        }
