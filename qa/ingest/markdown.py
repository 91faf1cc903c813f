"""Markdown transcripts (`.md`): YAML front matter as metadata, the first heading as the title.

Lines are wrapped paragraphs, so a line break alone ends no sentence. Turns come from the text
reader, which knows Markdown's bold labels (`**Name:**`) and a speaker's name as a heading over
each turn (`## Jane Roe`, `### Jane Roe [00:01:23]`), and keeps other headings (`# ...`) out of
speaker turns; the title is the first heading that is no speaker's. When it finds no speaker,
the text is read again with its emphasis markers blanked (same offsets), and kept when that
finds timestamped export headers in bold or italics (`**Jane Roe** [00:01:23]`, `**Jane Roe**
*00:01:23*`, `**[00:00:05] Jane:** text`, `**Jane Roe (00:01:23):**`) and the turns speak as a
conversation does.
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa.ingest.meta import clean_text, front_matter
from qa.ingest.text import PERSON, parse_text
from qa.models import Transcript, Turn

_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(?P<title>\S[^\n]*?)[ \t#]*$", re.MULTILINE)
# Emphasis markers: bold anywhere, and `*`/`_` runs that open or close a word
# (`**Jane Roe** *00:01:23*`, `*Jane Roe* _00:01:23_`, `***Jane***`); not a bullet's `* `, nor
# the `_` inside `SPEAKER_00`.
_EMPHASIS = re.compile(r"(?<!\S)[*_]{1,3}(?=\S)|(?<=\S)[*_]{1,3}(?!\S)|\*\*|__")
_MARKS = "*_"


def _unbolded(text: str) -> str:
    """`text` with those emphasis markers blanked, same length: every offset in it is one of
    `text`."""
    return _EMPHASIS.sub(lambda m: " " * len(m.group(0)), text)


def _with_marks(text: str, turns: tuple[Turn, ...]) -> tuple[Turn, ...]:
    """Turns found in the blanked text, widened over the emphasis marks at their edges, so a
    quote keeps both halves of `**Never.**` and `**right**`."""
    out: list[Turn] = []
    for i, t in enumerate(turns):
        limit = turns[i + 1].label_start or turns[i + 1].start if i + 1 < len(turns) else len(text)
        floor = out[-1].end if out else 0
        start, end = t.start, t.end
        while start > floor and text[start - 1] in _MARKS:
            start -= 1
        # Marks that follow a space or a line break open the words; marks that close a header
        # (`**[00:00:05] Jane:**Hello`) stay with it.
        if start > 0 and not text[start - 1].isspace():
            start = t.start
        closing = end
        while closing < limit and text[closing] in _MARKS:
            closing += 1
        # …and marks after it only when they close a pair the turn opened (`**right**`), not
        # one a header line opened (`_[00:00:05] Jane: words._`).
        if text[end:closing] in text[start:end]:
            end = closing
        out.append(
            replace(t, start=start, end=end, segments=()) if (start, end) != (t.start, t.end) else t
        )
    return tuple(out)


def parse_markdown(doc_id: str, text: str) -> Transcript:
    doc = parse_text(doc_id, text)
    if not any(t.speaker for t in doc.turns) and (view := _unbolded(text)) != text:
        # Kept only for what bold hid, timestamped headers: a bold section label in prose
        # (`**FACT:** …`, `**Ingredients**`) stays prose.
        again = parse_text(doc_id, text, view=view)
        timed = [t for t in again.turns if t.speaker and t.times]
        said = [text[t.start : t.end] for t in timed]
        # …and a conversation: two speakers or more, speaking in the first or second person; a
        # chapter list (`**[00:05:10] Interview with Jane**`, `*Outro*  58:00`) is not.
        if len({t.speaker for t in timed}) >= 2 and sum(
            bool(PERSON.search(x)) for x in said
        ) * 3 >= len(said):
            doc = replace(again, turns=_with_marks(text, again.turns))
    doc = replace(doc, wrapped=True)
    fm = front_matter(text)
    if "title" in fm.fields and clean_text(fm.fields["title"]):
        return doc
    # The first heading that is no speaker's label (`## Jane Roe` opening a turn names no document).
    labels = {
        text.rfind("\n", 0, t.label_start) + 1 for t in doc.turns if t.label_start is not None
    }
    m = next((h for h in _HEADING.finditer(text, fm.end) if h.start() not in labels), None)
    title = clean_text(m.group("title").replace("**", "")) if m else None
    return replace(doc, title=title) if title else doc
