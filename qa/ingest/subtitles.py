"""Subtitles (`.srt` SubRip, `.vtt` WebVTT) → speaker turns made of cue-text segments.

The words of a turn sit between cue numbers and timing lines, so a turn is a tuple of segments:
each a trimmed piece of one cue-text line (markup tags such as `<i>` or `<v Name>` fall between
pieces), timed by its cue. A speaker is named by a voice tag (`<v Travis>`) or by `Name:` at the
start of a cue; a cue without one continues the current speaker, so cues merge into turns.

Malformed files are read as far as they can be: an unreadable timing line keeps its cue's text
without times, text outside any cue is skipped, a missing blank line is tolerated; each problem
is reported with its line number. A BOM and CRLF line ends are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from qa.ingest.headers import NAME, is_name
from qa.ingest.meta import finish
from qa.models import Segment, Timing, Transcript, Turn

_STAMP = re.compile(r"(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})")
_TIMING = re.compile(r"^(?P<a>\S+)[ \t]+-->[ \t]+(?P<b>\S+)(?:[ \t].*)?$")
_TAG = re.compile(r"<[^>\n]*>|\{\\[^}\n]*\}")  # <i>, </v>, <00:01.000>, {\an8}
_VOICE = re.compile(r"<v(?:\.[\w.\-]+)*[ \t]+(?P<name>[^>\n]+?)[ \t]*>")
# `Name:` opening a cue, after a dialogue dash; or after `>>`, the broadcast captions' mark of a
# new speaker, which may open any line of a cue.
_CUE_LABEL = re.compile(
    rf"[ \t]*(?:(?P<dash>-)[ \t]*|(?P<mark>>>+)[ \t]*)?(?P<label>{NAME})[ \t]*:(?=\s|$)"
)
# YouTube's automatic captions time each word inline (`<00:00:01.234><c> word</c>`) and roll:
# each cue repeats the line before, and 10 ms cues repeat the whole screen.
_BARE_MARK = re.compile(r"[ \t]*>>+[ \t]*")
_INLINE_TIME = re.compile(r"<(?P<t>(?:\d{1,3}:)?\d{1,2}:\d{1,2}\.\d{1,3})>")
_BLOCK = re.compile(r"(?:NOTE|STYLE|REGION)(?:[ \t]|$)")
_WS = " \t\r\u00a0\ufeff"


@dataclass
class _Cue:
    times: Timing
    lines: list[tuple[int, int, int]] = field(default_factory=list)  # (line number, start, end)


def _seconds(stamp: str) -> float | None:
    m = _STAMP.fullmatch(stamp)
    if not m:
        return None
    h, mi, s, frac = m.groups()
    if int(mi) >= 60 or int(s) >= 60:
        return None
    return int(h or 0) * 3600 + int(mi) * 60 + int(s) + int(frac.ljust(3, "0")) / 1000


def _timing(line: str) -> tuple[Timing, str | None]:
    """(start, end) of a timing line, or (None, None) and why not."""
    m = _TIMING.match(line.strip(_WS))
    a = _seconds(m.group("a")) if m else None
    b = _seconds(m.group("b")) if m else None
    if a is None or b is None:
        return (None, None), f"unreadable timing line {line.strip(_WS)!r}"
    if b < a:
        return (None, None), f"cue ends ({m.group('b') if m else ''}) before it starts"
    return (a, b), None


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, without its line break, a trailing CR or a leading BOM."""
    out, pos = [], 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        if start == 0 and line.startswith("\ufeff"):
            start += 1
        if end > start and text[end - 1] == "\r":
            end -= 1
        out.append((start, end))
        pos += len(line) + 1
    return out


def read_cues(
    text: str, webvtt: bool, rolling: bool = False
) -> tuple[list[_Cue], str | None, list[str]]:
    """Cues with their text lines, the WebVTT header title, and what could not be read.

    `rolling` (YouTube's captions): as WebVTT says, only an empty line ends a cue; a line of
    one space is the empty first row of the caption window.
    """
    lines = _lines(text)
    problems: list[str] = []
    cues: list[_Cue] = []
    title: str | None = None
    state = "between"  # between | cue | header | block | orphan
    first = next((i for i, (s, e) in enumerate(lines) if text[s:e].strip(_WS)), None)
    if webvtt:
        head = text[lines[first][0] : lines[first][1]].strip(_WS) if first is not None else ""
        if head.startswith("WEBVTT") and head[6:7] in ("", " ", "\t", "-"):
            state = "header"
            title = head[6:].strip(" \t-") or None
        elif first is not None:
            problems.append(f"line {first + 1}: no WEBVTT header")
    for i, (s, e) in enumerate(lines):
        n, line = i + 1, text[s:e]
        blank = not line.strip(_WS)
        if rolling and state == "cue" and blank and line.strip("\r"):
            continue  # a row of spaces inside a rolling cue
        if state == "header" and i == first:
            continue
        if "-->" in line:
            if state == "cue" and cues and cues[-1].lines:
                problems.append(f"line {n}: no blank line before this cue")
                number = cues[-1].lines[-1]
                if text[number[1] : number[2]].strip(_WS).isdigit():
                    cues[-1].lines.pop()  # the cue number, not text
            elif state in ("header", "block", "orphan"):
                problems.append(f"line {n}: no blank line before this cue")
            times, problem = _timing(line)
            if problem:
                problems.append(f"line {n}: {problem}; the cue's text is kept without times")
            cues.append(_Cue(times))
            state = "cue"
            continue
        if blank:
            state = "between"
            continue
        if state == "cue":
            cues[-1].lines.append((n, s, e))
        elif state == "between":
            nxt = lines[i + 1] if i + 1 < len(lines) else (0, 0)
            if "-->" in text[nxt[0] : nxt[1]]:
                continue  # a cue number or identifier
            if webvtt and _BLOCK.match(line):
                state = "block"
                continue
            problems.append(
                f"line {n}: text outside any cue (no timing line); skipped to the next blank line"
            )
            state = "orphan"
    return cues, title, problems


def _pieces(text: str, start: int, end: int) -> list[Segment]:
    """The trimmed text between markup tags in `text[start:end]`."""
    out: list[Segment] = []
    cursor = start
    for m in [*_TAG.finditer(text, start, end), None]:
        stop = m.start() if m else end
        a, b = cursor, stop
        while a < b and text[a] in _WS:
            a += 1
        while b > a and text[b - 1] in _WS:
            b -= 1
        if b > a:
            out.append((a, b))
        if m:
            cursor = m.end()
    return out


def _plain(text: str, start: int, end: int) -> str:
    """A cue line's words without markup, for telling a repeated caption line."""
    return " ".join(_TAG.sub(" ", text[start:end]).split())


def _word_times(text: str, start: int, end: int, cue: Timing) -> list[tuple[Segment, Timing]]:
    """A line's pieces, each timed from the inline timestamp before it to the next one."""
    stamps = [(m.start(), _seconds(m.group("t"))) for m in _INLINE_TIME.finditer(text, start, end)]
    out = []
    for piece in _pieces(text, start, end):
        before = [t for at, t in stamps if at < piece[0] and t is not None]
        after = [t for at, t in stamps if at >= piece[1] and t is not None]
        out.append((piece, (before[-1] if before else cue[0], after[0] if after else cue[1])))
    return out


def _rolling(text: str, cues: list[_Cue]) -> list[_Cue]:
    """Cues with the lines YouTube repeats taken out: a line equal to one of the last two kept
    lines is the screen scrolling, not speech."""
    kept: list[str] = []
    out = []
    for cue in cues:
        lines = []
        for line in cue.lines:
            words = _plain(text, line[1], line[2])
            if not words or words in kept[-2:]:
                continue
            kept.append(words)
            lines.append(line)
        out.append(_Cue(cue.times, lines))
    return out


def parse_subtitles(doc_id: str, text: str) -> Transcript:
    webvtt = PurePosixPath(doc_id).suffix.lower() == ".vtt"
    rolling = webvtt and _INLINE_TIME.search(text) is not None
    cues, title, problems = read_cues(text, webvtt, rolling)
    if rolling:
        cues = _rolling(text, cues)
    turns: list[Turn] = []
    speaker: str | None = None
    label_start: int | None = None
    segs: list[Segment] = []
    times: list[Timing] = []

    def close() -> None:
        if segs:
            turns.append(
                Turn(
                    speaker=speaker,
                    start=segs[0][0],
                    end=segs[-1][1],
                    label_start=label_start,
                    segments=tuple(segs),
                    times=tuple(times),
                )
            )

    for cue in cues:
        for k, (_, s, e) in enumerate(cue.lines):
            named, at, content = None, None, s
            voice = _VOICE.search(text, s, e)
            label = _CUE_LABEL.match(text, s, e)
            if label and k > 0 and not label.group("mark"):
                label = None
            if label and not is_name(label.group("label")):
                label = None  # `However: ...` is prose; names may be in any script (`Søren Ås`)
            bare = None if voice or label else _BARE_MARK.match(text, s, e)
            if voice:
                named, at = voice.group("name").strip(), voice.start()
            elif label:
                named, at, content = label.group("label"), label.start("label"), label.end()
            if named is not None and named != speaker:
                close()
                speaker, label_start, segs, times = named, at, [], []
            elif bare:
                # `>>` alone: someone else speaks, unnamed; not the previous speaker's words.
                close()
                speaker, label_start, segs, times = None, None, [], []
                content = bare.end()
            for piece, timing in _word_times(text, content, e, cue.times):
                segs.append(piece)
                times.append(timing if rolling else cue.times)
    close()
    return finish(doc_id, text, turns, title=title, problems=problems)
