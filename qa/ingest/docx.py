"""Word documents (`.docx`, read with python-docx).

The canonical text, which every offset refers to, is the document's paragraphs (body paragraphs
and table cells, in order) joined by line breaks; it is stored with the document's index entry
(`GET /documents/{doc_id}/text`). Speakers are found in it as in a text export: timestamped
headers (Otter, Rev, Descript) or labels (`Jane Roe:`), a preamble is speaker None. Headings
(`Title`, `Heading N` styles) are never a speaker's words: each is a turn with speaker None, and
the first one is the title.

A table whose rows are turns (`Speaker | Text`, `Time | Speaker | Text`, in any column order) is
read by its cells: each row is a turn, its text the text cell (never the speaker cell), its time
the time cell's to the next row's, or the time cell's range (`00:01:05 – 00:01:20`). A column
numbering the rows or lines is layout; a role column (recurring names, beside the speaker's) and
a notes column beside the text (each a third of its words or fewer) are not the text, and a
note is a turn with speaker None. It is recognised by shape, never by names: a speaker column's
cells are short (five words at most), name-shaped (`headers.is_name`, a trailing colon allowed)
and some name recurs; a time column's cells are clocks; the one other column with text has a
cell longer than five words. A first row whose speaker cell recurs nowhere, whose text cell is a
short title (five words at most, no closing punctuation) and whose time cell is no clock is the
header row: a turn with speaker None, as a heading is. A blank speaker cell continues the speaker above; a row of one
merged cell is a note, speaker None. Any other table is text as before.

A .docx is a zip: before python-docx opens it, its entry count and uncompressed size are checked,
so a zip bomb is refused without being inflated.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass

from qa.errors import IngestError, PayloadTooLarge
from qa.ingest.headers import CLOCK, is_name, seconds
from qa.ingest.meta import clean_text, finish
from qa.ingest.speakers import resolve_aliases
from qa.ingest.text import PERSON, speaker_turns
from qa.models import Timing, Transcript, Turn
from qa.segments import trim

MAX_ENTRIES = 2000  # a real document has a few dozen parts
MAX_UNCOMPRESSED = 64 * 1024 * 1024  # bytes, all parts inflated
SHORT = 5  # words: a speaker cell has at most this many, a text column has a longer cell
_TIME = re.compile(rf"[\[(]?({CLOCK})[\])]?")
# A row's time as a range in one cell: `00:01:05 – 00:01:20`, `[0:05 --> 0:09]`, `1:10 to 1:32`.
_RANGE = re.compile(rf"[\[(]?({CLOCK})[\])]?[ \t]*(?:-+>?|–|—|to)[ \t]*[\[(]?({CLOCK})[\])]?")
# A column numbering the rows or the lines (`12`, `12.`): layout, as research transcripts
# number them for citation, not anyone's words.
_NUMBERING = re.compile(r"\d{1,5}\.?")

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class DocxTable:
    span: Span  # the whole table in `text`
    rows: tuple[tuple[Span, ...], ...]  # each row's cells (a merged cell once), trimmed


@dataclass(frozen=True, slots=True)
class DocxText:
    text: str
    headings: tuple[Span, ...]  # spans of heading paragraphs in `text`
    tables: tuple[DocxTable, ...] = ()  # the body's tables, as they are in `text`


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
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds for a damaged package
        raise IngestError(f"{name}: not a readable Word document ({exc})") from exc
    parts: list[str] = []
    headings: list[tuple[int, int]] = []
    tables: list[tuple[Span, list[list[Span]]]] = []
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

    def add_cell(cell: _Cell, seen: dict[object, Span]) -> None:
        """A cell's paragraphs and, in order, those of any table nested in it (once each)."""
        for part in cell._tc.iterchildren():
            tag = part.tag.rsplit("}", 1)[-1]
            if tag == "p":
                add(Paragraph(part, cell))
            elif tag == "tbl":
                for row in Table(part, cell).rows:
                    for inner in row.cells:
                        if inner._tc not in seen:
                            seen[inner._tc] = (at, at)
                            add_cell(inner, seen)

    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            add(Paragraph(child, document))
        elif tag == "tbl":
            first, rows = at, []
            # A merged cell is yielded once per grid column it spans, and once per row for a
            # vertical merge: its words go into the text once, where it starts.
            seen: dict[object, Span] = {}  # keyed by the cell's element, kept alive (not id())
            for row in Table(child, document).rows:
                cells: list[Span] = []
                for cell in row.cells:
                    key = cell._tc
                    if key in seen:
                        if not cells or cells[-1] != seen[key]:  # vertically merged: blank
                            cells.append((at, at))
                        continue
                    start = at
                    seen[key] = (start, start)
                    add_cell(cell, seen)
                    seen[key] = (start, max(start, at - 1))
                    cells.append(seen[key])
                rows.append(cells)
            tables.append(((first, max(first, at - 1)), rows))
    text = "\n".join(parts)
    return DocxText(
        text,
        tuple(headings),
        tuple(
            DocxTable(span, tuple(tuple(trim(text, a, b) for a, b in r) for r in rows))
            for span, rows in tables
        ),
    )


def _blank(text: str, spans: tuple[Span, ...], keep_lines: bool = False) -> str:
    chars = list(text)
    for s, e in spans:
        chars[s:e] = ("\n" if keep_lines and c == "\n" else " " for c in text[s:e])
    return "".join(chars)


@dataclass(frozen=True, slots=True)
class _Columns:
    speaker: int
    text: int
    time: int | None
    notes: tuple[int, ...] = ()  # columns of notes beside the text: their own turns, no speaker


def _cell(text: str, span: Span) -> str:
    return " ".join(text[span[0] : span[1]].split())


def _name(cell: str) -> str:
    return cell[:-1].rstrip() if cell.endswith(":") else cell


def _seconds(clock: str) -> float | None:
    if any(int(p) >= 60 for p in re.split(r"[.,]", clock)[0].split(":")[1:]):
        return None
    return seconds(clock)


def _clock(cell: str) -> float | None:
    m = _TIME.fullmatch(cell)
    return None if m is None else _seconds(m.group(1))


def _times(cell: str) -> tuple[float, float | None] | None:
    """A time cell's start, and its end when it gives a range (else the next row's start)."""
    at = _clock(cell)
    if at is not None:
        return at, None
    m = _RANGE.fullmatch(cell)
    if m is None:
        return None
    first, last = _seconds(m.group(1)), _seconds(m.group(2))
    if first is None or last is None:
        return None
    return first, last if last >= first else None


def _speaker_column(cells: list[str]) -> bool:
    names = [n for n in map(_name, cells) if n]
    return (
        bool(names)
        and all(len(n.split()) <= SHORT and is_name(n) for n in names)
        and max(Counter(names).values()) >= 2
    )


def _columns(text: str, rows: list[tuple[Span, ...]]) -> _Columns | None:
    """Which column is the speaker, the text and the time, if these rows are turns."""
    if len(rows) < 2:
        return None
    columns = [[_cell(text, r[c]) for r in rows] for c in range(len(rows[0]))]
    # Empty columns and numbering columns are layout.
    used = [
        c
        for c, cells in enumerate(columns)
        if any(cells) and not all(_NUMBERING.fullmatch(x) for x in cells if x)
    ]
    times = [c for c in used if all(_times(x) is not None for x in columns[c] if x)]
    names = [c for c in used if c not in times and _speaker_column(columns[c])]
    # Of two columns of recurring names (`Role | Speaker`), the speaker is the one naming more.
    names.sort(key=lambda c: -len(set(map(_name, columns[c])) - {""}))
    for speaker in names:
        rest = [c for c in used if c != speaker and c not in times]
        if not rest or len(times) > 1:
            continue
        # The words are the column with the most of them; a role or a notes column beside it
        # (`Speaker | Role | Text | Notes`) holds a third of that or less.
        words = {c: sum(len(x.split()) for x in columns[c]) for c in rest}
        said = max(rest, key=lambda c: words[c])
        if any(3 * words[c] > words[said] for c in rest if c != said):
            continue
        if any(len(x.split()) > SHORT for x in columns[said]) and _conversation(
            columns[speaker], columns[said]
        ):
            # A role column (recurring names) labels the row; any other column holds notes.
            notes = tuple(c for c in rest if c != said and c not in names)
            return _Columns(speaker, said, times[0] if times else None, notes)
    return None


def _conversation(names: list[str], said: list[str]) -> bool:
    """Rows that are turns, not a glossary (`Bank | …` twice), a schedule (`… | Hall A`) or a
    checklist (`… | Yes`): two speakers or more, and a third of the rows or more in the first or
    second person (`I`, `we`, `you`), as speech is. (A speaker may hold several rows running:
    one answer split into paragraphs; a panel may have a speaker per row.)"""
    who = [n for n in map(_name, names) if n]
    people = set(resolve_aliases(who).values())  # `Owusu` is `Ama Owusu`
    personal = sum(bool(PERSON.search(x)) for x in said if x)
    return len(people) >= 2 and personal * 3 >= sum(1 for x in said if x)


def _header(text: str, row: tuple[Span, ...], body: list[tuple[Span, ...]], cols: _Columns) -> bool:
    """Whether `row`, above `body`, holds column titles (`Speaker | Transcript`)."""
    name = _name(_cell(text, row[cols.speaker]))
    said = _cell(text, row[cols.text])
    return (
        all(_name(_cell(text, r[cols.speaker])) != name for r in body)
        and len(said.split()) <= SHORT
        and not said.endswith((".", "?", "!", "…"))
        and (cols.time is None or _times(_cell(text, row[cols.time])) is None)
    )


def _spans(text: str, row: tuple[Span, ...], columns: tuple[int, ...]) -> list[Span]:
    """The non-empty cells of `row` in `columns`, trimmed."""
    trimmed = (trim(text, *row[c]) for c in columns)
    return [(a, b) for a, b in trimmed if b > a]


def table_turns(text: str, table: DocxTable) -> list[Turn] | None:
    """A table's turns, one per row, or None when its rows are not turns."""
    width = max((len(r) for r in table.rows), default=0)
    full = [i for i, r in enumerate(table.rows) if len(r) == width]
    if width < 2 or not full:
        return None
    cols = _columns(text, [table.rows[i] for i in full])
    body = [table.rows[i] for i in full[1:]]
    below = _columns(text, body)
    header = below is not None and _header(text, table.rows[full[0]], body, below)
    if header:
        cols = below
    if cols is None:
        return None
    rows = [r for i, r in enumerate(table.rows) if not (header and i == full[0])]
    clocks = [
        _times(_cell(text, r[cols.time])) if cols.time is not None and len(r) == width else None
        for r in rows
    ]
    turns: list[Turn] = []
    if header:  # column titles: nobody's words, but still the document's text
        top = table.rows[full[0]]
        start, end = trim(text, top[0][0], top[-1][1])
        if end > start:
            turns.append(Turn(speaker=None, start=start, end=end))
    speaker: str | None = None
    for i, row in enumerate(rows):
        if len(row) < width:  # a merged row: a note across the table
            start, end = trim(text, row[0][0], row[-1][1])
            if end > start:
                turns.append(Turn(speaker=None, start=start, end=end))
            speaker = None
            continue
        name = _name(_cell(text, row[cols.speaker]))
        speaker = name or speaker
        # The row's notes: the document's words, nobody's turn.
        row_turns = [Turn(speaker=None, start=a, end=b) for a, b in _spans(text, row, cols.notes)]
        start, end = row[cols.text]
        if end > start:
            times: tuple[Timing, ...] = ()
            if (clock := clocks[i]) is not None:
                at, until = clock
                if until is None and i + 1 < len(clocks) and (nxt := clocks[i + 1]) is not None:
                    until = nxt[0] if nxt[0] >= at else None
                times = ((at, until),)
            said = Turn(
                speaker=speaker,
                start=start,
                end=end,
                label_start=row[cols.speaker][0] if name else None,
                times=times,
            )
            row_turns.append(said)
        turns.extend(sorted(row_turns, key=lambda t: t.start))
    return turns


def _split(
    turns: list[Turn], text: str, spans: tuple[Span, ...], inserted: list[Turn]
) -> list[Turn]:
    """Turns cut around `spans` (headings, transcript tables), whose own turns are `inserted`."""
    out: list[Turn] = list(inserted)
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
    read = [(t.span, table_turns(doc.text, t)) for t in doc.tables]
    tables = tuple(span for span, rows in read if rows is not None)
    rows = [t for _, found in read for t in found or ()]
    # A heading paragraph in a transcript table's cell is part of its row.
    headings = tuple(h for h in doc.headings if not any(s <= h[0] < e for s, e in tables))
    turns = speaker_turns(_blank(_blank(doc.text, headings), tables, keep_lines=True))
    title = clean_text(doc.text[slice(*headings[0])]) if headings else None
    heads = [Turn(speaker=None, start=s, end=e) for s, e in headings]
    cut = _split(turns, doc.text, tuple(sorted(headings + tables)), heads + rows)
    return finish(doc_id, doc.text, cut, title=title)


def parse_docx(doc_id: str, data: bytes) -> Transcript:
    """A .docx file's bytes → its transcript, offsets into the extracted (canonical) text."""
    return parse_docx_text(doc_id, extract(doc_id, data))
