"""Exports of transcription services: Otter, Rev, Descript, Trint headers; Whisper JSON; YouTube,
Zoom and Teams WebVTT; Word; PDF. Turns, speakers, times and exact offsets, per format."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qa.errors import IngestError, PayloadTooLarge
from qa.ingest import (
    is_binary,
    parse_file,
    parse_transcript,
    read_source_text,
    read_transcript,
)
from qa.ingest.docx import MAX_ENTRIES, check_zip
from qa.ingest.headers import find_headers
from qa.ingest.pdf import PAGE_BREAK, parse_pdf_text
from qa.ingest.upload import check_content
from qa.models import Transcript
from qa.segments import join
from qa.settings import ChunkingSettings
from qa.update import chunk_document
from tests import transcript_files as tf


def said(doc: Transcript) -> list[tuple[str | None, str]]:
    return [(t.speaker, join(doc.text, t.segments)) for t in doc.turns]


def starts(doc: Transcript) -> list[float | None]:
    return [t.times[0][0] if t.times else None for t in doc.turns]


def test_otter_headers_are_labels_and_times_never_text() -> None:
    doc = parse_transcript("otter.txt", tf.OTTER)
    assert said(doc) == [
        (None, "Interview: lighthouse archives\nRecorded 12 May, edited for clarity."),
        ("Dr. Ana Ruiz-Peña", tf.EXPECT[0].sentence + " Nobody has read them all."),
        ("Speaker 1", "How many volumes are there?"),
        ("Dr. Ana Ruiz-Peña", "Around four hundred, most of them water-damaged."),
    ]
    # M:SS and H:MM:SS; a turn's time ends where the next header's begins.
    assert [t.times for t in doc.turns[1:]] == [
        ((9.0, 62.0),),
        ((62.0, 3912.0),),
        ((3912.0, None),),
    ]
    assert doc.turns[1].label_start == tf.OTTER.index("Dr. Ana")


def test_rev_headers_with_initials_and_non_ascii_names() -> None:
    doc = parse_transcript("rev.txt", tf.REV)
    assert [s for s, _ in said(doc)] == ["Søren Ås", "J. P. Morgan-Smith", "Søren Ås"]
    assert starts(doc) == [7.0, 12.0, 3750.0]
    assert said(doc)[0][1] == tf.EXPECT[1].sentence


def test_descript_and_trint_headers() -> None:
    doc = parse_transcript("descript.txt", tf.DESCRIPT)
    assert said(doc)[1] == (
        "Tomás Ortega",
        tf.EXPECT[2].sentence + "\nMost of them were in the northern valley.",
    )
    assert starts(doc) == [3.0, 83.0, 130.0]
    doc = parse_transcript("trint.txt", tf.TRINT)
    assert said(doc) == [
        ("Lena Vogt", "Tell me about the workshop."),
        ("Paolo Ricci", tf.EXPECT[3].sentence),
        ("Lena Vogt", "And the varnish?"),
    ]
    assert starts(doc) == [0.0, 5.0, 100.0]


@pytest.mark.parametrize(
    "head",
    ["{n} ({c})\n", "[{c}] {n}\n", "{c} {n}: ", "{n} [{c}]: ", "{n}: ({c})\n", "[{n}] {c}\n"],
    ids=[
        "rev-no-colon",
        "clock-then-name-line",
        "clock-name-colon",
        "name-clock-colon",
        "rev-published",
        "zoom",
    ],
)
def test_more_header_shapes_give_labels_and_times(head: str) -> None:
    turns = [
        ("Jane Roe", "00:00:07", "Thanks for having me."),
        ("Dr. Ana Ruiz", "00:01:02", "What changed?"),
    ]
    text = "".join(head.format(n=n, c=c) + body + "\n\n" for n, c, body in turns)
    doc = parse_transcript("x.txt", text)
    assert said(doc) == [(n, body) for n, _, body in turns]
    assert starts(doc) == [7.0, 62.0]


@pytest.mark.parametrize(
    "line",
    ["10:30 Meeting: the agenda.", "[00:01:23] Applause", "Early life (12:34)"],
)
def test_a_line_shaped_like_a_header_does_not_take_over_a_labelled_transcript(line: str) -> None:
    text = f"Alice: Hi.\nBob: Hello.\n{line}\nAlice: Next?\nBob: Sure.\n"
    doc = parse_transcript("x.txt", text)
    assert [s for s, _ in said(doc)] == ["Alice", "Bob", "Alice", "Bob"]
    # …nor does a chapter list ahead of the labelled turns.
    chapters = "[00:00:00] Intro\n[00:05:10] Early Career\n\n"
    doc = parse_transcript("x.md", chapters + text.replace(line + "\n", ""))
    assert [s for s, _ in said(doc) if s] == ["Alice", "Bob", "Alice", "Bob"]


def test_zoom_names_are_whatever_the_participant_typed() -> None:
    text = "[jdoe] 10:02:11\nHello all.\n[John's iPhone] 10:02:15\nCan you hear me?\n[田中 太郎] 10:02:20\nYes.\n"
    doc = parse_transcript("zoom.txt", text)
    assert said(doc) == [
        ("jdoe", "Hello all."),
        ("John's iPhone", "Can you hear me?"),
        ("田中 太郎", "Yes."),
    ]
    assert starts(doc) == [36131.0, 36135.0, 36140.0]


def test_a_label_before_a_parenthesised_clock_in_speech_stays_a_label() -> None:
    # `Name: (00:07)` is rev.com's header, but one such line among many labels is speech.
    text = "Alice: Hi.\nBob: The vote is at\nClerk: (10:30) noted.\nAlice: Next?\nBob: Sure.\n"
    doc = parse_transcript("x.txt", text)
    assert [s for s, _ in said(doc)] == ["Alice", "Bob", "Alice", "Bob"]


def test_an_export_whose_speech_holds_label_lines_keeps_its_headers() -> None:
    text = (
        "Jane Roe  0:09\nThanks for coming. Let me read the exchange.\nQ: Where were you?\n"
        "A: At home.\nQ: When?\nA: Noon.\n\nJohn Doe  0:41\nRight, and then:\nQ: Anything?\n"
        "A: No.\n"
    )
    doc = parse_transcript("otter.txt", text)
    assert [s for s, _ in said(doc)] == ["Jane Roe", "John Doe"]
    assert starts(doc) == [9.0, 41.0]


@pytest.mark.parametrize(
    "head",
    [
        "**{n}** [{c}]\n",
        "**[{c}] {n}:** ",
        "**{n} ({c}):** ",
        "**{n}** *{c}*\n\n",
        "**{n}** _{c}_\n",
        "*{n}* *{c}*\n",
        "***{n}*** [{c}]\n",
    ],
    ids=[
        "bold-name-clock",
        "bold-clock-name-colon",
        "bold-rev",
        "bold-name-italic-clock",
        "bold-name-underscore-clock",
        "italic-name-clock",
        "bold-italic-name",
    ],
)
def test_markdown_headers_and_labels_in_bold(head: str) -> None:
    turns = [
        ("Jane Roe", "00:00:07", "We started in 2015."),
        ("John Doe", "00:01:02", "Why then?"),
        ("Jane Roe", "00:01:09", "**Never.** The grant came *through*, you are **right**"),
        ("John Doe", "00:01:30", "And then you grew?"),
    ]
    text = "# Episode 4\n\n" + "".join(
        head.format(n=n, c=c) + body + "\n\n" for n, c, body in turns
    )
    doc = parse_transcript("x.md", text)
    assert doc.title == "Episode 4"
    assert said(doc) == [(None, "# Episode 4"), *((n, body) for n, _, body in turns)]
    assert starts(doc)[1:] == [7.0, 62.0, 69.0, 90.0]


def test_markdown_re_read_keeps_underscores_and_bullets() -> None:
    text = "**SPEAKER_00** [00:00:01]\nI think we start.\n\n**SPEAKER_01** [00:00:05]\nYou go.\n"
    assert [s for s, _ in said(parse_transcript("x.md", text))] == ["SPEAKER_00", "SPEAKER_01"]
    bullets = "* Intro  0:00\nWe talk about our week.\n* Guest Story  5:30\nYou won't believe it.\n"
    assert {s for s, _ in said(parse_transcript("x.md", bullets))} == {None}


def test_bold_header_marks_stay_with_the_header_and_a_chapter_list_is_no_speaker() -> None:
    glued = "**Welcome** to the show\n\n**[00:00:05] Jane:**Hello, I think.\n\n**[00:00:09] John:**Bye, you."
    assert said(parse_transcript("x.md", glued)) == [
        (None, "**Welcome** to the show"),
        ("Jane", "Hello, I think."),
        ("John", "Bye, you."),
    ]
    chapters = "**[00:00:00] Intro**\n**[00:05:10] Interview with Jane**\n**[00:20:00] Outro**\n"
    assert {s for s, _ in said(parse_transcript("x.md", chapters))} == {None}
    italic = "*Intro*  0:00\n*Jane Roe*  1:23\n*Outro*  58:00\n\nThanks for listening, I hope you enjoyed it.\n"
    assert {s for s, _ in said(parse_transcript("x.md", italic))} == {None}
    # A line in italics, header and words: the closing mark is the line's, not the words'.
    lines = "_[00:00:05] Jane: I said never to you._\n_[00:00:09] Bob: You did, I heard it._\n"
    assert said(parse_transcript("x.md", lines)) == [
        ("Jane", "I said never to you."),
        ("Bob", "You did, I heard it."),
    ]


def test_bold_names_and_titles_in_markdown_prose_are_not_speakers() -> None:
    recipes = (
        "## Soup\n\n**Ingredients**\n\nTwo leeks.\n\n**Method**\n\nHeat your pan, then you stir.\n\n"
        "## Pancakes\n\n**Ingredients**\n\nFlour.\n\n**Method**\n\nWhisk until you see bubbles.\n"
    )
    assert {s for s, _ in said(parse_transcript("x.md", recipes))} == {None}


def test_bold_emphasis_alone_on_a_line_is_not_a_speaker() -> None:
    text = "# Notes\n\nThe **budget** rose.\n\n**Important**\n\nWe met at noon.\n"
    assert [s for s, _ in said(parse_transcript("x.md", text))] == [None]
    # A fact sheet's bold section titles, in its summary and again in its body.
    sections = (
        "**Fighting Corruption**\n\nWe set up a task force.\n\n"
        "**Strengthening Democracy**\n\nOur plan protects the vote.\n\n"
        "**Fighting Corruption**\n\nWe recovered stolen assets.\n\n"
        "**Advancing Human Rights**\n\nWe joined the council.\n"
    )
    assert {s for s, _ in said(parse_transcript("x.md", sections))} == {None}


def test_header_exports_also_work_in_markdown_and_with_crlf() -> None:
    doc = parse_transcript("rev.md", tf.REV)
    assert [s for s, _ in said(doc)] == ["Søren Ås", "J. P. Morgan-Smith", "Søren Ås"]


def test_plain_text_with_a_clock_in_prose_is_not_a_header_export() -> None:
    text = "Ann: We met at\n5:30 sharp.\nAnn: Then we left.\nBob: Fine.\nBob: Ok.\n"
    doc = parse_transcript("a.txt", text)
    assert [s for s, _ in said(doc)] == ["Ann", "Ann", "Bob", "Bob"]
    assert find_headers("the meeting at 5:30\nwe met at  0:09\n") == []  # lower case: prose


NAMES = st.sampled_from(
    ["Dr. Ana Ruiz-Peña", "Søren Ås", "Speaker 2", "J. Doe", "Maria de la Cruz"]
)
CLOCKS = st.sampled_from(["0:09", "12:30", "1:02:03", "00:00:07"])
# Lower-case words, punctuation and line breaks: text that cannot itself look like a header.
BODY = st.text(alphabet="abcdefghij .,?!\n", min_size=1, max_size=60).filter(lambda s: s.strip())
SHAPES = (
    lambda n, c: f"{n}  {c}\n",  # Otter
    lambda n, c: f"{n} ({c}):\n",  # Rev
    lambda n, c: f"[{c}] {n}: ",  # Descript
    lambda n, c: f"{n} [{c}]\n",  # Trint
    # loose shapes from here (LOOSE_FROM)
    lambda n, c: f"{n} ({c})\n",  # Rev without a colon
    lambda n, c: f"[{c}] {n}\n",  # Descript, the text below
    lambda n, c: f"{c} {n}: ",  # a bare clock first
    lambda n, c: f"{n} [{c}]: ",  # Trint with the text after a colon
)
LOOSE_FROM = 4


@settings(max_examples=60, deadline=None)
@given(
    shape=st.integers(0, len(SHAPES) - 1),
    turns=st.lists(st.tuples(NAMES, CLOCKS, BODY), min_size=1, max_size=6),
    preamble=st.text(alphabet="abc \n", max_size=20),
)
def test_header_parsers_cover_the_text_and_never_quote_a_header(
    shape: int, turns: list[tuple[str, str, str]], preamble: str
) -> None:
    # The later shapes are loose: one alone after other text is not a header (`uses_headers`).
    assume(shape < LOOSE_FROM or len(turns) >= 2 or not preamble.strip())
    text = preamble + ("\n" if preamble else "")
    headers: list[tuple[int, int]] = []
    for name, clock, body in turns:
        if not text.endswith("\n") and text:
            text += "\n"
        head = SHAPES[shape](name, clock)
        headers.append((len(text), len(text) + len(head.rstrip())))
        text += head + body.lstrip("\n")
    doc = parse_transcript("x.txt", text)
    named = [t for t in doc.turns if t.speaker is not None]
    # Every non-blank character outside the headers is in exactly one turn, and no header is.
    inside = [False] * len(text)
    for t in doc.turns:
        for s, e in t.segments:
            assert not any(inside[s:e])
            inside[s:e] = [True] * (e - s)
    for a, b in headers:
        assert not any(inside[a:b]), (text[a:b], said(doc))
    outside = {i for a, b in headers for i in range(a, b)}
    for i, ch in enumerate(text):
        if not ch.isspace() and i not in outside:
            assert inside[i], (i, text)
    assert {t.speaker for t in named} <= {n for n, _, _ in turns}


def test_whisper_json_turns_times_and_diarised_labels() -> None:
    doc = parse_transcript("whisper.json", tf.WHISPER)
    assert said(doc) == [
        ("Speaker 2", "Thanks for coming."),
        ("Speaker 1", tf.EXPECT[4].sentence),
        ("Speaker 2", "Since when?"),
    ]
    assert [t.times for t in doc.turns] == [((0.0, 2.1),), ((2.1, 7.84),), ((7.84, 9.0),)]
    plain = '{"segments": [{"start": 0, "end": 1, "text": " A."}, {"start": 1, "end": 2, "text": " B."}]}'
    doc = parse_transcript("p.json", plain)
    assert said(doc) == [(None, "A. B.")] and doc.turns[0].times == ((0.0, 1.0), (1.0, 2.0))
    with pytest.raises(IngestError, match='"segments"'):
        parse_transcript("t.json", '{"text": "hello"}')


def test_sidecar_renames_speakers_in_every_format(tmp_path: Path) -> None:
    (tmp_path / "w.json").write_text(tf.WHISPER, encoding="utf-8")
    (tmp_path / "w.meta.json").write_text(tf.WHISPER_META, encoding="utf-8")
    doc = read_transcript(tmp_path / "w.json", tmp_path)
    assert [t.speaker for t in doc.turns] == ["Speaker 2", "Jane Roe", "Speaker 2"]
    (tmp_path / "o.txt").write_text(tf.OTTER, encoding="utf-8")
    (tmp_path / "o.meta.json").write_text('{"speakers": {"Speaker 1": "Li Wei"}}', "utf-8")
    doc = read_transcript(tmp_path / "o.txt", tmp_path)
    assert [t.speaker for t in doc.turns][1:3] == ["Dr. Ana Ruiz-Peña", "Li Wei"]
    (tmp_path / "o.meta.json").write_text('{"speakers": ["Li Wei"]}', "utf-8")
    with pytest.raises(IngestError, match="speakers"):
        read_transcript(tmp_path / "o.txt", tmp_path)


def test_youtube_rolling_captions_read_each_phrase_once_with_word_times() -> None:
    doc = parse_transcript("youtube.vtt", tf.YOUTUBE)
    assert doc.problems == ()
    ((speaker, words),) = said(doc)
    assert speaker is None
    assert words == (
        "the glaciers in the alps retreat further every summer and the meltwater floods villages"
    )
    times = doc.turns[0].times
    assert times[0] == (0.0, 0.48) and times[1] == (0.48, 0.96)  # each word from its tag
    assert times[5] == (2.36, 2.8)  # `retreat`, in the cue that repeats the line before
    for s, e in doc.turns[0].segments:  # exact slices, never a timing tag
        assert "<" not in doc.text[s:e] and ">" not in doc.text[s:e]


def test_zoom_and_teams_webvtt() -> None:
    zoom = parse_transcript("zoom.vtt", tf.ZOOM)
    assert said(zoom) == [
        ("Marcus Lee", tf.EXPECT[6].sentence),
        ("Rita Gomez", "Since when?"),
        ("Marcus Lee", "Since the school closed its hall."),
    ]
    assert starts(zoom) == [1.0, 4.5, 6.0]
    teams = parse_transcript("teams.vtt", tf.TEAMS)
    assert said(teams) == [
        ("Priya Nair", tf.EXPECT[7].sentence),
        ("Omar Haddad", "Which stations first?"),
    ]


def test_docx_headings_preamble_and_bold_headers(tmp_path: Path) -> None:
    path = tf.docx_bytes(tmp_path / "i.docx")
    doc = read_transcript(path, tmp_path)
    assert doc.text == read_source_text(path)  # the canonical text is the extracted one
    assert doc.title == "Cocoa in Ghana: interview notes"
    assert said(doc) == [
        (None, "Cocoa in Ghana: interview notes"),
        (None, "Recorded in Kumasi. Edited for length."),
        ("Helen Okafor", tf.EXPECT[8].sentence),
        ("Kwame Mensah", "Shade trees cut the yield at first, then the soil recovers."),
        (None, "Part two"),
        ("Helen Okafor", "Prices at the farm gate rose last year."),
    ]
    assert starts(doc)[2:4] == [5.0, 41.0]
    # Hashed by its bytes, so a scan need not extract it.
    import hashlib

    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def docx_file(path: Path, *blocks: str | list[tuple[str, ...]]) -> Path:
    """A Word document of paragraphs (`# ` a heading) and tables (lists of rows)."""
    import docx

    d = docx.Document()
    for block in blocks:
        if isinstance(block, str):
            if block.startswith("# "):
                d.add_heading(block[2:], level=1)
            else:
                d.add_paragraph(block)
            continue
        table = d.add_table(rows=0, cols=len(block[0]))
        for row in block:
            for cell, value in zip(table.add_row().cells, row, strict=True):
                cell.text = value
    d.save(str(path))
    return path


def exact(doc: Transcript) -> None:
    """Every turn is one trimmed slice of the canonical text; turns are sorted and disjoint."""
    for t in doc.turns:
        assert t.segments == ((t.start, t.end),)
        assert doc.text[t.start : t.end] == doc.text[t.start : t.end].strip() != ""
    assert all(a.end <= b.start for a, b in pairwise(doc.turns))


def test_docx_table_of_speaker_and_text_rows_is_turns(tmp_path: Path) -> None:
    rows = [
        ("Speaker", "Transcript"),
        ("Interviewer", "When did you start selling abroad?"),
        ("Ama Owusu", "We began in 2009, after the prices fell again."),
        ("Interviewer", "Who buys from you now?"),
        ("Ama Owusu:", "Mostly a chocolate maker in Zurich."),
    ]
    path = docx_file(tmp_path / "t.docx", rows)
    doc = read_transcript(path, tmp_path)
    # The canonical text is every cell, as before; the header row is nobody's words.
    assert doc.text == read_source_text(path) == "\n".join(x for row in rows for x in row)
    assert said(doc) == [
        (None, "Speaker\nTranscript"),
        ("Interviewer", "When did you start selling abroad?"),
        ("Ama Owusu", "We began in 2009, after the prices fell again."),
        ("Interviewer", "Who buys from you now?"),
        ("Ama Owusu", "Mostly a chocolate maker in Zurich."),
    ]
    exact(doc)
    # The label is the speaker cell, before the text and never in it.
    labels = [doc.text[t.label_start : t.start].strip() for t in doc.turns if t.label_start]
    assert labels == ["Interviewer", "Ama Owusu", "Interviewer", "Ama Owusu:"]


def test_docx_table_with_a_time_column_times_each_row(tmp_path: Path) -> None:
    rows = [
        ("Time", "Speaker", "Text"),
        ("00:00:05", "Dr. Lee", "Thank you all for coming in today."),
        ("1:10", "Speaker 2", "Happy to be here, thanks."),
        ("00:01:05", "Dr. Lee", "Let us start with the harbour."),
        ("00:02:00", "Speaker 2", "The harbour silted up in the nineties."),
    ]
    doc = read_transcript(docx_file(tmp_path / "t.docx", rows), tmp_path)
    assert said(doc) == [(None, "Time\nSpeaker\nText")] + [(r[1], r[2]) for r in rows[1:]]
    # Each row runs to the next row's time; a clock that goes back gives no end.
    assert [t.times for t in doc.turns[1:]] == [
        ((5.0, 70.0),),
        ((70.0, None),),
        ((65.0, 120.0),),
        ((120.0, None),),
    ]
    exact(doc)
    chunked = chunk_document(doc.doc_id, doc.text, ChunkingSettings(size=600, overlap=0), doc)
    said_sentences = [
        t
        for t, s in zip(chunked.sentence_texts, chunked.sentences, strict=True)
        if chunked.chunks[s.chunk_id].speaker is not None
    ]
    for text in said_sentences:
        assert not re.search(r"Dr\. Lee|Speaker|\d:\d\d", text), text


def test_docx_table_with_line_numbers_roles_notes_and_time_ranges(tmp_path: Path) -> None:
    # A research transcript: numbered rows, a role column, a time range per row, a notes column.
    rows = [
        ("#", "Time", "Speaker", "Role", "Transcript", "Notes"),
        (
            "1",
            "00:00:05 – 00:00:09",
            "Dr. Lee",
            "Interviewer",
            "Thank you for coming in today.",
            "",
        ),
        (
            "2",
            "00:00:10 – 00:00:31",
            "Ama Owusu",
            "Farmer",
            "I was glad to come, we need this.",
            "",
        ),
        ("3", "00:00:32 – 00:00:40", "Dr. Lee", "Interviewer", "When did you start the farm?", ""),
        ("4", "00:00:41 – 00:01:02", "Ama Owusu", "Farmer", "We began in 2009, I think.", "laughs"),
    ]
    doc = read_transcript(docx_file(tmp_path / "t.docx", rows), tmp_path)
    assert said(doc) == [(None, "\n".join(rows[0]).strip())] + [(r[2], r[4]) for r in rows[1:]] + [
        (None, "laughs")
    ]  # a note is text, nobody's turn
    assert [t.times for t in doc.turns[1:-1]] == [
        ((5.0, 9.0),),
        ((10.0, 31.0),),
        ((32.0, 40.0),),
        ((41.0, 62.0),),
    ]
    exact(doc)


def test_docx_table_with_a_role_column_before_the_names_and_long_notes(tmp_path: Path) -> None:
    rows = [
        ("Moderator", "Dr. Lee", "Thank you for coming in today, I am glad you could.", ""),
        ("Participant", "Ama Owusu", "I was glad to come, we need this kind of meeting.", ""),
        ("Participant", "Kofi Mensah", "Me too, I think we all do, honestly.", "Looks nervous"),
        ("Moderator", "Dr. Lee", "When did you start the farm, Ama?", ""),
        ("Participant", "Ama Owusu", "We began in 2009, I think, after the rains.", ""),
    ]
    doc = read_transcript(docx_file(tmp_path / "t.docx", rows), tmp_path)
    # The speakers are the column naming more people; the role labels the row; a note is text.
    spoken = [(r[1], r[2]) for r in rows]
    assert said(doc) == [*spoken[:3], (None, "Looks nervous"), *spoken[3:]]
    exact(doc)


def test_docx_table_with_two_long_columns_stays_text(tmp_path: Path) -> None:
    # A side-by-side translation: two columns of words, neither a third of the other.
    rows = [
        ("Ama", "I went to the market today, you know.", "Fui al mercado hoy, ya sabes."),
        ("Kofi", "I stayed home and we cooked together.", "Me quedé en casa y cocinamos."),
        ("Ama", "You always cook the best soup, I think.", "Siempre cocinas la mejor sopa."),
    ]
    doc = read_transcript(docx_file(tmp_path / "t.docx", "Phrases", rows), tmp_path)
    assert [s for s, _ in said(doc)] == [None]


def test_docx_table_that_is_not_a_transcript_stays_text(tmp_path: Path) -> None:
    facts = [("Name", "Ama Owusu"), ("Born", "1961"), ("Region", "Ashanti"), ("Crop", "Cocoa")]
    figures = [("Year", "Tonnes"), ("2019", "812"), ("2020", "790"), ("2021", "805")]
    # Short values in both columns, one repeated: no column of longer text.
    places = [("Region", "Ashanti"), ("Region", "Western"), ("Town", "Kumasi Central")]
    # A glossary with a repeated term, a schedule by room, a checklist: no one speaks.
    glossary = [
        ("Bank", "A financial institution that accepts deposits and lends money."),
        ("Bank", "The land alongside a river or a lake, often sloping."),
        ("Cooperative", "A business owned and run jointly by its members."),
    ]
    schedule = [
        ("09:00", "Opening remarks and the state of the harvest", "Hall A"),
        ("10:00", "Prices, buyers and the export market this season", "Hall B"),
        ("11:00", "Training for new members on the grading rules", "Hall A"),
    ]
    checklist = [
        ("The applicant has submitted all the required financial statements.", "Yes"),
        ("The applicant holds a current licence from the marketing board.", "No"),
        ("The applicant has named a responsible officer for the inspection.", "Yes"),
    ]
    for n, table in enumerate((facts, figures, places, glossary, schedule, checklist)):
        doc = read_transcript(docx_file(tmp_path / f"{n}.docx", "Farm records", table), tmp_path)
        cells = "\n".join(x for row in table for x in row)
        assert said(doc) == [(None, f"Farm records\n{cells}")]


def test_docx_table_answer_over_several_rows(tmp_path: Path) -> None:
    rows = [
        ("00:00:01", "Interviewer", "Tell me how you started."),
        ("00:00:04", "Ama Owusu", "We had four farms then."),
        ("00:00:09", "Ama Owusu", "My father kept the books for all four of them."),
        ("00:00:15", "Ama Owusu", "Then the prices fell."),
        ("00:00:20", "Interviewer", "What did you do?"),
        ("00:00:23", "Ama Owusu", "We sold together."),
    ]
    doc = read_transcript(docx_file(tmp_path / "t.docx", rows), tmp_path)
    assert said(doc) == [(r[1], r[2]) for r in rows]
    assert starts(doc) == [1.0, 4.0, 9.0, 15.0, 20.0, 23.0]


def test_docx_short_interviews_and_panels_are_tables_of_turns(tmp_path: Path) -> None:
    short = [
        ("Jane Roe", "I started the garden in 2015 with four neighbours."),
        ("John Doe", "What made you pick that empty lot on Fifth Street?"),
        ("Jane Roe", "It was the only one the city would lease to us."),
    ]
    panel = [
        ("Host", "Welcome, everyone. Ann, you go first, please."),
        ("Ann Lee", "Thanks. I run the seed library at the branch."),
        ("Host", "And Bob, what do you do at the market?"),
        ("Bob Ray", "I sell the seedlings we raise in our greenhouse."),
        ("Host", "Thank you both for coming in today."),
    ]
    for n, rows in enumerate((short, panel)):
        doc = read_transcript(docx_file(tmp_path / f"{n}.docx", rows), tmp_path)
        assert said(doc) == rows


def test_docx_merged_cells_are_read_once(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    table = document.add_table(rows=5, cols=2)
    rows = [
        ("Jane Roe", "We started the garden in 2015, I think."),
        ("John Doe", "Why did you start then?"),
        ("Jane Roe", "Because we finally had the lot."),
        ("", "And we never looked back, you know."),
        ("John Doe", "Thank you."),
    ]
    for i, (name, words) in enumerate(rows):
        table.cell(i, 0).text, table.cell(i, 1).text = name, words
    table.cell(2, 0).merge(table.cell(3, 0))  # one speaker cell over two rows
    notes = document.add_table(rows=2, cols=2)
    notes.cell(0, 0).text = "Notes across the table"
    notes.cell(0, 0).merge(notes.cell(0, 1))  # one cell over two columns
    document.save(tmp_path / "m.docx")
    doc = read_transcript(tmp_path / "m.docx", tmp_path)
    assert doc.text.count("Notes across the table") == 1
    assert doc.text.count("Jane Roe") == 2
    assert said(doc)[:5] == [(n or "Jane Roe", w) for n, w in rows]
    exact(doc)


def test_docx_nested_table_words_are_in_the_text(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    outer = document.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "Before the inner table."
    inner = outer.cell(0, 0).add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "Inner left", "Inner right"
    outer.cell(0, 1).text = "The other outer cell."
    document.save(tmp_path / "n.docx")
    doc = read_transcript(tmp_path / "n.docx", tmp_path)
    for words in ("Before the inner table.", "Inner left", "Inner right", "The other outer cell."):
        assert doc.text.count(words) == 1, words
    assert doc.text.index("Inner right") < doc.text.index("The other outer cell.")
    exact(doc)


def test_docx_preamble_heading_and_transcript_table(tmp_path: Path) -> None:
    path = docx_file(
        tmp_path / "t.docx",
        "# Cocoa cooperatives, interview 4",
        "Recorded in Kumasi on 3 May. Edited for length.",
        [
            ("Speaker", "Transcript"),
            ("Helen Okafor", "How many farmers belong to your cooperative now?"),
            ("Owusu", "About four hundred, and more join every season."),
            ("Helen Okafor", "What changed for them?"),
            ("Ama Owusu", "We sell together, so the buyers pay a fair price."),
        ],
        "# Notes",
        "The recording ends here.",
    )
    doc = read_transcript(path, tmp_path)
    assert doc.title == "Cocoa cooperatives, interview 4"
    assert said(doc) == [
        (None, "Cocoa cooperatives, interview 4"),
        (None, "Recorded in Kumasi on 3 May. Edited for length."),
        (None, "Speaker\nTranscript"),
        ("Helen Okafor", "How many farmers belong to your cooperative now?"),
        ("Ama Owusu", "About four hundred, and more join every season."),
        ("Helen Okafor", "What changed for them?"),
        ("Ama Owusu", "We sell together, so the buyers pay a fair price."),
        (None, "Notes"),
        (None, "The recording ends here."),
    ]
    # Speaker aliases are resolved (`Owusu` is Ama Owusu); the label stays as written.
    assert doc.turns[4].label == "Owusu"
    exact(doc)


def test_docx_that_is_not_a_zip_or_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    import io
    import zipfile

    with pytest.raises(IngestError, match="not a zip"):
        parse_file("x.docx", b"PK not really")
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("word/document.xml", b"\0" * (65 * 1024 * 1024))
    assert len(bomb.getvalue()) < 200_000
    with pytest.raises(PayloadTooLarge, match="uncompressed"):
        check_content("bomb.docx", bomb.getvalue(), 10_000_000)
    many = io.BytesIO()
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(MAX_ENTRIES + 1):
            zf.writestr(f"x/{i}", b"")
    with pytest.raises(IngestError, match="zip entries"):
        check_zip("many.docx", many.getvalue())


def test_pdf_pages_line_numbers_headers_and_footers_stay_out(tmp_path: Path) -> None:
    path = tf.pdf_file(tmp_path / "h.pdf")
    doc = read_transcript(path, tmp_path)
    assert PAGE_BREAK in doc.text and tf.PDF_HEADER in doc.text
    assert said(doc) == [
        ("THE CHAIR", "The hearing will come to order. We welcome our witness today."),
        ("MS. DOE", "Thank you, Chair. " + tf.EXPECT[-1].sentence),
        ("THE CHAIR", "How long did the work take?"),
        ("MS. DOE", "Eighteen months, from the first survey to the last inspection."),
        ("THE CHAIR", "Thank you. We stand adjourned."),
    ]
    for t in doc.turns:
        for s, e in t.segments:
            piece = doc.text[s:e]
            assert tf.PDF_HEADER not in piece and not re.match(r"\d", piece), piece
    # The stored canonical text parses again to the same turns.
    assert parse_pdf_text(doc.doc_id, doc.text).turns == doc.turns
    # Citations: printed page numbers (12, 13) and printed line numbers.
    chunked = chunk_document(doc.doc_id, doc.text, ChunkingSettings(size=600, overlap=0), doc)
    levees = next(
        s
        for s, text in zip(chunked.sentences, chunked.sentence_texts, strict=True)
        if text.startswith("The county")
    )
    assert (levees.page, levees.page_line_start, levees.page_line_end) == (12, 3, 4)
    last = chunked.sentences[-1]
    assert (last.page, last.page_line_start) == (13, 3)
    assert chunked.text == doc.text  # kept in the segment


def test_pdf_numbered_empty_lines_at_the_foot_are_no_page_number() -> None:
    first = "Page 7\n 1   Q.  Where were you?\n 2   A.  At home.\n 3   Q.  Alone?\n 4   A.  Yes.\n 5\n 6"
    second = " 1   Q.  And then?\n 2   A.  Nothing.\n 3   Q.  Sure?\n 4   A.  Yes.\n 5\n 8"
    doc = parse_pdf_text("d.pdf", PAGE_BREAK.join([first, second]))
    # `Page 7` names the first page, not its empty line 6; the bare 8 under line 5 names the next.
    assert sorted({page for _, page, _ in doc.page_lines}) == [7, 8]
    assert [t.speaker for t in doc.turns] == ["Q", "A", "Q", "A"] * 2


def test_citing_pages_takes_linear_work() -> None:
    """Four times the pages cost about four times as long to cite, not sixteen (each sentence
    looked up the marks' offsets afresh). A ratio, not a time: other jobs share the cores."""
    import time

    page = "\n".join(
        f"{n:2d}   {'Q.' if n % 2 else 'A.'}  Line {n} of the day." for n in range(1, 26)
    )

    def seconds(pages: int) -> float:
        doc = parse_pdf_text("x.pdf", PAGE_BREAK.join(f"Page {p}\n{page}" for p in range(pages)))
        best = float("inf")
        for _ in range(3):
            t = time.process_time()
            chunk_document(doc.doc_id, doc.text, ChunkingSettings(), doc)
            best = min(best, time.process_time() - t)
        return best

    seconds(20)
    assert seconds(400) / seconds(100) < 9


def test_a_pdf_turn_keeps_the_label_as_written() -> None:
    text = "STEVE INSKEEP, HOST:\nGood morning.\nJOHN BURNETT, BYLINE: Water.\nINSKEEP: Thanks.\nBURNETT: Sure.\n"
    doc = parse_pdf_text("npr.pdf", text)
    assert [(t.speaker, t.label) for t in doc.turns][:2] == [
        ("STEVE INSKEEP", "STEVE INSKEEP, HOST"),
        ("JOHN BURNETT", "JOHN BURNETT, BYLINE"),
    ]


def test_pdf_without_text_or_over_the_page_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(IngestError, match="no text layer"):
        read_transcript(tf.blank_pdf(tmp_path / "scan.pdf"), tmp_path)
    with pytest.raises(IngestError, match="not a readable PDF"):
        parse_file("x.pdf", b"%PDF-1.4 garbage")
    import qa.ingest.pdf

    monkeypatch.setattr(qa.ingest.pdf, "MAX_PAGES", 1)
    data = tf.pdf_file(tmp_path / "h.pdf").read_bytes()
    with pytest.raises(PayloadTooLarge, match="2 pages; a PDF may have at most 1"):
        check_content("h.pdf", data, 10_000_000)


def test_binary_and_undecodable_text_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "nul.txt").write_bytes(b"Ann: hi\0there\n")
    with pytest.raises(IngestError, match="binary file"):
        read_transcript(tmp_path / "nul.txt", tmp_path)
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)))
    with pytest.raises(IngestError, match="not valid UTF-8"):
        read_transcript(tmp_path / "bin.txt", tmp_path)


def test_every_turn_of_every_fixture_is_exact_slices_of_the_canonical_text(tmp_path: Path) -> None:
    folder = tf.write_all(tmp_path / "src", broken=False)
    for e in tf.EXPECT:
        path = folder / e.name
        doc = read_transcript(path, folder)
        canonical = read_source_text(path)
        assert doc.text == canonical
        if not is_binary(e.name):  # else the text extracted from the file
            assert canonical == path.read_text(encoding="utf-8")
        texts = [join(canonical, t.segments) for t in doc.turns]
        assert any(e.sentence in t for t in texts), (e.name, texts)
        chunked = chunk_document(doc.doc_id, doc.text, ChunkingSettings(size=600, overlap=0), doc)
        for s, text in zip(chunked.sentences, chunked.sentence_texts, strict=True):
            assert text == join(canonical, s.segments)
            assert not re.search(r"<\d|\d:\d\d[)\]]|\(\d", text), text  # no tag, no header clock


def test_pdf_text_without_line_numbers_cites_the_printed_page() -> None:
    pages = [
        "Smith v. Jones, Hearing\nQ. Where were you that night?\nA. At the harbour office,\nchecking the tide tables.\nPage 7 of 9",
        "Smith v. Jones, Hearing\nQ. Alone?\nA. With the night clerk.\nPage 8 of 9",
    ]
    doc = parse_pdf_text("s.pdf", PAGE_BREAK.join(pages))
    assert said(doc) == [
        ("Q", "Where were you that night?"),
        ("A", "At the harbour office, checking the tide tables."),
        ("Q", "Alone?"),
        ("A", "With the night clerk."),
    ]
    chunked = chunk_document(doc.doc_id, doc.text, ChunkingSettings(size=600, overlap=0), doc)
    pages_of = {
        t: (s.page, s.page_line_start)
        for s, t in zip(chunked.sentences, chunked.sentence_texts, strict=True)
    }
    assert pages_of["At the harbour office, checking the tide tables."] == (7, None)
    assert pages_of["With the night clerk."] == (8, None)


def test_a_labelled_line_ending_every_page_is_testimony_not_a_footer() -> None:
    """`A. Yes.` ended both pages: read as a running footer (it recurs at the bottom, digits
    aside), both answers were dropped and "Were you paid back the deposit?" went unanswered."""
    pages = [
        "Lee v. Park, Deposition\nQ. Did you sign the lease in March?\nA. I did, at the notary."
        "\nQ. Was the landlord present?\nA. Yes.\nPage 1 of 2",
        "Lee v. Park, Deposition\nQ. Did he give you the keys that day?\nA. He gave them the next"
        " morning.\nQ. Were you paid back the deposit?\nA. Yes.\nPage 2 of 2",
    ]
    turns = said(parse_pdf_text("lease.pdf", PAGE_BREAK.join(pages)))
    assert "".join(label for label, _ in turns) == "QAQAQAQA"
    assert [text for _, text in turns][2:4] == ["Was the landlord present?", "Yes."]
    assert turns[-1] == ("A", "Yes.")
    # The running header and the page numbers still stay out.
    assert not any("Deposition" in text or "Page" in text for _, text in turns)


@pytest.mark.parametrize(
    "imprint",
    ["A.B.C. COURT REPORTING, INC. (555) 123-4567", "A. Williams Reporting Services"],
)
def test_a_reporters_imprint_that_opens_like_a_label_stays_out(imprint: str) -> None:
    answers = ["At home.", "Nobody.", "At ten.", "By car."]
    pages = [
        f"Q. Question {n}, where?\nA. {a}\nQ. And then?\nA. I left at {n}.\n{imprint}"
        for n, a in enumerate(answers, start=1)
    ]
    turns = said(parse_pdf_text("dep.pdf", PAGE_BREAK.join(pages)))
    assert "".join(label for label, _ in turns) == "QAQA" * 4
    assert not any("Report" in text for _, text in turns)


def test_pdf_hearing_labels_end_with_a_full_stop() -> None:
    pages = [
        "OVERSIGHT OF THE DEPARTMENT\n1\nChairman Durbin. The Committee will come to order.\n"
        "Senator Grassley. Thank you. I have a question about\nwhistleblowers.\n",
        "OVERSIGHT OF THE DEPARTMENT\n2\nAttorney General Garland. We protect them, Senator.\n"
        "Chairman Durbin. Thank you.\n",
    ]
    doc = parse_pdf_text("h.pdf", PAGE_BREAK.join(pages))
    assert said(doc) == [
        ("Chairman Durbin", "The Committee will come to order."),
        ("Senator Grassley", "Thank you. I have a question about whistleblowers."),
        ("Attorney General Garland", "We protect them, Senator."),
        ("Chairman Durbin", "Thank you."),
    ]


def test_zoom_cue_labels_in_any_script_and_prose_with_a_colon_is_not_a_label() -> None:
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nSøren Ås: Hej med dig.\n\n"
        "00:00:02.000 --> 00:00:03.000\nDr. Ana Ruiz-Peña: Hola.\n\n"
        "00:00:03.000 --> 00:00:04.000\nthe plan is this: we wait.\n"
    )
    doc = parse_transcript("z.vtt", vtt)
    assert said(doc) == [
        ("Søren Ås", "Hej med dig."),
        ("Dr. Ana Ruiz-Peña", "Hola. the plan is this: we wait."),
    ]


def test_broadcast_captions_mark_a_new_speaker_on_any_line_of_a_cue() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:04,000\n>> JUDY WOODRUFF: Good evening.\n"
        ">> AMNA NAWAZ: Thanks, Judy.\n\n"
        "2\n00:00:04,500 --> 00:00:08,000\nThe storm made landfall at noon.\n\n"
        "3\n00:00:08,500 --> 00:00:11,000\n>> JUDY WOODRUFF: How many homes lost power?\n\n"
        "4\n00:00:11,500 --> 00:00:13,000\n>> About two hundred thousand.\n"
    )
    doc = parse_transcript("news.srt", text)
    assert said(doc) == [
        ("JUDY WOODRUFF", "Good evening."),
        ("AMNA NAWAZ", "Thanks, Judy. The storm made landfall at noon."),
        ("JUDY WOODRUFF", "How many homes lost power?"),
        (None, "About two hundred thousand."),  # `>>` alone: someone unnamed, not Judy
    ]
    assert starts(doc) == [1.0, 1.0, 8.5, 11.5]
    # Without the mark, a second line's `Name:` is speech, as before.
    plain = text.replace(">> AMNA NAWAZ", "AMNA NAWAZ")
    assert [s for s, _ in said(parse_transcript("news.srt", plain))] == ["JUDY WOODRUFF", None]
