"""Whisper and WhisperX JSON (`.json`): `{"text": ..., "segments": [{"start", "end", "text",
"speaker"?}, ...]}`.

Each segment's text is its raw string literal in the file, as for JSON turns, so offsets stay
exact; consecutive segments of one speaker make one turn whose segments keep their own times.
Diarisation labels (`SPEAKER_00`) are shown as `Speaker 1`; a sidecar renames them. The
top-level `"text"` repeats every segment and is not read, nor are word lists.
"""

from __future__ import annotations

import json
from json.decoder import scanstring  # type: ignore[attr-defined]

from qa.errors import IngestError
from qa.ingest.jsonturns import _expect, _line, _Malformed, _object, _seconds, _segments, _skip
from qa.ingest.meta import finish
from qa.ingest.speakers import diarised_name
from qa.models import Segment, Timing, Transcript, Turn

_decoder = json.JSONDecoder()


def looks_like_whisper(text: str) -> bool:
    """A JSON object (Whisper's shape) rather than a list of turns."""
    return text.lstrip("\ufeff \t\r\n").startswith("{")


def parse_whisper(doc_id: str, text: str) -> Transcript:
    problems: list[str] = []
    turns: list[Turn] = []
    found = False
    try:
        pos = _expect(text, 1 if text.startswith("\ufeff") else 0, "{")
        pos = _skip(text, pos)
        more = not text.startswith("}", pos)
        pos = pos if more else pos + 1
        while more:
            pos = _expect(text, pos, '"')
            key, pos = scanstring(text, pos)
            pos = _skip(text, _expect(text, pos, ":"))
            if key == "segments" and text.startswith("[", pos):
                found = True
                pos = _segment_list(text, pos, turns, problems)
            else:
                try:
                    _, pos = _decoder.raw_decode(text, pos)
                except json.JSONDecodeError as exc:
                    raise _Malformed(exc.msg, exc.pos) from exc
            pos = _skip(text, pos)
            if text.startswith("}", pos):
                pos, more = pos + 1, False
            else:
                pos = _expect(text, pos, ",")
        if text[_skip(text, pos) :].strip():
            raise _Malformed("extra data after the object", _skip(text, pos))
    except _Malformed as exc:
        where = f"line {_line(text, exc.pos)}"
        if not turns:
            raise IngestError(f"{doc_id}: not a Whisper JSON transcript ({where}: {exc})") from None
        problems.append(f"{where}: {exc}; the rest of the file is skipped")
    if not found:
        raise IngestError(f'{doc_id}: a JSON object needs a "segments" list (Whisper\'s shape)')
    return finish(doc_id, text, _merge(turns), problems=problems)


def _segment_list(text: str, pos: int, turns: list[Turn], problems: list[str]) -> int:
    pos = _skip(text, _expect(text, pos, "["))
    if text.startswith("]", pos):
        return pos + 1
    while True:
        at = _skip(text, pos)
        if not text.startswith("{", at):
            try:
                _, pos = _decoder.raw_decode(text, at)
            except json.JSONDecodeError as exc:
                raise _Malformed(exc.msg, exc.pos) from exc
            problems.append(f"line {_line(text, at)}: not a segment object; skipped")
        else:
            values, spans, pos = _object(text, at)
            if "text" not in spans:
                problems.append(f'line {_line(text, at)}: a segment needs a string "text"; skipped')
            else:
                segs = _segments(text, *spans["text"])
                speaker = values.get("speaker")
                label = " ".join(speaker.split()) if isinstance(speaker, str) else ""
                timing: Timing = (_seconds(values.get("start")), _seconds(values.get("end")))
                if segs:
                    turns.append(
                        Turn(
                            speaker=diarised_name(label) if label else None,
                            start=segs[0][0],
                            end=segs[-1][1],
                            label_start=spans["speaker"][0] if "speaker" in spans else None,
                            segments=tuple(segs),
                            times=(timing,) * len(segs),
                        )
                    )
        pos = _skip(text, pos)
        if text.startswith("]", pos):
            return pos + 1
        pos = _expect(text, pos, ",")


def _merge(turns: list[Turn]) -> list[Turn]:
    """Consecutive segments of one speaker as one turn."""
    out: list[Turn] = []
    for t in turns:
        if out and out[-1].speaker == t.speaker:
            prev = out[-1]
            segs: tuple[Segment, ...] = prev.segments + t.segments
            out[-1] = Turn(
                speaker=prev.speaker,
                start=prev.start,
                end=t.end,
                label_start=prev.label_start,
                segments=segs,
                times=prev.times + t.times,
            )
        else:
            out.append(t)
    return out
