"""The real corpus in every format, read as a reader sees it; synthetic and malformed inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.chunk import chunk_transcript
from qa.errors import IngestError, InvalidInput
from qa.ingest import list_sources, parse_transcript, read_source_text, read_transcript
from qa.ingest.speakers import resolve_aliases
from qa.models import Chunk, Filters, Transcript
from qa.segments import JoinedView, clip, join, joined_slice
from qa.settings import ChunkingSettings

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT / "corpora" / "real"
BRIEFING = "2023-03-08-press-briefing-by-press-secretary-karine-jean-pierre-19.md"
MODI = "2023-06-22-remarks-by-president-biden-and-prime-minister-modi-of-the-republic-of-india-in-joint-press-conference.md"
YELLEN = "2023-09-08-press-gaggle-by-secretary-of-the-treasury-janet-yellen-ahead-of-the-g20-summit-in-india-new-delhi-india.md"
SULLIVAN = "2024-08-29-remarks-by-apnsa-jake-sullivan-in-press-conference-beijing-peoples-republic-of-china.md"


def real(name: str) -> Transcript:
    return read_transcript(REAL / name, REAL)


def said(doc: Transcript) -> list[tuple[str | None, str]]:
    """(label as written, text) of each turn."""
    return [(t.label, join(doc.text, t.segments)) for t in doc.turns]


def assert_exact_turns(doc: Transcript) -> None:
    previous = 0
    for t in doc.turns:
        assert t.segments and t.start == t.segments[0][0] and t.end == t.segments[-1][1]
        assert not t.times or len(t.times) == len(t.segments)
        for s, e in t.segments:
            piece = doc.text[s:e]
            assert piece and piece == piece.strip(" \t\r\n\u00a0\ufeff"), (doc.doc_id, piece)
            assert s >= previous
            previous = e


def test_every_real_file_is_listed_and_notes_are_not() -> None:
    names = [p.name for p in list_sources(REAL)]
    assert len(names) == 8 and "SOURCE.md" not in names
    assert {Path(n).suffix for n in names} == {".md", ".srt", ".vtt"}


@pytest.mark.parametrize("path", sorted(list_sources(REAL)), ids=lambda p: p.name[:40])
def test_real_files_parse_exactly_without_problems(path: Path) -> None:
    doc = read_transcript(path, REAL)
    assert doc.problems == ()
    assert doc.text == read_source_text(path)
    assert_exact_turns(doc)
    assert "---" not in join(doc.text, doc.turns[0].segments)  # front matter is not a turn
    chunks, sentences = chunk_transcript(doc, ChunkingSettings(size=600, overlap=120))
    for c in chunks:
        assert join(doc.text, c.segments) == c.text
        assert (c.start, c.end) == (c.segments[0][0], c.segments[-1][1])
        assert c.line_start == doc.text.count("\n", 0, c.start) + 1
        assert (c.title, c.date) == (doc.title, doc.date)
    for s in sentences:
        assert (s.start, s.end) == (s.segments[0][0], s.segments[-1][1])


def test_briefing_q_turns_are_reporters_questions() -> None:
    doc = real(BRIEFING)
    assert doc.title == "Press Briefing by Press Secretary Karine Jean-Pierre"  # YAML `\_`
    assert doc.date == "2023-03-08"
    assert doc.source_url and doc.source_url.startswith("https://bidenwhitehouse.archives.gov/")
    turns = said(doc)
    assert turns[0] == (None, "James S. Brady Press Briefing Room\n\n12:44 P.M. EST")
    assert turns[1:4] == [
        ("MS. JEAN-PIERRE", "Goodness."),
        ("Q", "Thank you."),
        ("MS. JEAN-PIERRE", "A lot going on."),
    ]
    assert {label for label, _ in turns} == {None, "Q", "MS. JEAN-PIERRE", "MS. DALTON"}
    questions = [text for label, text in turns if label == "Q"]
    assert len(questions) == 68
    assert sum("?" in q for q in questions) >= 30  # the rest: "Thank you.", follow-ups
    economy = next(q for q in questions if q.startswith("A question on the economy."))
    assert economy.endswith("need to rise in order to keep inflation down.")
    # A reporter's question is answered by the press secretary.
    i = turns.index(("Q", economy))
    assert turns[i + 1][0] == "MS. JEAN-PIERRE"
    assert ("MS. DALTON", "Karine, you’ve got about two minutes.") in turns


def test_upper_case_labels_with_titles_and_prose_colons() -> None:
    doc = real(MODI)
    turns = said(doc)
    assert turns[1][0] == "PRESIDENT BIDEN" and turns[1][1].startswith("Please, be seated.")
    # `A partnership ...` opens a line but is not an answer marker; `Add to that:` is prose.
    assert "\nA partnership that is among the most consequential" in turns[1][1]
    assert "Add to that: One million American jobs" in turns[1][1]
    assert ("AUDIENCE MEMBER", "Climate change.") in turns  # upper case: a speaker, used once
    modi = [text for label, text in turns if label == "PRIME MINISTER MODI"]
    assert len(modi) == 3 and all(t.startswith("(As interpreted.)") for t in modi)

    yellen = real(YELLEN)
    assert yellen.title == (
        "Press Gaggle by Secretary of the Treasury Janet Yellen Ahead of the G20 Summit in India"
        " | New Delhi, India"
    )
    assert {t.label for t in yellen.turns} == {None, "SECRETARY YELLEN", "MODERATOR", "Q"}
    assert said(yellen)[0] == (None, "The Park Hotel  \nNew Delhi, India")
    assert said(yellen)[-1] == ("MODERATOR", "Thanks, everyone.")
    q = next(text for label, text in said(yellen) if label == "Q")
    assert q.startswith("Secretary Yellen, thank you")  # `Q` then a single space
    assert {t.label for t in real(SULLIVAN).turns} == {None, "MR. SULLIVAN", "Q"}


def test_podcast_bold_labels_and_break_markers() -> None:
    doc = real("the-changelog-413.md")
    assert (doc.title, doc.date, doc.source_url) == ("the-changelog-413", None, None)
    turns = said(doc)
    assert turns[0] == (
        "Jerod Santo",
        "Hisham, first of all, thanks for coming on Maintainer Spotlight. We appreciate it.",
    )
    assert turns[1] == ("Hisham Muhammad", "Yeah, thanks for having me.")
    assert {t.speaker for t in doc.turns} == {
        None,
        "Jerod Santo",
        "Hisham Muhammad",
        "Adam Stacoviak",
    }
    # `**Break:** \[29:04\]` marks an ad break, it is nobody's speech.
    assert (None, "\\[29:04\\]") in [(t.speaker, join(doc.text, t.segments)) for t in doc.turns]
    # A paragraph without a label continues the speaker.
    htop = next(text for label, text in turns if label == "Hisham Muhammad" and "\n\n" in text)
    assert "htop" in htop

    rfc = real("request-for-commits-19.md")
    assert {t.speaker for t in rfc.turns} == {
        None,
        "Nadia Eghbal",
        "Lauren McCarthy",
        "Mikeal Rogers",
    }
    assert said(rfc)[1][1].startswith("Yeah, I guess I have some background in computer science")


def test_srt_speaker_names_in_cues_and_turns_across_cues() -> None:
    doc = real("example.srt")
    assert [t.label for t in doc.turns] == [
        "Travis",
        "Sarah",
        "Travis",
        "Gilon",
        "Travis",
        "Gilon",
        "Travis",
        "Sarah",
        "Gilon",
        "Travis",
    ]
    travis = doc.turns[0]
    text = join(doc.text, travis.segments)
    # `Travis:` opens cue 1; his turn runs over cues 1-17, until `Sarah:` opens cue 18.
    assert text.startswith("When you first get started in podcasting, it's almost guaranteed")
    assert text.endswith("your goals, that much faster")
    assert travis.times[0] == (0.179, 2.399) and travis.times[-1] == (48.99, 50.34)
    assert len(travis.segments) == 33  # two text lines per cue, one in the last
    for s, e in travis.segments:  # no cue numbers or timing lines inside the turn
        assert "-->" not in doc.text[s:e] and not doc.text[s:e].isdigit()
    sarah = doc.turns[1]
    assert join(doc.text, sarah.segments).startswith("Creating good audio is really key")
    assert sarah.label_start is not None and doc.text.startswith("Sarah:", sarah.label_start)


def test_vtt_without_labels_with_bom_crlf_and_cue_settings() -> None:
    raw = (REAL / "W3C_INTRO_SFHI.en.vtt").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfWEBVTT\r\n")  # the file really has both
    doc = real("W3C_INTRO_SFHI.en.vtt")
    assert doc.text.startswith("\ufeffWEBVTT\n")  # read_text: universal newlines, BOM kept
    assert len(doc.turns) == 1 and doc.turns[0].speaker is None
    text = join(doc.text, doc.turns[0].segments)
    assert text.startswith("Hi! My name is Shadi Abou-Zahra. I'm the Accessibility Strategy")
    assert "align:middle" not in text and "-->" not in text
    assert doc.turns[0].times[:2] == ((2.2, 5.2), (5.4, 9.6))
    # The same captions parsed from CRLF text (not via read_text) give the same words.
    crlf = parse_transcript("w.vtt", raw.decode("utf-8"))
    assert join(crlf.text, crlf.turns[0].segments) == text


# -- synthetic Markdown and text ------------------------------------------------------------


def test_markdown_front_matter_headings_and_label_forms() -> None:
    text = (
        "---\ntitle: An Interview\ndate: 2021-05-04\nurl: https://example.org/x\n---\n"
        "# Not The Title\n\n"
        "**Ann Lee:** Hello there.\n\n"
        "**Bo**: Hi, Ann.\n\n"
        "## Part two\n\n"
        "HOST: One-off upper-case label.\n\n"
        "Note: a one-off mixed-case colon is prose.\n"
    )
    doc = parse_transcript("talk.md", text)
    assert (doc.title, doc.date, doc.source_url) == (
        "An Interview",
        "2021-05-04",
        "https://example.org/x",
    )
    assert said(doc) == [
        (None, "# Not The Title"),
        ("Ann Lee", "Hello there."),
        ("Bo", "Hi, Ann."),
        (None, "## Part two"),
        ("HOST", "One-off upper-case label.\n\nNote: a one-off mixed-case colon is prose."),
    ]
    untitled = parse_transcript("2020-01-02-chat.md", "# The Heading\n\nAnn:\nHi.\nAnn:\nBye.")
    assert (untitled.title, untitled.date) == ("The Heading", "2020-01-02")
    plain = parse_transcript("notes.txt", "Ann:\nHi.\nAnn:\nBye.")
    assert (plain.title, plain.date) == ("notes", None)


def test_q_and_a_markers() -> None:
    text = (
        "Q    Where were you?\nA    At home.\nQ: And then?\nA. Nowhere.\nA partnership is prose.\n"
    )
    assert said(parse_transcript("qa.txt", text)) == [
        ("Q", "Where were you?"),
        ("A", "At home."),
        ("Q", "And then?"),
        ("A", "Nowhere.\nA partnership is prose."),
    ]
    # One `Q` is not a convention: the line stays prose.
    assert said(parse_transcript("x.txt", "Ann:\nQ    is a letter.\nAnn:\nok")) == [
        ("Ann", "Q    is a letter."),
        ("Ann", "ok"),
    ]


def test_aliases_resolve_within_a_document_keeping_the_label() -> None:
    names = resolve_aliases(["Musk", "Elon Musk", "MUSK", "Smith", "John Smith", "Jane Smith", "Q"])
    assert names["Musk"] == names["MUSK"] == names["Elon Musk"] == "Elon Musk"
    assert names["Smith"] == "Smith"  # two people could be meant
    assert names["Q"] == "Q"
    doc = parse_transcript("x.txt", "Elon Musk:\nHi.\nMark Penn:\nQ?\nMusk:\nA.")
    assert [(t.label, t.speaker) for t in doc.turns] == [
        ("Elon Musk", "Elon Musk"),
        ("Mark Penn", "Mark Penn"),
        ("Musk", "Elon Musk"),
    ]


def test_sidecar_overrides_metadata(tmp_path: Path) -> None:
    (tmp_path / "2020-01-01-talk.md").write_text("---\ntitle: Old\n---\nAnn:\nHi.\nAnn:\nBye.\n")
    (tmp_path / "2020-01-01-talk.meta.json").write_text(
        json.dumps({"title": "New", "date": "2022-02-02", "source_url": "https://x.org"})
    )
    (tmp_path / "README.md").write_text("# not a transcript\n")
    [path] = list_sources(tmp_path)  # neither the sidecar nor the README is a transcript
    doc = read_transcript(path, tmp_path)
    assert (doc.title, doc.date, doc.source_url) == ("New", "2022-02-02", "https://x.org")
    (tmp_path / "2020-01-01-talk.meta.json").write_text('{"date": "soon"}')
    with pytest.raises(IngestError, match="not YYYY-MM-DD"):
        read_transcript(path, tmp_path)


def test_bad_front_matter_is_reported_not_fatal() -> None:
    doc = parse_transcript("x.md", "---\ntitle: [unclosed\n---\nAnn:\nHi.\nAnn:\nBye.")
    assert doc.title == "x" and doc.problems and doc.problems[0].startswith("line ")
    assert said(doc)[0] == ("Ann", "Hi.")


# -- subtitles: voice tags and malformed files ----------------------------------------------


def test_vtt_voice_tags_and_markup_between_segments() -> None:
    text = (
        "WEBVTT - Team call\n\nNOTE a comment\nspanning lines\n\n"
        "intro\n00:00:01.000 --> 00:00:02.000\n<v Bob>Hello <i>there</i></v>\n\n"
        "00:00:02.500 --> 00:00:03.000\n<v Bob>again.\n\n"
        "00:01:03.000 --> 00:01:04.500 line:0\n<v.loud Ann Lee>Hi Bob.\n"
    )
    doc = parse_transcript("call.vtt", text)
    assert doc.title == "Team call" and doc.problems == ()
    assert [(t.speaker, join(text, t.segments)) for t in doc.turns] == [
        ("Bob", "Hello there again."),
        ("Ann Lee", "Hi Bob."),
    ]
    assert doc.turns[0].times == ((1.0, 2.0), (1.0, 2.0), (2.5, 3.0))
    assert doc.turns[1].times == ((63.0, 64.5),)


MALFORMED_SRT = (
    "\ufeff1\r\n00:00:01,000 --> 00:00:02,000\r\nAnn: Hello there.\r\n\r\n"
    "2\r\n00:00:02,500 --> 00:00:0x,000\r\nBad timing but readable words.\r\n\r\n"
    "3\r\n00:00:04,000 --> 00:00:05,000\r\nNo blank line after me.\r\n"
    "4\r\n00:00:05,000 --> 00:00:06,000\r\nBob: Hi Ann.\r\n\r\n"
    "stray words outside any cue\r\n\r\n"
    "5\r\n00:00:09,000 --> 00:00:08,000\r\nBackwards timing.\r\n"
)


def test_malformed_srt_indexes_what_it_can_and_reports_lines() -> None:
    doc = parse_transcript("bad.srt", MALFORMED_SRT)
    assert [(t.speaker, join(doc.text, t.segments)) for t in doc.turns] == [
        ("Ann", "Hello there. Bad timing but readable words. No blank line after me."),
        ("Bob", "Hi Ann. Backwards timing."),
    ]
    assert doc.problems == (
        "line 6: unreadable timing line '00:00:02,500 --> 00:00:0x,000'; the cue's text is kept without times",
        "line 13: no blank line before this cue",
        "line 16: text outside any cue (no timing line); skipped to the next blank line",
        "line 19: cue ends (00:00:08,000) before it starts; the cue's text is kept without times",
    )
    assert doc.turns[0].times == ((1.0, 2.0), (None, None), (4.0, 5.0))
    assert_exact_turns(doc)
    chunks, _ = chunk_transcript(doc, ChunkingSettings(size=40, overlap=10))
    assert all(join(doc.text, c.segments) == c.text for c in chunks)


def test_malformed_subtitle_file_through_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "bad.srt"
    path.write_bytes(MALFORMED_SRT.encode("utf-8"))  # BOM and CRLF on disk
    doc = read_transcript(path, tmp_path)
    assert doc.text == path.read_text(encoding="utf-8") and "\r" not in doc.text
    assert len(doc.problems) == 4 and len(doc.turns) == 2
    assert_exact_turns(doc)


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("a.vtt", "00:00:01.000 --> 00:00:02.000\nno header\n", "line 1: no WEBVTT header"),
        ("b.srt", "1\n00:00:01,000 --> 00:00:02,000\nok\n\ngarbage\n", "line 5: text outside"),
        ("c.vtt", "WEBVTT\n00:00:01.000 --> 00:00:02.000\nok\n", "line 2: no blank line"),
    ],
)
def test_subtitle_problems_carry_line_numbers(name: str, text: str, problem: str) -> None:
    doc = parse_transcript(name, text)
    assert any(p.startswith(problem) for p in doc.problems), doc.problems
    assert join(doc.text, doc.turns[0].segments) in ("ok", "no header")  # the text is kept


@pytest.mark.parametrize("text", ["", "WEBVTT\n", "1\n00:00:01,000 --> 00:00:02,000\n\n", "junk"])
def test_subtitles_without_any_text_are_an_error(text: str) -> None:
    with pytest.raises(IngestError, match="no transcript text"):
        parse_transcript("x.srt", text)


# -- JSON turns -----------------------------------------------------------------------------


def test_json_turns_with_exact_offsets_and_times() -> None:
    text = json.dumps(
        [
            {"speaker": "Ann", "text": "Hello.\nSecond line.", "start": 1.5, "end": 4},
            {"speaker": "Bob", "text": 'He said "hi".'},
            {"text": "no speaker"},
            {"speaker": "Ann", "note": "no text"},
            42,
        ],
        indent=1,
    )
    doc = parse_transcript("t.json", text)
    assert [(t.speaker, join(text, t.segments)) for t in doc.turns] == [
        ("Ann", "Hello. Second line."),  # the `\n` escape splits segments
        ("Bob", 'He said \\"hi\\".'),  # other escapes stay as written in the file
        (None, "no speaker"),
    ]
    assert doc.turns[0].times == ((1.5, 4.0), (1.5, 4.0)) and doc.turns[1].times == ()
    assert [p.split(":")[0] for p in doc.problems] == ["line 15", "line 19"]
    assert_exact_turns(doc)


@pytest.mark.parametrize("text", ["{}", "[", '[{"text": 1}]', "not json"])
def test_json_that_is_not_a_list_of_turns_is_an_error(text: str) -> None:
    with pytest.raises(IngestError):
        parse_transcript("t.json", text)


def test_truncated_json_keeps_the_turns_before_the_damage() -> None:
    doc = parse_transcript("t.json", '[{"speaker": "Ann", "text": "Fine."}, {"speaker": "Bo')
    assert said(doc) == [("Ann", "Fine.")] and "rest of the file is skipped" in doc.problems[0]


# -- segments and filters -------------------------------------------------------------------


def test_segment_helpers() -> None:
    source = "1\n00:01 --> 00:02\nHello big\n\n2\n00:02 --> 00:03\nworld. Bye.\n"
    segs = ((18, 27), (47, 58))
    times = ((1.0, 2.0), (2.0, 3.0))
    view = JoinedView.of(source, segs, times)
    assert view.text == "Hello big world. Bye."
    a = view.text.index("big")
    got, got_times = view.spans(a, view.text.index(" Bye"))
    assert join(source, got) == "big world." and got_times == times
    assert clip(segs, times, 24, 53) == (((24, 27), (47, 53)), times)
    assert joined_slice(view.text, segs, 24, 53) == "big world."
    assert joined_slice("abc def", ((10, 17),), 14, 17) == "def"  # one segment: plain slicing


def test_date_and_speaker_filters() -> None:
    def chunk(date: str | None, speaker: str = "Elon Musk", label: str = "Musk") -> Chunk:
        return Chunk(0, "d", speaker, 0, 1, 1, 1, "x", 0, label=label, date=date)

    f = Filters.of(date_from="2023-03-01", date_to="2023-09-30")
    assert f.active
    assert f.admits(chunk("2023-03-08")) and f.admits(chunk("2023-09-30"))
    assert not f.admits(chunk("2024-08-29")) and not f.admits(chunk(None))
    assert Filters().admits(chunk(None))
    assert Filters.of(speakers=["musk"]).admits(chunk(None))  # the label as written
    assert Filters.of(speakers=["Elon Musk"]).admits(chunk(None))  # the display name
    assert not Filters.of(speakers=["Mark Penn"]).admits(chunk(None))
    # A last name finds every label of the person: `Biden` for `PRESIDENT BIDEN`.
    assert Filters.of(speakers=["Biden"]).admits(chunk(None, "PRESIDENT BIDEN", "PRESIDENT BIDEN"))
    assert not Filters.of(speakers=["Elon"]).admits(chunk(None))
    with pytest.raises(InvalidInput, match="date_from"):
        Filters.of(date_from="March 2023")


def test_plain_text_chunks_keep_one_segment() -> None:
    seeds = ROOT / "seeds"
    doc = read_transcript(seeds / "003_aef95c100974d035.txt", seeds)
    chunks, sentences = chunk_transcript(doc, ChunkingSettings(size=600, overlap=120))
    assert all(c.segments == ((c.start, c.end),) and c.times == () for c in chunks)
    assert all(s.segments == ((s.start, s.end),) for s in sentences)


def test_resolving_thousands_of_speakers_takes_linear_work() -> None:
    """Four times the speakers cost about four times as long, not sixteen (each label was
    compared with every other). A ratio, not a time: other jobs share the cores."""
    import time

    def seconds(n: int) -> float:
        labels = [f"Speaker{i} Name{i}" for i in range(n)] + [f"Name{i}" for i in range(n)]
        best = float("inf")
        for _ in range(3):
            t = time.process_time()
            names = resolve_aliases(labels)
            best = min(best, time.process_time() - t)
        assert names["Name7"] == "Speaker7 Name7"
        return best

    seconds(200)
    assert seconds(8000) / seconds(2000) < 9
