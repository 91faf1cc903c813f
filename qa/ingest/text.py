"""Speaker turns in plain-text transcripts, found by structure rather than by a list of names.

Three label layouts occur in real transcripts:
- a label alone on its line (`Mark Penn:` then the words on the next line);
- a label starting a paragraph (`Ron Baron: The prices ...`);
- a known speaker's label in the middle of a line (`... in five years Musk:`), where known
  speakers are those already seen as line-start labels.
Text before the first label (titles, summaries, key points) becomes a turn with speaker None, as
do numbered section headings between turns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa.models import Turn

# One to four capitalised words (initials, hyphens and apostrophes allowed), then a colon.
_NAME = r"[A-Z][\w'’.\-]*(?:[ \t]+[A-Z][\w'’.\-]*){0,3}"
_LINE_LABEL = re.compile(rf"^[ \t]*(?P<label>{_NAME})[ \t]*:(?=\s|$)", re.MULTILINE)
# `01. Title`, `# Title`: a short line that is a heading, not speech.
_HEADING = re.compile(r"^[ \t]*(?:\d{1,3}[.)]|#{1,6})[ \t]+\S[^\n]{0,200}$", re.MULTILINE)
_WS = " \t\r\n\f\v\u00a0\ufeff"


@dataclass(frozen=True, slots=True)
class _Boundary:
    at: int  # where the previous turn must end (label or heading start)
    content: int  # where this turn's own text starts
    speaker: str | None


def _line_labels(text: str) -> tuple[list[_Boundary], set[str]]:
    found: list[tuple[re.Match[str], bool]] = []
    counts: dict[str, int] = {}
    for m in _LINE_LABEL.finditer(text):
        label = m.group("label")
        rest_of_line = text[m.end() : text.find("\n", m.end()) if "\n" in text[m.end() :] else None]
        alone = not rest_of_line.strip()
        found.append((m, alone))
        counts[label] = counts.get(label, 0) + 1
    # A one-off `Note: ...` is prose; a label used twice, or standing alone on its line, is a speaker.
    known = {label for label, n in counts.items() if n >= 2}
    known |= {m.group("label") for m, alone in found if alone}
    out = [
        _Boundary(at=m.start("label"), content=m.end(), speaker=m.group("label"))
        for m, _ in found
        if m.group("label") in known
    ]
    return out, known


def _inline_labels(text: str, known: set[str], labels: list[_Boundary]) -> list[_Boundary]:
    if not known:
        return []
    # Longest first so `Elon Musk:` wins over `Musk:`.
    names = "|".join(re.escape(k) for k in sorted(known, key=len, reverse=True))
    pattern = re.compile(rf"(?<=[^\s])[ \t]+(?P<label>{names}):(?=\s|$)")
    out = []
    for m in pattern.finditer(text):
        # `Musk:` inside the line label `Elon Musk:` is part of that label, not another one.
        if any(b.at <= m.start("label") < b.content for b in labels):
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


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in _WS:
        start += 1
    while end > start and text[end - 1] in _WS:
        end -= 1
    return start, end


def parse_turns(text: str) -> list[Turn]:
    """Split `text` into speaker turns with exact, trimmed `[start, end)` offsets (label excluded)."""
    line_bounds, known = _line_labels(text)
    line_starts = {b.at for b in line_bounds}
    inline = _inline_labels(text, known, line_bounds)
    taken = line_starts | {b.at for b in inline}
    heads = _headings(text, {text.rfind("\n", 0, a) + 1 for a in taken})
    bounds = sorted([*line_bounds, *inline, *heads], key=lambda b: b.at)

    turns: list[Turn] = []
    start, end = _trim(text, 0, bounds[0].at if bounds else len(text))
    if end > start:
        turns.append(Turn(speaker=None, start=start, end=end))
    for i, b in enumerate(bounds):
        stop = bounds[i + 1].at if i + 1 < len(bounds) else len(text)
        start, end = _trim(text, b.content, stop)
        if end > start:
            label_start = b.at if b.speaker is not None else None
            turns.append(Turn(speaker=b.speaker, start=start, end=end, label_start=label_start))
    return turns
