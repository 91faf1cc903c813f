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
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from qa.ingest.headers import (
    NAME_NEXT,
    NAME_WORD,
    find_headers,
    header_turns,
    is_name,
    uses_headers,
)
from qa.ingest.meta import finish, front_matter, metadata_fields
from qa.models import Transcript, Turn
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


def _opens_paragraph(text: str, line_start: int) -> bool:
    """The line at `line_start` opens a paragraph: it is indented deeper than the line before, as
    the Publishing Office opens each speaker's paragraph, or follows a blank line or a line that
    ends a sentence (a PDF's text keeps no indentation). A hard-wrapped line of prose that
    happens to open with `Supreme Court. He clerked…`, indented or not, is none of these."""
    end = max(line_start - 1, 0)
    previous = text[text.rfind("\n", 0, end) + 1 : end]
    if not previous.strip() or previous.rstrip().endswith((".", "?", "!", '"', "”", "]", ")")):
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


# `MR.`, `MS.`, `DR.`, `MRS.`: a name said once must open with one to count (not `NO WAY`, `PART
# TWO`, `EPILOGUE`).
_TITLE_ABBREVIATION = re.compile(r"[^\W\d_]{2,3}\.")


def _after_blank(text: str, line_start: int) -> bool:
    """The line before the one at `line_start` is blank."""
    end = line_start - 1
    return end > 0 and not text[text.rfind("\n", 0, end) + 1 : end].strip()


def _name_lines(text: str) -> list[_Boundary]:
    """`NAME` lines, when they make a conversation (`_conversation`): names that recur, and ones
    said once with a title (`MR. OKAFOR`) that open a paragraph later on, so a title line, a
    heading or a shouted `STOP` in a speaker's words is no label; and no numbers (`VERSE 1`)."""
    found = [
        m
        for m in _NAME_LINE.finditer(text)
        if len(m.group("label").split()) <= 5
        and _upper_case(m.group("label"))
        and is_name(m.group("label"))
    ]
    counts = Counter(m.group("label") for m in found)
    recurring = [m for m in found if counts[m.group("label")] >= 2]
    if not _two_and_one_recurs([m.group("label") for m in recurring]):
        return []
    # A name said once is a speaker too when it opens a paragraph after the conversation has
    # begun (`MR. OKAFOR` answering once); a title line before it, or `STOP` shouted inside a
    # speech (no blank line before it), is not.
    begun = recurring[0].start()
    found = [
        m
        for m in found
        if counts[m.group("label")] >= 2
        or (
            m.start() > begun
            and _after_blank(text, m.start())
            and _TITLE_ABBREVIATION.fullmatch(m.group("label").split()[0])
        )
    ]
    bounds = [
        _Boundary(at=m.start("label"), content=m.end(), speaker=m.group("label")) for m in found
    ]
    return bounds if _conversation(text, bounds) else []


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
    # Hearing labels (`Senator Grassley.`) when they make the turns, not the few colon labels.
    if len(line_bounds) < 8 and len(hearing := _stop_labels(text)) > 2 * len(line_bounds) + 1:
        # …and the few colon labels keep their turns (`MODERATOR: …` between the senators).
        colon = {b.at for b in line_bounds}
        line_bounds = [*line_bounds, *(b for b in hearing if b.at not in colon)]
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
            turns.append(
                Turn(speaker=speaker, start=start, end=end, label_start=label_start, label=label)
            )
    return turns


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
