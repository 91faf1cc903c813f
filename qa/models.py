"""The data that flows through the pipeline: plain, frozen records with exact offsets.

The records the shells return (Answer, Quote, Passage, UpdateReport, …) are also the wire model:
`dump()` serialises any of them with pydantic, FastAPI uses them as response models, and there is
no hand-written mirror of them anywhere.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

from pydantic import PlainSerializer, TypeAdapter

from qa.errors import InvalidInput

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


# Scores are shown to 4 decimals; the record keeps the full value for ranking.
Score = Annotated[float, PlainSerializer(lambda v: round(v, 4), return_type=float)]


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk and its fused score (1.0 for the best): retrieval's internal result."""

    chunk: Chunk
    score: float


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved passage as the user sees it: a chunk's text and citation, and its score."""

    text: str
    doc_id: str
    speaker: str | None
    start: int
    end: int
    line_start: int
    line_end: int
    score: Score
    label: str | None = None  # the speaker label as written; `speaker` is the display name
    segments: tuple[Segment, ...] = ()  # exact [start, end) slices; text is them joined by " "
    time_start: float | None = None  # seconds: start of the first cue, for timed formats
    time_end: float | None = None
    title: str | None = None
    date: str | None = None  # YYYY-MM-DD, when the document has a date
    page: int | None = None  # paged formats (PDF): page and printed line numbers
    page_line_start: int | None = None
    page_line_end: int | None = None

    @classmethod
    def of(cls, hit: Hit) -> Passage:
        c = hit.chunk
        return cls(
            text=c.text,
            doc_id=c.doc_id,
            speaker=c.speaker,
            start=c.start,
            end=c.end,
            line_start=c.line_start,
            line_end=c.line_end,
            score=hit.score,
            label=c.label or c.speaker,
            segments=c.segments,
            time_start=c.times[0][0] if c.times else None,
            time_end=c.times[-1][1] if c.times else None,
            title=c.title,
            date=c.date,
            page=c.page,
            page_line_start=c.page_line_start,
            page_line_end=c.page_line_end,
        )


@dataclass(frozen=True, slots=True)
class Quote:
    """A verbatim quote: `" ".join(source[s:e] for s, e in segments) == text`; for plain text
    that is `source[start:end] == text`."""

    text: str
    doc_id: str
    speaker: str | None
    start: int
    end: int
    line_start: int
    line_end: int
    score: Score
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
        if self.label is None:
            object.__setattr__(self, "label", self.speaker)


# How far the transcripts answer a question, defined once: `answered` (the quotes state it),
# `related` (the topic is there, but no candidate quote nor its turn states what was asked: the
# closest quotes are shown as `related`, not as the answer), `not_found` (nothing close).
Coverage = Literal["answered", "related", "not_found"]
COVERAGES: tuple[Coverage, ...] = get_args(Coverage)
Confidence = Annotated[float, PlainSerializer(lambda v: round(v, 3), return_type=float)]


@dataclass(frozen=True, slots=True)
class Answer:
    """`answerable` is true exactly when `coverage` is `answered`; `quotes` are then the answer.

    `confidence` (0–1) estimates the chance that the first quote answers the question
    (calibrated on the dev sets: README, Quality). `related` holds the closest quotes when the
    coverage is `related`: reading, not an answer.
    """

    question: str
    answerable: bool
    answer: str
    quotes: tuple[Quote, ...] = field(default_factory=tuple)
    passages: tuple[Passage, ...] = field(default_factory=tuple)
    coverage: Coverage = "not_found"
    confidence: Confidence = 0.0
    related: tuple[Quote, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.coverage not in COVERAGES:
            raise ValueError(f"coverage must be one of {COVERAGES}, not {self.coverage!r}")
        if self.answerable != (self.coverage == "answered"):
            raise ValueError("answerable is true exactly when coverage is 'answered'")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must be in [0, 1], not {self.confidence}")
        if self.quotes and not self.answerable:
            raise ValueError("only an answered question has quotes (closest ones go to related)")


@dataclass(frozen=True, slots=True)
class SearchResult:
    passages: tuple[Passage, ...]


# Filter dates, as the CLI, the HTTP API (its schema states this pattern) and the web page take
# them: strictly `YYYY-MM-DD`, where `dt.date.fromisoformat` also takes `20230308`, `2023-W10-3`.
DAY_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
_DAY = re.compile(DAY_PATTERN)


def iso_date(value: str | None, name: str) -> str | None:
    """`YYYY-MM-DD`, checked (InvalidInput naming `name`); None and "" are no bound."""
    if value is None or value == "":
        return None
    try:
        if not _DAY.fullmatch(str(value)):
            raise ValueError(value)
        return dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date like 2023-03-08 (YYYY-MM-DD), not {value!r}"
        ) from None


def check_date_order(start: str | None, end: str | None) -> None:
    """InvalidInput if the range `start`..`end` (checked `YYYY-MM-DD`, or None) is empty."""
    if start and end and start > end:
        raise InvalidInput(f"date_from ({start}) is after date_to ({end})")


# Bounds on filter values (also stated in the HTTP schema, qa.api.schemas): a document id is a
# relative path (4096 bytes at most on Linux), a speaker a name; 100 of either is plenty.
MAX_DOC_CHARS = 4096
MAX_SPEAKER_CHARS = 200
MAX_FILTER_VALUES = 100


_SUGGEST_FROM = 2000  # candidates compared in full; beyond, those sharing the first letters


def _did_you_mean(value: str, known: Collection[str]) -> str:
    """The closest known value, for one misspelt filter value. A large index's candidates are
    narrowed first: difflib compares each in full, and a request must stay cheap."""
    candidates = list(known)
    if len(candidates) > _SUGGEST_FROM:
        head = value[:2].casefold()
        candidates = [k for k in candidates if k[:2].casefold() == head][:_SUGGEST_FROM]
    close = difflib.get_close_matches(value, candidates, n=1, cutoff=0.75)
    return f" (did you mean {_shown(close[0])}?)" if close else ""


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:60] + "…")


def speaker_keys(pairs: Iterable[tuple[str | None, str | None]]) -> frozenset[str]:
    """Every speaker filter value (casefolded) that some (speaker, label) pair admits, as
    `Filters._speaks` matches: the label as written, the display name, or its last words."""
    keys: set[str] = set()
    for speaker, label in pairs:
        keys.update(v.casefold() for v in (speaker, label) if v)
        words = (speaker or "").casefold().split()
        keys.update(" ".join(words[i:]) for i in range(len(words)))
    return frozenset(keys)


def _filter_values(values: Collection[str], name: str, max_chars: int) -> Collection[str]:
    """`values`, checked: some visible text, no control characters, bounded length and count."""
    if len(values) > MAX_FILTER_VALUES:
        raise InvalidInput(f"{name}: at most {MAX_FILTER_VALUES} values")
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{name}: a filter value must not be empty")
        if len(value) > max_chars:
            raise InvalidInput(f"{name}: a filter value must be at most {max_chars} characters")
        if any(ord(ch) < 32 or 127 <= ord(ch) < 160 for ch in value):
            raise InvalidInput(f"{name}: a filter value must not contain control characters")
    return values


@dataclass(frozen=True, slots=True)
class DocOutline:
    """What a list of documents shows of one: title, date, speakers in order of appearance,
    number of turns and the media's length (the latest cue end, timed formats)."""

    doc_id: str
    title: str
    date: str | None
    speakers: tuple[str, ...]
    turns: int
    duration: float | None

    @classmethod
    def of(cls, doc_id: str, chunks: Iterable[Chunk]) -> DocOutline:
        title: str | None = None
        date: str | None = None
        speakers: list[str] = []
        turns: set[int] = set()
        duration: float | None = None
        for i, c in enumerate(chunks):
            if i == 0:
                title, date = c.title, c.date
            if c.speaker and c.speaker not in speakers:
                speakers.append(c.speaker)
            turns.add(c.turn_index)
            ends = [b for _, b in c.times if b is not None]
            if ends:
                duration = max(duration or 0.0, *ends)
        return cls(doc_id, title or doc_id, date, tuple(speakers), len(turns), duration)


@dataclass(frozen=True, slots=True)
class Filters:
    """Which chunks a question may be answered from; empty means no restriction."""

    docs: frozenset[str] = frozenset()
    speakers: frozenset[str] = frozenset()  # display names or labels as written, casefolded
    date_from: str | None = None  # YYYY-MM-DD, inclusive; undated documents are then excluded
    date_to: str | None = None

    @classmethod
    def of(
        cls,
        *,
        docs: Collection[str] = (),
        speakers: Collection[str] = (),
        date_from: str | dt.date | None = None,
        date_to: str | dt.date | None = None,
    ) -> Filters:
        """Filters from user input: dates checked (InvalidInput), speakers casefolded."""
        start = iso_date(None if date_from is None else str(date_from), "date_from")
        end = iso_date(None if date_to is None else str(date_to), "date_to")
        check_date_order(start, end)
        return cls(
            frozenset(_filter_values(docs, "doc", MAX_DOC_CHARS)),
            frozenset(s.casefold() for s in _filter_values(speakers, "speaker", MAX_SPEAKER_CHARS)),
            start,
            end,
        )

    @property
    def active(self) -> bool:
        return bool(self.docs or self.speakers or self.date_from or self.date_to)

    def admits(self, chunk: Chunk) -> bool:
        if self.docs and chunk.doc_id not in self.docs:
            return False
        if not self._dated(chunk.date):
            return False
        return not self.speakers or self._speaks(chunk)

    def _speaks(self, chunk: Chunk) -> bool:
        """The label as written, the display name, or its last words (`Musk`, `Biden`)."""
        if {(chunk.speaker or "").casefold(), (chunk.label or "").casefold()} & self.speakers:
            return True
        words = (chunk.speaker or "").casefold().split()
        return any(
            0 < len(w) <= len(words) and words[-len(w) :] == w
            for w in (s.split() for s in self.speakers)
        )

    def unmatched(self, doc_ids: Collection[str], keys: Collection[str]) -> list[str]:
        """What is wrong with a filter none of whose values names anything: no document id in
        `doc_ids`, no speaker that a key of `keys` (see `speaker_keys`) matches. A misspelt
        filter would otherwise read as "the transcripts do not say this". A filter with one
        value that matches is kept (a saved query naming a document deleted since still runs);
        the first value that names nothing gets a suggestion."""
        problems = []
        docs = sorted(self.docs - set(doc_ids))
        if docs and len(docs) == len(self.docs):
            first = docs[0]
            problems.append(
                f"doc: no indexed document {_shown(first)}{_did_you_mean(first, doc_ids)}"
                + (f" (nor {len(docs) - 1} more)" if len(docs) > 1 else "")
            )
        speakers = sorted(
            s
            for s in self.speakers
            if s.casefold() not in keys and " ".join(s.casefold().split()) not in keys
        )
        if speakers and len(speakers) == len(self.speakers):
            first = speakers[0]
            problems.append(
                f"speaker: no indexed speaker {_shown(first)}"
                f"{_did_you_mean(first.casefold(), keys)}"
                + (f" (nor {len(speakers) - 1} more)" if len(speakers) > 1 else "")
            )
        return problems

    def _dated(self, date: str | None) -> bool:
        if self.date_from is None and self.date_to is None:
            return True
        if date is None:
            return False
        return (self.date_from is None or date >= self.date_from) and (
            self.date_to is None or date <= self.date_to
        )


@dataclass(frozen=True, slots=True)
class DocChanges:
    """Document ids an update added, re-indexed and dropped, each sorted."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file in the source folder that is not indexed, and why (unreadable, unsupported)."""

    doc_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class UpdateReport:
    """What an index update did (`qa index update --json` and `POST /index/update`)."""

    added: int
    changed: int
    removed: int
    unchanged: int
    chunks_embedded: int  # chunk texts that went through the model (not found in the cache)
    texts_embedded: int  # every text that did: chunks, questions, sentences, sentence contexts
    documents: int
    chunks: int
    sentences: int
    seconds: Annotated[float, PlainSerializer(lambda v: round(v, 3), return_type=float)]
    version: str  # the live version afterwards (unchanged when nothing changed)
    written: bool  # a new version was written
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step: scan, embed, …
    problems: tuple[str, ...] = ()  # `doc: line N: ...`, what the readers could not read
    doc_ids: DocChanges = DocChanges()
    skipped: tuple[SkippedFile, ...] = ()  # not indexed, with the reason (also in `problems`)


@dataclass(frozen=True, slots=True)
class DocumentWritten:
    """An uploaded document and the update that indexed it."""

    doc_id: str
    update: UpdateReport


@dataclass(frozen=True, slots=True)
class PruneReport:
    leftovers: int  # crash leftovers removed
    segments: int  # segments no kept version names
    embeddings: int  # cached embeddings no kept version uses
    embeddings_kept: int


@dataclass(frozen=True, slots=True)
class Health:
    status: str
    documents: int
    chunks: int
    model: str
    version: str
    # Transcripts were added to or removed from the source folder since this version (by name;
    # `qa index status` compares contents). Quotes from a removed one are not served meanwhile.
    stale: bool = False
    # #17: which store serves it (`files` or `postgresql`) and the database's schema version.
    backend: str = "files"
    schema_version: int | None = None


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    doc_id: str
    sha256: str | None  # None for a skipped file that could not even be hashed
    chunks: int
    status: str = "indexed"  # or "skipped"
    reason: str | None = None  # why a skipped file is not indexed


@dataclass(frozen=True, slots=True)
class IndexStatus:
    """What `qa index status` shows: size, age and staleness of the live version."""

    documents: int
    chunks: int
    model: str
    version: str
    last_update: str
    size_bytes: int
    cache_bytes: int
    stale: bool
    pending: dict[str, list[str]]
    # Damaged or missing stored documents (`qa index build` rewrites them; `qa index prune`
    # drops them so that the next update indexes those documents again).
    problems: tuple[str, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()  # files the last update could not index


def clock(seconds: float | None) -> str:
    """`00:01:02`, or `?` for an unknown time."""
    if seconds is None:
        return "?"
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def where(q: Quote | Passage) -> str:
    """`line 64`, `lines 40–41`; for a PDF `p. 12, ll. 4–9` (or `p. 12` without printed lines)."""
    if q.page is not None:
        a, b = q.page_line_start, q.page_line_end
        if a is None:
            return f"p. {q.page}"
        return f"p. {q.page}, l. {a}" if b in (None, a) else f"p. {q.page}, ll. {a}–{b}"
    if q.line_start == q.line_end:
        return f"line {q.line_start}"
    return f"lines {q.line_start}–{q.line_end}"


def cite(q: Quote | Passage) -> str:
    """The one citation format: `doc.txt, lines 40–41, 00:01:02–00:01:09, “Title”, 2023-03-08`
    (times for timed sources, then title and date when known)."""
    out = f"{q.doc_id}, {where(q)}"
    if q.time_start is not None or q.time_end is not None:
        out += f", {clock(q.time_start)}–{clock(q.time_end)}"
    if q.title and q.title not in (q.doc_id, q.doc_id.rsplit("/", 1)[-1].rsplit(".", 1)[0]):
        out += f", “{q.title}”"
    if q.date:
        out += f", {q.date}"
    return out


_ADAPTERS: dict[type[Any], TypeAdapter[Any]] = {}


def _adapter(kind: type[Any]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def dump(record: Any) -> Any:
    """JSON-able data for a record (or a list of them): the one serialisation of the wire model."""
    if isinstance(record, list | tuple):
        return [dump(r) for r in record]
    return _adapter(type(record)).dump_python(record, mode="json")


# -- #17: the database store's commands (`qa worker`, `qa db …`) -----------------------------


@dataclass(frozen=True, slots=True)
class WorkReport:
    """What one `qa worker` did in a shared update."""

    worker: str  # host:pid
    documents: int  # documents this worker indexed
    skipped: int
    texts_embedded: int
    version: str | None  # the version this worker wrote (the last to finish writes it)
    seconds: Annotated[float, PlainSerializer(lambda v: round(v, 3), return_type=float)]


@dataclass(frozen=True, slots=True)
class TransferReport:
    """`qa db import` / `qa db export`: documents copied, with their vectors (none embedded)."""

    documents: int
    chunks: int
    version: str
    seconds: Annotated[float, PlainSerializer(lambda v: round(v, 3), return_type=float)]


@dataclass(frozen=True, slots=True)
class SchemaReport:
    """`qa db migrate` / `qa db status`."""

    backend: str
    schema_version: int
    latest: int
    applied: tuple[int, ...] = ()
