"""Property tests: for arbitrary text, turns and chunks keep exact, ordered, in-bounds offsets."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.chunk import chunk_transcript
from qa.errors import IngestError
from qa.ingest import parse_transcript
from qa.ingest.text import parse_turns
from qa.segments import blank
from qa.settings import ChunkingSettings

PIECES = st.sampled_from(
    [
        "Alice:",
        "Alice: ",
        "BOB SMITH:",
        "MS. JEAN-PIERRE:",
        "Q",
        "Q ",
        "A:",
        "Elon Musk:",
        "Musk:",
        "**Sarah:**",
        "01. Heading",
        "# Title",
        "Note:",
        "\n",
        "\n\n",
        "\r\n",
        "\t",
        " ",
        "  ",
        "yes.",
        "no?",
        "wow!",
        "Thank you.",
        "U.S.",
        "Mr. Smith",
        "…",
        "“quoted”",
        "–",
        "naïve",
        "日本語",
        "emoji 🚀",
        "x" * 40,
        "word",
        "words and more words",
        ",",
        ":",
        "\u00a0",
        "\ufeff",
    ]
)
# Label-shaped leftovers, whitespace removed: `Alice:`, `**Sarah:**`, `Q`.
LABEL_ONLY = re.compile(r"(?:\**[^:]{1,60}:\**|Q|A)+")
TEXT = st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=60).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT)
def test_turns_are_ordered_disjoint_exact_and_cover_the_text(text: str) -> None:
    turns = parse_turns(text)
    covered = set()
    previous_end = 0
    for t in turns:
        assert 0 <= t.start < t.end <= len(text)
        assert t.start >= previous_end, "turns overlap or go backwards"
        previous_end = t.end
        for s, e in t.segments:
            content = text[s:e]
            assert content and content == content.strip(" \t\r\n\f\v\u00a0\ufeff")
        covered.update(range(t.start, t.end))
        if t.label_start is not None:
            covered.update(range(t.label_start, t.start))
    # Left out of every turn: blanks, and labels that no words followed (`Alice:` alone).
    left = "".join("\x00" if i in covered else ch for i, ch in enumerate(text))
    for run in left.split("\x00"):
        words = "".join(ch for ch in run if not blank(ch))
        assert not words or LABEL_ONLY.fullmatch(words), f"text lost: {run!r}"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.sampled_from([(40, 0), (60, 20), (120, 30), (600, 120)]))
def test_chunks_and_sentences_stay_inside_their_turn(text: str, size: tuple[int, int]) -> None:
    try:
        doc = parse_transcript("x.txt", text)
    except IngestError:
        return  # no transcript text at all: refused, as it should be
    chunks, sentences = chunk_transcript(doc, ChunkingSettings(size=size[0], overlap=size[1]))
    for c in chunks:
        turn = doc.turns[c.turn_index]
        assert turn.start <= c.start < c.end <= turn.end
        assert c.speaker == turn.speaker
        assert " ".join(text[s:e] for s, e in c.segments) == c.text
    for s in sentences:
        owner = chunks[s.chunk_id]
        turn = doc.turns[owner.turn_index]
        assert turn.start <= s.start < s.end <= turn.end
        assert text.count("\n", 0, s.start) + 1 == s.line_start
