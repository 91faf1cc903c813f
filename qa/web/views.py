"""What the pages show, as plain data: citations, the verbatim check, the reader's lines, exports.

Pure functions over the service's records (`Quote`, `Passage`, `Chunk`, `Transcript`), so they are
tested without a server; `routes.py` only fetches, calls these and renders.
"""

from __future__ import annotations

import bisect
import csv
import io
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from qa.models import (
    Answer,
    Chunk,
    DocOutline,
    Passage,
    Quote,
    Segment,
    Timing,
    Transcript,
    Turn,
    dump,
    where,
)

MEDIA_SUFFIXES = (".mp3", ".m4a", ".wav", ".mp4", ".webm")
MEDIA_TYPES = {
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".wav": "audio/wav",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
}


@dataclass(frozen=True)
class PageFilters:
    """The filters of a page, as they sit in its URL (`doc`, `speaker` repeatable)."""

    docs: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()
    date_from: str | None = None
    date_to: str | None = None

    def params(self) -> list[tuple[str, str]]:
        out = [("doc", d) for d in self.docs] + [("speaker", s) for s in self.speakers]
        if self.date_from:
            out.append(("date_from", self.date_from))
        if self.date_to:
            out.append(("date_to", self.date_to))
        return out

    def chips(self, question: str) -> list[dict[str, str]]:
        """One removable chip per filter: its label and the URL without it."""
        chips = []
        params = self.params()
        for i, (name, value) in enumerate(params):
            rest = [("q", question)] if question else []
            rest += [p for j, p in enumerate(params) if j != i]
            label = {"doc": "document", "speaker": "speaker"}.get(name, name.replace("_", " "))
            chips.append({"label": label, "value": value, "href": "/?" + urlencode(rest)})
        return chips


def clock(seconds: float | None) -> str | None:
    """`[mm:ss]` (or `[h:mm:ss]`) for a time in seconds."""
    if seconds is None:
        return None
    total = int(seconds)
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def lines_label(line_start: int, line_end: int) -> str:
    return f"line {line_start}" if line_start == line_end else f"lines {line_start}–{line_end}"


def shared_titles(titles: Iterable[str]) -> frozenset[str]:
    """The titles more than one document has (`a/notes.txt` and `b/notes.txt` are both
    `notes`): cited by title alone, a quote would not say which document it is from."""
    seen: set[str] = set()
    shared: set[str] = set()
    for title in titles:
        (shared if title in seen else seen).add(title)
    return frozenset(shared)


def doc_label(doc_id: str, title: str | None, shared: Collection[str] = ()) -> str:
    """A document as a citation names it: its title, with its id when another has that title."""
    if not title:
        return doc_id
    return f"{title} ({doc_id})" if title in shared else title


def citation(item: Quote | Passage, shared: Collection[str] = ()) -> list[str]:
    """The parts of a citation chip: speaker · title · date · [mm:ss] · lines (or page);
    `shared`: titles of more than one document (see shared_titles)."""
    time_start = item.time_start
    parts = [item.speaker or "(no speaker)", doc_label(item.doc_id, item.title, shared)]
    if item.date:
        parts.append(item.date)
    if time_start is not None:
        parts.append(f"[{clock(time_start)}]")
    parts.append(where(item))  # lines, or page and printed lines for a PDF
    return parts


def verified(text: str, quote: Quote | Passage) -> bool:
    """The quote is exactly the source: one slice, or its segments joined by single spaces."""
    if len(quote.segments) == 1 and text[quote.start : quote.end] != quote.text:
        return False
    return " ".join(text[s:e] for s, e in quote.segments) == quote.text


def reader_href(
    doc_id: str,
    start: int,
    end: int,
    question: str = "",
    filters: PageFilters | None = None,
    n: int | None = None,
) -> str:
    """The reader at a span; with the question (and quote number) it links back to the answer."""
    params: list[tuple[str, str]] = [("start", str(start)), ("end", str(end))]
    if question:
        params.append(("q", question))
        params += (filters or PageFilters()).params()
        if n is not None:
            params.append(("n", str(n)))
    return f"/transcripts/{quote(doc_id)}?{urlencode(params)}#m"


def answer_href(question: str, filters: PageFilters) -> str:
    return "/?" + urlencode([("q", question), *filters.params()])


def copy_texts(quote: Quote, link: str, shared: Collection[str] = ()) -> dict[str, str]:
    """A quote with its citation, as plain text and as a Markdown block quote."""
    cite = ", ".join(citation(quote, shared))
    plain = f"“{quote.text}” — {cite}\n{link}"
    body = "\n".join(f"> {line}" if line else ">" for line in quote.text.split("\n"))
    markdown = f"{body}\n>\n> — {cite} ([source]({link}))"
    return {"plain": plain, "markdown": markdown}


# -- exports ---------------------------------------------------------------------------------
def export_markdown(answer: Answer, link: str, base: str, shared: Collection[str] = ()) -> str:
    lines = [f"# {answer.question}", "", f"[Permalink]({link})", ""]
    if not answer.answerable:
        if answer.related:
            lines += ["Discussed, but not answered.", "", "## Related quotes (not an answer)", ""]
            for q in answer.related:
                lines += [f"> {q.text}", ">", f"> — {', '.join(citation(q, shared))}", ""]
        else:
            lines += ["Not found in these transcripts."]
        lines += ["", "## Related passages", ""]
        for p in answer.passages:
            lines += [f"> {p.text}", ">", f"> — {', '.join(citation(p, shared))}", ""]
        return "\n".join(lines)
    for i, q in enumerate(answer.quotes, 1):
        href = base + reader_href(q.doc_id, q.start, q.end, answer.question, None, i)
        lines += [copy_texts(q, href, shared)["markdown"], ""]
    return "\n".join(lines)


CSV_FIELDS = (
    "n",
    "text",
    "speaker",
    "title",
    "date",
    "doc_id",
    "start",
    "end",
    "line_start",
    "line_end",
    "time_start",
    "time_end",
    "score",
    "verified",
)


def export_csv(answer: Answer, checks: Sequence[bool]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for i, (q, ok) in enumerate(zip(answer.quotes, checks, strict=True), 1):
        d = dump(q)
        writer.writerow([i, *(d[f] for f in CSV_FIELDS[1:-1]), "yes" if ok else "no"])
    return out.getvalue()


def export_json(answer: Answer, checks: Sequence[bool], link: str) -> str:
    body: dict[str, Any] = dump(answer)
    for q, ok in zip(body["quotes"], checks, strict=True):
        q["verified"] = ok
    body["permalink"] = link
    return json.dumps(body, ensure_ascii=False, indent=2)


# -- the reader --------------------------------------------------------------------------------
def transcript_of(doc_id: str, text: str, chunks: Iterable[Chunk]) -> Transcript:
    """The document as speaker turns, rebuilt from its indexed chunks (no parsing again).

    A turn's chunks share its `turn_index`; their slices are merged where they overlap or only
    whitespace lies between them, so a plain-text turn is one slice again and a subtitle turn
    keeps one slice per cue (cue numbers and timings sit between them).
    """
    groups: dict[int, list[Chunk]] = {}
    for c in chunks:
        if c.doc_id == doc_id:
            groups.setdefault(c.turn_index, []).append(c)
    turns = []
    for index in sorted(groups):
        cs = groups[index]
        pieces: dict[Segment, Timing] = {}
        for c in cs:
            times = c.times or ((None, None),) * len(c.segments)
            for seg, timing in zip(c.segments, times, strict=False):
                pieces.setdefault(seg, timing)
        segs: list[list[int]] = []
        kept: list[Timing] = []
        for (a, b), timing in sorted(pieces.items()):
            if segs and (a <= segs[-1][1] or text[segs[-1][1] : a].isspace()):
                segs[-1][1] = max(segs[-1][1], b)
            else:
                segs.append([a, b])
                kept.append(timing)
        timed = any(t != (None, None) for t in kept)
        turns.append(
            Turn(
                speaker=cs[0].speaker,
                start=segs[0][0],
                end=segs[-1][1],
                label=cs[0].label,
                segments=tuple((a, b) for a, b in segs),
                times=tuple(kept) if timed else (),
            )
        )
    first = next((c for cs in groups.values() for c in cs), None)
    return Transcript(
        doc_id,
        text,
        "",
        tuple(turns),
        title=first.title if first else None,
        date=first.date if first else None,
    )


@dataclass
class Piece:
    text: str
    marked: bool = False
    join: str = ""  # what joins this mark to the previous one in the quote: "", "\n" or " "
    first: bool = False  # the first mark of the span (the reader scrolls to it)


@dataclass
class Line:
    number: int
    anchor: bool  # the first line rendered with this number carries its `L<n>` id
    pieces: list[Piece] = field(default_factory=list)


@dataclass
class TurnView:
    index: int
    speaker: str | None
    label: str | None
    time: float | None
    time_end: float | None
    lines: list[Line]
    current: bool = False  # holds the marked span


def reader_turns(doc: Transcript, start: int | None, end: int | None) -> list[TurnView]:
    """Every turn as numbered lines, with `[start, end)` split into marks (one per line piece)."""
    newlines = [i for i, ch in enumerate(doc.text) if ch == "\n"]
    seen: set[int] = set()
    turns: list[TurnView] = []
    previous: tuple[int, int, int] | None = None  # (turn, segment, end) of the last mark
    for t_index, turn in enumerate(doc.turns):
        lines: list[Line] = []
        current = False
        for seg_i, (s, e) in enumerate(turn.segments):
            pos = s
            while pos <= e:
                stop = doc.text.find("\n", pos, e)
                stop = e if stop == -1 else stop
                number = bisect.bisect_left(newlines, pos) + 1
                line = Line(number, number not in seen)
                seen.add(number)
                for a, b, marked in _cut(pos, stop, start, end):
                    piece = Piece(doc.text[a:b], marked)
                    if marked:
                        if previous is None:
                            piece.first = True
                        elif previous[:2] == (t_index, seg_i):  # line breaks inside one slice
                            piece.join = doc.text[previous[2] : a]
                        else:  # the next slice of a subtitle span: joined by a space
                            piece.join = " "
                        previous = (t_index, seg_i, b)
                        current = True
                    line.pieces.append(piece)
                if line.pieces or stop < e:
                    lines.append(line)
                pos = stop + 1
        times = turn.times
        turns.append(
            TurnView(
                t_index,
                turn.speaker,
                turn.label,
                times[0][0] if times else None,
                times[-1][1] if times else None,
                lines,
                current,
            )
        )
    return turns


def _cut(a: int, b: int, start: int | None, end: int | None) -> list[tuple[int, int, bool]]:
    """`[a, b)` cut at `start` and `end`: (from, to, inside the mark) pieces, none empty."""
    if start is None or end is None or end <= a or start >= b:
        return [(a, b, False)] if a < b else []
    lo, hi = max(a, start), min(b, end)
    out = [(a, lo, False), (lo, hi, True), (hi, b, False)]
    return [p for p in out if p[0] < p[1]]


def span_segments(doc: Transcript, start: int, end: int) -> list[Segment]:
    """The pieces of the turns' segments inside `[start, end)`: what the reader marks."""
    out = []
    for turn in doc.turns:
        for s, e in turn.segments:
            a, b = max(s, start), min(e, end)
            if a < b:
                out.append((a, b))
    return out


# -- the documents page ------------------------------------------------------------------------
@dataclass
class DocSummary:
    doc_id: str
    title: str
    date: str | None
    speakers: list[str]
    turns: int
    chunks: int
    duration: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "date": self.date,
            "speakers": self.speakers,
            "turns": self.turns,
            "chunks": self.chunks,
            "duration": self.duration,
            "duration_label": clock(self.duration),
        }


def summaries(
    outlines: Mapping[str, DocOutline], counts: Mapping[str, int]
) -> dict[str, DocSummary]:
    """Per document: title, date, speakers (in order of appearance), turns, chunks, duration."""
    return {
        d: DocSummary(d, o.title, o.date, list(o.speakers), o.turns, counts.get(d, 0), o.duration)
        for d, o in outlines.items()
    }
