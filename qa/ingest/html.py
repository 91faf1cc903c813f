"""Web pages (`.html`, `.htm`): a transcript saved from the page that published it.

The canonical text, which every offset refers to, is the page's text as a reader sees it: block
elements (paragraphs, headings, list items, table rows) on their own lines, a blank line between
paragraphs, runs of spaces in the markup collapsed (a `<pre>` keeps its lines and spaces), no
spaces at the ends of lines, character references decoded. It is stored with the document's
index entry, as a .docx's or a PDF's is. Speakers are then found in it as in a `.txt` file
(`<p><strong>MS. LEE:</strong> Thank you.</p>` reads as `MS. LEE: Thank you.`).

Only the page's content is read. When the `<main>` element, or else the `<article>`s, hold most
of the body's text, they are the content; else the whole body is. Page furniture is left out
wherever it is: navigation, asides, a header or footer of the page (not one inside an article,
which holds its title and byline), form controls, hidden elements (`hidden`, `aria-hidden`,
`display: none`), landmarks that are not content (`role="navigation"` …), and share, related and
subscribe boxes named by their class. Scripts and styles are never text. The first `<title>` is
the document's title.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser

from qa.errors import IngestError
from qa.ingest.text import parse_text
from qa.models import Transcript

# Never text: code, styling, metadata, embedded documents.
_HIDDEN = frozenset(["script", "style", "noscript", "template", "svg", "iframe", "object", "title"])
# Page furniture wherever it is: menus, asides, form controls, dialogs.
_FURNITURE = frozenset(
    ["nav", "aside", "button", "select", "textarea", "dialog", "menu", "datalist", "option"]
)
# A header or footer is furniture only outside the content it would belong to.
_SECTIONING = frozenset(["article", "main", "section"])
_FURNITURE_ROLES = frozenset(
    ["navigation", "banner", "contentinfo", "complementary", "search", "dialog", "menu"]
)
# Class or id words that name a box around the content, not the content.
_FURNITURE_NAMES = re.compile(
    r"(?:^|[\s_-])(?:share|sharing|social|related|subscribe|newsletter|cookies?|breadcrumbs?|"
    r"sidebar|skip-link|sr-only|visually-hidden|screen-reader-text)(?:$|[\s_-])",
    re.I,
)
_DISPLAY_NONE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
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
        "header",
        "footer",
    ]
)
_LINES = frozenset("br div li dt dd tr caption".split())  # noqa: SIM905
_CELLS = frozenset(["td", "th"])
# Elements whose end tag may be left out: the next one of the same kind closes it.
_OPTIONAL_END = frozenset("p li dt dd tr td th".split())  # noqa: SIM905
_VOID = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()  # noqa: SIM905
)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w-]+)""", re.I)
# Encodings a page may declare, as browsers read them (WHATWG: latin-1 and ASCII are cp1252).
_ENCODINGS = {"iso-8859-1": "cp1252", "latin-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252"}
_DECLARABLE = re.compile(
    r"utf-?8|utf-?16(?:le|be)?|windows-125\d|cp125\d|iso-?8859-\d{1,2}|latin-?1|(?:us-)?ascii|"
    r"shift_jis|euc-jp|euc-kr|gb2312|gbk|gb18030|big5|koi8-[ru]",
    re.I,
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
# A `<` that opens no complete tag is text: escaped before parsing, because the standard
# library's parser takes quadratic time over many of them (`<a x <a x …`).
_LONE_LT = re.compile(r"<(?![A-Za-z/!?][^<>]*>)")


class _Text(HTMLParser):
    """The page's text, in document order, for the body and for the content regions in it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # open tags, and whether each hides its content
        self.open: Counter[str] = Counter()  # tags on the stack, counted (no scan per end tag)
        self.skip = 0  # depth inside hidden elements or furniture
        self.sections = 0  # depth inside articles, mains and sections
        self.pre = 0
        self.title: list[str] = []
        self.titled = False
        # Pieces of text and breaks ("\n" line, "\n\n" paragraph, "\t" cell), by region, each
        # piece with whether it is preformatted.
        self.parts: dict[str, list[tuple[str, bool]]] = {"main": [], "article": [], "body": []}
        self.region: list[str] = []

    def _emit(self, piece: str) -> None:
        if self.skip:
            return
        for region in ("body", *dict.fromkeys(self.region)):
            self.parts[region].append((piece, self.pre > 0))

    def _hides(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        if tag in _HIDDEN or tag in _FURNITURE:
            return True
        if tag in ("header", "footer", "form") and not self.sections:
            return tag != "form"  # a form may wrap a whole page (ASP.NET): only its controls go
        values = dict(attrs)
        if "hidden" in values or values.get("aria-hidden") == "true":
            return True
        if (values.get("role") or "").casefold() in _FURNITURE_ROLES:
            return True
        if _DISPLAY_NONE.search(values.get("style") or ""):
            return True
        names = f"{values.get('class') or ''} {values.get('id') or ''}"
        return bool(_FURNITURE_NAMES.search(names))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag == "br":
                self._emit("\n")
            elif tag == "hr":
                self._emit("\n\n")
            return
        if tag in _OPTIONAL_END and self.stack and self.stack[-1][0] == tag:
            self.handle_endtag(tag)  # `<p>one<p>two`: a new paragraph closes the open one
        hides = self._hides(tag, attrs)
        self.stack.append((tag, hides))
        self.open[tag] += 1
        self.skip += hides
        if tag == "title" and not self.titled and not self.open["svg"]:
            self.titled = True
            self.title = [""]
        if tag in ("main", "article"):
            self.region.append(tag)
        if tag in _SECTIONING:
            self.sections += 1
        if tag == "pre":
            self.pre += 1
        self._break(tag, opening=True)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # `<br/>`, `<p/>`: void or opened and closed
        if tag not in _VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open[tag]:
            # A stray end tag: a browser still breaks the line at `</br>` and `</p>`.
            if tag == "br":
                self._emit("\n")
            elif tag == "p":
                self._emit("\n\n")
            return
        while self.stack:  # close what was left open inside it (`<b>` without `</b>`)
            open_tag, hides = self.stack.pop()
            self.open[open_tag] -= 1
            self._break(open_tag, opening=False)
            self.skip -= hides
            if open_tag in ("main", "article") and open_tag in self.region:
                self.region.remove(open_tag)
            if open_tag in _SECTIONING:
                self.sections -= 1
            if open_tag == "pre":
                self.pre -= 1
            if open_tag == tag:
                break

    def _break(self, tag: str, *, opening: bool) -> None:
        if tag in _PARAGRAPHS:
            self._emit("\n\n")
        elif tag in _LINES:
            self._emit("\n")
        elif tag in _CELLS and opening:
            self._emit("\t")

    def handle_data(self, data: str) -> None:
        if self.open["title"] and self.title and not self.open["svg"] and len(self.title) == 1:
            self.title[0] += data
        self._emit(data if self.pre else _SPACES.sub(" ", data))

    def finish_title(self) -> str | None:
        return " ".join("".join(self.title).split()) or None


def _lay_out(parts: list[tuple[str, bool]]) -> str:
    """The pieces joined: spaces collapsed outside `<pre>`, no spaces at the ends of lines, a
    line of only spaces blank, at most one blank line in a row. Linear: no pattern here can
    backtrack over a long run of spaces."""
    lines = [line.rstrip(" \t") for line in "".join(_collapse(parts)).split("\n")]
    text = "\n".join("" if not line.strip(" \t\xa0") else line for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _collapse(parts: list[tuple[str, bool]]) -> list[str]:
    """Spaces from separate inline elements are one space, and none opens a line (outside
    `<pre>`); a cell's tab opens no line either."""
    out: list[str] = []
    line_start = True  # at the start, and after a break, a space or a cell's tab is nothing
    space = True
    for piece, pre in parts:
        if pre:
            out.append(piece)
            line_start = piece.endswith("\n")
            space = line_start or piece.endswith((" ", "\t"))
            continue
        if piece in ("\n", "\n\n"):
            out.append(piece)
            line_start = space = True
            continue
        if piece == "\t":
            if not line_start:
                out.append(piece)
                space = True
            continue
        if space:
            piece = piece.lstrip(" ")
        if piece:
            out.append(piece)
            line_start = False
            space = piece.endswith(" ")
    return out


def _decode(name: str, data: bytes) -> str:
    """The page's characters: by its byte order mark, else UTF-8, else the charset it declares
    (read as browsers read it; a name only Python knows, such as `unicode_escape`, is refused)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding).lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                raise IngestError(
                    f"{name}: not valid {encoding} (byte offset {exc.start})"
                ) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        first = exc
    m = _CHARSET.search(data[:4096])
    label = m.group(1).decode("ascii").casefold() if m else ""
    if label and _DECLARABLE.fullmatch(label):
        try:
            return data.decode(_ENCODINGS.get(label, label))
        except (LookupError, UnicodeDecodeError):
            pass
    raise IngestError(
        f"{name}: not valid UTF-8 (byte offset {first.start}), and no charset the page declares "
        "decodes it"
    )


def _read(name: str, data: bytes) -> tuple[str, str | None]:
    source = _decode(name, data).replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in source:
        raise IngestError(f"{name}: a binary file, not a web page")
    parser = _Text()
    parser.feed(_LONE_LT.sub("&lt;", source))
    parser.close()
    body = _lay_out(parser.parts["body"])
    text = body
    for region in ("main", "article"):
        content = _lay_out(parser.parts[region])
        # The region is the content only when it holds most of the page's text: a page's only
        # `<article>` may be a "related posts" teaser beside the transcript.
        if len(content) * 2 >= len(body) and content:
            text = content
            break
    if not text:
        raise IngestError(f"{name}: the page has no text")
    return text, parser.finish_title()


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
