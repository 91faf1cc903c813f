"""Speaker headers with a timestamp, as transcription services export them to text.

    Otter      `Jane Roe  0:09` or `Speaker 1  1:02:03`, alone on its line, then the paragraph
    Rev        `Jane Roe (00:00:07):` or `Jane Roe (00:07):`, alone on its line (or text after it)
    Descript   `[00:01:23] Jane Roe: text`
    Trint      `Jane Roe [00:01:23]`, alone on its line
    Zoom       `[Jane Roe] 10:02:11`, alone on its line
    also       `Jane Roe (00:00:07)` or `[00:01:23] Jane Roe` alone on its line (then the
               paragraph), `00:01:23 Jane Roe: text`, `Jane Roe [00:01:23]: text` and
               `Jane Roe: (00:07)` (rev.com's published transcripts)

A header is the turn's label and start time and is never part of the turn's text: the turn runs
from the end of its header to the start of the next one, trimmed; its time ends where the next
header's begins. Text before the first header is a turn with speaker None. Names are found by
shape (capitalised words, initials, titles, any script), never by a list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.models import Turn
from qa.segments import trim

# A name word starts with a capital letter of any script (`Søren`, `Ås`, `Dr.`, `J.`,
# `Ruiz-Peña`, `O'Neil`); a number (`Speaker 1`) or a lower-case particle (`de`, `van`) may
# follow the first word. `[^\W\d_]` is "a letter"; capitals are checked in code.
NAME_WORD = r"[^\W\d_][\w'’.\-]*"
NAME_NEXT = r"(?:[^\W\d_][\w'’.\-]*|\d{1,3})"
NAME = rf"{NAME_WORD}(?:[ \t]{NAME_NEXT}){{0,5}}"
_PARTICLES = frozenset(
    [
        "de",
        "del",
        "della",
        "der",
        "di",
        "da",
        "das",
        "do",
        "dos",
        "du",
        "la",
        "le",
        "van",
        "von",
        "ten",
        "ter",
        "bin",
        "ibn",
        "al",
        "el",
        "y",
        "e",
        "zu",
    ]
)
CLOCK = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"

# Zoom's transcript: the name in brackets, the clock, nothing else on the line. A Zoom name is
# whatever the participant typed (`jdoe`, `John's iPhone`): the brackets delimit it, so any text
# with a letter is a name here.
_ZOOM = re.compile(
    r"^[ \t]*\[(?P<name>[^\[\]\n]{1,80})\][ \t]+(?P<time>" + CLOCK + r")[ \t]*$", re.M
)

_SHAPES = (
    # Otter: name, spaces (two in its exports), a clock, nothing else on the line.
    re.compile(rf"^[ \t]*(?P<name>{NAME})(?P<gap>[ \t]+)(?P<time>{CLOCK})[ \t]*$", re.M),
    # Rev: name, the clock in parentheses, a colon.
    re.compile(rf"^[ \t]*(?P<name>{NAME})[ \t]*\((?P<time>{CLOCK})\)[ \t]*:[ \t]*", re.M),
    # Descript: the clock in brackets, the name, a colon, the text on the same line.
    re.compile(rf"^[ \t]*\[(?P<time>{CLOCK})\][ \t]*(?P<name>{NAME})[ \t]*:[ \t]*", re.M),
    # Trint: name, the clock in brackets, nothing else on the line.
    re.compile(rf"^[ \t]*(?P<name>{NAME})[ \t]+\[(?P<time>{CLOCK})\][ \t]*$", re.M),
)
# Shapes that prose, agendas and chapter lists also take (`10:30 Meeting: …`, `[00:01:23]
# Applause`, `Early life (12:34)`): loose, a header only among others (`uses_headers`).
_LOOSE_SHAPES = (
    # Rev without the colon, Happy Scribe: name, the clock in parentheses, nothing else.
    re.compile(rf"^[ \t]*(?P<name>{NAME})[ \t]*\((?P<time>{CLOCK})\)[ \t]*$", re.M),
    # Descript with the text below: the clock in brackets, the name, nothing else.
    re.compile(rf"^[ \t]*\[(?P<time>{CLOCK})\][ \t]*(?P<name>{NAME})[ \t]*$", re.M),
    # The name, the clock in brackets, a colon, the text on the same line.
    re.compile(rf"^[ \t]*(?P<name>{NAME})[ \t]+\[(?P<time>{CLOCK})\][ \t]*:[ \t]*", re.M),
    # A bare clock, the name, a colon, the text on the same line (caption and meeting tools).
    re.compile(rf"^[ \t]*(?P<time>{CLOCK})[ \t]+(?P<name>{NAME})[ \t]*:[ \t]*", re.M),
    # rev.com's published transcripts: the name, a colon, the clock in parentheses. Loose: it is
    # also a label (`Name:`) before a parenthesis, and then the layout with more turns wins.
    re.compile(rf"^[ \t]*(?P<name>{NAME})[ \t]*:[ \t]*\((?P<time>{CLOCK})\)[ \t]*", re.M),
    _ZOOM,
)


@dataclass(frozen=True, slots=True)
class Header:
    at: int  # where the header line begins (the previous turn ends before it)
    content: int  # where the turn's own text begins
    name: str
    name_start: int
    seconds: float
    loose: bool = False  # `Name 0:09` with one space: a header only among others


def seconds(clock: str) -> float:
    """`1:02:03` → 3723.0; `0:09` → 9.0; `00:01:23.5` → 83.5."""
    main, _, frac = clock.replace(",", ".").partition(".")
    total = 0
    for part in main.split(":"):
        total = total * 60 + int(part)
    return total + (float(f"0.{frac}") if frac else 0.0)


def is_name(name: str) -> bool:
    words = name.split()
    if not words or not words[0][0].isupper():
        return False
    return all(w[0].isupper() or w.isdigit() or w.casefold() in _PARTICLES for w in words[1:])


def find_headers(text: str, skip: int = 0) -> list[Header]:
    """Every timestamped speaker header in `text` after `skip`, in order (one per line)."""
    found: dict[int, Header] = {}
    for shape, loose in [*((s, False) for s in _SHAPES), *((s, True) for s in _LOOSE_SHAPES)]:
        for m in shape.finditer(text, skip):
            name = m.group("name").strip()
            if not (is_name(name) if shape is not _ZOOM else any(c.isalpha() for c in name)):
                continue
            clock = m.group("time")
            if any(int(p) >= 60 for p in clock.split(".")[0].split(",")[0].split(":")[1:]):
                continue
            line_start = text.rfind("\n", 0, m.start("name")) + 1
            if line_start in found:
                continue
            found[line_start] = Header(
                at=line_start,
                content=m.end(),
                name=name,
                name_start=m.start("name"),
                seconds=seconds(clock),
                loose=loose or m.groupdict().get("gap") == " ",
            )
    return [found[k] for k in sorted(found)]


def header_turns(text: str, headers: list[Header], skip: int = 0) -> list[Turn]:
    """Turns between the headers; the header itself is in none of them."""
    turns: list[Turn] = []
    first = headers[0].at if headers else len(text)
    start, end = trim(text, skip, first)
    if end > start:
        turns.append(Turn(speaker=None, start=start, end=end))
    for i, h in enumerate(headers):
        nxt = headers[i + 1] if i + 1 < len(headers) else None
        start, end = trim(text, h.content, nxt.at if nxt else len(text))
        if end <= start:
            continue
        stop = nxt.seconds if nxt and nxt.seconds >= h.seconds else None
        turns.append(
            Turn(
                speaker=h.name,
                start=start,
                end=end,
                label_start=h.name_start,
                times=((h.seconds, stop),),
            )
        )
    return turns


def uses_headers(text: str, headers: list[Header], skip: int = 0) -> bool:
    """Two headers make a header-style export; so does one in a distinctive shape, or opening
    the document (`Name 0:09` alone in prose could be a sentence)."""
    if len(headers) != 1:
        return len(headers) >= 2
    return not headers[0].loose or not text[skip : headers[0].at].strip()
