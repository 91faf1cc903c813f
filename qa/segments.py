"""Spans made of several exact slices of the source: their text, and cutting them to a range.

A subtitle turn's words sit between cue numbers and timestamps, so it is not one slice of the
file. It is a tuple of segments (`[start, end)` slices, in order, never overlapping), and its text
is the slices joined by single spaces. Plain text is the one-segment case, and then every
function here gives exactly what slicing the source would.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from qa.models import Segment, Timing


def join(text: str, segments: Sequence[Segment]) -> str:
    """The text of a span: its slices of `text`, joined by single spaces."""
    return " ".join(text[s:e] for s, e in segments)


def clip(
    segments: Sequence[Segment], times: Sequence[Timing], start: int, end: int
) -> tuple[tuple[Segment, ...], tuple[Timing, ...]]:
    """The part of a span inside the source range `[start, end)`, with each piece's timing."""
    segs: list[Segment] = []
    kept: list[Timing] = []
    for i, (s, e) in enumerate(segments):
        a, b = max(s, start), min(e, end)
        if a < b:
            segs.append((a, b))
            if times:
                kept.append(times[i])
    return tuple(segs), tuple(kept)


def joined_slice(joined: str, segments: Sequence[Segment], start: int, end: int) -> str:
    """`join(source, clip(segments, start, end))`, from the span's joined text alone.

    `start` and `end` are source offsets inside the span; for one segment this is
    `joined[start - segments[0][0] : end - segments[0][0]]`.
    """
    return joined[_local(segments, start) : _local(segments, end)]


def _local(segments: Sequence[Segment], offset: int) -> int:
    """Where source `offset` falls in the joined text (an offset between segments maps to the gap)."""
    at = 0
    for s, e in segments:
        if offset <= e:
            return at + max(0, offset - s)
        at += e - s + 1
    return at - 1


@dataclass(frozen=True, slots=True)
class JoinedView:
    """A multi-segment span as one string, with the way back to source offsets.

    `text[a:b]`, for `a` and `b` not on a joining space, equals `join(source, view.spans(a, b)[0])`.
    """

    text: str
    segments: tuple[Segment, ...]
    times: tuple[Timing, ...]
    starts: tuple[int, ...]  # where each segment begins in `text`

    @classmethod
    def of(cls, source: str, segments: Sequence[Segment], times: Sequence[Timing]) -> JoinedView:
        starts, at = [], 0
        for s, e in segments:
            starts.append(at)
            at += e - s + 1
        return cls(join(source, segments), tuple(segments), tuple(times), tuple(starts))

    def spans(self, a: int, b: int) -> tuple[tuple[Segment, ...], tuple[Timing, ...]]:
        """Source segments (and their timings) of `text[a:b]`."""
        segs: list[Segment] = []
        kept: list[Timing] = []
        # From the last segment starting at or before `a`: a turn of many cues is cut into many
        # chunks and sentences, and a scan from the first segment would make that quadratic.
        i = max(0, bisect.bisect_right(self.starts, a) - 1)
        while i < len(self.segments) and self.starts[i] < b:
            (s, e), j = self.segments[i], self.starts[i]
            lo, hi = max(a, j), min(b, j + e - s)
            if lo < hi:
                segs.append((s + lo - j, s + hi - j))
                if self.times:
                    kept.append(self.times[i])
            i += 1
        return tuple(segs), tuple(kept)


def blank(ch: str) -> bool:
    # `str.strip()` (used by the splitter) drops every `isspace()` character, control separators
    # like U+001F included; a BOM is not whitespace to Python but is never content either.
    return ch.isspace() or ch == "\ufeff"


def trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Narrow `[start, end)` past blank characters at both ends."""
    while start < end and blank(text[start]):
        start += 1
    while end > start and blank(text[end - 1]):
        end -= 1
    return start, end
