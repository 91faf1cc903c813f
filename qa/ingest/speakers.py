"""One display name per person in a document: `Musk` and `Elon Musk` are the same speaker.

Within one document, a label whose words are the last words of a longer label (`Musk` of `Elon
Musk`, `MUSK` of `Elon Musk`) names the same person, unless two longer labels claim it
(`Smith` with `John Smith` and `Jane Smith`). The display name is the longest form; the label as
written stays on the turn for citations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from qa.errors import IngestError
from qa.models import Turn


def _words(label: str) -> tuple[str, ...]:
    return tuple(w.strip(".").casefold() for w in label.split())


def resolve_aliases(labels: Iterable[str]) -> dict[str, str]:
    """label → display name, for every label."""
    unique = sorted(set(labels))
    words = {label: tuple(_words(label)) for label in unique}
    # Each label under every shorter run of its last words: who may claim `Musk` is looked up,
    # not searched for among all the labels (a document may have thousands).
    claimants: dict[tuple[str, ...], list[str]] = {}
    for label, ws in words.items():
        for k in range(1, len(ws)):
            claimants.setdefault(ws[-k:], []).append(label)
    out: dict[str, str] = {}
    for label in unique:
        mine = words[label]
        if len("".join(mine)) < 2:  # `Q`, `A`: markers, not names
            out[label] = label
            continue
        longer = claimants.get(mine, [])
        # The longest claimant must contain every other one, or the short label is ambiguous.
        longest = max(longer, key=lambda o: (len(words[o]), o), default=None)
        if longest is not None and all(
            words[longest][-len(words[o]) :] == words[o] for o in longer
        ):
            out[label] = longest
        else:
            out[label] = label
    return out


def resolve_turns(turns: Sequence[Turn]) -> tuple[Turn, ...]:
    """Turns with `speaker` the display name and `label` the label as written."""
    names = resolve_aliases(t.speaker for t in turns if t.speaker)
    return tuple(
        replace(t, speaker=names[t.speaker], label=t.label or t.speaker) if t.speaker else t
        for t in turns
    )


_DIARISED = re.compile(r"SPEAKER[ _-]?(\d{1,3})", re.I)


def diarised_name(label: str) -> str:
    """`SPEAKER_00` (a diariser's label, counting from 0) → `Speaker 1`; other labels unchanged."""
    m = _DIARISED.fullmatch(label.strip())
    return f"Speaker {int(m.group(1)) + 1}" if m else label


def sidecar_speakers(name: str, data: Any) -> dict[str, str]:
    """The `speakers` mapping of a sidecar (`{"SPEAKER_00": "Jane Roe"}`), checked."""
    speakers = data.get("speakers") if isinstance(data, dict) else None
    if speakers is None:
        return {}
    if not isinstance(speakers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in speakers.items()
    ):
        raise IngestError(f'{name}: "speakers" must map labels to names ({{"SPEAKER_00": "Jane"}})')
    return {k.strip(): " ".join(v.split()) for k, v in speakers.items()}


def rename_speakers(turns: Sequence[Turn], names: dict[str, str]) -> tuple[Turn, ...]:
    """Turns whose label or display name a sidecar renames; a key may be written as the file has
    it (`SPEAKER_00`) or as shown (`Speaker 1`)."""
    table = {**{diarised_name(k): v for k, v in names.items()}, **names}
    out = []
    for t in turns:
        new = next((table[n] for n in (t.label, t.speaker) if n is not None and n in table), None)
        out.append(replace(t, speaker=new, label=new) if new else t)
    return tuple(out)
