"""PDFs with a text layer (`.pdf`, read with pypdf): hearing and court transcripts.

The canonical text is each page's extracted text, pages separated by a form feed on its own line
(`\\n\\f\\n`); it is stored with the document's index entry (`GET /documents/{doc_id}/text`), and
parsing it again gives the same transcript (`parse_pdf_text` is pure).

On each page, what is not testimony is kept out of every turn: running headers and footers (the
first and last lines that recur on other pages, digits aside), page numbers (`12`, `Page 12 of
30`, `- 12 -`) and the printed line numbers of a numbered transcript (`1` … `25` opening the
lines). A turn is then a tuple of segments, one per line piece, joined by single spaces, and
every chunk, sentence and quote carries its page and printed lines (`p. 12, ll. 4–9`).
Speakers are found as in text: `Q.`/`A.`, `THE COURT:`, `MR. SMITH:`, timestamped headers.
"""

from __future__ import annotations

import io
import itertools
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import replace

from qa.errors import IngestError, PayloadTooLarge
from qa.ingest.meta import finish
from qa.ingest.text import speaker_turns
from qa.models import PageLine, Segment, Transcript, Turn
from qa.segments import trim

MAX_PAGES = 2000
PAGE_BREAK = "\n\f\n"
_PAGE_NUMBER = re.compile(
    r"(?:page\s+)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:of|/)\s*\d{1,4})?|[ivxlc]{1,6}", re.I
)
_LINE_NUMBER = re.compile(r"[ \t]*(?P<n>\d{1,2})(?=[ \t]|$)[ \t]*")
_EDGE = 2  # lines at the top and the bottom of a page that may be running headers or footers


def extract(name: str, data: bytes) -> str:
    """The canonical text of a PDF's bytes (refused: unreadable, too many pages, no text)."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # it warns about every odd font
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise IngestError(f"{name}: the PDF is encrypted")
        count = len(reader.pages)
        if count > MAX_PAGES:
            raise PayloadTooLarge(f"{name}: {count} pages; a PDF may have at most {MAX_PAGES}")
        pages = [(page.extract_text() or "") for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"{name}: not a readable PDF ({exc})") from exc
    pages = [p.replace("\f", "\n").replace("\r\n", "\n").replace("\r", "\n") for p in pages]
    if not any(p.strip() for p in pages):
        raise IngestError(f"{name}: the PDF has no text layer (a scan? run OCR on it first)")
    return PAGE_BREAK.join(p.strip("\n") for p in pages)


def _lines(text: str, start: int, end: int) -> list[tuple[int, int]]:
    out = []
    pos = start
    while pos <= end:
        stop = text.find("\n", pos, end)
        stop = end if stop < 0 else stop
        s, e = trim(text, pos, stop)
        if e > s:
            out.append((s, e))
        pos = stop + 1
    return out


def _shape(line: str) -> str:
    return re.sub(r"\d+", "#", " ".join(line.split())).casefold()


def _place(k: int, n: int) -> int:
    """A line's place on its page: 0, 1 from the top, -1, -2 from the bottom, else 99."""
    if k < _EDGE:
        return k
    return k - n if k >= n - _EDGE else 99


def layout(
    text: str, said: Callable[[str], bool] = lambda _: False
) -> tuple[list[tuple[int, int]], list[PageLine]]:
    """(spans that are not testimony, each content line as (offset, page, printed line));
    `said(line)`: the line is testimony even where it recurs like a running header."""
    starts = [0] + [m.end() for m in re.finditer("\f", text)]
    pages = [(s, len(text) if (f := text.find("\f", s)) < 0 else f) for s in starts]
    page_lines = [_lines(text, s, e) for s, e in pages]
    # A running header or footer recurs in the same place (first, second, last or next to last
    # line) on at least half of the pages, digits aside; testimony rarely does.
    edges: Counter[tuple[int, str]] = Counter()
    for lines in page_lines:
        edges.update({(_place(k, len(lines)), _shape(text[s:e])) for k, (s, e) in enumerate(lines)})
    running = max(2, (len(page_lines) + 1) // 2)
    masked: list[tuple[int, int]] = []
    marks: list[PageLine] = []
    for physical, lines in enumerate(page_lines, start=1):
        body = []
        number = physical  # the printed page number when the page shows one
        named = False  # the number came from a `Page 12` line, which a bare `12` does not undo
        last: int | None = None  # the printed line number of the page's last numbered line
        for k, (s, e) in enumerate(lines):
            edge = k < _EDGE or k >= len(lines) - _EDGE
            line = text[s:e]
            bare = line.strip()
            printed_page = _PAGE_NUMBER.fullmatch(bare) if edge else None
            if printed_page and bare.isdigit() and last is not None and int(bare) == last + 1:
                printed_page = None  # a numbered empty line at the foot, not the page's number
            recurring = edges[(_place(k, len(lines)), _shape(line))] >= running
            if printed_page or (edge and recurring and not said(line)):
                masked.append((s, e))
                digits = re.search(r"\d+", line)
                if printed_page and digits and (not named or not bare.isdigit()):
                    number = int(digits.group())
                    named = not bare.isdigit()
            else:
                body.append((s, e))
                if (m := _LINE_NUMBER.match(text, s, e)) is not None:
                    last = int(m.group("n"))
        numbered = [_LINE_NUMBER.match(text, s, e) for s, e in body]
        values = [int(m.group("n")) for m in numbered if m]
        printed = (
            len(values) >= 3
            and len(values) >= 0.6 * len(body)
            and all(b > a for a, b in itertools.pairwise(values))
        )
        current: int | None = None
        for (s, e), m in zip(body, numbered, strict=True):
            if printed and m:
                masked.append((s, m.end()))
                current = int(m.group("n"))
                if m.end() >= e:
                    continue  # a numbered empty line
                marks.append((m.end(), number, current))
            else:
                marks.append((s, number, current if printed else None))
    return sorted(masked), marks


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for s, e in spans:
        chars[s:e] = re.sub(r"[^\n\f]", " ", text[s:e])
    return "".join(chars)


def _pieces(masked: str, turn: Turn) -> list[Segment]:
    """The turn's text line by line, without what was masked (line numbers, headers)."""
    out = []
    for s, e in _lines(masked, turn.start, turn.end):
        s, e = trim(masked, s, e)
        if e > s:
            out.append((s, e))
    return out


def parse_pdf_text(doc_id: str, text: str) -> Transcript:
    """A PDF's canonical text → its transcript (pure; `extract` makes the text)."""
    masked_spans, marks = layout(text)
    masked = _blank(text, masked_spans)
    found = speaker_turns(masked)
    # A line opening with a speaker's label is testimony, even where it recurs at the page
    # edges like a running footer: `A. Yes.` ending both pages of a deposition.
    labels = {t.label or t.speaker for t in found if t.speaker}
    if labels:
        # …unless it is the same line on every page of three or more: a reporter's imprint
        # that opens like a label (`A. Williams Reporting Services`).
        pages = text.split("\f")
        lines_on: Counter[str] = Counter()
        for page in pages:
            lines_on.update({line.strip() for line in page.splitlines()})
        imprint = (
            {ln for ln, n in lines_on.items() if n == len(pages)} if len(pages) >= 3 else set()
        )
        kept_spans, kept_marks = layout(
            text, lambda line: line.strip() not in imprint and _opens_turn(line, labels)
        )
        if kept_spans != masked_spans:
            masked_spans, marks = kept_spans, kept_marks
            masked = _blank(text, masked_spans)
            found = speaker_turns(masked)
    turns = []
    for t in found:
        segs = _pieces(masked, t)
        if segs:
            turns.append(
                Turn(
                    speaker=t.speaker,
                    label=t.label,
                    start=segs[0][0],
                    end=segs[-1][1],
                    label_start=t.label_start,
                    segments=tuple(segs),
                    times=(t.times[0],) * len(segs) if t.times else (),
                )
            )
    return replace(finish(doc_id, text, turns), page_lines=tuple(marks))


def _opens_turn(line: str, labels: set[str]) -> bool:
    """`line`, after a printed line number if any, opens with one of `labels`, its mark and a
    space (`A. Yes.`, not `A.B.C. Court Reporting`)."""
    rest = re.sub(r"^\s*(?:\d{1,2}\s+)?", "", line)
    return any(
        rest.startswith(label)
        and rest[len(label) : len(label) + 1] in (".", ":")
        and rest[len(label) + 1 : len(label) + 2] in ("", " ", "\t")
        for label in labels
    )


def parse_pdf(doc_id: str, data: bytes) -> Transcript:
    return parse_pdf_text(doc_id, extract(doc_id, data))
