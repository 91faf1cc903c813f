"""Numbered transcripts: court, deposition and hearing transcripts whose lines are numbered on
each page (`1` … `25`), in a PDF or in the plain-text ("ASCII") copy court reporters deliver.

On each page, what is not testimony is found here: running headers and footers (the first and
last lines that recur on other pages, digits aside), page numbers (`12`, `Page 12 of 30`,
`- 12 -`) and the printed line numbers. Readers keep it out of every turn's speaker search and
cite every chunk, sentence and quote by its page and printed lines (`p. 12, ll. 4–9`).

Pages are the text between form feeds. A plain-text copy may have none: then a page ends after
the last line before the numbering starts again at a lower number.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from qa.ingest.text import parse_text
from qa.models import PageLine, Transcript
from qa.segments import trim

Span = tuple[int, int]

_PAGE_NUMBER = re.compile(
    r"(?:page\s+)?[-–—]?\s*\d{1,4}\s*[-–—]?(?:\s*(?:of|/)\s*\d{1,4})?|[ivxlc]{1,6}", re.I
)
_LINE_NUMBER = re.compile(r"[ \t]*(?P<n>\d{1,2})(?=[ \t]|$)[ \t]*")
_EDGE = 2  # lines at the top and the bottom of a page that may be running headers or footers
_NUMBERED_LINE = re.compile(r"^[ \t]*(\d{1,2})(?=[ \t]|$)", re.MULTILINE)


def lines(text: str, start: int, end: int) -> list[Span]:
    """The non-blank lines of `text[start:end]`, trimmed."""
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


def form_feed_pages(text: str) -> list[Span]:
    """The pages of a text whose pages are separated by form feeds (one page if none)."""
    starts = [0] + [m.end() for m in re.finditer("\f", text)]
    return [(s, (text.find("\f", s) if "\f" in text[s:] else len(text))) for s in starts]


def restart_pages(text: str) -> list[Span]:
    """Pages of a text without form feeds: a page ends after its last numbered line, where the
    next numbered line starts the numbering again at a lower number (`25` then `1`)."""
    bounds = [0]
    last: tuple[int, int] | None = None  # (number, end of its line)
    for m in _NUMBERED_LINE.finditer(text):
        n = int(m.group(1))
        if last is not None and n <= last[0]:
            bounds.append(last[1] + 1)
        stop = text.find("\n", m.end())
        last = (n, len(text) if stop < 0 else stop)
    bounds.append(len(text))
    return [(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def layout(text: str, pages: Sequence[Span] | None = None) -> tuple[list[Span], list[PageLine]]:
    """(spans that are not testimony, each content line as (offset, page, printed line)).

    `pages` are the page spans (default: split at form feeds)."""
    pages = form_feed_pages(text) if pages is None else pages
    page_lines = [lines(text, s, e) for s, e in pages]
    # A running header or footer recurs in the same place (first, second, last or next to last
    # line) on at least half of the pages, digits aside; testimony rarely does.
    edges: Counter[tuple[int, str]] = Counter()
    for page in page_lines:
        edges.update({(_place(k, len(page)), _shape(text[s:e])) for k, (s, e) in enumerate(page)})
    running = max(2, (len(page_lines) + 1) // 2)
    masked: list[Span] = []
    marks: list[PageLine] = []
    for physical, page in enumerate(page_lines, start=1):
        body = []
        number = physical  # the printed page number when the page shows one
        for k, (s, e) in enumerate(page):
            edge = k < _EDGE or k >= len(page) - _EDGE
            line = text[s:e]
            printed_page = _PAGE_NUMBER.fullmatch(line.strip()) if edge else None
            recurring = edges[(_place(k, len(page)), _shape(line))] >= running
            if printed_page or (edge and recurring):
                masked.append((s, e))
                digits = re.search(r"\d+", line)
                if printed_page and digits:
                    number = int(digits.group())
            else:
                body.append((s, e))
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


def blank(text: str, spans: list[Span]) -> str:
    """`text` with `spans` blanked (spaces; line breaks and form feeds kept): same offsets."""
    chars = list(text)
    for s, e in spans:
        chars[s:e] = re.sub(r"[^\n\f]", " ", text[s:e])
    return "".join(chars)


def numbered_view(text: str) -> tuple[str, tuple[PageLine, ...]] | None:
    """For a plain text whose lines are numbered page by page: the text with the numbers, page
    numbers and running headers blanked (where speakers are looked for), and the page marks.
    None for any other text (most of them: no page has numbered lines)."""
    if len(_NUMBERED_LINE.findall(text, 0, 200_000)) < 3:
        return None  # the common case, decided without laying the pages out
    pages = form_feed_pages(text) if "\f" in text else restart_pages(text)
    masked, marks = layout(text, pages)
    if not any(line is not None for _, _, line in marks):
        return None
    return blank(text, masked), tuple(marks)


def parse_plain_text(doc_id: str, text: str) -> Transcript:
    """A `.txt` transcript: as `parse_text` reads it, speakers looked for past the numbers of a
    numbered transcript (`12        Q.   Where were you?`), which also gives it page and line
    citations. The turns are single slices of the text, numbers and all: quotes stay verbatim."""
    view = numbered_view(text)
    if view is None:
        return parse_text(doc_id, text)
    masked, marks = view
    # A court reporter wraps the testimony at the page's width: a line break ends no sentence.
    return replace(parse_text(doc_id, text, view=masked), page_lines=marks, wrapped=True)
