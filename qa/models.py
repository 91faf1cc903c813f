"""The data that flows through the pipeline: plain, frozen records with exact offsets."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# An exact `[start, end)` slice of the source text. A span that is not one contiguous slice (a
# subtitle turn runs across cues, with timestamps in between) is a tuple of them; its text is
# the slices joined by single spaces. Plain text has one segment.
Segment = tuple[int, int]
# Seconds from the start of the media, per segment: the cue it comes from (None: unreadable).
Timing = tuple[float | None, float | None]
# A line of a paged document (PDF): where its content starts, its page (1-based) and the line
# number printed in the margin (None when the page has none).
PageLine = tuple[int, int, int | None]


def _normalise_segments(obj: Any) -> None:
    """`segments` defaults to `((start, end),)`; JSON lists become tuples (frozen, hashable)."""
    segs, times = obj.segments, obj.times
    # Already tuples of tuples (built here, or renumbered when a version is assembled): nothing
    # to do. Loading an index makes ~14,000 of these per 1,000 abstracts; the check saves ~0.15 s.
    if (
        type(segs) is tuple
        and segs
        and type(segs[0]) is tuple
        and type(times) is tuple
        and (not times or type(times[0]) is tuple)
    ):
        return
    segs = segs or ((obj.start, obj.end),)
    object.__setattr__(obj, "segments", tuple((int(s), int(e)) for s, e in segs))
    object.__setattr__(obj, "times", tuple((a, b) for a, b in times))


@dataclass(frozen=True, slots=True)
class Turn:
    """One speaker's uninterrupted stretch of text; `speaker` is None before the first label."""

    speaker: str | None
    start: int  # content offsets in the source text, label excluded
    end: int
    label_start: int | None = None  # where the label itself begins, when there is one
    label: str | None = None  # the label as written, when `speaker` is a resolved display name
    segments: tuple[Segment, ...] = ()  # () means `((start, end),)`
    times: tuple[Timing, ...] = ()  # one per segment, for timed formats (subtitles, JSON)

    def __post_init__(self) -> None:
        _normalise_segments(self)


@dataclass(frozen=True, slots=True)
class Transcript:
    doc_id: str
    text: str
    sha256: str
    turns: tuple[Turn, ...]
    title: str | None = None
    date: str | None = None  # YYYY-MM-DD
    source_url: str | None = None
    problems: tuple[str, ...] = ()  # what could not be read (`line 12: ...`), the rest is indexed
    wrapped: bool = False  # lines are wrapped (Markdown): a line break alone ends no sentence
    page_lines: tuple[PageLine, ...] = ()  # paged formats (PDF): each content line's page


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence inside one turn, the unit a quote is made of."""

    start: int
    end: int
    chunk_id: int
    line_start: int
    line_end: int
    segments: tuple[Segment, ...] = ()
    times: tuple[Timing, ...] = ()
    page: int | None = None  # paged formats (PDF): the page it starts on
    page_line_start: int | None = None  # the line numbers printed on the page, when it has them
    page_line_end: int | None = None

    def __post_init__(self) -> None:
        _normalise_segments(self)


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
    label: str | None = None  # the speaker label as written (`speaker` is the display name)
    segments: tuple[Segment, ...] = ()
    times: tuple[Timing, ...] = ()
    title: str | None = None
    date: str | None = None
    page: int | None = None  # paged formats (PDF), as on Sentence
    page_line_start: int | None = None
    page_line_end: int | None = None

    def __post_init__(self) -> None:
        _normalise_segments(self)


def span_fields(segments: tuple[Segment, ...], times: tuple[Timing, ...]) -> dict[str, Any]:
    """The citation fields of a span: its segments (JSON lists) and the time of its cues."""
    return {
        "segments": [list(seg) for seg in segments],
        "time_start": times[0][0] if times else None,
        "time_end": times[-1][1] if times else None,
    }


def page_fields(page: int | None, first: int | None, last: int | None) -> dict[str, Any]:
    return {"page": page, "page_line_start": first, "page_line_end": last}


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
            "label": c.label or c.speaker,
            **span_fields(c.segments, c.times),
            "title": c.title,
            "date": c.date,
            **page_fields(c.page, c.page_line_start, c.page_line_end),
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
    label: str | None = None  # as written in the transcript; `speaker` is the display name
    segments: tuple[Segment, ...] = ()  # text == " ".join(source[s:e] for s, e in segments)
    time_start: float | None = None  # seconds, for quotes from timed formats
    time_end: float | None = None
    title: str | None = None
    date: str | None = None
    page: int | None = None  # paged formats (PDF): page and printed line numbers
    page_line_start: int | None = None
    page_line_end: int | None = None

    def __post_init__(self) -> None:
        if not self.segments:
            object.__setattr__(self, "segments", ((self.start, self.end),))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["score"] = round(self.score, 4)
        d["label"] = self.label or self.speaker
        d["segments"] = [list(seg) for seg in self.segments]
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
