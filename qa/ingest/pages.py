"""Page and printed line numbers for the chunks and sentences of a paged document (PDF)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import replace
from typing import TypeVar

from qa.models import Chunk, PageLine, Sentence, Transcript

_T = TypeVar("_T", Chunk, Sentence)


def locate(
    marks: Sequence[PageLine], start: int, end: int, offsets: Sequence[int] | None = None
) -> tuple[int, int | None, int | None]:
    """(page of `start`, printed line of `start`, printed line of `end - 1`); `offsets` are the
    marks' offsets, given when many spans are located (else read from `marks` each time)."""
    if offsets is None:
        offsets = [m[0] for m in marks]
    first = marks[max(0, bisect.bisect_right(offsets, start) - 1)]
    last = marks[max(0, bisect.bisect_right(offsets, max(start, end - 1)) - 1)]
    # A span that runs onto the next page ends on that page's line; the citation names the first.
    return first[1], first[2], last[2] if last[2] is not None else first[2]


def _paged(items: Sequence[_T], marks: Sequence[PageLine]) -> list[_T]:
    out = []
    offsets = [m[0] for m in marks]  # once: a long document has as many items as marks
    for item in items:
        page, a, b = locate(marks, item.segments[0][0], item.segments[-1][1], offsets)
        out.append(replace(item, page=page, page_line_start=a, page_line_end=b))
    return out


def with_pages(
    doc: Transcript, chunks: list[Chunk], sentences: list[Sentence]
) -> tuple[list[Chunk], list[Sentence]]:
    """The chunks and sentences with their page fields set; unchanged for unpaged formats."""
    if not doc.page_lines:
        return chunks, sentences
    return _paged(chunks, doc.page_lines), _paged(sentences, doc.page_lines)
