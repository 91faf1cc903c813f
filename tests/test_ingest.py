"""Speaker turns of both seed layouts, and small synthetic cases, with exact offsets."""

from __future__ import annotations

import hashlib
import itertools
import re
from pathlib import Path

import pytest

from qa.errors import IngestError
from qa.ingest import (
    doc_id_for,
    list_sources,
    parse_transcript,
    read_source_text,
    read_transcript,
)
from qa.ingest.text import parse_turns
from qa.models import Transcript, Turn

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
PENN = "000_c8b093dbc246d9b3.txt"  # labels alone on their line, and mid-line
BARON = "003_aef95c100974d035.txt"  # labels opening paragraphs, numbered headings
SEED_NAMES = [PENN, BARON]


def load(name: str) -> Transcript:
    return read_transcript(SEEDS / name, SEEDS)


def turns_of(name: str) -> list[tuple[str | None, str]]:
    doc = load(name)
    return [(t.label or t.speaker, doc.text[t.start : t.end]) for t in doc.turns]


def turn_with(doc: Transcript, snippet: str) -> tuple[int, Turn]:
    found = [(i, t) for i, t in enumerate(doc.turns) if snippet in doc.text[t.start : t.end]]
    assert len(found) == 1, f"{snippet!r} is in {len(found)} turns"
    return found[0]


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def assert_well_formed(text: str, turns: list[Turn]) -> None:
    """Exact, trimmed, ordered, disjoint turns; between them only whitespace and the labels."""
    covered = 0
    for t in turns:
        assert 0 <= t.start < t.end <= len(text)
        content = text[t.start : t.end]
        assert content == content.strip(), content
        gap_end = t.start
        if t.speaker is None:
            assert t.label_start is None
        else:
            assert t.label_start is not None and covered <= t.label_start < t.start
            # The label is excluded from the content: `Name:` (`Name.` in a hearing), whitespace.
            assert re.fullmatch(
                r"(?:>>+[ \t]*)?" + re.escape(t.label or t.speaker) + r"[ \t]*[:.]\s*",
                text[t.label_start : t.start],
            )
            gap_end = t.label_start
        assert not text[covered:gap_end].strip(), f"text lost before {t}"
        covered = t.end
    assert not text[covered:].strip(), "text lost at the end"


# -- the seeds, as a reader sees them -------------------------------------------------------


def test_labels_on_their_own_line_and_mid_line() -> None:
    turns = turns_of(PENN)
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


def test_mid_line_label_offsets() -> None:
    doc = load(PENN)
    i, musk = turn_with(doc, "This is a huge difference.")
    penn = doc.turns[i - 1]
    assert (penn.label or penn.speaker, musk.label or musk.speaker) == ("Mark Penn", "Musk")
    assert doc.text[musk.start : musk.end] == "This is a huge difference."
    assert musk.label_start is not None
    assert doc.text[musk.label_start : musk.label_start + 5] == "Musk:"
    # The label sits at the end of line 42, after Mark Penn's words on the same line.
    assert line_of(doc.text, musk.label_start) == 42 == line_of(doc.text, penn.end - 1)
    assert line_of(doc.text, musk.start) == 43
    assert doc.text[penn.start : penn.end].endswith(
        "87% expect AI to change their lives in five years"
    )
    assert doc.text[penn.end : musk.label_start] == " "


@pytest.mark.parametrize(
    ("name", "snippet", "speaker", "line"),
    [
        # The preamble (title, summary, highlights) is nobody's speech.
        (PENN, "Here are the highlights of the interview:", None, 4),
        (PENN, "It drove itself, you didn't need to intervene.", "Musk", 21),
        (PENN, "Yes, it's already up and running.", "Musk", 36),
        (PENN, "Okay, what will it do for people?", "Mark Penn", 45),
        # A paragraph without a label continues the speaker before it.
        (PENN, "So the only way to supplement this is to use synthetic data", "Musk", 32),
        (PENN, "I think we will be able to send the first rudimentary spacecraft", "Elon Musk", 68),
        # `Musk: That's right, ...`: a label opening a paragraph in the other layout's file.
        (PENN, "That's right, we have accumulated a large number of laws", "Musk", 90),
        (PENN, "Are you referring to content on the internet", "Elon Musk", 106),
        (PENN, "I think that definitely perfects the cycle of technology", "Mark Penn", 114),
        (PENN, "It's a bit like retirement;", "Elon Musk", 115),
        (PENN, "I have been closely connected for many years", "Mark Penn", 118),
        (PENN, "I want to encourage people to remain optimistic", "Elon Musk", 128),
        (BARON, "Key points:", None, 1),
        (BARON, "The following is a selected version of this dialogue:", None, 9),
        (BARON, "01. Optimus Robot: The Path to Large", None, 10),
        (BARON, "The prices of robots used in industrial production", "Ron Baron", 11),
        (BARON, "So, each robot has a total of about 100 actuators.", "Elon Musk", 16),
        (BARON, "If someone wants to buy my house", "Ron Baron", 19),
        (BARON, "Imagine a world where everyone can get the services", "Elon Musk", 21),
        (BARON, "I thought its value was about $42 billion", "Ron Baron", 30),
        (BARON, "Then, you launched Grok", "Ron Baron", 33),
        (BARON, "06. The Breakthrough of Grok 5", None, 45),
    ],
)
def test_known_turns(name: str, snippet: str, speaker: str | None, line: int) -> None:
    doc = load(name)
    _, turn = turn_with(doc, snippet)
    assert (turn.label or turn.speaker) == speaker
    at = doc.text.index(snippet)
    assert turn.start <= at and at + len(snippet) <= turn.end
    assert line_of(doc.text, at) == line


def test_paragraph_labels_and_headings() -> None:
    turns = turns_of(BARON)
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


def test_every_numbered_heading_is_a_speakerless_turn_of_its_own() -> None:
    doc = load(BARON)
    headings = [m for m in re.finditer(r"^\d\d\. [^\n]*", doc.text, re.MULTILINE)]
    assert len(headings) == 6
    for m in headings:
        _, turn = turn_with(doc, m.group(0))
        assert turn.speaker is None and turn.start == m.start()
    # The last heading runs into the truncated ending: still nobody's speech.
    assert doc.turns[-1].speaker is None and doc.turns[-1].end == len(doc.text.rstrip())


def test_speakers_and_preamble() -> None:
    penn = load(PENN)
    assert {t.label or t.speaker for t in penn.turns} == {None, "Mark Penn", "Musk", "Elon Musk"}
    assert [t.speaker for t in penn.turns].count(None) == 1
    first = penn.turns[0]
    assert first.speaker is None and first.start == 0
    assert penn.text[first.start : first.end].endswith("Here is the full text of the interview:")
    # Labels alternate: nobody answers themselves.
    named = [t.label or t.speaker for t in penn.turns[1:]]
    assert all(("Penn" in a) != ("Penn" in b) for a, b in itertools.pairwise(named))
    # The file ends mid-sentence without a newline; the last turn reaches its last character.
    assert penn.turns[-1].end == len(penn.text)
    assert penn.text[penn.turns[-1].start : penn.turns[-1].end].endswith("Thank you")


@pytest.mark.parametrize("name", SEED_NAMES)
def test_turns_are_exact_ordered_and_disjoint(name: str) -> None:
    doc = load(name)
    assert doc.text == (SEEDS / name).read_text(encoding="utf-8")
    previous_end = 0
    for t in doc.turns:
        content = doc.text[t.start : t.end]
        assert content == content.strip() and content
        assert t.start >= previous_end
        previous_end = t.end
    assert_well_formed(doc.text, list(doc.turns))


# -- small synthetic cases -----------------------------------------------------------------

SYNTHETIC = {
    "own-line": ("Alice:\nHello there.\nBob:\nHi.\n", [("Alice", "Hello there."), ("Bob", "Hi.")]),
    "own-line-crlf": ("Alice:\r\nHello.\r\nBob:\r\nHi.\r\n", [("Alice", "Hello."), ("Bob", "Hi.")]),
    "own-line-preamble": (
        "A Title\nSome summary.\n\nAlice:\nQ?\nBob:\nA.",
        [(None, "A Title\nSome summary."), ("Alice", "Q?"), ("Bob", "A.")],
    ),
    "paragraph-start": (
        "Alice: Hello.\nBob: Hi.\nAlice: Bye.\nBob: Ok.",
        [("Alice", "Hello."), ("Bob", "Hi."), ("Alice", "Bye."), ("Bob", "Ok.")],
    ),
    "paragraph-start-multiword": (
        "Ron Baron: Why?\nElon Musk: Because.\nMore of it.\nRon Baron: Ok.\nElon Musk: Good.",
        [
            ("Ron Baron", "Why?"),
            ("Elon Musk", "Because.\nMore of it."),
            ("Ron Baron", "Ok."),
            ("Elon Musk", "Good."),
        ],
    ),
    "mixed-and-mid-line": (
        "Intro text.\nAlice: One.\nBob:\nx\nAlice: Two Bob:\nThree.",
        [
            (None, "Intro text."),
            ("Alice", "One."),
            ("Bob", "x"),
            ("Alice", "Two"),
            ("Bob", "Three."),
        ],
    ),
    "mid-line-longest-label-wins": (
        "Penn:\nHi.\nMusk:\nYo.\nPenn:\nAnd? Elon Musk:\nYes.\nElon Musk:\nMore.",
        [
            ("Penn", "Hi."),
            ("Musk", "Yo."),
            ("Penn", "And?"),
            ("Elon Musk", "Yes."),
            ("Elon Musk", "More."),
        ],
    ),
    # A label seen once, mid-paragraph, is prose: only known speakers split a line.
    "unknown-mid-line-name": ("Alice:\nsaid Carol: hi", [("Alice", "said Carol: hi")]),
    "lowercase-key-points": (
        "Key points:\nstuff\nAlice:\nx",
        [(None, "Key points:\nstuff"), ("Alice", "x")],
    ),
    "one-off-note-before": (
        "Note: a one-off prose line.\nAlice:\nx",
        [(None, "Note: a one-off prose line."), ("Alice", "x")],
    ),
    "one-off-note-inside-turn": (
        "Alice: Q?\nBob: A.\nNote: prose here.\nAlice: Q2?\nBob: A2.",
        [("Alice", "Q?"), ("Bob", "A.\nNote: prose here."), ("Alice", "Q2?"), ("Bob", "A2.")],
    ),
    "times-and-ratios-are-not-labels": (
        "Alice:\nMeet at 10:30, ratio 3:1.\nBob:\nOk.",
        [("Alice", "Meet at 10:30, ratio 3:1."), ("Bob", "Ok.")],
    ),
    "numbered-heading": (
        "Alice:\nx\n01. A Heading: Here\nAlice:\ny",
        [("Alice", "x"), (None, "01. A Heading: Here"), ("Alice", "y")],
    ),
    "markdown-heading": (
        "Alice: Q?\nBob: A.\n# Part Two\nAlice: Q2?\nBob: A2.",
        [("Alice", "Q?"), ("Bob", "A."), (None, "# Part Two"), ("Alice", "Q2?"), ("Bob", "A2.")],
    ),
    # A numbered line ending like a sentence is a list item, not a heading.
    "numbered-sentence-is-speech": (
        "Alice:\nSteps follow\n1. Do this first.\nBob:\nOk.",
        [("Alice", "Steps follow\n1. Do this first."), ("Bob", "Ok.")],
    ),
    # A paragraph label used once (and not alone on its line) could be prose: `Note: ...`.
    "paragraph-label-used-once": (
        "Alice: Q?\nBob: A.\nAlice: Q2?",
        [("Alice", "Q?\nBob: A."), ("Alice", "Q2?")],
    ),
    "no-labels": ("no labels at all", [(None, "no labels at all")]),
    # Diarised and research transcripts number their speakers; names are in any script.
    "numbered-speakers": (
        "Speaker 1: Why?\nInterviewer 2: Because.\nSpeaker 1: Ok.\nInterviewer 2: Yes.",
        [
            ("Speaker 1", "Why?"),
            ("Interviewer 2", "Because."),
            ("Speaker 1", "Ok."),
            ("Interviewer 2", "Yes."),
        ],
    ),
    "particles-any-script-five-words": (
        "Maria de la Cruz: Why?\nSøren Ås: Because.\nÉmile Zola: Ok.\n"
        "AIR FORCE ONE FLIGHT CREW: Sit down.\nMaria de la Cruz: Fine.\nSøren Ås: Yes.\n"
        "Émile Zola: No.",
        [
            ("Maria de la Cruz", "Why?"),
            ("Søren Ås", "Because."),
            ("Émile Zola", "Ok."),
            ("AIR FORCE ONE FLIGHT CREW", "Sit down."),
            ("Maria de la Cruz", "Fine."),
            ("Søren Ås", "Yes."),
            ("Émile Zola", "No."),
        ],
    ),
    "numbered-speaker-once": (
        "Speaker 1: Hi.\nSpeaker 2: Hello.\nSpeaker 1: Rent?\nSpeaker 2: High.\n"
        "Speaker 3: Yes, what about rent?\nSpeaker 1: Ok.",
        [
            ("Speaker 1", "Hi."),
            ("Speaker 2", "Hello."),
            ("Speaker 1", "Rent?"),
            ("Speaker 2", "High."),
            ("Speaker 3", "Yes, what about rent?"),
            ("Speaker 1", "Ok."),
        ],
    ),
    # …but a numbered label used once is a heading or a list, not a speaker.
    "numbered-label-once-is-text": (
        "Alice: Q?\nBob: A.\nPart 2:\nSTEP 1: mix.\nAlice: Q2?\nBob: A2.",
        [("Alice", "Q?"), ("Bob", "A.\nPart 2:\nSTEP 1: mix."), ("Alice", "Q2?"), ("Bob", "A2.")],
    ),
    # Broadcast transcripts: a role after the name at a speaker's first turn.
    "broadcast-roles": (
        "STEVE INSKEEP, HOST:\n\nGood morning.\n\nJANE DOE, CNN CORRESPONDENT: The road is shut."
        "\n\nINSKEEP: Why?\n\nDOE: Floods.",
        [
            ("STEVE INSKEEP, HOST", "Good morning."),
            ("JANE DOE, CNN CORRESPONDENT", "The road is shut."),
            ("INSKEEP", "Why?"),
            ("DOE", "Floods."),
        ],
    ),
    # …but a line opening with a word, a comma and capitals is prose unless all of it is upper case.
    "comma-then-capitals-is-prose": (
        "Alice: Q?\nBob: A.\nHowever, THE PRESIDENT: said no.\nMeanwhile, Paris: rain.\n"
        "Alice: Q2?\nBob: A2.",
        [
            ("Alice", "Q?"),
            ("Bob", "A.\nHowever, THE PRESIDENT: said no.\nMeanwhile, Paris: rain."),
            ("Alice", "Q2?"),
            ("Bob", "A2."),
        ],
    ),
}


@pytest.mark.parametrize(("text", "expected"), SYNTHETIC.values(), ids=SYNTHETIC.keys())
def test_synthetic_layouts(text: str, expected: list[tuple[str | None, str]]) -> None:
    turns = parse_turns(text)
    assert [(t.label or t.speaker, text[t.start : t.end]) for t in turns] == expected
    assert_well_formed(text, turns)


def test_a_broadcast_speaker_is_one_person_by_name_with_the_role_kept_for_citations() -> None:
    text = (
        "STEVE INSKEEP, HOST:\n\nGood morning.\n\nJOHN BURNETT, BYLINE: Water.\n\n"
        "INSKEEP: Thanks.\n\nBURNETT: Sure."
    )
    doc = parse_transcript("npr.txt", text)
    assert [(t.speaker, t.label) for t in doc.turns] == [
        ("STEVE INSKEEP", "STEVE INSKEEP, HOST"),
        ("JOHN BURNETT", "JOHN BURNETT, BYLINE"),
        ("STEVE INSKEEP", "INSKEEP"),
        ("JOHN BURNETT", "BURNETT"),
    ]


@pytest.mark.parametrize(
    "line",
    ["WASHINGTON, D.C.: The city was quiet.", "NOTE, HOWEVER: this.", "However, NASA:"],
)
def test_a_comma_before_capitals_is_prose_unless_the_speaker_speaks_again(line: str) -> None:
    text = f"MR. SMITH: Hello.\nMS. JONES: Hi.\n{line}\nMR. SMITH: Bye.\n"
    doc = parse_transcript("x.txt", text)
    assert [t.speaker for t in doc.turns] == ["MR. SMITH", "MS. JONES", "MR. SMITH"]


@pytest.mark.parametrize("text", ["", "   \n\t", "Alice:\nBob:\n"])
def test_empty_transcript_is_an_error(text: str) -> None:
    with pytest.raises(IngestError):
        parse_transcript("x.txt", text)


# -- files ---------------------------------------------------------------------------------


def test_invalid_utf8_names_the_byte(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"Alice:\nok \xff here")
    with pytest.raises(IngestError, match="byte offset 10"):
        read_transcript(bad, tmp_path)


def test_transcript_identity(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "a.txt"
    path.write_text("Alice:\nHi “there” – ok.\n", encoding="utf-8")
    doc = read_transcript(path, tmp_path)
    assert doc.doc_id == "sub/a.txt" == doc_id_for(path, tmp_path)
    assert doc.text == read_source_text(path) == path.read_text(encoding="utf-8")
    assert doc.sha256 == hashlib.sha256(doc.text.encode("utf-8")).hexdigest()


def test_list_sources_is_sorted_and_skips_hidden_and_other_files(tmp_path: Path) -> None:
    # .md and .pdf are transcript formats now; README/SOURCE notes and other file types are not.
    for rel in ["b.txt", "a.TXT", "sub/c.txt", ".hidden.txt", ".git/d.txt", "SOURCE.md", "x.png"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("Alice:\nx\n", encoding="utf-8")
    assert [doc_id_for(p, tmp_path) for p in list_sources(tmp_path)] == [
        "a.TXT",
        "b.txt",
        "sub/c.txt",
    ]


def test_missing_source_folder(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="source folder not found"):
        list_sources(tmp_path / "nope")


HEARING = (
    "[Senate Hearing 117-493]\n[From the U.S. Government Publishing Office]\n\n"
    "                   RICHARD J. DURBIN, Illinois, Chair\n\n"
    "    Chairman Durbin. Good morning. This hearing of the Senate\n"
    "Judiciary Committee will come to order.\n"
    "    Senator Grassley. Thank you, Mr. Chairman. Judge Garland, welcome.\n"
    "    Chairman Durbin. Senator Padilla.\n"
    "    Senator Padilla. Judge, how will you handle voting rights cases?\n"
    "    Judge Garland. Voting is the cornerstone of our democracy. The\n"
    "Civil Rights Division will get the resources it needs.\n"
    "    Senator Grassley. Will you protect whistleblowers?\n"
    "    Judge Garland. Yes, Senator.\n"
)


@pytest.mark.parametrize("indent", ["    ", ""], ids=["text", "pdf-without-indentation"])
def test_hearing_labels_end_with_a_full_stop(indent: str) -> None:
    doc = parse_transcript("hearing.txt", HEARING.replace("    ", indent))
    assert_well_formed(doc.text, list(doc.turns))
    said = [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns]
    assert said[0][0] is None and said[0][1].startswith("[Senate Hearing")
    assert [s for s, _ in said[1:]] == [
        "Chairman Durbin",
        "Senator Grassley",
        "Chairman Durbin",
        "Senator Padilla",  # speaks once, but shares a recurring speaker's title
        "Judge Garland",
        "Senator Grassley",
        "Judge Garland",
    ]
    assert said[1][1] == (
        "Good morning. This hearing of the Senate\nJudiciary Committee will come to order."
    )
    assert said[-1][1] == "Yes, Senator."


def test_congressional_record_labels_stop_at_the_name() -> None:
    text = (
        "  Mr. LEE. Mr. President, I rise to speak about the bill.\n"
        "  The PRESIDING OFFICER. The Senator from Utah.\n"
        "  Mr. LEE. I ask unanimous consent.\n"
        "  Mr. SCHUMER. Reserving the right to object.\n"
    )
    doc = parse_transcript("record.txt", text)
    assert [(t.speaker, doc.text[t.start : t.end][:16]) for t in doc.turns] == [
        ("Mr. LEE", "Mr. President, I"),
        ("The PRESIDING OFFICER", "The Senator from"),
        ("Mr. LEE", "I ask unanimous "),
        ("Mr. SCHUMER", "Reserving the ri"),  # once, with an abbreviated title
    ]


def test_house_record_labels_with_a_state_an_office_and_who_presides() -> None:
    text = (
        "  Mr. McGOVERN. Madam Speaker, I yield myself such time as I may consume.\n"
        "  Mr. COLE. I thank the gentleman for yielding.\n"
        "  Mr. SMITH of Texas. Mr. Speaker, this bill is wrong and I oppose it.\n"
        "  Mr. McGOVERN. I yield back.\n"
        "  The SPEAKER pro tempore. The question is on the resolution.\n"
        "  The PRESIDING OFFICER (Ms. Rosen). The clerk will call the roll.\n"
    )
    doc = parse_transcript("record.txt", text)
    assert_well_formed(doc.text, list(doc.turns))
    assert [(t.speaker, t.label, doc.text[t.start : t.end][:12]) for t in doc.turns] == [
        ("Mr. McGOVERN", "Mr. McGOVERN", "Madam Speake"),
        ("Mr. COLE", "Mr. COLE", "I thank the "),
        ("Mr. SMITH of Texas", "Mr. SMITH of Texas", "Mr. Speaker,"),
        ("Mr. McGOVERN", "Mr. McGOVERN", "I yield back"),
        ("The SPEAKER pro tempore", "The SPEAKER pro tempore", "The question"),
        ("The PRESIDING OFFICER", "The PRESIDING OFFICER (Ms. Rosen)", "The clerk wi"),
    ]


def test_a_witness_who_speaks_once_keeps_their_words() -> None:
    text = "    Chairman Durbin. Please rise.\n    Judge Garland. I do.\n    Chairman Durbin. Be seated.\n"
    doc = parse_transcript("oath.txt", text)
    assert [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns] == [
        ("Chairman Durbin", "Please rise."),
        ("Judge Garland", "I do."),
        ("Chairman Durbin", "Be seated."),
    ]


@pytest.mark.parametrize(
    "text",
    [
        # Hard-wrapped prose whose lines open with a name and a full stop.
        "He clerked for Justice Stevens on the\nSupreme Court. He also clerked for Judge Boudin.\n"
        "She clerked for\nJustice John Paul Stevens. In 2016, she won a prize.\nHe taught at\n"
        "Supreme Court. His casebooks are read widely.\nShe studied at\n"
        "Justice John Paul Stevens. She received her degree.\n",
        # A bibliography: entries open paragraphs, and an author's follow each other.
        "Clean Water Action. Plastic straws, 2020.\n\n"
        "Earth Negotiations Bulletin. Summary report, 2019.\n\n"
        "Earth Negotiations Bulletin. Daily report, 2022.\n\n"
        "Environmental Protection Agency. Federal strategy, 2019.\n\n"
        "Environmental Protection Agency. Our current understanding, 2021.\n\n"
        "Finnish Food Authority. Guidance, 2020.\n",
        # An indented block of prose, wrapped: every line is indented alike.
        "    We expanded the Homeowner\n    Assistance Fund. As a result, our filings fell.\n"
        "    Help went to the\n    Inflation Reduction Act. We raised support for you.\n"
        "    More went to the\n    Assistance Fund. I thank the staff.\n",
        # A reference list, entries unsorted, years in parentheses.
        "World Bank. (2019). Our report.\n\nClean Water Action. (n.d.). Your guide.\n\n"
        "World Bank. (2021). We measure.\n\nToxic-Free Future. (2020). My study.\n\n"
        "World Bank. (2022). Our data.\n",
        # An outline, and a digest of datelines: third-person prose.
        "    I. Introduction. We describe the study.\n    II. Methods. We sampled farms.\n"
        "    I. Introduction. Again.\n    III. Results. Yields rose.\n",
        "New York. The mayor announced a budget.\n\nLos Angeles. Fires spread overnight.\n\n"
        "New York. Subway ridership rose in May.\n\nLos Angeles. The port reopened.\n",
        # A guest list: names with initials and titles, each opening a paragraph.
        "The Honorable Stephen K. Benjamin, Senior Advisor\n\n"
        "The Honorable Dr. Jill Biden, First Lady\n\nThe Honorable Dr. Ruth Ann Minner\n\n"
        "The Honorable Antony J. Blinken, Secretary of State\n\n"
        "The Honorable Dr. Ashish Jha, Coordinator\n",
    ],
    ids=[
        "wrapped-prose",
        "bibliography",
        "indented-prose",
        "references",
        "outline",
        "datelines",
        "guest-list",
    ],
)
def test_names_with_a_full_stop_in_prose_are_not_labels(text: str) -> None:
    doc = parse_transcript("prose.txt", text)
    assert {t.speaker for t in doc.turns} == {None}


def test_full_stop_labels_never_override_colon_labels() -> None:
    text = (
        "Alice: Hi.\n    Mr. Smith. He came.\nBob: Hello.\n    Mr. Smith. Again.\nAlice: Bye.\n"
        "Bob: Yes.\n"
    )
    doc = parse_transcript("x.txt", text)
    assert [t.speaker for t in doc.turns] == ["Alice", "Bob", "Alice", "Bob"]


def test_broadcast_caption_marks_open_labels() -> None:
    text = (
        ">> JUDY WOODRUFF: Good evening. We begin with the storm.\n"
        ">> AMNA NAWAZ: Thanks, Judy. The storm made landfall at noon.\n"
        ">>JUDY WOODRUFF: How many homes lost power?\n"
        ">> About two hundred thousand, the utility says.\n"
        ">> JUDY WOODRUFF: Thank you.\n"
    )
    doc = parse_transcript("news.txt", text)
    assert [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns] == [
        ("JUDY WOODRUFF", "Good evening. We begin with the storm."),
        ("AMNA NAWAZ", "Thanks, Judy. The storm made landfall at noon."),
        ("JUDY WOODRUFF", "How many homes lost power?"),
        (None, "About two hundred thousand, the utility says."),  # `>>` alone: someone unnamed
        ("JUDY WOODRUFF", "Thank you."),
    ]


def test_a_stray_colon_label_does_not_hide_a_hearing() -> None:
    text = (
        "    Chairman Durbin. Please rise, we begin.\n    Judge Garland. I do.\n"
        "MODERATOR: The witness is sworn.\n"
        "    Chairman Durbin. Be seated, you may.\n    Senator Grassley. I have a question for you.\n"
    )
    doc = parse_transcript("x.txt", text)
    assert [t.speaker for t in doc.turns] == [
        "Chairman Durbin",
        "Judge Garland",
        "MODERATOR",  # and the colon label keeps its own turn
        "Chairman Durbin",
        "Senator Grassley",
    ]


def test_capitalised_name_lines_are_labels_in_a_conversation() -> None:
    text = (
        "INTERVIEWER\nWhere did you grow up?\n\nMS. OKAFOR\nIn Kumasi, with my grandmother.\n\n"
        "INTERVIEWER\nWhat did you do there?\n\nMS. OKAFOR\nI sold cloth at the market.\n"
    )
    doc = parse_transcript("oral-history.txt", text)
    assert [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns] == [
        ("INTERVIEWER", "Where did you grow up?"),
        ("MS. OKAFOR", "In Kumasi, with my grandmother."),
        ("INTERVIEWER", "What did you do there?"),
        ("MS. OKAFOR", "I sold cloth at the market."),
    ]
    # A report's headings in capitals are no speakers: third person, and not taking turns.
    report = (
        "INTRODUCTION\nThe report covers the year.\n\nMETHODS\nThe survey used farms.\n\n"
        "INTRODUCTION\nThe report again.\n\nRESULTS\nYields rose.\n"
    )
    assert {t.speaker for t in parse_transcript("report.txt", report).turns} == {None}
    # A name said once, opening a paragraph later on, is a speaker too.
    once = text + "\nINTERVIEWER\nAnd your husband?\n\nMR. OKAFOR\nI came later, you see.\n"
    assert [t.speaker for t in parse_transcript("x.txt", once).turns][-2:] == [
        "INTERVIEWER",
        "MR. OKAFOR",
    ]
    # …with a title; a capitalised line of speech in its own paragraph is no speaker.
    shout = "JANE\nWhat did she say?\n\nBOB\nShe said:\n\nNO WAY\nI was stunned.\n\nJANE\nAnd you?\n\nBOB\nI left.\n"
    assert [t.speaker for t in parse_transcript("x.txt", shout).turns] == [
        "JANE",
        "BOB",
        "JANE",
        "BOB",
    ]
    # A title line, and a shouted word inside a speech, are said once: no labels.
    screenplay = "ORAL HISTORY OF JOHN\nRecorded 1998.\n\n" + text.replace(
        "I sold cloth", "STOP\nI sold cloth"
    )
    doc = parse_transcript("oral-history.txt", screenplay)
    assert [t.speaker for t in doc.turns] == [
        None,
        "INTERVIEWER",
        "MS. OKAFOR",
        "INTERVIEWER",
        "MS. OKAFOR",
    ]
    assert doc.text[doc.turns[-1].start : doc.turns[-1].end] == "STOP\nI sold cloth at the market."
    # Song lyrics: numbered parts are no names, and the chorus alone is no conversation.
    lyrics = "VERSE 1\nI walk the line.\n\nCHORUS\nYou and I.\n\nVERSE 2\nI hold on.\n\nCHORUS\nYou and I.\n"
    assert {t.speaker for t in parse_transcript("song.txt", lyrics).turns} == {None}
