"""Word documents (`.docx`, read with python-docx).

The canonical text, which every offset refers to, is the document's paragraphs (body paragraphs
and table cells, in order) joined by line breaks; it is stored with the document's index entry
(`GET /documents/{doc_id}/text`). Speakers are found in it as in a text export: timestamped
headers (Otter, Rev, Descript) or labels (`Jane Roe:`), a preamble is speaker None. Headings
(`Title`, `Heading N` styles) are never a speaker's words: each is a turn with speaker None, and
the first one is the title.

A .docx is a zip: before python-docx opens it, its entry count and uncompressed size are checked,
so a zip bomb is refused without being inflated.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from qa.errors import IngestError, PayloadTooLarge
from qa.ingest.meta import clean_text, finish
from qa.ingest.text import speaker_turns
from qa.models import Transcript, Turn
from qa.segments import trim

MAX_ENTRIES = 2000  # a real document has a few dozen parts
MAX_UNCOMPRESSED = 64 * 1024 * 1024  # bytes, all parts inflated


@dataclass(frozen=True, slots=True)
class DocxText:
    text: str
    headings: tuple[tuple[int, int], ...]  # spans of heading paragraphs in `text`


def check_zip(name: str, data: bytes) -> None:
    """Refuse what is not a zip, or would inflate past the limits, before anything reads it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            entries = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise IngestError(f"{name}: not a Word document (not a zip file: {exc})") from exc
    if len(entries) > MAX_ENTRIES:
        raise IngestError(f"{name}: {len(entries)} zip entries; a .docx may have {MAX_ENTRIES}")
    # The declared sizes bound what zipfile will inflate (it stops at them and checks the CRC).
    size = sum(e.file_size for e in entries)
    if size > MAX_UNCOMPRESSED:
        raise PayloadTooLarge(
            f"{name}: {size} bytes uncompressed; a .docx may inflate to {MAX_UNCOMPRESSED}"
        )
    if "word/document.xml" not in {e.filename for e in entries}:
        raise IngestError(f"{name}: not a Word document (no word/document.xml)")


def extract(name: str, data: bytes) -> DocxText:
    check_zip(name, data)
    import docx  # python-docx; imported here, only documents of this type need it
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds for a damaged package
        raise IngestError(f"{name}: not a readable Word document ({exc})") from exc
    parts: list[str] = []
    headings: list[tuple[int, int]] = []
    at = 0

    def add(paragraph: Paragraph) -> None:
        nonlocal at
        line = paragraph.text.replace("\r\n", "\n").replace("\r", "\n")
        style = (paragraph.style.name or "") if paragraph.style is not None else ""
        if line.strip() and (style.startswith("Heading") or style == "Title"):
            headings.append(trim(line, 0, len(line)))
            headings[-1] = (headings[-1][0] + at, headings[-1][1] + at)
        parts.append(line)
        at += len(line) + 1

    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            add(Paragraph(child, document))
        elif tag == "tbl":
            for row in Table(child, document).rows:
                for cell in row.cells:
                    for paragraph in cell.paragraphs:
                        add(paragraph)
    return DocxText("\n".join(parts), tuple(headings))


def _blank(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    chars = list(text)
    for s, e in spans:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


def _split(turns: list[Turn], text: str, spans: tuple[tuple[int, int], ...]) -> list[Turn]:
    """Turns cut around the headings, which become turns of their own with speaker None."""
    out: list[Turn] = [Turn(speaker=None, start=s, end=e) for s, e in spans]
    for t in turns:
        cuts = [(s, e) for s, e in spans if t.start < e and s < t.end]
        if not cuts:
            out.append(t)
            continue
        bounds = [t.start, *(x for c in cuts for x in c), t.end]
        for k in range(0, len(bounds), 2):
            a, b = trim(text, bounds[k], bounds[k + 1])
            if b > a:
                first = k == 0
                out.append(
                    Turn(
                        speaker=t.speaker,
                        label=t.label,
                        start=a,
                        end=b,
                        label_start=t.label_start if first else None,
                        times=t.times if first else (),
                    )
                )
    return sorted(out, key=lambda t: t.start)


def parse_docx_text(doc_id: str, doc: DocxText) -> Transcript:
    turns = speaker_turns(_blank(doc.text, doc.headings))
    title = clean_text(doc.text[slice(*doc.headings[0])]) if doc.headings else None
    return finish(doc_id, doc.text, _split(turns, doc.text, doc.headings), title=title)


def parse_docx(doc_id: str, data: bytes) -> Transcript:
    """A .docx file's bytes → its transcript, offsets into the extracted (canonical) text."""
    return parse_docx_text(doc_id, extract(doc_id, data))
