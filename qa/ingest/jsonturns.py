"""JSON transcripts (`.json`): a list of turns `{"speaker": ..., "text": ..., "start"?, "end"?}`.

A turn's text is the raw string literal in the file, so offsets stay exact: JSON escapes for line
breaks (`\\n`, `\\r`, `\\t`) split it into segments; other escapes (`\\"`, `\\u00e9`) stay in the
quote as written in the file. `start`/`end` (seconds) time the turn. Items that are not turns are
reported with their line number and skipped.
"""

from __future__ import annotations

import json
import re
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from qa.errors import IngestError
from qa.ingest.meta import finish
from qa.models import Segment, Timing, Transcript, Turn

_SPACE = re.compile(r"[ \t\n\r]*")
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")
_WS = " \t\u00a0"
_decoder = json.JSONDecoder()


class _Malformed(ValueError):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


def _skip(text: str, pos: int) -> int:
    m = _SPACE.match(text, pos)
    return m.end() if m else pos


def _expect(text: str, pos: int, char: str) -> int:
    pos = _skip(text, pos)
    if not text.startswith(char, pos):
        raise _Malformed(f"expected {char!r}", pos)
    return pos + 1


def _object(text: str, pos: int) -> tuple[dict[str, Any], dict[str, tuple[int, int]], int]:
    """A JSON object at `pos`: its values, where each string value's literal lies, and its end."""
    pos = _expect(text, pos, "{")
    values: dict[str, Any] = {}
    spans: dict[str, tuple[int, int]] = {}
    pos = _skip(text, pos)
    if text.startswith("}", pos):
        return values, spans, pos + 1
    while True:
        pos = _expect(text, pos, '"')
        key, pos = scanstring(text, pos)
        pos = _skip(text, _expect(text, pos, ":"))
        try:
            value, end = _decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise _Malformed(exc.msg, exc.pos) from exc
        values[key] = value
        if isinstance(value, str):
            spans[key] = (pos + 1, end - 1)
        pos = _skip(text, end)
        if text.startswith("}", pos):
            return values, spans, pos + 1
        pos = _expect(text, pos, ",")


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _segments(text: str, start: int, end: int) -> list[Segment]:
    out: list[Segment] = []
    cursor = start
    for m in [*_ESCAPE.finditer(text, start, end), None]:
        if m and m.group(0) not in ("\\n", "\\r", "\\t"):
            continue  # `\\"`, `\\\\`, `\\u00e9` stay as written
        a, b = cursor, m.start() if m else end
        while a < b and text[a] in _WS:
            a += 1
        while b > a and text[b - 1] in _WS:
            b -= 1
        if b > a:
            out.append((a, b))
        if m:
            cursor = m.end()
    return out


def _seconds(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


def parse_json_turns(doc_id: str, text: str) -> Transcript:
    problems: list[str] = []
    turns: list[Turn] = []
    try:
        pos = _expect(text, 1 if text.startswith("\ufeff") else 0, "[")
        pos = _skip(text, pos)
        more = not text.startswith("]", pos)
        if not more:
            pos += 1
        while more:
            item_at = _skip(text, pos)
            if text.startswith("{", item_at):
                values, spans, pos = _object(text, item_at)
                turn = _turn(text, values, spans)
                if turn is None:
                    problems.append(
                        f'line {_line(text, item_at)}: not a turn (needs a string "text"); skipped'
                    )
                elif turn.end > turn.start:
                    turns.append(turn)
            else:
                try:
                    _, pos = _decoder.raw_decode(text, item_at)
                except json.JSONDecodeError as exc:
                    raise _Malformed(exc.msg, exc.pos) from exc
                problems.append(f"line {_line(text, item_at)}: not a turn object; skipped")
            pos = _skip(text, pos)
            if text.startswith("]", pos):
                pos += 1
                more = False
            else:
                pos = _expect(text, pos, ",")
        if text[_skip(text, pos) :].strip():
            raise _Malformed("extra data after the list", _skip(text, pos))
    except _Malformed as exc:
        where = f"line {_line(text, exc.pos)}"
        if not turns:
            raise IngestError(f"{doc_id}: not a JSON list of turns ({where}: {exc})") from None
        problems.append(f"{where}: {exc}; the rest of the file is skipped")
    return finish(doc_id, text, turns, problems=problems)


def _turn(text: str, values: dict[str, Any], spans: dict[str, tuple[int, int]]) -> Turn | None:
    if "text" not in spans:
        return None
    start, end = spans["text"]
    segments = _segments(text, start, end)
    speaker = values.get("speaker")
    speaker = " ".join(speaker.split()) or None if isinstance(speaker, str) else None
    timing: Timing = (_seconds(values.get("start")), _seconds(values.get("end")))
    times = (timing,) * len(segments) if any(t is not None for t in timing) else ()
    label_start = spans["speaker"][0] if speaker and "speaker" in spans else None
    if not segments:
        return Turn(speaker=speaker, start=start, end=start, label_start=label_start)
    return Turn(
        speaker=speaker,
        start=segments[0][0],
        end=segments[-1][1],
        label_start=label_start,
        segments=tuple(segments),
        times=times,
    )
