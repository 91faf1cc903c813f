"""Markdown transcripts (`.md`): YAML front matter as metadata, the first heading as the title.

Lines are wrapped paragraphs, so a line break alone ends no sentence. Turns come from the text
reader, which knows Markdown's bold labels (`**Name:**`) and keeps
headings (`# ...`) out of speaker turns. When it finds no speaker, the text is read again with
its bold markers blanked (same offsets), so the export headers and labels work inside bold
(`**Jane Roe** [00:01:23]`, `**[00:00:05] Jane:** text`, `**Jane Roe (00:01:23):**`), and a
bold name alone on its line (`**Jane Roe**`, then the words) is a label.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace

from qa.ingest.headers import is_name
from qa.ingest.meta import clean_text, front_matter
from qa.ingest.text import PERSON, parse_text
from qa.models import Transcript

_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(?P<title>\S[^\n]*?)[ \t#]*$", re.MULTILINE)


_BOLD = re.compile(r"\*\*|__")
_BOLD_NAME_LINE = re.compile(
    r"^(?P<lead>[ \t]*)\*\*(?P<name>[^*\n]{1,80}?)\*\*[ \t]*$", re.MULTILINE
)


def _unbolded(text: str) -> tuple[str, set[str]]:
    """`text` with bold markers blanked and a bold name alone on its line made `Name:`, same
    length, so that every offset found in it is an offset of `text`. Such lines name speakers
    when there are two names or more and each recurs; one `**Important**` line is emphasis."""
    names = [
        name
        for m in _BOLD_NAME_LINE.finditer(text)
        if len((name := m.group("name").strip()).split()) <= 5 and is_name(name)
    ]
    counts = Counter(names)
    # Every name speaks twice or more, as an interview's do; a fact sheet's bold section titles
    # (`**Fighting Corruption**` in its summary and again in its body) mostly do not.
    speakers = set(counts) if len(counts) >= 2 and min(counts.values()) >= 2 else set()

    def name_line(m: re.Match[str]) -> str:
        name = m.group("name").strip()
        if name not in speakers:
            return m.group(0)
        return (m.group("lead") + name + ":").ljust(len(m.group(0)))

    view = _BOLD.sub(lambda m: " " * len(m.group(0)), _BOLD_NAME_LINE.sub(name_line, text))
    return view, speakers


def parse_markdown(doc_id: str, text: str) -> Transcript:
    doc = parse_text(doc_id, text)
    view, names = _unbolded(text)
    if not any(t.speaker for t in doc.turns) and view != text:
        # Kept only for what bold hid: timestamped headers, or the bold name lines. A bold
        # section label (`**FACT:** …`, `**WE HEREBY DECLARE:**`) in prose stays prose.
        again = parse_text(doc_id, text, view=view)
        found = {t.speaker for t in again.turns if t.speaker}
        said = [text[t.start : t.end] for t in again.turns if t.speaker]
        spoken = sum(bool(PERSON.search(x)) for x in said) * 3 >= len(said)  # not section titles
        if found and (any(t.times for t in again.turns) or (found <= names and spoken)):
            doc = again
    doc = replace(doc, wrapped=True)
    fm = front_matter(text)
    if "title" in fm.fields and clean_text(fm.fields["title"]):
        return doc
    m = _HEADING.search(text, fm.end)
    title = clean_text(m.group("title").replace("**", "")) if m else None
    return replace(doc, title=title) if title else doc
