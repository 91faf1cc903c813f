"""Web pages: the text a reader sees, its speakers, and nothing of the page's furniture."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from qa.errors import IngestError
from qa.ingest import parse_file, parse_transcript, read_source_text, read_transcript

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Press Briefing by Press Secretary Jane Lee | The White House</title>
<style>p { color: red }</style><script>var x = "MS. LEE: not said";</script></head>
<body>
<header><nav><ul><li><a href="/">Home</a></li><li>Briefing Room</li></ul></nav></header>
<main>
<h1>Press Briefing by Press Secretary Jane&nbsp;Lee</h1>
<p>1:02 P.M. EDT</p>
<p><strong>MS. LEE:</strong> Good afternoon, everyone.  I have one
announcement at the top.</p>
<p>The orchard ferry will run on batteries from &ldquo;next spring&rdquo;.</p>
<p>Q &nbsp; Thanks, Jane.  When does it start?</p>
<p><strong>MS. LEE:</strong> In April, I believe.<br>We will confirm the date.</p>
<p>Q   And the cost?</p>
<p>MS. LEE: I don&rsquo;t have a number for you.</p>
<aside>Share this page</aside>
</main>
<footer><p>Privacy Policy</p></footer>
</body></html>
"""


def _said(name: str, data: bytes) -> list[tuple[str | None, str]]:
    doc = parse_file(name, data)
    return [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns]


def test_a_saved_briefing_page_reads_as_its_turns(tmp_path: Path) -> None:
    path = tmp_path / "briefing.html"
    path.write_text(PAGE, encoding="utf-8")
    doc = read_transcript(path, tmp_path)
    # The canonical text is the page's text, paragraphs apart; it is what every offset refers to.
    assert doc.text == read_source_text(path)
    assert doc.title == "Press Briefing by Press Secretary Jane Lee | The White House"
    assert [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns] == [
        (None, "Press Briefing by Press Secretary Jane\xa0Lee\n\n1:02 P.M. EDT"),
        (
            "MS. LEE",
            "Good afternoon, everyone. I have one announcement at the top.\n\n"
            "The orchard ferry will run on batteries from “next spring”.",
        ),
        ("Q", "Thanks, Jane. When does it start?"),
        ("MS. LEE", "In April, I believe.\nWe will confirm the date."),
        ("Q", "And the cost?"),
        ("MS. LEE", "I don’t have a number for you."),
    ]
    # Menus, share buttons, footers, scripts and styles are not the page's text.
    for furniture in ("Home", "Briefing Room", "Share this page", "Privacy", "not said", "color"):
        assert furniture not in doc.text
    # The stored text parses again to the same turns.
    assert parse_transcript("briefing.html", doc.text).turns == doc.turns


def test_a_page_without_main_reads_its_articles_or_body() -> None:
    talk = b"<p>Ann: Hi, I am here.</p><p>Bob: So am I.</p><p>Ann: Good.</p><p>Bob: Yes.</p>"
    said = [("Ann", "Hi, I am here."), ("Bob", "So am I."), ("Ann", "Good."), ("Bob", "Yes.")]
    assert _said("a.htm", b"<body><nav>Menu</nav>" + talk + b"</body>") == said
    page = b"<body><p>Sidebar</p><article>" + talk + b"</article><footer>(c)</footer></body>"
    assert _said("a.html", page) == said


def test_preformatted_text_keeps_its_lines() -> None:
    pre = "<pre>\nQ.   Where were you?\nA.   At the boatyard,\n     all night.\nQ.   Alone?\n</pre>"
    doc = parse_file("t.html", pre.encode())
    assert [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns] == [
        ("Q", "Where were you?"),
        ("A", "At the boatyard,\n     all night."),
        ("Q", "Alone?"),
    ]


def test_unclosed_paragraphs_a_declared_charset_and_pathological_nesting() -> None:
    assert _said(
        "a.html", b"<p>Ann: one, I think<p>Bob: two, you know<p>Ann: three<p>Bob: four"
    ) == [
        ("Ann", "one, I think"),
        ("Bob", "two, you know"),
        ("Ann", "three"),
        ("Bob", "four"),
    ]
    latin = "<meta charset='iso-8859-1'><p>Søren: Hej, I am here.</p>".encode("iso-8859-1")
    assert _said("a.html", latin) == [(None, "Søren: Hej, I am here.")]
    parse_file("deep.html", b"<div>" * 50_000 + b"<p>words</p>" + b"</span>" * 50_000)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<html><head><title>x</title></head><body><nav>Menu</nav></body></html>", "no text"),
        (b"<p>\xff\xfe caf\xe9</p>", "not valid UTF-8"),
        (b"<p>a\0b</p>", "binary"),
    ],
)
def test_a_page_without_readable_text_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(IngestError, match=reason):
        parse_file("x.html", data)


TALK = (
    "<p>Ann: I grew apples, I think.</p><p>Bob: And pears?</p><p>Ann: Pears too.</p><p>Bob: Ok.</p>"
)
SAID = [
    ("Ann", "I grew apples, I think."),
    ("Bob", "And pears?"),
    ("Ann", "Pears too."),
    ("Bob", "Ok."),
]


@pytest.mark.parametrize(
    "page",
    [
        # WordPress: no <main>; a "related posts" teaser is the page's only <article>.
        f"<body><div class=entry-content>{TALK}</div><section class=related-posts><article><h3>More</h3>"
        "<p>Read more</p></article></section></body>",
        # ASP.NET wraps the whole page in a form; only its controls are furniture.
        f"<body><form id=form1><input name=q><button>Go</button><div>{TALK}</div></form></body>",
        # A head never closed.
        f"<html><head><title>T</title><body>{TALK}",
        # Boxes that are not the content, wherever they are.
        f"<main>{TALK}<div class='share-tools'>Twitter Facebook</div>"
        "<div style='display: none'>Cookie notice</div><span aria-hidden=true>icon</span>"
        "<div hidden>later</div><div role=complementary>Subscribe on Spotify</div></main>",
    ],
)
def test_the_content_is_found_and_the_furniture_left_out(page: str) -> None:
    assert _said("p.html", page.encode()) == SAID


def test_a_small_article_beside_the_transcript_does_not_replace_it() -> None:
    teaser = "<article><h3>Press Briefing, April 30</h3><p>Read more</p></article>"
    doc = parse_file("p.html", f"<body><div>{TALK}</div>{teaser}</body>".encode())
    assert [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns][:3] == SAID[:3]


def test_an_articles_own_header_and_footer_are_its_text() -> None:
    page = (
        "<body><header>Site menu</header><article><header><h1>Interview with Ann</h1>"
        f"<p>By Ann Lee, May 1</p></header>{TALK}<footer>Filed under farming</footer></article>"
        "<footer>Privacy</footer></body>"
    )
    text = parse_file("p.html", page.encode()).text
    assert text.startswith("Interview with Ann\n\nBy Ann Lee, May 1\n\nAnn:")
    assert text.endswith("Filed under farming") and "Site menu" not in text


def test_line_breaks_as_a_browser_shows_them() -> None:
    # `</br>` and a stray `</p>` break lines; spaces of separate inline elements are one; Word's
    # empty paragraphs are no lines; a table's cells are one tab apart, none opening a line.
    page = (
        "<p>Ann: We grew apples.</br>Bob: And pears?</p>Ann: Pears <b>too</b> ,<!-- x --> "
        "<span>yes</span> <span>indeed</span>.</p><p class=MsoNormal><o:p>&nbsp;</o:p></p>"
        "<table><tr><td>Bob:</td><td>Ok.</td></tr></table>"
    )
    assert parse_file("p.html", page.encode()).text == (
        "Ann: We grew apples.\nBob: And pears?\n\nAnn: Pears too , yes indeed.\n\nBob:\tOk."
    )


def test_encodings_as_browsers_read_them() -> None:
    word = "<meta charset=iso-8859-1><p>It\x92s ours\x97all of it.</p>".encode("latin-1")
    assert parse_file("w.html", word).text == "It’s ours—all of it."
    utf16 = "<p>Søren: Hej.</p>".encode("utf-16")  # with its byte order mark
    assert parse_file("u.html", utf16).text == "Søren: Hej."
    bom = "\ufeff<p>Hi.</p>".encode()
    assert parse_file("b.html", bom).text == "Hi."
    with pytest.raises(IngestError, match="no charset"):
        parse_file("e.html", b"<meta charset=unicode_escape><p>\\x41 \xff</p>")


def test_the_title_is_the_pages_not_an_icons() -> None:
    page = "<title>Interview</title><p>Hi.</p><svg><title>Share on Facebook</title></svg>"
    doc = parse_file("t.html", page.encode())
    assert doc.title == "Interview" and doc.text == "Hi."


@pytest.mark.parametrize(
    "unit",
    [b"<td></td>", b"<i> </i>", b"<a x ", b"<div>", b"<p>Ann: I am here.<p>Bob: So am I."],
)
def test_pathological_pages_take_linear_work(unit: bytes) -> None:
    """Four times the markup costs about four times as long, not sixteen. A ratio, not a time:
    other jobs share the cores."""

    def seconds(n: int) -> float:
        page = b"<p>Jane: x " + unit * n
        best = float("inf")
        for _ in range(3):
            t = time.process_time()
            with contextlib.suppress(IngestError):
                parse_file("p.html", page)
            best = min(best, time.process_time() - t)
        return best

    seconds(200)
    assert seconds(16_000) / seconds(4_000) < 9
