"""Web pages (`.html`, `.htm`): a transcript saved from the page that published it.

The canonical text, which every offset refers to, is the page's text as a reader sees it: block
elements (paragraphs, headings, list items, table rows) on their own lines, a blank line between
paragraphs, runs of spaces in the markup collapsed (a `<pre>` keeps its line breaks), no spaces
at the ends of lines, character references decoded. It is stored with the document's index
entry, as a .docx's or a PDF's is. Speakers are then found in it as in a `.txt` file
(`<p><strong>MS. LEE:</strong> Thank you.</p>` reads as `MS. LEE: Thank you.`).

Only the page's content is read: the `<main>` element when the page has one (else every
`<article>`, else the `<body>`), without navigation, headers, footers, asides, forms, scripts and
styles, whose menus and share buttons would otherwise end up in the last speaker's turn. The
`<title>` is the document's title.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser

from qa.errors import IngestError
from qa.ingest.text import parse_text
from qa.models import Transcript

# Never text: code, styling, metadata.
_HIDDEN = frozenset(["script", "style", "noscript", "template", "svg", "head", "iframe", "object"])
# Page furniture around the content: menus, mastheads, share buttons, cookie notices.
_FURNITURE = frozenset(["nav", "header", "footer", "aside", "form", "button", "dialog"])
# Elements that start a new paragraph (a blank line before and after) or a new line.
_PARAGRAPHS = frozenset(
    [
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "ul",
        "ol",
        "dl",
        "table",
        "figure",
        "figcaption",
        "section",
        "article",
        "main",
        "address",
        "hr",
        "details",
        "summary",
    ]
)
_LINES = frozenset(["br", "div", "li", "dt", "dd", "tr", "caption"])
_CELLS = frozenset(["td", "th"])
# Elements whose end tag may be left out: the next one of the same kind closes them.
_SELF_CLOSING = frozenset(["p", "li", "dt", "dd", "tr", "td", "th", "option"])
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.I)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")


class _Text(HTMLParser):
    """The page's text, in document order, tagged by the content region it sits in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.open: Counter[str] = Counter()  # tags on the stack, counted (no scan per end tag)
        self.skip = 0  # depth inside hidden elements or furniture
        self.pre = 0
        self.title: list[str] = []
        self.in_title = False
        # Pieces of text and breaks ("\n" line, "\n\n" paragraph, "\t" cell), by region.
        self.parts: dict[str, list[str]] = {"main": [], "article": [], "body": []}
        self.region: list[str] = []

    def _emit(self, piece: str) -> None:
        if self.skip:
            return
        for region in ("body", *dict.fromkeys(self.region)):
            self.parts[region].append(piece)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self.in_title = True
        if tag in _VOID:
            if tag == "br":
                self._emit("\n")
            elif tag == "hr":
                self._emit("\n\n")
            return
        if tag in _SELF_CLOSING and self.stack and self.stack[-1] == tag:
            self.handle_endtag(tag)  # `<p>one<p>two`: a new paragraph closes the open one
        self.stack.append(tag)
        self.open[tag] += 1
        if tag in _HIDDEN or tag in _FURNITURE:
            self.skip += 1
        if tag in ("main", "article"):
            self.region.append(tag)
        if tag == "pre":
            self.pre += 1
        self._break(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.in_title = False
        if not self.open[tag]:
            return  # a stray end tag
        while self.stack:  # close what was left open inside it (`<b>` without `</b>`)
            open_tag = self.stack.pop()
            self.open[open_tag] -= 1
            self._break(open_tag)
            if open_tag in _HIDDEN or open_tag in _FURNITURE:
                self.skip -= 1
            if open_tag in ("main", "article") and open_tag in self.region:
                self.region.remove(open_tag)
            if open_tag == "pre":
                self.pre -= 1
            if open_tag == tag:
                break

    def _break(self, tag: str) -> None:
        if tag in _PARAGRAPHS:
            self._emit("\n\n")
        elif tag in _LINES:
            self._emit("\n")
        elif tag in _CELLS:
            self._emit("\t")

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title.append(data)
        self._emit(data if self.pre else _SPACES.sub(" ", data))


def _lay_out(parts: list[str]) -> str:
    """The pieces joined: no spaces at the ends of lines, at most one blank line in a row."""
    text = re.sub(r"[ \t]*\n[ \t]*", "\n", "".join(parts))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _decode(name: str, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    m = _CHARSET.search(data[:4096])
    if m:
        try:
            return data.decode(m.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            pass
    raise IngestError(f"{name}: not valid UTF-8, and no charset the page declares decodes it")


def _read(name: str, data: bytes) -> tuple[str, str | None]:
    source = _decode(name, data)
    if "\0" in source:
        raise IngestError(f"{name}: a binary file, not a web page")
    parser = _Text()
    parser.feed(source)
    parser.close()
    texts = (_lay_out(parser.parts[r]) for r in ("main", "article", "body"))
    text = next((t for t in texts if t), "")
    if not text:
        raise IngestError(f"{name}: the page has no text")
    title = " ".join("".join(parser.title).split()) or None
    return text, title


def extract(name: str, data: bytes) -> str:
    """The canonical text of a web page's bytes (refused: undecodable, no text)."""
    return _read(name, data)[0]


def parse_html_text(doc_id: str, text: str) -> Transcript:
    """A web page's canonical text → its transcript (pure: the stored text parses again)."""
    return parse_text(doc_id, text)


def parse_html(doc_id: str, data: bytes) -> Transcript:
    text, title = _read(doc_id, data)
    doc = parse_html_text(doc_id, text)
    return replace(doc, title=title) if title else doc
