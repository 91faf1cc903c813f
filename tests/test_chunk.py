"""Chunks and sentences: inside one turn, exact source slices, right line numbers."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from qa.chunk import QUESTION_CHARS, LineIndex, chunk_transcript, split_sentences
from qa.ingest import parse_transcript, read_transcript
from qa.models import Chunk, Sentence, Transcript
from qa.settings import ChunkingSettings

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PENN = "000_c8b093dbc246d9b3.txt"
BARON = "003_aef95c100974d035.txt"
SETTINGS = [
    ChunkingSettings(size=600, overlap=120),
    ChunkingSettings(size=200, overlap=40),
    ChunkingSettings(size=80, overlap=0),
]


def load(name: str) -> Transcript:
    return read_transcript(SEEDS / name, SEEDS)


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def assert_chunking_exact(
    doc: Transcript, chunks: list[Chunk], sentences: list[Sentence], settings: ChunkingSettings
) -> None:
    text = doc.text
    for c in chunks:
        turn = doc.turns[c.turn_index]
        assert turn.start <= c.start < c.end <= turn.end, "a chunk spans two turns"
        assert c.text == text[c.start : c.end] and c.text == c.text.strip()
        assert c.speaker == turn.speaker and c.doc_id == doc.doc_id
        assert len(c.text) <= settings.size
        assert (c.line_start, c.line_end) == (line_of(text, c.start), line_of(text, c.end - 1))
    assert [c.id for c in chunks] == list(range(chunks[0].id, chunks[0].id + len(chunks)))
    for s in sentences:
        owner = chunks[s.chunk_id - chunks[0].id]
        turn = doc.turns[owner.turn_index]
        assert turn.start <= s.start < s.end <= turn.end, "a sentence spans two turns"
        assert text[s.start : s.end] == text[s.start : s.end].strip()
        assert owner.start <= s.start < owner.end, "a sentence's chunk must hold its start"
        assert (s.line_start, s.line_end) == (line_of(text, s.start), line_of(text, s.end - 1))
    starts = [s.start for s in sentences]
    assert all(a.end <= b.start for a, b in itertools.pairwise(sentences))
    assert starts == sorted(starts)
    # Nothing a speaker said is lost: every non-space character is in a chunk and a sentence.
    for ti, turn in enumerate(doc.turns):
        in_chunks = set[int]()
        for c in chunks:
            if c.turn_index == ti:
                in_chunks.update(range(c.start, c.end))
        in_sentences = set[int]()
        for s in sentences:
            if turn.start <= s.start < turn.end:
                in_sentences.update(range(s.start, s.end))
        for i in range(turn.start, turn.end):
            if not text[i].isspace():
                assert i in in_chunks, f"offset {i} is in no chunk"
                assert i in in_sentences, f"offset {i} is in no sentence"


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"{s.size}-{s.overlap}")
@pytest.mark.parametrize("name", [PENN, BARON])
def test_seed_chunks_and_sentences_are_exact(name: str, settings: ChunkingSettings) -> None:
    doc = load(name)
    chunks, sentences = chunk_transcript(doc, settings, first_id=7)
    assert chunks[0].id == 7
    assert_chunking_exact(doc, chunks, sentences, settings)


@pytest.mark.parametrize(
    ("name", "sentence", "speaker"),
    [
        (PENN, "This is a huge difference.", "Musk"),
        (PENN, "Yes, it's already up and running.", "Musk"),
        (PENN, "Its hands have 22 degrees of freedom and look and feel like human hands.", "Musk"),
        (PENN, "My wish is to maximize the time users spend without regrets.", "Elon Musk"),
        (BARON, "So, each robot has a total of about 100 actuators.", "Elon Musk"),
        (
            BARON,
            "If someone wants to buy my house, can they just come in and live in it?",
            "Ron Baron",
        ),
        (BARON, "xAI will release Grok 5 in the first quarter of 2026.", None),
    ],
)
def test_known_sentences_are_whole_quotable_units(
    name: str, sentence: str, speaker: str | None
) -> None:
    doc = load(name)
    chunks, sentences = chunk_transcript(doc, ChunkingSettings(size=600, overlap=120))
    at = doc.text.index(sentence)
    match = [s for s in sentences if (s.start, s.end) == (at, at + len(sentence))]
    assert len(match) == 1
    chunk = chunks[match[0].chunk_id]
    # The label as written; `speaker` is the resolved display name (`Musk` → `Elon Musk`).
    assert (chunk.label or chunk.speaker) == speaker


def test_answer_chunks_carry_the_interviewers_question() -> None:
    doc = load(PENN)
    chunks, _ = chunk_transcript(doc, ChunkingSettings(size=600, overlap=120))
    diff = next(c for c in chunks if c.text == "This is a huge difference.")
    assert (diff.label or diff.speaker) == "Musk"
    assert diff.question is not None and diff.question.startswith("We conducted a poll")
    assert diff.question.endswith("in five years")
    robot = next(c for c in chunks if "22 degrees of freedom" in c.text)
    assert robot.question == "So do you think I have to wait five more years for my first robot?"
    # Every chunk of a long answer carries the same question.
    turn_chunks = [c for c in chunks if c.turn_index == robot.turn_index]
    assert {c.question for c in turn_chunks} == {robot.question}
    # The preamble answers nothing, nor does the first turn after it.
    assert all(c.question is None for c in chunks if c.turn_index in (0, 1))


def test_questions_are_the_previous_other_speakers_turn_tail() -> None:
    doc = load(BARON)
    chunks, _ = chunk_transcript(doc, ChunkingSettings(size=600, overlap=120))
    for c in chunks:
        prev = doc.turns[c.turn_index - 1] if c.turn_index else None
        if c.speaker is None or prev is None or prev.speaker is None:
            # Headings and the preamble break the chain: no question across them.
            assert c.question is None
            continue
        assert prev.speaker != c.speaker
        asked = doc.text[prev.start : prev.end]
        assert c.question == asked[-QUESTION_CHARS:]
    actuators = next(c for c in chunks if "about 100 actuators" in c.text)
    assert actuators.question == (
        "The hand design is indeed extremely complex. You mentioned that there are a total of 50 "
        "actuators in the hand and forearm. An actuator is a motor."
    )
    # A long question keeps its last QUESTION_CHARS characters: the question comes last.
    twitter = next(
        c for c in chunks if c.text.startswith("That’s not the case. I acquired Twitter")
    )
    assert twitter.question is not None and len(twitter.question) == QUESTION_CHARS
    assert twitter.question.endswith("Did you have all these ideas in mind at that time?")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Smith went home. He slept.", ["Dr. Smith went home.", "He slept."]),
        ("It was in the U.S. Tesla is big.", ["It was in the U.S. Tesla is big."]),
        ("Really?! Yes.", ["Really?!", "Yes."]),
        ("He said “Go.” Then left.", ["He said “Go.”", "Then left."]),
        ("Wait… what?", ["Wait…", "what?"]),
        ("It costs $1.5 billion. Yes.", ["It costs $1.5 billion.", "Yes."]),
        ("Line one\nLine two", ["Line one", "Line two"]),
        ("01. Heading\nText here.", ["01. Heading", "Text here."]),
        ("e.g. this. And i.e. that.", ["e.g. this.", "And i.e. that."]),
        ("  padded.  \n", ["padded."]),
        ("No end", ["No end"]),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in split_sentences(text, 0, len(text))] == expected
    # Offsets are into the whole text, not the slice.
    wrapped = "xx " + text + " yy"
    spans = split_sentences(wrapped, 3, 3 + len(text))
    assert [wrapped[a:b] for a, b in spans] == expected


def test_line_index() -> None:
    lines = LineIndex("a\nb\n\nc")
    assert [lines.line(i) for i in range(6)] == [1, 1, 2, 2, 3, 4]
    assert lines.span(2, 4) == (2, 2)  # "b\n": the newline belongs to the line it ends
    assert lines.span(0, 6) == (1, 4)


# -- mapping splitter output back to offsets, where a phrase repeats ------------------------


def test_a_repeated_closing_sentence_is_chunked_where_it_stands() -> None:
    """`Thank you.` twice in one long turn: the last one must be chunked, not the first again."""
    long = "We " + "really " * 81 + "mean it."
    text = "Penn:\nHi.\nMusk:\nOkay. Thank you. " + long + " Thank you.\nPenn:\nBye.\n"
    doc = parse_transcript("t.txt", text)
    settings = ChunkingSettings(size=600, overlap=120)
    chunks, sentences = chunk_transcript(doc, settings)
    assert_chunking_exact(doc, chunks, sentences, settings)
    last = text.rindex("Thank you.")
    assert any(c.start == last for c in chunks)


@pytest.mark.parametrize(
    ("body", "size", "overlap"),
    [
        ("yes yes! I fine. yes!", 20, 5),
        ("so, no ok no yes. think yes. yes! yes! think ok yes. yes. so, yes! think yes.", 20, 10),
        ("ha  ha   ha ha  ha ha ha", 8, 4),  # whitespace-only splits: pieces can share a start
        ("ha " * 400, 10, 5),
        ("yes. yes. \n yes  ha think   I ha.", 10, 5),  # chunk ends must not go backwards
    ],
)
def test_repeated_phrases_map_to_a_full_cover(body: str, size: int, overlap: int) -> None:
    text = f"Alice:\n{body}\nBob:\nok\nAlice:\nx\nBob:\ny"
    doc = parse_transcript("t.txt", text)
    settings = ChunkingSettings(size=size, overlap=overlap)
    chunks, sentences = chunk_transcript(doc, settings)
    assert_chunking_exact(doc, chunks, sentences, settings)


def test_random_repetitive_turns_map_to_a_full_cover() -> None:
    rng = random.Random(20251125)
    words = ["yes", "no", "ok", "yes.", "so,", "I", "think", "yes!", "Thank you.", "", "\n", "\n\n"]
    for _ in range(150):
        body = " ".join(rng.choice(words) for _ in range(rng.randint(3, 120))).strip() or "x"
        size = rng.choice([10, 20, 30, 50, 80])
        settings = ChunkingSettings(size=size, overlap=rng.choice([0, 3, size // 3, size // 2]))
        text = f"Alice:\n{body}\nBob:\n{body}\nAlice:\nok\nBob:\nok\n"
        doc = parse_transcript("t.txt", text)
        chunks, sentences = chunk_transcript(doc, settings)
        assert_chunking_exact(doc, chunks, sentences, settings)
