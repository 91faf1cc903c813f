"""Turns → chunks (retrieval units) and sentences (quote units), all with exact source offsets."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from qa.models import Chunk, Segment, Sentence, Timing, Transcript, Turn
from qa.segments import JoinedView, join, trim
from qa.settings import ChunkingSettings

# Paragraphs, then lines, then sentence ends, then clauses: a chunk breaks where a reader would.
SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "… ", "; ", ": ", ", ", " ", ""]
QUESTION_CHARS = 600  # the tail of the interviewer's turn: questions come last

# A sentence ends at . ! ? … (then optional closing quotes/brackets) followed by whitespace, or at
# a line break. Common abbreviations and initials do not end sentences.
_END = re.compile(r"(?:[.!?…]+[\"'”’)\]]*)(?=\s)|\n")
# In wrapped text (Markdown) a single line break is a space; only a paragraph break ends a sentence.
_END_WRAPPED = re.compile(r"(?:[.!?…]+[\"'”’)\]]*)(?=\s)|\n(?=[ \t\u00a0]*\n)")
_ABBREV = re.compile(
    r"(?:Mr|Mrs|Ms|Dr|Prof|Sr|Jr|St|vs|etc|e\.g|i\.e|No|Inc|Ltd|Co|[A-Z]|(?:[A-Z]\.)+[A-Z])\."
)
_NEWLINE = re.compile("\n")
_NUMBERING = re.compile(r"\d{1,3}[.)]")  # `06.` opening a line numbers a heading


class LineIndex:
    """1-based line numbers for character offsets."""

    def __init__(self, text: str) -> None:
        self._newlines = [m.start() for m in _NEWLINE.finditer(text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_left(self._newlines, offset) + 1

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.line(start), self.line(max(start, end - 1))


def split_sentences(
    text: str, start: int, end: int, wrapped: bool = False
) -> list[tuple[int, int]]:
    """Sentence spans inside `text[start:end]`, trimmed, covering all its non-space text.

    `wrapped`: lines are wrapped paragraphs, so a line break alone does not end a sentence.
    """
    spans: list[tuple[int, int]] = []
    cursor = start
    for m in (_END_WRAPPED if wrapped else _END).finditer(text, start, end):
        if m.group(0) != "\n" and _not_an_end(text, start, m.start(), m.end()):
            continue
        s, e = trim(text, cursor, m.end())
        if e > s:
            spans.append((s, e))
        cursor = m.end()
    s, e = trim(text, cursor, end)
    if e > s:
        spans.append((s, e))
    return spans


def _not_an_end(text: str, floor: int, at: int, end: int) -> bool:
    """An abbreviation, an initial or a line-opening number before the stop."""
    word_start = at
    while word_start > floor and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:end]
    if _ABBREV.fullmatch(word):
        return True
    return bool(_NUMBERING.fullmatch(word)) and (
        word_start == floor or text[word_start - 1] == "\n"
    )


def question_for(turns: Sequence[Turn], index: int, text: str) -> str | None:
    """The turn this one answers: the nearest earlier turn by another named speaker."""
    return questions_for(turns, text)[index]


def questions_for(turns: Sequence[Turn], text: str) -> list[str | None]:
    """`question_for` of every turn in one pass: linear in the turns, however they alternate.

    The turn answered is the one before the run of turns by the same speaker that ends just
    before this turn; each asking turn's tail is cut once, whatever number of turns answer it.
    """
    out: list[str | None] = []
    asked: dict[int, str | None] = {}
    answered = -1  # for the previous turn: the index of the turn it answers (-1: none)
    for i, turn in enumerate(turns):
        j = answered if i > 0 and turns[i - 1].speaker == turn.speaker else i - 1
        answered = j
        if turn.speaker is None or j < 0 or turns[j].speaker is None:
            out.append(None)
            continue
        if j not in asked:
            asked[j] = _tail(text, turns[j], QUESTION_CHARS)
        out.append(asked[j])
    return out


def _tail(text: str, turn: Turn, n: int) -> str:
    """The last `n` characters of a turn's text, joining only the segments they come from."""
    if len(turn.segments) <= 1:
        return text[max(turn.start, turn.end - n) : turn.end]
    first, size = len(turn.segments), -1
    while first > 0 and size < n:
        first -= 1
        s, e = turn.segments[first]
        size += e - s + 1
    return join(text, turn.segments[first:])[-n:]


@dataclass(frozen=True, slots=True)
class _TurnText:
    """The string a turn is split in, `text[lo:hi]`, and the way back to source segments.

    A one-segment turn is split in the source itself (offsets are source offsets); a turn of
    several segments (subtitle cues) in its segments joined by single spaces.
    """

    text: str
    lo: int
    hi: int
    view: JoinedView | None
    times: tuple[Timing, ...] = ()  # a one-segment turn's timing, if it has one

    @classmethod
    def of(cls, source: str, turn: Turn) -> _TurnText:
        if len(turn.segments) <= 1:
            return cls(source, turn.start, turn.end, None, turn.times)
        view = JoinedView.of(source, turn.segments, turn.times)
        return cls(view.text, 0, len(view.text), view)

    def spans(self, a: int, b: int) -> tuple[tuple[Segment, ...], tuple[Timing, ...]]:
        if self.view is None:
            return ((a, b),), self.times
        return self.view.spans(a, b)


def chunk_transcript(
    doc: Transcript, settings: ChunkingSettings, first_id: int = 0
) -> tuple[list[Chunk], list[Sentence]]:
    """Chunks never cross a turn; sentences never cross a turn and each names its chunk."""
    # Imported here: langchain costs ~0.25 s at start-up and only index builds split text.
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.size,
        chunk_overlap=settings.overlap,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    lines = LineIndex(doc.text)
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    questions = questions_for(doc.turns, doc.text)
    for ti, turn in enumerate(doc.turns):
        question = questions[ti]
        tt = _TurnText.of(doc.text, turn)
        turn_chunks: list[Chunk] = []
        pieces = splitter.split_text(tt.text[tt.lo : tt.hi])
        for a, b in _locate(tt.text, tt.lo, tt.hi, pieces, settings.overlap):
            segments, times = tt.spans(a, b)
            s, e = segments[0][0], segments[-1][1]
            line_start, line_end = lines.span(s, e)
            turn_chunks.append(
                Chunk(
                    id=first_id + len(chunks) + len(turn_chunks),
                    doc_id=doc.doc_id,
                    speaker=turn.speaker,
                    start=s,
                    end=e,
                    line_start=line_start,
                    line_end=line_end,
                    text=tt.text[a:b],
                    turn_index=ti,
                    question=question,
                    label=turn.label,
                    segments=segments,
                    times=times,
                    title=doc.title,
                    date=doc.date,
                )
            )
        starts = [c.start for c in turn_chunks]
        for a, b in split_sentences(tt.text, tt.lo, tt.hi, doc.wrapped):
            segments, times = tt.spans(a, b)
            s, e = segments[0][0], segments[-1][1]
            # The last chunk starting at or before the sentence: it holds the sentence's start.
            owner = turn_chunks[max(0, bisect.bisect_right(starts, s) - 1)]
            line_start, line_end = lines.span(s, e)
            sentences.append(
                Sentence(
                    start=s,
                    end=e,
                    chunk_id=owner.id,
                    line_start=line_start,
                    line_end=line_end,
                    segments=segments,
                    times=times,
                )
            )
        chunks.extend(turn_chunks)
    return chunks, sentences


def _locate(
    text: str, start: int, end: int, pieces: Iterable[str], overlap: int
) -> list[tuple[int, int]]:
    """Map splitter output back to offsets: pieces are substrings, in order, possibly overlapping.

    The splitter pins each piece down: it starts no earlier than the previous one nor more than
    `overlap` before the previous one's end, no later than the first text not yet covered, and
    ends no earlier than the previous one. A phrase repeated close by (`Thank you.` twice in a
    turn) can still match twice in that window; a choice that would leave text uncovered is undone
    (depth-first, remembering dead ends), so every non-space character lands in some chunk.
    """
    parts = list(pieces)
    spans: list[tuple[int, int]] = []
    options: list[list[int]] = []  # per placed piece: the other places still worth trying
    dead: set[tuple[int, int]] = set()  # (piece, previous piece's start): the rest cannot fit
    while len(spans) < len(parts):
        i, piece = len(spans), parts[len(spans)]
        prev_start, prev_end = spans[-1] if spans else (start, start)
        places: list[int] = []
        if (i, prev_start) not in dead:
            next_text = trim(text, prev_end, end)[0]
            stop = min(end, next_text + len(piece))  # starting later would leave a gap
            at = text.find(piece, max(prev_start, prev_end - overlap), stop)
            while at >= 0:
                last_ok = i + 1 < len(parts) or trim(text, at + len(piece), end)[0] == end
                if at + len(piece) >= prev_end and last_ok:
                    places.append(at)
                at = text.find(piece, at + 1, stop)
            # Most likely first: the splitter keeps the longest tail that fits in `overlap`.
            likely = next_text - overlap
            places.sort(key=lambda a: (a < likely, a))
        while not places and spans:  # dead end: undo the last choice that has an alternative
            dead.add((len(spans), spans[-1][0]))
            spans.pop()
            places = options.pop()
        if not places:  # cannot happen with strip_whitespace splitters; be loud if it does
            raise ValueError(f"chunks do not map onto the source text at offset {start}")
        at, rest = places[0], places[1:]
        i = len(spans)
        spans.append((at, at + len(parts[i])))
        options.append(rest)
    return spans
