"""Numbered transcripts in plain text: a court reporter's deposition, its pages and line numbers."""

from __future__ import annotations

from qa.ingest import parse_transcript
from qa.ingest.text import parse_text
from qa.settings import ChunkingSettings
from qa.update import chunk_document
from tests import transcript_files as tf


def _said(text: str, name: str = "d.txt") -> list[tuple[str | None, str]]:
    doc = parse_transcript(name, text)
    return [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns]


def test_a_deposition_without_form_feeds_has_speakers_pages_and_lines() -> None:
    doc = parse_transcript("deposition.txt", tf.DEPOSITION)
    assert [t.speaker for t in doc.turns] == ["Q", "A", "Q", "A", "MR. SMITH", "Q", "A", "Q", "A"]
    said = [doc.text[t.start : t.end] for t in doc.turns]
    # Turns are single slices of the file, its line numbers inside them kept: quotes stay exact.
    assert said[1] == (
        "At the boatyard on Pier Nine.\n 4   The orchard ferry was repainted blue that same week."
    )
    assert said[4] == "Objection, form."
    assert all(t.segments == ((t.start, t.end),) for t in doc.turns)
    chunked = chunk_document(doc.doc_id, doc.text, ChunkingSettings(size=600, overlap=0), doc)
    cited = {
        text: (s.page, s.page_line_start, s.page_line_end)
        for s, text in zip(chunked.sentences, chunked.sentence_texts, strict=True)
    }
    # A sentence opening a numbered line starts with its words, and is cited by page and line.
    assert cited["The orchard ferry was repainted blue that same week."] == (7, 4, 4)
    assert cited["Did you speak with\n 9   anyone by phone that night?"] == (7, 8, 9)
    assert cited["Let me rephrase."] == (7, 8, 8)
    assert cited["My brother called around ten."] == (8, 1, 1)


def test_a_deposition_with_form_feeds_is_paged_by_them() -> None:
    said = [
        ("Q", "Where was the truck?"),
        ("A", "In the shed."),
        ("Q", "Who put it there?"),
        ("A", "My brother did."),
        ("Q", "When?"),
        ("A", "On Friday."),
        ("Q", "Was it locked?"),
        ("A", "I believe it was."),
        ("Q", "Who has the key?"),
        ("A", "Only my brother."),
    ]
    rows = [f"{n:2d}        {who}.   {words}" for n, (who, words) in enumerate(said, start=1)]
    text = (
        "\n".join(rows[:5])
        + "\n\f\n"
        + "\n".join(r.replace(r[:2], f"{int(r[:2]) - 5:2d}", 1) for r in rows[5:])
    )
    doc = parse_transcript("d.txt", text)
    assert [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns] == said
    chunked = chunk_document(doc.doc_id, doc.text, ChunkingSettings(size=600, overlap=0), doc)
    pages = [(s.page, s.page_line_start) for s in chunked.sentences]
    assert pages == [(1, n) for n in range(1, 6)] + [(2, n) for n in range(1, 6)]


def test_text_with_a_few_numbered_lines_reads_as_before() -> None:
    for text in (
        # A list and a schedule: numbered lines, but not most of the lines of a page.
        "Jane: We have three rules.\n1 Be kind.\n2 Be on time.\n3 Be brief.\n"
        "Jane: That is all.\nJohn: Thanks, that was clear.\nJane: You are welcome.\n"
        "John: See you then.\nJane: Bye for now.\n",
        "Agenda for the day\n9 coffee\n10 talks\n11 lunch\nThen we go home.\nAll welcome.\n",
        # Numbers that do not count up.
        "5 apples\n3 pears\n9 plums\n",
    ):
        doc = parse_transcript("t.txt", text)
        assert doc.turns == parse_text("t.txt", text).turns
        assert doc.page_lines == ()
