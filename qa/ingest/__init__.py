"""Read transcript files into `Transcript`s: one reader per format, offsets into the file's text."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from qa.errors import IngestError
from qa.ingest.jsonturns import parse_json_turns
from qa.ingest.markdown import parse_markdown
from qa.ingest.meta import parse_sidecar, with_overrides
from qa.ingest.subtitles import parse_subtitles
from qa.ingest.text import parse_text
from qa.models import Transcript

log = logging.getLogger("qa.ingest")

# One reader per format; each is pure (text in, Transcript out) with offsets into that text.
READERS: dict[str, Callable[[str, str], Transcript]] = {
    ".txt": parse_text,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".srt": parse_subtitles,
    ".vtt": parse_subtitles,
    ".json": parse_json_turns,
}
SUFFIXES = frozenset(READERS)
SIDECAR = ".meta.json"
# Notes that travel with a corpus but are not transcripts.
_NOT_TRANSCRIPTS = re.compile(r"(?:readme|source|sources|licen[cs]e|copying)(?:\.[^.]+)?", re.I)


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
    """Parse already-read text (pure: no I/O); the reader is chosen by the suffix of `doc_id`."""
    reader = READERS.get(PurePosixPath(doc_id).suffix.lower(), parse_text)
    return reader(doc_id, text)


def sidecar_for(path: Path) -> Path | None:
    """`talk.meta.json` or `talk.srt.meta.json` next to `talk.srt`, if there is one."""
    for candidate in (path.with_name(path.stem + SIDECAR), path.with_name(path.name + SIDECAR)):
        if candidate.is_file():
            return candidate
    return None


def read_transcript(path: Path, root: Path) -> Transcript:
    doc = parse_transcript(doc_id_for(path, root), read_source_text(path))
    sidecar = sidecar_for(path)
    if sidecar is not None:
        doc = with_overrides(doc, parse_sidecar(sidecar.name, read_source_text(sidecar)))
    for problem in doc.problems:
        log.warning("%s: %s", doc.doc_id, problem)
    return doc


def doc_id_for(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def is_transcript_name(name: str) -> bool:
    """Whether a file of this name (a path relative to the source folder) is a transcript the
    index reads: a known suffix, no sidecar, no README/SOURCE/LICENSE note, nothing hidden."""
    path = PurePosixPath(name)
    return (
        path.suffix.lower() in SUFFIXES
        and not path.name.lower().endswith(SIDECAR)
        and not _NOT_TRANSCRIPTS.fullmatch(path.name)
        and not any(part.startswith(".") for part in path.parts)
    )


def list_sources(root: Path) -> list[Path]:
    """Transcript files under `root`, in a stable order; hidden files are skipped."""
    if not root.is_dir():
        raise IngestError(f"source folder not found: {root}")
    return sorted(
        p
        for p in root.rglob("*")
        if is_transcript_name(p.relative_to(root).as_posix()) and p.is_file()
    )
