"""Speaker layouts without a colon, found by their shape (qa.ingest.text, qa.ingest.markdown): a
Markdown heading per turn, a name and a dash opening a paragraph, a screenplay's marked names;
and the prose that takes the same shapes and stays prose."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa.ingest import parse_transcript, read_transcript
from qa.models import Transcript


def read(tmp_path: Path, name: str, text: str) -> Transcript:
    """A file's transcript, checked against its canonical text: every turn slices it exactly, and
    a label lies between the previous turn and its own words, never inside them."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    doc = read_transcript(path, tmp_path)
    assert doc.text == path.read_text(encoding="utf-8")
    covered = 0
    for t in doc.turns:
        words = doc.text[t.start : t.end]
        assert words and words == words.strip()
        if t.speaker is not None:
            assert t.label_start is not None and covered <= t.label_start < t.start
            assert (t.label or t.speaker) in doc.text[t.label_start : t.start]
            assert not words.startswith((t.label or t.speaker, "#", "—", "–"))
        covered = t.end
    return doc


def turns(doc: Transcript) -> list[tuple[str | None, str | None, str]]:
    """(speaker, label as written, words) of each turn."""
    return [(t.speaker, t.label, doc.text[t.start : t.end]) for t in doc.turns]


def spans(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Where each of `words` is in `text`, found in order: the spans their turns must have."""
    out, at = [], 0
    for w in words:
        start = text.index(w, at)
        out.append((start, start + len(w)))
        at = start + len(w)
    return out


def speakers(name: str, text: str) -> set[str | None]:
    return {t.speaker for t in parse_transcript(name, text).turns}


# -- a Markdown heading per turn --------------------------------------------------------------

HEADED = [
    ("John Doe", "00:00:05", "Welcome to the show. I am glad you could come."),
    ("Jane Roe", "00:00:09", "Thank you for having me.\n\nI have wanted to talk about the market."),
    ("John Doe", "00:01:02", "Where did you grow up?"),
    ("Jane Roe", "00:01:30", "In Kumasi, with my grandmother. We sold cloth."),
]


@pytest.mark.parametrize(
    ("head", "times"),
    [
        ("## {n}", False),
        ("### {n}", False),
        ("## {n} ({c})", True),
        ("### {n} [{c}]", True),
        ("## {n} · {c}", True),
    ],
    ids=["h2", "h3", "h2-parenthesised-time", "h3-bracketed-time", "h2-dot-time"],
)
@pytest.mark.parametrize("suffix", [".md", ".txt"])
def test_a_heading_per_turn_names_its_speaker(
    tmp_path: Path, head: str, times: bool, suffix: str
) -> None:
    text = "# Market Days, Episode 4\n\nRecorded in Accra in May.\n\n" + "".join(
        head.format(n=n, c=c) + "\n\n" + body + "\n\n" for n, c, body in HEADED
    )
    doc = read(tmp_path, "episode" + suffix, text)
    assert turns(doc) == [
        (None, None, "# Market Days, Episode 4\n\nRecorded in Accra in May."),
        *((n, n, body) for n, _, body in HEADED),
    ]
    assert [(t.start, t.end) for t in doc.turns[1:]] == spans(text, [b for _, _, b in HEADED])
    for t in doc.turns[1:]:
        assert doc.text[t.label_start : t.start].startswith(("## ", "### "))
    if suffix == ".md":
        assert doc.title == "Market Days, Episode 4"
    starts = [t.times[0] if t.times else None for t in doc.turns[1:]]
    assert starts == (
        [(5.0, 9.0), (9.0, 62.0), (62.0, 90.0), (90.0, None)] if times else [None] * 4
    )


def test_a_speakers_heading_is_no_title_and_sections_above_the_turns_stay_headings() -> None:
    text = (
        "## Summary\n\nWe talk about cloth.\n\n## Host\n\nWhat do you sell?\n\n## Guest\n\n"
        "I sell kente.\n\n## Host\n\nAnd your mother?\n\n## Guest\n\nShe taught me.\n"
    )
    doc = parse_transcript("2021-05-04-talk.md", text)
    assert doc.title == "Summary"
    assert [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns] == [
        (None, "## Summary\n\nWe talk about cloth."),
        ("Host", "What do you sell?"),
        ("Guest", "I sell kente."),
        ("Host", "And your mother?"),
        ("Guest", "She taught me."),
    ]
    untitled = text.replace("## Summary\n\nWe talk about cloth.\n\n", "")
    assert parse_transcript("2021-05-04-talk.md", untitled).title == "2021-05-04-talk"


ARTICLE = """# Annual Report

## Introduction

We describe our work this year, and what you told us about it.

## Background

Our programme began in 2015. I joined it in 2018.

## Key Points

- We doubled the number of markets.
- You can read the figures below.

## Q&A

Readers asked us how the programme is paid for. We answer here.

## Background

The second phase began in 2020, and we grew.
"""

PROFILE = """# A Life in Cloth

## Jane Roe

Jane Roe was born in Kumasi in 1950. "I loved the market," she says.

## Early Years

She sold cloth with her grandmother, and later with her husband, John Doe.

## John Doe

John Doe came to Accra in 1972. He met Jane Roe at the market.

## Jane Roe

Today she runs three stalls. Her daughters run two more.

## John Doe

He retired in 2010 and still visits the stalls.
"""

# A report that gives each case the same sections, in the first person.
CASES = """# Field Report

## Case One

### Background

We visited the market in May.

### Findings

Our survey found that you pay more in the rains.

## Case Two

### Background

We visited the port in June.

### Findings

I found that prices fell.
"""


# A changelog: each release has its `### Added` and `### Fixed`.
CHANGELOG = """# Changelog

## [1.2.0] - 2024-03-01

### Added

- You can now export to Markdown.

### Fixed

- We fixed the crash on empty files.

## [1.1.0] - 2024-01-15

### Added

- Your settings are saved.

### Fixed

- I fixed a typo in the help.
"""


@pytest.mark.parametrize(
    "text",
    [ARTICLE, PROFILE, CASES, CHANGELOG],
    ids=["sections", "profile", "cases", "changelog"],
)
def test_section_headings_stay_headings(text: str) -> None:
    doc = parse_transcript("article.md", text)
    assert {t.speaker for t in doc.turns} == {None}
    # Each heading opens a turn of its own, as before.
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert [doc.text[t.start : t.end].split("\n")[0] for t in doc.turns] == headings
    assert doc.title == text.splitlines()[0][2:]


def test_name_headings_among_as_many_topic_headings_are_sections() -> None:
    # The names recur and take turns, but half the headings of their level are topics.
    text = (
        "## Jane Roe\n\nI sell cloth.\n\n## Prices\n\nWe fix them weekly.\n\n"
        "## John Doe\n\nI buy it.\n\n## Suppliers\n\nOur weavers are in Bonwire.\n\n"
        "## Jane Roe\n\nYou pay in cedis.\n\n## Markets\n\nWe go to three.\n\n"
        "## John Doe\n\nI pay on Fridays.\n"
    )
    assert speakers("x.md", text) == {None}
    # One topic among them is a heading, nobody's words, as in a transcript with a section.
    fewer = text.replace("## Prices\n\n", "").replace("## Markets\n\n", "")
    doc = parse_transcript("x.md", fewer)
    assert [(t.speaker, doc.text[t.start : t.end].split("\n")[0]) for t in doc.turns] == [
        ("Jane Roe", "I sell cloth."),
        ("John Doe", "I buy it."),
        (None, "## Suppliers"),
        ("Jane Roe", "You pay in cedis."),
        ("John Doe", "I pay on Fridays."),
    ]


def test_name_headings_in_the_third_person_are_sections() -> None:
    text = "".join(
        f"## {n}\n\n{n} spoke about the market at length.\n\n"
        for n in ["Jane Roe", "John Doe", "Jane Roe", "John Doe"]
    )
    assert speakers("x.md", text) == {None}


def test_name_headings_over_colon_labels_are_sections() -> None:
    # A show's segments named after its guests; the colon labels give the turns.
    text = (
        "# Market Days\n\n## Jane Roe\n\n**Host:** Welcome, Jane. What do you sell?\n\n"
        "**Jane:** I sell kente.\n\n**Host:** Where?\n\n**Jane:** In Kumasi. You should come.\n\n"
        "## John Doe\n\n**Host:** John, you buy from Jane?\n\n**John:** I do, every week.\n\n"
        "## Jane Roe\n\n**Host:** One last word, Jane?\n\n**Jane:** Thank you for having me.\n\n"
        "## John Doe\n\n**Host:** And you, John?\n\n**John:** Thank you too.\n"
    )
    doc = parse_transcript("x.md", text)
    assert [t.speaker for t in doc.turns if doc.text.startswith("#", t.start)] == [None] * 5
    assert {t.speaker for t in doc.turns} == {None, "Host", "Jane", "John"}


# -- a name and a dash ----------------------------------------------------------------------

DASHED = [
    ("JANE ROE", " — ", "Thank you for having me."),
    ("JOHN DOE", " — ", "You are welcome. Where did you grow up?"),
    ("JANE ROE", "—", "In Kumasi, with my grandmother.\nWe sold cloth."),
    ("JOHN DOE", " — ", "And what did you do there?"),
]


@pytest.mark.parametrize("case", ["upper", "title"])
def test_a_name_and_a_dash_open_a_turn(tmp_path: Path, case: str) -> None:
    rows = [(n if case == "upper" else n.title(), d, w) for n, d, w in DASHED]
    if case == "title":
        rows = [(n, d.replace("—", "–") if d.startswith(" ") else d, w) for n, d, w in rows]
    text = "Interview, Accra, May 2021.\n\n" + "".join(n + d + w + "\n\n" for n, d, w in rows)
    doc = read(tmp_path, "interview.txt", text)
    assert turns(doc) == [
        (None, None, "Interview, Accra, May 2021."),
        *((n, n, w) for n, _, w in rows),
    ]
    assert [(t.start, t.end) for t in doc.turns[1:]] == spans(text, [w for _, _, w in rows])
    assert [t.label_start for t in doc.turns[1:]] == [
        s for s, _ in spans(text, [n for n, _, _ in rows])
    ]


def test_interview_markers_with_a_dash(tmp_path: Path) -> None:
    text = (
        "Q — Where were you that night?\n\nA — I was at home with my wife.\n\n"
        "Q — Did you call anyone?\n\nA — No. I went to bed.\n"
    )
    doc = read(tmp_path, "deposition.txt", text)
    assert turns(doc) == [
        ("Q", "Q", "Where were you that night?"),
        ("A", "A", "I was at home with my wife."),
        ("Q", "Q", "Did you call anyone?"),
        ("A", "A", "No. I went to bed."),
    ]
    # Among colon labels, a dash after `Q` is the reporter's: a question taken up after
    # cross-talk.
    briefing = (
        "THE PRESIDENT: I heard about what —\n\nQ — you hear from these folks?\n\n"
        "THE PRESIDENT: — this is like the family I grew up in.\n\nQ — and the rest?\n"
    )
    doc = parse_transcript("x.txt", briefing)
    assert [(t.speaker, doc.text[t.start : t.end][:8]) for t in doc.turns] == [
        ("THE PRESIDENT", "I heard "),
        ("Q", "— you he"),
        ("THE PRESIDENT", "— this i"),
        ("Q", "— and th"),
    ]


def test_a_few_colon_labels_keep_their_turns_among_dash_labels() -> None:
    text = "".join(n + " — " + w + "\n\n" for n, _, w in DASHED) + "MODERATOR: Thank you both.\n"
    doc = parse_transcript("x.txt", text)
    assert [t.speaker for t in doc.turns] == [
        "JANE ROE",
        "JOHN DOE",
        "JANE ROE",
        "JOHN DOE",
        "MODERATOR",
    ]


@pytest.mark.parametrize(
    "text",
    [
        # A news story's dateline, and a note.
        "PARIS — The mayor said on Monday that the city would rebuild the bridge.\n\n"
        "Note — this is a draft, and we will revise it.\n\n"
        "The work begins in May, she said. “We are ready,” said her deputy.\n",
        # A digest of datelines, in the third person.
        "PARIS — The mayor announced a budget.\n\nLONDON — Fires spread overnight.\n\n"
        "PARIS — Ridership rose in May.\n\nLONDON — The port reopened.\n",
        # Lists whose items open with a name and a dash.
        "- Jane Roe — I sell cloth.\n- John Doe — I buy it.\n- Jane Roe — You pay weekly.\n"
        "- John Doe — We agree.\n",
        "1. Jane Roe — I sell cloth.\n2. John Doe — I buy it.\n3. Jane Roe — You pay.\n"
        "4. John Doe — We agree.\n",
        # A glossary: each term once.
        "Kente — a cloth we weave in strips.\n\nAdinkra — symbols you print on cloth.\n\n"
        "Batik — wax-resist dyeing, which I learned late.\n",
        # A hard-wrapped paragraph whose lines open with a name and a dash.
        "We met the weavers of\nJane Roe — Ama and Kofi, I mean — and the buyers of\n"
        "John Doe — Kwame, you know — and then the weavers of\n"
        "Jane Roe — Ama again, as I said — and the buyers of\nJohn Doe — Kwame and our friends.\n",
        # A speech's lists and asides: the dash goes on in lower case.
        "We will do three things. First – we cut costs for you.\n\nSecond – we cut energy costs."
        "\n\nThird – we end the shutdown.\n\nAnd we will do more. Second – we must prepare for "
        "new variants.\n\nThird – we can end the shutdown of schools.\n\nAnd — and I want to "
        "thank you all.\n\nBut — but all kidding aside, we have work to do.\n\nAnd — and "
        "guess what?\n\nBut — but look, you know what is at stake.\n",
        # Speech broken off and taken up again.
        "I — I think we have to act.\n\nAnd I — I mean it, you know.\n\n"
        "I — I said it before.\n\nAnd I — I will say it again to you.\n",
        # A hyphen is no dash.
        "Jane Roe - I sell cloth.\n\nJohn Doe - I buy it.\n\nJane Roe - You pay.\n\n"
        "John Doe - We agree.\n",
    ],
    ids=[
        "dateline-and-note",
        "dateline-digest",
        "bullets",
        "numbered",
        "glossary",
        "wrapped",
        "lists-and-asides",
        "stutters",
        "hyphen",
    ],
)
def test_prose_with_dashes_stays_prose(text: str) -> None:
    assert speakers("x.txt", text) == {None}


# -- a screenplay's marked names --------------------------------------------------------------

SCREENPLAY = """INT. MARKET STALL - DAY

Jane folds cloth. John watches from the aisle.

JOHN
I told you I would come back.

MARY (ON PHONE)
You always say that.

John hangs up and stares at the cloth.

JOHN (CONT'D)
I mean it this time.

MARY (V.O.)
He never meant it.

JOHN (O.S.)
You know I do.

JANE
Who are you talking to?

JOHN
Nobody. My sister.

JANE
Your sister hates cloth.
"""


def test_a_screenplays_marks_stay_in_the_label_and_the_speaker_is_the_name(
    tmp_path: Path,
) -> None:
    doc = read(tmp_path, "scene.txt", SCREENPLAY)
    assert turns(doc) == [
        (None, None, "INT. MARKET STALL - DAY\n\nJane folds cloth. John watches from the aisle."),
        ("JOHN", "JOHN", "I told you I would come back."),
        (
            "MARY",
            "MARY (ON PHONE)",
            "You always say that.\n\nJohn hangs up and stares at the cloth.",
        ),
        ("JOHN", "JOHN (CONT'D)", "I mean it this time."),
        ("MARY", "MARY (V.O.)", "He never meant it."),
        ("JOHN", "JOHN (O.S.)", "You know I do."),
        ("JANE", "JANE", "Who are you talking to?"),
        ("JOHN", "JOHN", "Nobody. My sister."),
        ("JANE", "JANE", "Your sister hates cloth."),
    ]


def test_a_speaker_going_on_after_an_action_line_is_no_speaker_answering_himself() -> None:
    # John speaks on after every action line: as many `(CONT'D)` turns as answers.
    lines = [
        ("JOHN", "I told you I would come back."),
        ("JOHN (CONT'D)", "I mean it this time."),
        ("MARY", "You always say that."),
        ("JOHN", "Not this time."),
        ("JOHN (CONT'D)", "I brought you the cloth."),
        ("MARY", "Keep it."),
    ]
    text = "".join(f"{n}\n{w}\n\nHe looks away.\n\n" for n, w in lines)
    doc = parse_transcript("scene.txt", text)
    assert [t.label for t in doc.turns] == [n for n, _ in lines]
    assert {t.speaker for t in doc.turns} == {"JOHN", "MARY"}


@pytest.mark.parametrize(
    "text",
    [
        # A news digest whose datelines stand on their lines, with the agency.
        "WASHINGTON (AP)\nThe Senate passed the bill on Monday.\n\nNEW YORK (AP)\nStocks rose.\n\n"
        "WASHINGTON (AP)\nThe House adjourned.\n\nNEW YORK (AP)\nThe mayor resigned.\n",
        # A report's headings, marked as drafts.
        "SUMMARY (DRAFT)\nThe report covers the year.\n\nMETHODS (REVISED)\nThe survey used farms.\n\n"
        "SUMMARY (DRAFT)\nThe report again.\n\nRESULTS (REVISED)\nYields rose.\n",
    ],
    ids=["datelines", "report"],
)
def test_capitals_with_a_parenthesis_in_prose_are_no_speakers(text: str) -> None:
    assert speakers("x.txt", text) == {None}


# -- review: every turn of a dash layout's speakers ------------------------------------------


@pytest.mark.parametrize(
    "answers",
    [
        [
            "1995. I came with my mother.",
            "In Osu. We rented a room.",
            "…small. You could touch it.",
        ],
        ["yeah, I came with my mother.", "In Osu. We rented a room.", "1995, I think."],
    ],
    ids=["number-and-ellipsis", "lower-case"],
)
def test_a_dash_speakers_turn_is_a_turn_whatever_its_words_start_with(
    tmp_path: Path, answers: list[str]
) -> None:
    questions = ["When did you arrive?", "Where did you live?", "How big was it?"]
    rows = [
        row
        for q, a in zip(questions, answers, strict=True)
        for row in (("JOHN DOE", q), ("JANE ROE", a))
    ]
    text = "".join(f"{n} — {w}\n\n" for n, w in rows)
    doc = read(tmp_path, "interview.txt", text)
    assert turns(doc) == [(n, n, w) for n, w in rows]


def test_a_dash_turn_after_speech_broken_off_is_a_turn(tmp_path: Path) -> None:
    # One turn a line; a speaker cut off mid-sentence, with a dash, an ellipsis or nothing.
    rows = [
        ("JOHN DOE", "When did you arrive in Accra?"),
        ("JANE ROE", "In the spring. I came with my mother and —"),
        ("JOHN DOE", "Your mother was a trader?"),
        ("JANE ROE", "Yes. She sold cloth, and I –"),
        ("JOHN DOE", "Every day?"),
        ("JANE ROE", "Every day. You never…"),
        ("JOHN DOE", "Did you like it?"),
        ("JANE ROE", "Yes. She sold cloth, and I helped her"),
        ("JOHN DOE", "Every day?"),
        ("JANE ROE", "I loved it."),
    ]
    text = "".join(f"{n} — {w}\n" for n, w in rows)
    doc = read(tmp_path, "interview.txt", text)
    assert turns(doc) == [(n, n, w) for n, w in rows]


# -- review: a screenplay's marks, and what is no speaker -----------------------------------


def test_a_screenplays_name_with_two_marks_is_the_speaker(tmp_path: Path) -> None:
    text = SCREENPLAY.replace("JOHN (CONT'D)", "JOHN (V.O.) (CONT'D)").replace(
        "JOHN (O.S.)", "JOHN (O.S.)(CONT’D)"
    )
    doc = read(tmp_path, "scene.txt", text)
    assert [(t.speaker, t.label) for t in doc.turns if t.speaker] == [
        ("JOHN", "JOHN"),
        ("MARY", "MARY (ON PHONE)"),
        ("JOHN", "JOHN (V.O.) (CONT'D)"),
        ("MARY", "MARY (V.O.)"),
        ("JOHN", "JOHN (O.S.)(CONT’D)"),
        ("JANE", "JANE"),
        ("JOHN", "JOHN"),
        ("JANE", "JANE"),
    ]


LYRICS = """VERSE
I walked along the river
and you were by my side

CHORUS
Oh you and I, we never die
we never say goodbye

VERSE
The river turned to silver
and I was in your light

CHORUS
Oh you and I, we never die
we never say goodbye
"""


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("song.txt", LYRICS),
        (
            "song.txt",
            "CHORUS (REPEAT)\n".join(LYRICS.rsplit("CHORUS\n", 1)),
        ),
        (
            "song.md",
            "".join(
                f"## {p}\n\n{w}\n\n"
                for p, w in [
                    ("Verse", "I walked along the river, you by my side."),
                    ("Chorus", "Oh you and I, we never die."),
                    ("Verse", "The river turned, I was in your light."),
                    ("Chorus", "Oh you and I, we never die."),
                ]
            ),
        ),
        (
            "song.txt",
            "".join(
                f"{p} — {w}\n\n"
                for p, w in [
                    ("Intro", "I walked along the river, you by my side."),
                    ("Hook", "Oh you and I, we never die."),
                    ("Intro", "The river turned, I was in your light."),
                    ("Hook", "Oh you and I, we never die."),
                ]
            ),
        ),
    ],
    ids=["name-lines", "repeat-mark", "headings", "dashes"],
)
def test_a_songs_parts_are_no_speakers(name: str, text: str) -> None:
    assert speakers(name, text) == {None}


WEEKDAYS = [
    ("Monday", "I ran 5 km easy."),
    ("Tuesday", "Intervals. My legs felt heavy."),
    ("Monday", "Long run with you and the club."),
    ("Tuesday", "Rest day. We swam."),
]
LETTERS = [
    ("Dear Mary", "I got your parcel today. I wear the socks every night."),
    ("Dear John", "Your letter came on Tuesday. We miss you."),
    ("Dear Mary", "The weather has turned. I think of you every day."),
    ("Dear John", "The children ask about you. I tell them you will be home soon."),
]
STANDUP = [
    ("Alice", "I fixed the login bug and I will ship it today."),
    ("Bob", "I reviewed your pull requests."),
    ("Alice", "I am on leave, ping me if you need anything."),
    ("Bob", "We migrated the database."),
]


def _headed(rows: list[tuple[str, str]], between: str = "") -> str:
    out = "# Log\n\n"
    for i, (n, w) in enumerate(rows):
        if between and i % 2 == 0:
            out += between.format(week=i // 2 + 1)
        out += f"## {n}\n\n{w}\n\n"
    return out


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("log.md", _headed(WEEKDAYS)),
        ("log.txt", "Training log.\n\n" + "".join(f"{n} — {w}\n\n" for n, w in WEEKDAYS)),
        (
            "log.md",
            _headed(
                [
                    (f"{m} {d}", w)
                    for (m, d), (_, w) in zip(
                        [("March", "4"), ("April", "2"), ("March", "4"), ("April", "2")],
                        WEEKDAYS,
                        strict=True,
                    )
                ]
            ),
        ),
        ("letters.md", _headed(LETTERS)),
        ("log.md", _headed([(f"Day {i % 2 + 1}", w) for i, (_, w) in enumerate(WEEKDAYS)])),
        ("standup.md", _headed(STANDUP, between="**Week {week}**\n\n")),
    ],
    ids=[
        "weekday-headings",
        "weekday-dashes",
        "months",
        "letters",
        "days",
        "standup-bold",
    ],
)
def test_dates_letters_and_logs_are_no_speakers(name: str, text: str) -> None:
    assert speakers(name, text) == {None}


def test_rules_between_every_turn_and_a_months_name_keep_the_speakers() -> None:
    # A rule after each turn parts turns, not sections; `April Ryan` is a name, not a date.
    rows = [("April Ryan", w) for _, w in STANDUP[::2]] + [("Bob Doe", w) for _, w in STANDUP[1::2]]
    rows = [rows[0], rows[2], rows[1], rows[3]]
    doc = parse_transcript("x.md", "".join(f"## {n}\n\n{w}\n\n---\n\n" for n, w in rows))
    assert [t.speaker for t in doc.turns] == [n for n, _ in rows]


# -- review: mixed labels, and variants of the heading and dash layouts ----------------------


def test_colon_labels_answered_by_dash_labels_are_one_conversation(tmp_path: Path) -> None:
    rows = [
        ("JOHN DOE", ": ", "Welcome to the show. Where did you grow up?"),
        ("JANE ROE", " — ", "In Kumasi, with my grandmother."),
        ("JOHN DOE", ": ", "What did you sell?"),
        ("JANE ROE", " — ", "Cloth. I sold kente with her."),
        ("JOHN DOE", ": ", "Did you like it?"),
        ("JANE ROE", " — ", "I loved it. You would have too."),
    ]
    text = "".join(n + d + w + "\n\n" for n, d, w in rows)
    doc = read(tmp_path, "interview.txt", text)
    assert turns(doc) == [(n, n, w) for n, _, w in rows]


@pytest.mark.parametrize(
    "head",
    ["## {n} ##", "### **{n}**", "## __{n}__", "## {n}:", "### **{n}** [00:00:05]"],
    ids=["closing-hashes", "bold", "underscores", "colon", "bold-timed"],
)
def test_heading_variants_name_their_speaker(tmp_path: Path, head: str) -> None:
    text = "".join(head.format(n=n) + "\n\n" + body + "\n\n" for n, _, body in HEADED)
    doc = read(tmp_path, "episode.md", text)
    assert turns(doc) == [(n, n, body) for n, _, body in HEADED]


def test_two_hyphens_are_a_dash(tmp_path: Path) -> None:
    text = "".join(f"{n} -- {w}\n\n" for n, _, w in DASHED)
    doc = read(tmp_path, "interview.txt", text)
    assert turns(doc) == [(n, n, w) for n, _, w in DASHED]


def test_speech_broken_off_by_a_dash_among_colon_labels_stays_the_speakers() -> None:
    text = (
        "THE PRESIDENT: Thank you very much. It is good to be here.\n\n"
        "And — I’m going to be speaking to the Prime Minister tomorrow.\n\n"
        "SPEAKER PELOSI: Thank you, Mr. President. We are honoured.\n\n"
        "THE PRESIDENT: Well, my grandmother had a saying about you.\n\n"
        "And — (applause) — with the help of members of Congress, we did it.\n\n"
        "SPEAKER PELOSI: Thank you all for coming.\n"
    )
    doc = parse_transcript("remarks.txt", text)
    assert [t.speaker for t in doc.turns] == ["THE PRESIDENT", "SPEAKER PELOSI"] * 2


def test_an_interview_with_rules_or_topics_between_exchanges_keeps_its_speakers() -> None:
    # A rule or a bold topic between exchanges parts them, not the conversation: the names
    # still recur and take turns.
    rows = [("Alice", w) for _, w in STANDUP[::2]] + [("Bob", w) for _, w in STANDUP[1::2]]
    rows = [rows[0], rows[2], rows[1], rows[3]]
    for between in ("---\n\n", "**On school**\n\n"):
        doc = parse_transcript("i.md", _headed(rows, between=between))
        assert [t.speaker for t in doc.turns if t.speaker] == ["Alice", "Bob", "Alice", "Bob"]


@pytest.mark.parametrize("mark", ["(IN SPANISH)", "(YELLING)", "(TO JOHN)"])
def test_any_short_screenplay_mark_keeps_the_speaker(mark: str) -> None:
    text = (
        "JOHN\nI told you we should have left earlier.\n\nMARIA\nYou always say that to me.\n\n"
        f"JOHN\nBecause I am always right.\n\nMARIA {mark}\nFine. You win this time.\n\n"
        "JOHN\nI know I do.\n\nMARIA\nDo you now? I wonder.\n"
    )
    doc = parse_transcript("s.txt", text)
    said = [(t.speaker, doc.text[t.start : t.end]) for t in doc.turns]
    assert ("MARIA", "Fine. You win this time.") in said
    assert [s for s, _ in said] == ["JOHN", "MARIA"] * 3


def test_a_character_named_after_a_month_speaks() -> None:
    text = (
        "JUNE\nI told you we should have left earlier.\n\nMARK\nYou always say that to me.\n\n"
        "JUNE\nBecause I am always right.\n\nMARK\nFine. You win this time.\n\n"
        "JUNE\nI know I do.\n"
    )
    assert [t.speaker for t in parse_transcript("s.txt", text).turns] == ["JUNE", "MARK"] * 2 + [
        "JUNE"
    ]
