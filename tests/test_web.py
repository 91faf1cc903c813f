"""The web page without a browser: citations, marks, exports, headers, media ranges.

A small folder (a text interview, a subtitle file with a WAV beside it, a transcript holding
`<script>`) indexed with the fake embedder, served in-process; the browser tests are in
test_web_browser.py.
"""

from __future__ import annotations

import csv
import io
import re
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fakes import HashEmbedder
from fastapi.testclient import TestClient

from qa.api.app import create_app
from qa.errors import NotFound
from qa.ingest import SUFFIXES, parse_transcript
from qa.models import Quote
from qa.service import QAService
from qa.settings import AnswerSettings, Settings
from qa.web import PAGE_CSP, views

INTERVIEW = """Host: Welcome to the show. What are you building this year?
Guest: We are building a solar farm in the desert.
It will power ten thousand homes by next spring.
Host: And after that?
Guest: After that we build batteries, lots of batteries.
"""
SUBTITLES = """1
00:00:00,000 --> 00:00:01,500
Ada: Good morning, everyone.

2
00:00:01,500 --> 00:00:03,000
The telescope opened
its eyes last night.

3
00:00:03,000 --> 00:00:04,000
Bob: What did it see first?
"""
SCRIPT = "Host: Type this.\nGuest: I typed <script>window.pwned = 1</script> and it stayed text.\n"


@dataclass
class Site:
    client: TestClient
    service: QAService
    source: Path


def write_wav(path: Path, seconds: float) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(b"\x80" * int(8000 * seconds))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    base = tmp_path_factory.mktemp("web")
    source = base / "source"
    source.mkdir()
    (source / "2024-05-01-solar.txt").write_text(INTERVIEW, encoding="utf-8")
    (source / "telescope.srt").write_text(SUBTITLES, encoding="utf-8")
    write_wav(source / "telescope.wav", 4.0)
    (source / "script.txt").write_text(SCRIPT, encoding="utf-8")
    (source / "notes.pdf").write_bytes(b"%PDF-1.4")
    settings = Settings(
        source_dir=source, index_dir=base / "index", answer=AnswerSettings(abstain_threshold=-1.0)
    )
    service = QAService(settings, embedder=HashEmbedder())
    service.build()
    (source / "broken.txt").write_bytes(b"\xff\xfe not utf-8")  # arrived after the build
    with TestClient(create_app(service=service)) as client:
        yield Site(client, service, source)


def quote(text: str, doc: str, start: int, segments: tuple[tuple[int, int], ...] = ()) -> Quote:
    end = segments[-1][1] if segments else start + len(text)
    return Quote(text, doc, "Guest", start, end, 2, 2, 1.0, segments=segments)


# -- views -----------------------------------------------------------------------------------
def test_clock_formats_minutes_and_hours() -> None:
    assert views.clock(None) is None
    assert views.clock(0) == "00:00"
    assert views.clock(83.9) == "01:23"
    assert views.clock(3723) == "1:02:03"


def test_citation_has_speaker_title_date_time_and_lines() -> None:
    q = Quote(
        "x", "a.srt", "Ada", 0, 1, 3, 4, 1.0, time_start=65.0, title="Talk", date="2024-01-02"
    )
    assert views.citation(q) == ["Ada", "Talk", "2024-01-02", "[01:05]", "lines 3–4"]
    paged = Quote("x", "a.pdf", "Ada", 0, 1, 3, 4, 1.0, page=12, page_line_start=4, page_line_end=9)
    assert views.citation(paged)[-1] == "p. 12, ll. 4–9"
    bare = Quote("x", "a.txt", None, 0, 1, 7, 7, 1.0)
    assert views.citation(bare) == ["(no speaker)", "a.txt", "line 7"]


def test_verified_compares_with_the_canonical_text() -> None:
    start = INTERVIEW.index("We are")
    good = quote("We are building a solar farm in the desert.", "d.txt", start)
    assert views.verified(INTERVIEW, good)
    assert not views.verified(
        INTERVIEW, quote("We are building a wind farm in the desert.", "d.txt", start)
    )
    a, b = SUBTITLES.index("The telescope"), SUBTITLES.index("its eyes")
    segs = ((a, a + len("The telescope opened")), (b, b + len("its eyes last night.")))
    joined = "The telescope opened its eyes last night."
    assert views.verified(SUBTITLES, quote(joined, "t.srt", a, segs))


def test_copy_texts_carry_the_citation_and_link() -> None:
    start = INTERVIEW.index("We are")
    q = quote("We are building a solar farm in the desert.", "d.txt", start)
    texts = views.copy_texts(q, "http://h/?q=x#quote-1")
    assert (
        texts["plain"].startswith("“We are building") and "Guest, d.txt, line 2" in texts["plain"]
    )
    assert texts["markdown"].startswith("> We are building")
    assert texts["markdown"].endswith("([source](http://h/?q=x#quote-1))")


def test_chips_remove_one_filter_each() -> None:
    f = views.PageFilters(("a.txt",), ("Ada",), "2024-01-01", None)
    chips = f.chips("why?")
    assert [c["value"] for c in chips] == ["a.txt", "Ada", "2024-01-01"]
    assert chips[0]["href"] == "/?q=why%3F&speaker=Ada&date_from=2024-01-01"


def marked_text(turns: list[views.TurnView]) -> str:
    return "".join(p.join + p.text for t in turns for ln in t.lines for p in ln.pieces if p.marked)


def test_reader_marks_exactly_the_span_across_lines() -> None:
    doc = parse_transcript("d.txt", INTERVIEW)
    start = INTERVIEW.index("in the desert")
    end = INTERVIEW.index("homes") + len("homes")
    turns = views.reader_turns(doc, start, end)
    assert marked_text(turns) == INTERVIEW[start:end]
    assert [t.current for t in turns] == [False, True, False, False]
    numbers = [ln.number for t in turns for ln in t.lines]
    assert numbers == [1, 2, 3, 4, 5]


def test_reader_marks_each_subtitle_segment() -> None:
    doc = parse_transcript("t.srt", SUBTITLES)
    start = SUBTITLES.index("The telescope")
    end = SUBTITLES.index("last night.") + len("last night.")
    turns = views.reader_turns(doc, start, end)
    joined = " ".join(SUBTITLES[a:b] for a, b in views.span_segments(doc, start, end))
    assert marked_text(turns) == joined == "The telescope opened its eyes last night."
    assert turns[0].time == 0.0 and turns[1].time == 3.0


# -- pages -----------------------------------------------------------------------------------
def test_pages_send_a_strict_policy_and_the_api_keeps_its_own(site: Site) -> None:
    for path in ("/", "/?q=solar+farm", "/transcripts", "/transcripts/script.txt"):
        r = site.client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"] == PAGE_CSP
        assert "<script>" not in r.text.split("</head>")[1]  # no inline script in the body
    api = site.client.get("/documents")
    assert api.headers["content-security-policy"].startswith("default-src 'none'")


def test_answer_page_renders_quotes_with_citations_and_checks(site: Site) -> None:
    r = site.client.get("/", params={"q": "solar farm in the desert"})
    assert r.status_code == 200
    assert 'class="quote"' in r.text and "✓ verified verbatim" in r.text
    assert 'data-copy=""' not in r.text and 'data-copy="“We are' in r.text
    assert "2024-05-01" in r.text  # the date from the file name is in the chip
    assert 'href="/transcripts/2024-05-01-solar.txt?start=' in r.text


def test_a_related_answer_shows_its_quotes_as_related_not_as_the_answer(site: Site) -> None:
    # A count asked for, and no quote in the on-topic passages holds one: `related`.
    question = "What percentage of the batteries are built in the desert?"
    answer = site.service.ask(question, k=3)
    assert answer.coverage == "related" and not answer.quotes and answer.related
    r = site.client.get("/", params={"q": question})
    assert r.status_code == 200
    assert "Discussed, but not answered" in r.text and "Related quotes (not an answer)" in r.text
    assert 'class="quote related-quote"' in r.text and 'id="quote-1"' not in r.text
    assert "Coverage: <strong>related</strong>" in r.text


def test_filters_show_as_chips_and_bad_dates_are_422(site: Site) -> None:
    r = site.client.get("/", params={"q": "telescope", "doc": "telescope.srt"})
    assert 'aria-label="Remove filter document telescope.srt"' in r.text
    bad = site.client.get("/", params={"q": "telescope", "date_from": "yesterday"})
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text


@pytest.mark.parametrize(
    ("dates", "says"),
    [
        ({"date_from": "20230308"}, "date_from must be a date like 2023-03-08 (YYYY-MM-DD)"),
        ({"date_to": "2023-W10-3"}, "date_to must be a date like 2023-03-08 (YYYY-MM-DD)"),
        ({"date_from": "2024-02-01", "date_to": "2024-01-01"}, "is after date_to (2024-01-01)"),
    ],
)
@pytest.mark.parametrize("q", ["telescope", ""], ids=["asked", "no-question"])
def test_page_dates_are_checked_as_the_api_checks_them(
    site: Site, dates: dict[str, str], says: str, q: str
) -> None:
    """`YYYY-MM-DD` only (fromisoformat alone takes `20230308`), from not after to: a 422 page
    with the error shown, whether or not a question was asked; the export is refused alike."""
    r = site.client.get("/", params={"q": q, **dates})
    assert r.status_code == 422 and says in r.text
    assert 'class="error" role="alert"' in r.text
    export = site.client.get("/answer.json", params={"q": q or "telescope", **dates})
    assert export.status_code == 422 and says in export.json()["detail"]


def test_exports_markdown_csv_and_json(site: Site) -> None:
    q = {"q": "solar farm in the desert"}
    md = site.client.get("/answer.md", params=q)
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# solar farm in the desert") and "\n> " in md.text
    rows = list(csv.DictReader(io.StringIO(site.client.get("/answer.csv", params=q).text)))
    assert rows and all(r["verified"] == "yes" for r in rows)
    text = (site.source / rows[0]["doc_id"]).read_text(encoding="utf-8")
    assert text[int(rows[0]["start"]) : int(rows[0]["end"])] == rows[0]["text"]
    body = site.client.get("/answer.json", params=q).json()
    assert body["permalink"].endswith("/?q=solar+farm+in+the+desert")
    assert all(quote["verified"] for quote in body["quotes"])
    assert site.client.get("/answer.xml", params=q).status_code == 404


def test_documents_sharing_a_title_are_cited_by_id_too(tmp_path: Path) -> None:
    """`2023/notes.txt` and `2024/notes.txt` are both titled `notes`: cited as that alone, a
    copied quote named the wrong interview half the time. Such titles carry the document id."""
    source = tmp_path / "source"
    for year, crop in (("2023", "barley"), ("2024", "rye")):
        (source / year).mkdir(parents=True)
        text = f"Host: What did you grow?\nGuest: We grew {crop} on the hill field.\n"
        (source / year / "notes.txt").write_text(text, encoding="utf-8")
    (source / "solar.txt").write_text(INTERVIEW, encoding="utf-8")
    settings = Settings(
        source_dir=source,
        index_dir=tmp_path / "index",
        answer=AnswerSettings(abstain_threshold=-1.0),
    )
    service = QAService(settings, embedder=HashEmbedder())
    service.build()
    with TestClient(create_app(service=service)) as client:
        page = client.get("/", params={"q": "What did you grow on the hill field?", "k": "8"})
        assert page.status_code == 200
        for doc in ("2023/notes.txt", "2024/notes.txt"):
            assert f"notes ({doc})" in page.text  # citation chips and copy texts
            assert f'<option value="{doc}">notes ({doc})</option>' in page.text
        assert '<option value="solar.txt">solar</option>' in page.text  # a unique title: as was
        md = client.get("/answer.md", params={"q": "What did you grow on the hill field?"})
        assert "notes (2023/notes.txt)" in md.text or "notes (2024/notes.txt)" in md.text
        assert ", notes," not in md.text


def test_reader_escapes_transcript_markup(site: Site) -> None:
    r = site.client.get("/transcripts/script.txt")
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in r.text
    assert "<script>window" not in r.text


def test_reader_marks_the_span_and_links_back_to_the_answer(site: Site) -> None:
    text = (site.source / "2024-05-01-solar.txt").read_text(encoding="utf-8")
    start = text.index("We are")
    end = text.index("desert.") + len("desert.")
    r = site.client.get(
        "/transcripts/2024-05-01-solar.txt",
        params={"start": start, "end": end, "q": "solar farm in the desert"},
    )
    marks = re.findall(r'<mark data-join="([^"]*)"[^>]*>([^<]*)</mark>', r.text)
    assert "".join(j + t for j, t in marks) == text[start:end]
    assert "Back to the answer" in r.text and 'id="L2"' in r.text


def test_reader_of_an_unknown_document_is_404(site: Site) -> None:
    r = site.client.get("/transcripts/nope.txt")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    with pytest.raises(NotFound):
        site.service.document_text("../etc/passwd")


def test_documents_page_lists_documents_and_skipped_files(site: Site) -> None:
    r = site.client.get("/transcripts")
    assert "telescope.srt" in r.text and "Ada, Bob" in r.text and "00:04" in r.text
    assert "notes.pdf</code>: not a readable PDF" in r.text  # skipped by the build, and why
    assert "broken.txt</code>: not indexed yet" in r.text  # arrived after it
    summary = site.client.get("/summary/telescope.srt").json()
    assert summary["speakers"] == ["Ada", "Bob"] and summary["turns"] == 2
    assert summary["duration"] == 4.0


def test_filters_that_admit_no_passage_say_so_on_the_page(site: Site) -> None:
    r = site.client.get("/", params={"q": "solar farm", "date_to": "2000-01-01"})
    assert r.status_code == 200
    assert "No passage of the indexed transcripts is within these filters" in r.text
    assert "None of the transcripts answers" not in r.text


def test_the_file_picker_offers_every_format_the_upload_takes(site: Site) -> None:
    """The picker listed .txt .md .srt .vtt .json only, so a .docx or .pdf, which POST
    /documents indexes, could not be chosen (only dropped)."""
    r = site.client.get("/transcripts")
    accept = re.search(r'<input id="file" type="file" accept="([^"]*)"', r.text)
    assert accept is not None
    assert set(accept.group(1).split(",")) == set(SUFFIXES) >= {".docx", ".pdf"}


def test_reader_has_a_player_and_media_serves_ranges(site: Site) -> None:
    page = site.client.get("/transcripts/telescope.srt")
    assert '<audio id="player"' in page.text and 'data-t="3.0"' in page.text
    assert "<audio" not in site.client.get("/transcripts/script.txt").text
    size = (site.source / "telescope.wav").stat().st_size
    whole = site.client.get("/media/telescope.srt")
    assert whole.status_code == 200 and len(whole.content) == size
    assert whole.headers["accept-ranges"] == "bytes"
    part = site.client.get("/media/telescope.srt", headers={"range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == whole.content[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{size}"
    tail = site.client.get("/media/telescope.srt", headers={"range": "bytes=-4"})
    assert tail.content == whole.content[-4:]
    bad = site.client.get("/media/telescope.srt", headers={"range": f"bytes={size}-"})
    assert bad.status_code == 416
    assert site.client.get("/media/script.txt").status_code == 404
    # The transcript edited since indexing: its reader refuses the old offsets, its audio plays.
    srt = site.source / "telescope.srt"
    before = srt.read_bytes()
    try:
        srt.write_bytes(before + b"\n")
        assert site.client.get("/transcripts/telescope.srt").status_code == 409
        assert site.client.get("/media/telescope.srt").status_code == 200
    finally:
        srt.write_bytes(before)
    assert site.client.get("/transcripts/telescope.srt").status_code == 200


def test_static_files_are_served_and_nothing_else(site: Site) -> None:
    css = site.client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert site.client.get("/static/app.js").status_code == 200
    assert site.client.get("/static/..%2Froutes.py").status_code == 404
    assert site.client.get("/static/routes.py").status_code == 404


def test_pages_need_the_read_key_when_one_is_set(site: Site, tmp_path: Path) -> None:
    settings = Settings(
        source_dir=site.source, index_dir=site.service.settings.index_dir, read_api_key="r3ad"
    )
    service = QAService(settings, embedder=HashEmbedder())
    with TestClient(create_app(service=service)) as client:
        for path in ("/", "/transcripts", "/transcripts/script.txt", "/answer.json?q=x"):
            assert client.get(path).status_code == 401, path
        ok = client.get("/transcripts", headers={"authorization": "Bearer r3ad"})
        assert ok.status_code == 200
        assert client.get("/static/app.css").status_code == 200  # assets hold no transcript data
