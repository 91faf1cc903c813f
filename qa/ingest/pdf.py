"""PDFs with a text layer (`.pdf`, read with pypdf): hearing and court transcripts.

The canonical text is each page's extracted text, pages separated by a form feed on its own line
(`\\n\\f\\n`); it is stored with the document's index entry (`GET /documents/{doc_id}/text`), and
parsing it again gives the same transcript (`parse_pdf_text` is pure).

On each page, what is not testimony is kept out of every turn: running headers and footers, page
numbers and the printed line numbers of a numbered transcript (`qa.ingest.numbered`). A turn is then a tuple of segments, one per line piece, joined by single spaces, and
every chunk, sentence and quote carries its page and printed lines (`p. 12, ll. 4–9`).
Speakers are found as in text: `Q.`/`A.`, `THE COURT:`, `MR. SMITH:`, timestamped headers.
"""

from __future__ import annotations

import io
import logging
from dataclasses import replace

from qa.errors import IngestError, PayloadTooLarge
from qa.ingest.meta import finish
from qa.ingest.numbered import blank, layout, lines
from qa.ingest.text import speaker_turns
from qa.models import Segment, Transcript, Turn
from qa.segments import trim

MAX_PAGES = 2000
PAGE_BREAK = "\n\f\n"


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


def _pieces(masked: str, turn: Turn) -> list[Segment]:
    """The turn's text line by line, without what was masked (line numbers, headers)."""
    out = []
    for s, e in lines(masked, turn.start, turn.end):
        s, e = trim(masked, s, e)
        if e > s:
            out.append((s, e))
    return out


def parse_pdf_text(doc_id: str, text: str) -> Transcript:
    """A PDF's canonical text → its transcript (pure; `extract` makes the text)."""
    masked_spans, marks = layout(text)
    masked = blank(text, masked_spans)
    turns = []
    for t in speaker_turns(masked):
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


def parse_pdf(doc_id: str, data: bytes) -> Transcript:
    return parse_pdf_text(doc_id, extract(doc_id, data))
