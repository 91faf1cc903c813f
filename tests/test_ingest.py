"""Speaker turns of both seed layouts, and small synthetic cases, with exact offsets."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.errors import IngestError
from qa.ingest import parse_transcript, read_transcript
from qa.ingest.text import parse_turns

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def turns_of(name: str) -> list[tuple[str | None, str]]:
    """(label as written, text) per turn."""
    doc = read_transcript(SEEDS / name, SEEDS)
    return [(t.label, doc.text[t.start : t.end]) for t in doc.turns]


def test_aliases_of_one_person_resolve_to_one_display_name() -> None:
    doc = read_transcript(SEEDS / "000_c8b093dbc246d9b3.txt", SEEDS)
    names = {(t.label, t.speaker) for t in doc.turns if t.speaker}
    assert names == {("Musk", "Elon Musk"), ("Elon Musk", "Elon Musk"), ("Mark Penn", "Mark Penn")}


def test_labels_on_their_own_line_and_mid_line() -> None:
    turns = turns_of("000_c8b093dbc246d9b3.txt")
    assert turns[0][0] is None and turns[0][1].startswith("Elon Musk's latest interview")
    assert turns[1][0] == "Mark Penn" and turns[1][1].startswith("Chairman of Stagwell")
    assert turns[2] == ("Musk", "Thank you. Clearly, you have good taste.")
    # `... in five years Musk:` ends Mark Penn's turn mid-line and starts Musk's.
    i = next(i for i, (_, t) in enumerate(turns) if t.startswith("We conducted a poll"))
    assert turns[i][0] == "Mark Penn" and turns[i][1].endswith("in five years")
    assert turns[i + 1] == ("Musk", "This is a huge difference.")
    # `... fix it? Elon Musk:` likewise, and the longer label wins over `Musk:`.
    j = next(i for i, (_, t) in enumerate(turns) if t.startswith("Are you referring to content"))
    assert turns[j][0] == "Elon Musk" and turns[j - 1][1].endswith(
        "What do you think we need to fix it?"
    )


def test_paragraph_labels_and_headings() -> None:
    turns = turns_of("003_aef95c100974d035.txt")
    assert turns[0][0] is None and turns[0][1].startswith("Key points:")
    assert turns[1] == (
        None,
        "01. Optimus Robot: The Path to Large – scale Production with Costs Reduced to $20,000",
    )
    assert turns[2][0] == "Ron Baron" and turns[2][1].startswith("The prices of robots")
    assert turns[3][0] == "Elon Musk" and turns[3][1].startswith("My rough estimate")
    # An unlabelled paragraph continues the current speaker.
    assert "In terms of cost improvement" in turns[3][1]
    assert {s for s, _ in turns} == {None, "Ron Baron", "Elon Musk"}


@pytest.mark.parametrize("name", ["000_c8b093dbc246d9b3.txt", "003_aef95c100974d035.txt"])
def test_turns_are_exact_ordered_and_disjoint(name: str) -> None:
    doc = read_transcript(SEEDS / name, SEEDS)
    previous_end = 0
    for t in doc.turns:
        content = doc.text[t.start : t.end]
        assert content == content.strip() and content
        assert t.start >= previous_end
        previous_end = t.end


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Alice:\nHello there.\nBob:\nHi.\n", [("Alice", "Hello there."), ("Bob", "Hi.")]),
        (
            "Alice: Hello.\nBob: Hi.\nAlice: Bye.\nBob: Ok.",
            [("Alice", "Hello."), ("Bob", "Hi."), ("Alice", "Bye."), ("Bob", "Ok.")],
        ),
        (
            "Intro text.\nAlice: One.\nBob:\nx\nAlice: Two Bob:\nThree.",
            [
                (None, "Intro text."),
                ("Alice", "One."),
                ("Bob", "x"),
                ("Alice", "Two"),
                ("Bob", "Three."),
            ],
        ),
        # A label seen once, mid-paragraph, is prose: only known speakers split a line.
        ("Alice:\nsaid Carol: hi", [("Alice", "said Carol: hi")]),
        ("Key points:\nstuff\nAlice:\nx", [(None, "Key points:\nstuff"), ("Alice", "x")]),
        (
            "Note: a one-off prose line.\nAlice:\nx",
            [(None, "Note: a one-off prose line."), ("Alice", "x")],
        ),
        (
            "Alice:\nx\n01. A Heading: Here\nAlice:\ny",
            [("Alice", "x"), (None, "01. A Heading: Here"), ("Alice", "y")],
        ),
        ("no labels at all", [(None, "no labels at all")]),
    ],
)
def test_synthetic_layouts(text: str, expected: list[tuple[str | None, str]]) -> None:
    assert [(t.speaker, text[t.start : t.end]) for t in parse_turns(text)] == expected


@pytest.mark.parametrize("text", ["", "   \n\t", "Alice:\nBob:\n"])
def test_empty_transcript_is_an_error(text: str) -> None:
    with pytest.raises(IngestError):
        parse_transcript("x.txt", text)


def test_invalid_utf8_names_the_byte(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Alice:\nok \xff here")
    with pytest.raises(IngestError, match="byte offset 10"):
        read_transcript(bad, tmp_path)
