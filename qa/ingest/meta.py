"""Document metadata (title, date, source URL) and the last step every reader shares.

Title: front matter, then the first Markdown heading, then the file name. Date: front matter,
then a `YYYY-MM-DD` file-name prefix. A sidecar `NAME.meta.json` overrides any of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

import yaml

from qa.errors import IngestError
from qa.ingest.speakers import resolve_turns
from qa.models import Transcript, Turn
from qa.segments import join

_FRONT = re.compile(r"\A\ufeff?---[ \t]*\n(?P<body>.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_URL_KEYS = ("source_url", "url", "source", "link")


@dataclass(frozen=True, slots=True)
class FrontMatter:
    end: int  # where the body starts (0 when there is no front matter)
    fields: dict[str, Any]
    problem: str | None = None


def front_matter(text: str) -> FrontMatter:
    """YAML between `---` lines at the very top; unreadable YAML is reported, not fatal."""
    m = _FRONT.match(text)
    if not m:
        return FrontMatter(0, {})
    try:
        data = yaml.safe_load(m.group("body") or "")
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", 0) + 2
        return FrontMatter(m.end(), {}, f"line {line}: front matter is not valid YAML; ignored")
    if not isinstance(data, dict):
        return FrontMatter(m.end(), {}, "line 1: front matter is not a mapping; ignored")
    return FrontMatter(m.end(), data)


def clean_date(value: Any) -> str | None:
    """`YYYY-MM-DD` from a date, a datetime or a string that starts with one; else None."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        m = _DATE.match(value.strip())
        if m:
            try:
                return dt.date(*(int(g) for g in m.groups())).isoformat()
            except ValueError:
                return None
    return None


def clean_text(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = " ".join(str(value).split())  # YAML's `\_` is a no-break space; folded lines
    return text or None


def name_date(doc_id: str) -> str | None:
    return clean_date(PurePosixPath(doc_id).name[:10])


def name_title(doc_id: str) -> str:
    return PurePosixPath(doc_id).stem


def metadata_fields(fields: dict[str, Any]) -> dict[str, str | None]:
    """title, date, source_url from front matter or a sidecar (keys that are absent stay absent)."""
    out: dict[str, str | None] = {}
    if "title" in fields:
        out["title"] = clean_text(fields["title"])
    if "date" in fields:
        out["date"] = clean_date(fields["date"])
    for key in _URL_KEYS:
        if key in fields:
            out["source_url"] = clean_text(fields[key])
            break
    return out


def parse_sidecar(name: str, text: str) -> dict[str, str | None]:
    """The overrides in a `NAME.meta.json` sidecar: a JSON object with title/date/source_url."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise IngestError(f"{name}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise IngestError(f"{name}: must be a JSON object with title, date, source_url")
    if "date" in data and data["date"] is not None and clean_date(data["date"]) is None:
        raise IngestError(f"{name}: date {data['date']!r} is not YYYY-MM-DD")
    return metadata_fields(data)


def finish(
    doc_id: str,
    text: str,
    turns: Sequence[Turn],
    *,
    title: str | None = None,
    date: str | None = None,
    source_url: str | None = None,
    problems: Sequence[str] = (),
) -> Transcript:
    """Resolve speaker aliases, fill in metadata defaults, refuse a transcript with no text."""
    if not any(join(text, t.segments).strip() for t in turns):
        detail = f" ({problems[0]})" if problems else ""
        raise IngestError(f"{doc_id}: no transcript text{detail}")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Transcript(
        doc_id=doc_id,
        text=text,
        sha256=sha,
        turns=resolve_turns(turns),
        title=title or name_title(doc_id),
        date=date or name_date(doc_id),
        source_url=source_url,
        problems=tuple(problems),
    )


def with_overrides(doc: Transcript, overrides: dict[str, str | None]) -> Transcript:
    return replace(doc, **{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
