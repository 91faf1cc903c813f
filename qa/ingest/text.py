"""Speaker turns in plain-text transcripts, found by structure rather than by a list of names.

Three label layouts occur in real transcripts:
- a label alone on its line (`Mark Penn:` then the words on the next line);
- a label starting a paragraph (`Ron Baron: The prices ...`);
- a known speaker's label in the middle of a line (`... in five years Musk:`), where known
  speakers are those already seen as line-start labels.
Text before the first label (titles, summaries, key points) becomes a turn with speaker None, as
do numbered section headings between turns.

A label is plain (`Ron Baron:`), upper case with a title (`MS. JEAN-PIERRE:`, `SECRETARY
YELLEN:`), upper case with a role after a comma as broadcast transcripts write a speaker's first
turn (`STEVE INSKEEP, HOST:`; the speaker is the name, the label keeps the role), or bold
Markdown (`**Jerod Santo:**`). A one-off `Note:` is prose, but an upper-case or
bold label is a speaker even when used once. Interview markers `Q` and `A` open a line (`Q    Thank
you.`, `Q: ...`); `Q` counts when it is used at least twice, `A` only with `Q` and followed by a
colon, a full stop or a wide gap, so that `A partnership...` stays prose. A labelled turn that is
only a timestamp (`**Break:** \\[21:37\\]`) is a marker, not speech: its speaker is None.

Congressional hearings and the Congressional Record (the U.S. Government Publishing Office's
text) end a label with a full stop: `    Senator Grassley. Thank you, Mr. Chairman.`,
`    Mr. SCHUMER. Mr. President, …`. A sentence can open that way too, so these labels are read
only from a document with no other structure (`_stop_labels`).

Other layouts have no colon either, and prose takes their shapes too, so they are read only where
the labels make a conversation (`_speaking`: names recur and take turns, and a third of the
turns speak in the first or second person) and the document has few colon labels or none:
- a name in capitals alone on its line, the words below (`INTERVIEWER`), as screenplays and
  oral histories write; a screenplay's marks after it (`JOHN (CONT'D)`, `MARY (V.O.)`, `JOHN
  (V.O.) (CONT'D)`) stay in the label, the speaker is the name;
- a Markdown heading per turn (`## Jane Roe`, maybe with its time: `### Jane Roe [00:01:23]`),
  when such headings are nearly all the headings of their level, which an article's sections
  (`## Background`, a profile's `## Jane Roe`) are not;
- a paragraph opening with a name and a dash, then a sentence (`JANE ROE — Thank you.`, `Jane
  Roe – Thanks.`, `JANE ROE -- Thanks.`): an em or en dash or two hyphens, not one; a dateline (`PARIS — The mayor said…`) is
  said once. Once a name speaks so, its every line with the dash is a turn, whatever follows
  (`JANE ROE — 1995.`, `JANE ROE — …small`).
A song's parts (`VERSE`, `CHORUS`), weekdays, months and a letter's `Dear Mary` are never
speakers in these layouts (`_never_speaks`).
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from qa.ingest.headers import (
    CLOCK,
    NAME_NEXT,
    NAME_WORD,
    find_headers,
    header_turns,
    is_name,
    seconds,
    uses_headers,
)
from qa.ingest.meta import finish, front_matter, metadata_fields
from qa.models import Timing, Transcript, Turn
from qa.segments import trim

# One to five words, then a colon: capitalised words in any script (initials, hyphens and
# apostrophes allowed), with numbers (`Speaker 1`) and lower-case particles (`Maria de la Cruz`)
# after the first; `headers.is_name` checks the capitals, which a pattern cannot.
NAME = rf"{NAME_WORD}(?:[ \t]+{NAME_NEXT}){{0,4}}"
# Broadcast transcripts (NPR, CNN) give a speaker's role at first: `STEVE INSKEEP, HOST:`,
# `JANE DOE, CNN CORRESPONDENT:`. The role is upper case; the speaker is the name before it.
ROLE = r"[A-Z][A-Z0-9'’.\-&/]*(?:[ \t]+[A-Z][A-Z0-9'’.\-&/]*){0,5}"
_LABEL = (
    rf"\*\*(?P<b1>{NAME})[ \t]*:[ \t]*\*\*"  # **Name:**
    rf"|\*\*(?P<b2>{NAME})\*\*[ \t]*:"  # **Name**:
    rf"|(?P<label>{NAME})(?:,[ \t]*(?P<role>{ROLE}))?[ \t]*:"  # Name:  NAME:  NAME, ROLE:
)
# Broadcast captions mark each change of speaker with `>>` (`>> JUDY WOODRUFF: Good evening.`);
# the marker goes with the label, outside the turn's words.
_LINE_LABEL = re.compile(rf"^[ \t]*(?P<whole>(?:>>+[ \t]*)?(?:{_LABEL}))(?=\s|$)", re.MULTILINE)
_BARE_MARK = re.compile(r"^[ \t]*(?P<mark>>>+)[ \t]*(?=\S)", re.MULTILINE)
_QA = re.compile(
    # Possessive: `A` and 200,000 spaces must not be tried every way (it took minutes).
    r"^[ \t]*(?P<label>[QA])(?P<sep>[ \t\u00a0]*+[:.](?=\s)|[ \t\u00a0]++)[ \t\u00a0]*+(?=\S)",
    re.MULTILINE,
)
_MARKER_ONLY = re.compile(r"\\?[\[(]\d{1,2}(?::\d{2}){1,2}\\?[\])]")
# `01. Title`, `# Title`: a short line that is a heading, not speech.
_HEADING = re.compile(r"^[ \t]*(?:\d{1,3}[.)]|#{1,6})[ \t]+\S[^\n]{0,200}$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class _Boundary:
    at: int  # where the previous turn must end (label or heading start)
    content: int  # where this turn's own text starts
    speaker: str | None
    label: str | None = None  # as written, when it says more than the speaker (a role)
    seconds: float | None = None  # when the turn starts, if its label says (`## Jane (00:01:23)`)


_NUMBERED = re.compile(r"\s\d")


def _stem(label: str) -> str:
    """`Speaker 3` → `Speaker`: what numbered labels share."""
    return _NUMBERED.split(label, maxsplit=1)[0]


def _label(m: re.Match[str]) -> str:
    return m.group("b1") or m.group("b2") or m.group("label")


def _upper_case(label: str) -> bool:
    letters = [ch for ch in label if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


def _line_labels(text: str) -> tuple[list[_Boundary], set[str]]:
    found: list[tuple[re.Match[str], bool]] = []
    roled: list[tuple[re.Match[str], bool]] = []  # `NAME, ROLE:`, judged after the plain labels
    counts: dict[str, int] = {}
    for m in _LINE_LABEL.finditer(text):
        label = _label(m)
        if not is_name(label):
            continue
        eol = text.find("\n", m.end())
        alone = not text[m.end() : eol if eol >= 0 else None].strip()
        if m.group("role"):
            roled.append((m, alone))
            continue
        found.append((m, alone))
        counts[label] = counts.get(label, 0) + 1
    # A one-off `Note: ...` is prose; a label used twice, or standing alone on its line, is a speaker,
    # and so is an upper-case (`AUDIENCE MEMBER:`) or bold (`**Name:**`) one.
    known = {label for label, n in counts.items() if n >= 2 or _upper_case(label)}
    known |= {_label(m) for m, alone in found if alone or m.group("label") is None}
    # A numbered label is a speaker when it recurs, like any label, or when its stem numbers two
    # or more speakers (`Speaker 3:` once, beside `Speaker 1:` and `Speaker 2:`); `Part 2:` once
    # is a heading.
    numbers: dict[str, set[str]] = {}
    for label in counts:
        if _NUMBERED.search(label):
            numbers.setdefault(_stem(label), set()).add(label)
    numbered = {label for label in counts if _NUMBERED.search(label)}
    known -= numbered
    known |= {label for label in numbered if counts[label] >= 2 or len(numbers[_stem(label)]) >= 2}
    # `STEVE INSKEEP, HOST:` is a speaker when all of it is upper case and the name, or its last
    # word, speaks again as a plain label (`INSKEEP:`), or a full name stands alone on its line
    # with the role; `WASHINGTON, D.C.: The city…` and `NOTE, HOWEVER: …` are prose.
    plain = set(known)
    roles = [
        m
        for m, alone in roled
        if _upper_case(_label(m))
        and _upper_case(m.group("role"))
        and ({_label(m), _label(m).split()[-1]} & plain or (alone and len(_label(m).split()) >= 2))
    ]
    known |= {_label(m) for m in roles}
    out = [
        _Boundary(at=m.start("whole"), content=m.end(), speaker=_label(m))
        for m, _ in found
        if _label(m) in known
    ]
    out += [
        _Boundary(
            at=m.start("whole"),
            content=m.end(),
            speaker=_label(m),
            label=f"{_label(m)}, {m.group('role')}",
        )
        for m in roles
    ]
    return sorted(out, key=lambda b: b.at), known


def _interview_markers(text: str) -> list[_Boundary]:
    """`Q` and `A` opening a line, when the document uses them as markers."""
    found = list(_QA.finditer(text))
    if sum(m.group("label") == "Q" for m in found) < 2:
        return []
    return [
        _Boundary(at=m.start("label"), content=m.end(), speaker=m.group("label"))
        for m in found
        if m.group("label") == "Q"
        or ":" in m.group("sep")
        or "." in m.group("sep")
        or len(m.group("sep")) >= 2
        or "\t" in m.group("sep")
    ]


# Two to five capitalised words, then a full stop and the words spoken: `Chairman Durbin.`,
# `Mr. Garland.`, `Ms. Jackson Lee.`, `The Chairman.`; the Congressional Record adds a state, a
# `pro tempore` and who presides (`Mr. SMITH of Texas.`, `The SPEAKER pro tempore.`, `The
# PRESIDING OFFICER (Ms. Rosen).`). Only a title's abbreviation opening the label (`Mr.`, `Sen.`;
# not an outline's `I.`, `II.`, `A.`) or an initial after it (`Mr. J. Smith`) carries its own
# stop, so `Senator Grassley. Thank you.` ends at `Grassley` and `Mr. LEE. Mr. President` at
# `LEE`.
# A word of the name opens with a letter that is not lower-case ASCII (`of`, `pro` are not).
_STOP_WORD = r"[^\W\d_a-z][\w'’\-]"
_STOP_LABEL = re.compile(
    rf"^[ \t]*(?P<label>(?P<core>(?:[^\W\d_][^\W\d_A-Z]{{1,3}}\.|{_STOP_WORD}*)[ \t]"
    rf"(?:(?:{_STOP_WORD}*|[^\W\d_]\.)[ \t]){{0,3}}{_STOP_WORD}+)"
    rf"(?:[ \t]of(?:[ \t]{_STOP_WORD}+){{1,2}})?(?:[ \t]pro[ \t]tempore)?"
    r"(?:[ \t]\([^()\n]{1,40}\))?)\.[ \t]+(?=\S)",
    re.MULTILINE,
)
# A label ends with a name, never with an initial (`Stephen K.`, which `_STOP_LABEL` refuses by
# length) or with the abbreviated title that goes before a name (`The Honorable Dr. Jill Biden`).
_TITLE_BEFORE_NAME = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "mx",
        "dr",
        "prof",
        "rev",
        "hon",
        "sen",
        "rep",
        "gen",
        "gov",
        "lt",
        "col",
        "capt",
        "sgt",
        "adm",
        "amb",
        "st",
    ]
)
# Words that put speech in the first or second person; a conversation's turns have them, a list
# of places, sources or guests does not.
PERSON = re.compile(r"\b(?:I|me|my|mine|we|us|our|ours|you|your|yours)\b", re.IGNORECASE)


_SENTENCE_ENDS = (".", "?", "!", '"', "”", "]", ")")
_BROKEN_OFF = ("—", "–", "…")


def _opens_paragraph(text: str, line_start: int, *, broken_off: bool = False) -> bool:
    """The line at `line_start` opens a paragraph: it is indented deeper than the line before, as
    the Publishing Office opens each speaker's paragraph, or follows a blank line or a line that
    ends a sentence (a PDF's text keeps no indentation); with `broken_off`, also one that breaks
    off (`…and —`, `…`), as speech cut off by the next speaker does. A hard-wrapped line of prose
    that happens to open with `Supreme Court. He clerked…`, indented or not, is none of these."""
    end = max(line_start - 1, 0)
    previous = text[text.rfind("\n", 0, end) + 1 : end].rstrip()
    if not previous.strip() or previous.endswith(
        _SENTENCE_ENDS + (_BROKEN_OFF if broken_off else ())
    ):
        return True
    line = text[line_start : text.find("\n", line_start) % (len(text) + 1)]
    return _indent(line) > _indent(previous)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _stop_labels(text: str) -> list[_Boundary]:
    """`Senator Grassley. text` labels, when they make the document a conversation.

    There are two labels or more and one recurs. Then every label of that shape opens a turn,
    including one that speaks once (`Senator Padilla.`), whose words would otherwise join the
    previous speaker's, if they make a conversation (`_conversation`)."""
    found = [
        m
        for m in _STOP_LABEL.finditer(text)
        if len(m.group("core").split()) >= 2
        and m.group("core").split()[-1].casefold() not in _TITLE_BEFORE_NAME
        and is_name(m.group("core"))
        and _opens_paragraph(text, m.start())
        # Speech follows: a word or a quotation, not a bibliography's `(2019).` or a number.
        and (text[m.end()].isalpha() or text[m.end()] in "\"“‘'[")
    ]
    if not _two_and_one_recurs([m.group("label") for m in found]):
        return []
    # `The PRESIDING OFFICER (Ms. Rosen).`: the speaker is the office; the label keeps who held it.
    bounds = [
        _Boundary(
            at=m.start("label"),
            content=m.end(),
            speaker=m.group("label").split(" (")[0],
            label=m.group("label") if " (" in m.group("label") else None,
        )
        for m in found
    ]
    return bounds if _conversation(text, bounds) else []


def _two_and_one_recurs(labels: list[str]) -> bool:
    """Two labels or more, and one used twice: the least a conversation has."""
    counts = Counter(labels)
    return len(counts) >= 2 and max(counts.values()) >= 2


def _conversation(text: str, bounds: list[_Boundary]) -> bool:
    """Speakers take turns (a list sorted by its first words repeats itself), and a third of the
    turns or more speak in the first or second person (a list of sources, places or guests, or
    a document's section titles, does not)."""
    repeats = sum(a.speaker == b.speaker for a, b in pairwise(bounds))
    if repeats * 4 > len(bounds) - 1:
        return False
    ends = [b.at for b in bounds[1:]] + [len(text)]
    personal = sum(
        bool(PERSON.search(text, b.content, end)) for b, end in zip(bounds, ends, strict=True)
    )
    return personal * 3 >= len(bounds)


# A name in capitals alone on its line, the words on the next (`INTERVIEWER`, `MS. OKAFOR`), as
# screenplays and some oral histories lay out a conversation.
_NAME_LINE = re.compile(
    r"^[ \t]*(?P<label>[^\W\d_a-z][^\r\n:\d]{0,60}?)[ \t]*\r?\n(?=[ \t]*\S)", re.MULTILINE
)
# A screenplay says after the name how a line is heard or said (`JOHN (CONT'D)`, `JOHN (V.O.)`,
# `MARIA (IN SPANISH)`, Final Draft's `JOHN (V.O.) (CONT'D)`): the speaker is the name, the
# label keeps the marks, as a broadcast's role. A song's parts (`CHORUS (REPEAT)`) never speak
# (`_never_speaks`).
_EXTENSION = re.compile(r"(?P<name>[^()]*?\S)(?:[ \t]*\([^()\n]{1,24}\))+")


# Words that open a label in these layouts but never a speaker's name: a song's parts (`VERSE`,
# `CHORUS (REPEAT)`), a log's or a letter's headings (`## Monday`, `Tuesday — I ran`, `## Dear
# Mary`), a book's or a manual's divisions (`Chapter`, `Part`, `Step`, `Day`, `Week`). A month
# is one only alone or with a number (`## March`, `May 3 —`): `April Ryan` is a name.
_NEVER_SPEAKERS = frozenset(
    [
        "verse",
        "chorus",
        "pre-chorus",
        "prechorus",
        "bridge",
        "hook",
        "intro",
        "outro",
        "refrain",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "dear",
        "step",
        "chapter",
        "part",
        "day",
        "week",
    ]
)
_MONTHS = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ]
)


def _never_speaks(name: str) -> bool:
    """`name` is a section's, a date's or a letter's heading (`_NEVER_SPEAKERS`, `_MONTHS`)."""
    words = name.casefold().split()
    return bool(words) and (
        words[0] in _NEVER_SPEAKERS
        or (words[0] in _MONTHS and len(words) > 1 and all(w.isdigit() for w in words[1:]))
    )


# `MR.`, `MS.`, `DR.`, `MRS.`: a name said once must open with one to count (not `NO WAY`, `PART
# TWO`, `EPILOGUE`).
_TITLE_ABBREVIATION = re.compile(r"[^\W\d_]{2,3}\.(?!\S)")


def _after_blank(text: str, line_start: int) -> bool:
    """The line before the one at `line_start` is blank."""
    end = line_start - 1
    return end > 0 and not text[text.rfind("\n", 0, end) + 1 : end].strip()


def _said_once_speaks(text: str, bound: _Boundary, *, timed: bool) -> bool:
    """A name said once is a speaker when it opens a paragraph with a title (`MR. OKAFOR`
    answering once), or carries a time as the recurring speakers' labels do (`## Audience
    Member (00:41:02)`); a title line, or `STOP` shouted inside a speech, is neither."""
    if timed and bound.seconds is not None:
        return True
    return _after_blank(text, text.rfind("\n", 0, bound.at) + 1) and bool(
        _TITLE_ABBREVIATION.match(bound.speaker or "")
    )


def _speaking(text: str, bounds: list[_Boundary]) -> list[_Boundary]:
    """Of labels found by their shape alone (no colon), the speakers: names that recur, two or
    more of them, and names said once after the conversation has begun (`_said_once_speaks`);
    none unless they make a conversation (`_conversation`)."""
    counts = Counter(b.speaker for b in bounds)
    recurring = [b for b in bounds if counts[b.speaker] >= 2]
    if not _two_and_one_recurs([b.speaker for b in recurring if b.speaker]):
        return []
    begun = recurring[0].at
    timed = all(b.seconds is not None for b in recurring)
    kept = [
        b
        for b in bounds
        if counts[b.speaker] >= 2 or (b.at > begun and _said_once_speaks(text, b, timed=timed))
    ]
    # `JOHN (CONT'D)` after an action line is John going on, not answering himself.
    answers = kept[:1] + [b for a, b in pairwise(kept) if not (b.label and a.speaker == b.speaker)]
    return kept if _conversation(text, answers) else []


def _name_line(m: re.Match[str]) -> _Boundary | None:
    """The label of a `NAME` line: capitals, no numbers (`VERSE 1`), maybe a screenplay's mark."""
    label = m.group("label")
    marked = _EXTENSION.fullmatch(label)
    name = marked.group("name") if marked else label
    if len(name.split()) > 5 or not _upper_case(name) or not is_name(name) or _never_speaks(name):
        return None
    return _Boundary(
        at=m.start("label"), content=m.end(), speaker=name, label=label if marked else None
    )


def _name_lines(text: str) -> list[_Boundary]:
    """`NAME` lines, when they make a conversation (`_speaking`)."""
    return _speaking(text, [b for m in _NAME_LINE.finditer(text) if (b := _name_line(m))])


# A speaker's name as a Markdown heading alone on its line, the words in the paragraphs below,
# maybe with the time the turn starts: `## Jane Roe`, `### Jane Roe [00:01:23]`, `## Jane Roe
# (00:01:23)`, `## Jane Roe · 00:01`; the name may be bold (`### **Jane Roe**`), end with a
# colon (`## Jane Roe:`), and the heading with its closing hashes (`## Jane Roe ##`).
_NAME_HEADING = re.compile(
    rf"^[ \t]{{0,3}}(?P<level>#{{2,6}})[ \t]+(?P<bold>\*\*|__)?(?P<label>{NAME})(?(bold)(?P=bold))"
    rf"(?:[ \t]*:)?(?:[ \t]+(?:\((?P<paren>{CLOCK})\)"
    rf"|\[(?P<bracket>{CLOCK})\]|[·•|–—-][ \t]*(?P<bare>{CLOCK})))?(?:[ \t]+#+)?[ \t]*$",
    re.MULTILINE,
)
_ANY_HEADING = re.compile(r"^[ \t]{0,3}(?P<level>#{1,6})[ \t]+\S", re.MULTILINE)


def _heading_label(m: re.Match[str]) -> _Boundary:
    clock = m.group("paren") or m.group("bracket") or m.group("bare")
    return _Boundary(
        at=m.start("level"),
        content=m.end(),
        speaker=m.group("label"),
        seconds=seconds(clock) if clock else None,
    )


def _heading_labels(text: str) -> list[_Boundary]:
    """`## Jane Roe` headings of one level, when a name recurs within a section
    (`_recurs_in_a_section`), they make a conversation (`_speaking`) and they are nearly all the
    headings of that level between the first and the last, as a transcript's are; an article's
    sections (`## Introduction`, `## Background`, a profile's `## Jane Roe`) are mostly other
    words, in the third person."""
    found = [
        (len(m.group("level")), _heading_label(m))
        for m in _NAME_HEADING.finditer(text)
        if is_name(m.group("label")) and not _never_speaks(m.group("label"))
    ]
    if not found:
        return []
    level = Counter(lv for lv, _ in found).most_common(1)[0][0]
    bounds = [b for lv, b in found if lv == level]
    if not _recurs_in_a_section(text, bounds, level=level):
        return []
    bounds = _speaking(text, bounds)
    if not bounds:
        return []
    labels = {b.at for b in bounds}
    others = sum(
        len(m.group("level")) == level and m.start("level") not in labels
        for m in _ANY_HEADING.finditer(text, text.rfind("\n", 0, bounds[0].at) + 1, bounds[-1].at)
    )
    return bounds if others * 4 <= len(bounds) else []


# What closes a section without a heading: a bold line alone naming a date or a period
# (`**Week of March 11**`). Not a rule, nor a bold topic: an interview puts those between its
# exchanges.
_SECTION_BREAK = re.compile(
    r"^[ \t]{0,3}(?:\*\*|__)(?P<said>[^*_\n]*[^\s*_.?!])[ \t]*(?:\*\*|__)$", re.MULTILINE
)


def _recurs_in_a_section(text: str, bounds: list[_Boundary], *, level: int) -> bool:
    """Two names or more, one said again before a higher heading (`# Part Two`) or a break
    (`_SECTION_BREAK`) closes the section, as speakers do; a report that gives every case its
    `### Background` and `### Findings`, or a standup log its `## Alice` and `## Bob` every
    week, says each once a section. Breaks between every two headings part turns, not
    sections."""
    higher = [m.start() for m in _ANY_HEADING.finditer(text) if len(m.group("level")) < level]
    dated = (m.start() for m in _SECTION_BREAK.finditer(text) if _never_speaks(m.group("said")))
    breaks = sorted([*higher, *dated])
    if len({bisect.bisect(breaks, b.at) for b in bounds}) == len(bounds):
        breaks = higher
    sections: dict[int, list[str]] = {}
    for b in bounds:
        sections.setdefault(bisect.bisect(breaks, b.at), []).append(b.speaker or "")
    return any(_two_and_one_recurs(names) for names in sections.values())


# A paragraph opening with a name and a dash, the words after it: `JANE ROE — Thank you.`, `Jane
# Roe – Thanks.`, `Q — …`. A dash, not a hyphen: an en dash between spaces, an em dash with or
# without them, or a typewriter's two hyphens after a space (`JANE ROE -- Thanks.`). The name is matched atomically: a dash never follows a shorter part of it, and
# every line of prose is tried, so giving words back would only cost time.
_DASH_LABEL = re.compile(
    rf"^[ \t]*(?P<label>(?>{NAME}))(?:[ \t]*—|[ \t]+(?:–|--(?!-)))[ \t]*(?=\S)", re.MULTILINE
)


def _dash_labels(text: str, colons: list[_Boundary]) -> list[_Boundary]:
    """`Name — Words` paragraphs, when they make a conversation (`_speaking`), alone or with the
    `colons` labels: a dateline (`PARIS — The mayor said…`) or a `Note — …` is said once, or in
    the third person.

    The names are those that open a paragraph and then a sentence; once they are, every line
    that opens with one of them and a dash is a turn, whatever its words start with (`JANE ROE —
    1995.`, `— …small`, `— yeah`), and so is such a line right after a turn's single line (one
    turn a line, the last one cut off without a stop)."""
    found = [
        m
        for m in _DASH_LABEL.finditer(text)
        if is_name(m.group("label"))
        and not _never_speaks(m.group("label"))
        and m.group("label").split()[0].casefold() not in _SPEECH_OPENERS
    ]
    opening = [m for m in found if _opens_paragraph(text, m.start(), broken_off=True)]
    names = {
        m.group("label")
        for m in opening
        # Speech opens a sentence after the label; a dash that goes on in lower case is the
        # sentence's own (`Second – we must prepare…`, `But — but all kidding aside…`).
        if (text[m.end()].isupper() or text[m.end()] in "\"“‘'[(")
        and not _stutters(m.group("label"), text, m.end())
    }
    starts = {m.start() for m in opening}
    kept: list[re.Match[str]] = []
    for m in found:
        if m.group("label") not in names:
            continue
        previous = text.rfind("\n", 0, m.start() - 1) + 1 if m.start() else -1
        if m.start() in starts or (kept and kept[-1].start() == previous):
            kept.append(m)
    bounds = [
        _Boundary(at=m.start("label"), content=m.end(), speaker=m.group("label")) for m in kept
    ]
    alone = _speaking(text, bounds)
    if alone or not colons:
        return alone
    # `JOHN DOE: …?` answered by `JANE ROE — …`: one speaker's labels have a colon, the other's
    # a dash, and only together do they make the conversation.
    spots = {b.at for b in bounds}
    together = _speaking(
        text, sorted([*bounds, *(b for b in colons if b.at not in spots)], key=lambda b: b.at)
    )
    return together if spots & {b.at for b in together} else []


# Words that open a sentence broken off by a dash (`And — and from the outside`, `So — so when`,
# `And I — I’m going`, `Well — (applause)`), never a speaker's name.
_SPEECH_OPENERS = frozenset(
    [
        "and",
        "but",
        "or",
        "nor",
        "so",
        "yet",
        "because",
        "if",
        "well",
        "now",
        "then",
        "oh",
        "ah",
        "um",
        "uh",
        "yes",
        "yeah",
        "no",
        "okay",
        "ok",
        "i",
        "we",
        "you",
        "he",
        "she",
        "they",
        "it",
        "this",
        "that",
        "there",
        "here",
        "what",
        "why",
        "how",
        "when",
        "where",
    ]
)
_WORD = re.compile(r"[\w'’]+")


def _stutters(label: str, text: str, at: int) -> bool:
    """The words after the dash take up the label's last word again (`I — I think`, `And I — I
    mean`): speech broken off and resumed, not a speaker."""
    word = _WORD.match(text, at)
    return word is not None and word.group(0).casefold() == label.split()[-1].casefold()


def _without_colons(text: str, colons: list[_Boundary]) -> list[_Boundary]:
    """The labels of a layout without colons (a hearing's `Senator Grassley.`, `## Jane Roe`,
    `JANE ROE —`) that makes a conversation, alone or, for dashes, with the document's few
    colon labels (`colons`); the one with the most turns if several do."""
    return max((_stop_labels(text), _heading_labels(text), _dash_labels(text, colons)), key=len)


def _inline_labels(text: str, known: set[str], taken: set[int]) -> list[_Boundary]:
    if not known:
        return []
    # Longest first so `Elon Musk:` wins over `Musk:`.
    names = "|".join(re.escape(k) for k in sorted(known, key=len, reverse=True))
    pattern = re.compile(rf"(?<=[^\s])[ \t]+(?P<label>{names}):(?=\s|$)")
    out = []
    for m in pattern.finditer(text):
        if m.start("label") in taken:
            continue
        out.append(_Boundary(at=m.start("label"), content=m.end(), speaker=m.group("label")))
    return out


def _headings(text: str, taken: set[int]) -> list[_Boundary]:
    out = []
    for m in _HEADING.finditer(text):
        line = m.group(0).rstrip()
        if line.endswith((".", "?", "!")) or m.start() in taken:
            continue
        out.append(_Boundary(at=m.start(), content=m.start(), speaker=None))
    return out


def _mask(text: str, skip: int) -> str:
    """`text` with its first `skip` characters (front matter) and a BOM blanked, same offsets."""
    if skip <= 0 and not text.startswith("\ufeff"):
        return text
    head = re.sub(r"[^\n]", " ", text[: max(skip, 1)])
    return head + text[len(head) :]


def parse_turns(text: str, skip: int = 0) -> list[Turn]:
    """Split `text` into speaker turns with exact, trimmed `[start, end)` offsets (label excluded).

    The first `skip` characters (front matter) belong to no turn.
    """
    source = text
    text = _mask(text, skip)
    markers = _interview_markers(text)
    marked = {b.at for b in markers}
    line_bounds, known = _line_labels(text)
    line_bounds = [b for b in line_bounds if b.at not in marked] + markers
    if any(text.startswith(">>", b.at) for b in line_bounds):
        # Captions that name speakers with `>> NAME:` mark an unnamed one with `>>` alone: a
        # turn with speaker None, not more of the previous speaker's words.
        named = {b.at for b in line_bounds}
        line_bounds += [
            _Boundary(at=m.start("mark"), content=m.end(), speaker=None)
            for m in _BARE_MARK.finditer(text)
            if m.start("mark") not in named
        ]
    # Labels without a colon (`Senator Grassley.`, `## Jane Roe`, `JANE ROE —`) when they make
    # the turns, not the few colon labels. Where both have a label, theirs is the one: `Q — Why?`
    # among `JANE ROE — …` ends its label with the dash. Elsewhere the dash after `Q` is the
    # reporter's, a question taken up again after cross-talk (`Q    — but just taking —`).
    # Only a `Q` marker can share a spot with another layout's label: a document with many
    # other labels is read by them, and the other layouts are not looked for.
    few = sum(b.at not in marked for b in line_bounds) < 8
    other = _without_colons(text, line_bounds) if few else []
    spots = {b.at for b in other}
    rest = [b for b in line_bounds if b.at not in spots]
    if len(rest) < 8 and len(other) > 2 * len(rest) + 1:
        # …and the few colon labels keep their turns (`MODERATOR: …` between the senators).
        line_bounds = [*rest, *other]
    elif not line_bounds:
        line_bounds = _name_lines(text)
    line_bounds.sort(key=lambda b: b.at)
    line_starts = {b.at for b in line_bounds}
    starts = [b.at for b in line_bounds]

    def within_label(at: int) -> bool:  # `Musk:` inside a line-start `Elon Musk:`
        i = bisect.bisect_right(starts, at) - 1
        return i >= 0 and at < line_bounds[i].content

    inline = [b for b in _inline_labels(text, known, line_starts) if not within_label(b.at)]
    taken = line_starts | {b.at for b in inline}
    heads = _headings(text, {text.rfind("\n", 0, a) + 1 for a in taken})
    bounds = sorted([*line_bounds, *inline, *heads], key=lambda b: b.at)

    turns: list[Turn] = []
    start, end = trim(text, 0, bounds[0].at if bounds else len(text))
    if end > start:
        turns.append(Turn(speaker=None, start=start, end=end))
    for i, b in enumerate(bounds):
        stop = bounds[i + 1].at if i + 1 < len(bounds) else len(text)
        start, end = trim(text, b.content, stop)
        if end > start:
            speaker = b.speaker
            if speaker is not None and _MARKER_ONLY.fullmatch(source, start, end):
                speaker = None  # `**Break:** \\[21:37\\]`
            label_start = b.at if speaker is not None else None
            label = b.label if speaker is not None else None
            times = _times(b, bounds[i + 1] if i + 1 < len(bounds) else None)
            turns.append(
                Turn(
                    speaker=speaker,
                    start=start,
                    end=end,
                    label_start=label_start,
                    label=label,
                    times=times if speaker is not None else (),
                )
            )
    return turns


def _times(b: _Boundary, nxt: _Boundary | None) -> tuple[Timing, ...]:
    """A timed label's turn runs until the next label's time, when that comes later."""
    if b.seconds is None:
        return ()
    stop = nxt.seconds if nxt and nxt.seconds is not None and nxt.seconds >= b.seconds else None
    return ((b.seconds, stop),)


def speaker_turns(text: str, skip: int = 0) -> list[Turn]:
    """Turns of a text: by timestamped headers (Otter, Rev, Descript) when it has them, else by
    labels (`parse_turns`)."""
    headers = find_headers(text, skip)
    labelled = parse_turns(text, skip=skip)
    # A labelled transcript may hold a few lines shaped like loose headers (an agenda, chapter
    # marks): then the layout that finds more turns is the document's. A strict header shape
    # (Otter, Rev, Descript, Trint) is an export's, whatever label-like lines its speech holds.
    said = [t for t in labelled if t.speaker is not None]
    if uses_headers(text, headers, skip) and (
        not all(h.loose for h in headers)
        or len(headers) > len(said)
        # rev.com's `Name: (00:07)` is a label too: the headers are those very lines.
        or (
            len(headers) == len(said)
            and {text.rfind("\n", 0, t.label_start or 0) + 1 for t in said}
            <= {h.at for h in headers}
        )
    ):
        return header_turns(text, headers, skip)
    return labelled


def parse_text(doc_id: str, text: str, *, view: str | None = None) -> Transcript:
    """A plain-text transcript (`.txt`); YAML front matter, if any, is metadata, not a turn.

    `view`, the same length as `text`, is what speakers are looked for in (Markdown without its
    bold markers); offsets, and so quotes, are the same in both."""
    fm = front_matter(text)
    return finish(
        doc_id,
        text,
        speaker_turns(text if view is None else view, skip=fm.end),
        **metadata_fields(fm.fields),
        problems=[fm.problem] if fm.problem else [],
    )
