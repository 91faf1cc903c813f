"""Markdown transcripts (`.md`): YAML front matter as metadata, the first heading as the title.

Lines are wrapped paragraphs, so a line break alone ends no sentence. Turns come from the text
reader, which knows Markdown's bold labels (`**Name:**`) and keeps
headings (`# ...`) out of speaker turns.
"""

from __future__ import annotations

import re
from dataclasses import replace

from qa.ingest.meta import clean_text, front_matter
from qa.ingest.text import parse_text
from qa.models import Transcript

_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(?P<title>\S[^\n]*?)[ \t#]*$", re.MULTILINE)


def parse_markdown(doc_id: str, text: str) -> Transcript:
    doc = replace(parse_text(doc_id, text), wrapped=True)
    fm = front_matter(text)
    if "title" in fm.fields and clean_text(fm.fields["title"]):
        return doc
    m = _HEADING.search(text, fm.end)
    title = clean_text(m.group("title").replace("**", "")) if m else None
    return replace(doc, title=title) if title else doc
