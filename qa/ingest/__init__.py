"""Read transcript files into `Transcript`s: one reader per format, offsets into the file's text."""

from __future__ import annotations

import hashlib
from pathlib import Path

from qa.errors import IngestError
from qa.ingest.text import parse_turns
from qa.models import Transcript

SUFFIXES = frozenset({".txt"})


def read_source_text(path: Path) -> str:
    """The text every offset refers to: exactly `Path.read_text(encoding="utf-8")`."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path.name}: not valid UTF-8 (byte offset {exc.start}: {exc.reason})"
        ) from exc
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def parse_transcript(doc_id: str, text: str) -> Transcript:
    """Parse already-read text (pure: no I/O)."""
    turns = parse_turns(text)
    if not any(text[t.start : t.end].strip() for t in turns):
        raise IngestError(f"{doc_id}: no transcript text")
    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Transcript(doc_id=doc_id, text=text, sha256=sha, turns=tuple(turns))


def read_transcript(path: Path, root: Path) -> Transcript:
    return parse_transcript(doc_id_for(path, root), read_source_text(path))


def doc_id_for(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def list_sources(root: Path) -> list[Path]:
    """Transcript files under `root`, in a stable order; hidden files are skipped."""
    if not root.is_dir():
        raise IngestError(f"source folder not found: {root}")
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
