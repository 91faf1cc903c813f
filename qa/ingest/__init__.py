"""Read transcript files into `Transcript`s: one reader per format, offsets into the file's text.

For text formats the canonical text (what every offset refers to) is the file as
`Path.read_text(encoding="utf-8")` reads it. For .docx, .pdf and .html it is the text extracted from the
file, which the index stores with the document; their content hash is that of the file's bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path, PurePosixPath

from qa.errors import IngestError
from qa.ingest import docx, html, pdf
from qa.ingest.jsonturns import parse_json_turns
from qa.ingest.markdown import parse_markdown
from qa.ingest.meta import parse_sidecar, with_overrides
from qa.ingest.speakers import rename_speakers, sidecar_speakers
from qa.ingest.subtitles import parse_subtitles
from qa.ingest.text import parse_text
from qa.ingest.whisper import looks_like_whisper, parse_whisper
from qa.models import Transcript

log = logging.getLogger("qa.ingest")

# One reader per format; each is pure (text in, Transcript out) with offsets into that text.
READERS: dict[str, Callable[[str, str], Transcript]] = {
    ".txt": parse_text,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".srt": parse_subtitles,
    ".vtt": parse_subtitles,
    ".json": lambda doc_id, text: (
        parse_whisper(doc_id, text) if looks_like_whisper(text) else parse_json_turns(doc_id, text)
    ),
    ".pdf": pdf.parse_pdf_text,  # its stored canonical text parses again to the same turns
    ".html": html.parse_html_text,
    ".htm": html.parse_html_text,
}
# Formats whose canonical text is extracted from the file's bytes.
BINARY_READERS: dict[str, Callable[[str, bytes], Transcript]] = {
    ".docx": docx.parse_docx,
    ".pdf": pdf.parse_pdf,
    ".html": html.parse_html,
    ".htm": html.parse_html,
}
SUFFIXES = frozenset(READERS) | frozenset(BINARY_READERS)
SIDECAR = ".meta.json"
# Notes that travel with a corpus but are not transcripts.
_NOT_TRANSCRIPTS = re.compile(r"(?:readme|source|sources|licen[cs]e|copying)(?:\.[^.]+)?", re.I)


def _suffix(name: str) -> str:
    # PurePosixPath(name).suffix, without building a path: a scan asks this of every file.
    base = name.rpartition("/")[2]
    i = base.rfind(".")
    return base[i:].lower() if 0 < i < len(base) - 1 else ""


def is_binary(name: str) -> bool:
    """Whether a file's canonical text is extracted (.docx, .pdf, .html) rather than the file itself."""
    return _suffix(name) in BINARY_READERS


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def decode_text(name: str, data: bytes) -> str:
    """Bytes of a text format as `Path.read_text(encoding="utf-8")` reads them (CRLF → LF)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{name}: not valid UTF-8 (byte offset {exc.start}: {exc.reason})"
        ) from exc
    nul = text.find("\0")
    if nul >= 0:  # valid UTF-8, but no transcript has NUL characters: a binary file
        raise IngestError(f"{name}: a binary file, not text (NUL character at offset {nul})")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_source_text(path: Path) -> str:
    """The text every offset refers to: `Path.read_text(encoding="utf-8")` for text formats,
    the extracted text for .docx, .pdf and .html."""
    data = _read_bytes(path)
    suffix = _suffix(path.name)
    if suffix == ".docx":
        return docx.extract(path.name, data).text
    if suffix == ".pdf":
        return pdf.extract(path.name, data)
    if suffix in (".html", ".htm"):
        return html.extract(path.name, data)
    return decode_text(path.name, data)


def source_hash(path: Path) -> str:
    """The content hash `scan` compares: of the text for text formats, of the bytes for .docx and
    .pdf (extracting them for every scan would cost more than it tells) and for a text file that
    cannot be decoded (so that it is not read again until it changes)."""
    data = _read_bytes(path)
    if not is_binary(path.name):
        with contextlib.suppress(IngestError):  # undecodable: hashed by its bytes
            data = decode_text(path.name, data).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def parse_transcript(doc_id: str, text: str) -> Transcript:
    """Parse already-read text (pure: no I/O); the reader is chosen by the suffix of `doc_id`.

    A .docx's canonical text parses without its heading styles (they are in the file only).
    """
    reader = READERS.get(_suffix(doc_id))
    if reader is None:  # a .docx's canonical text, and every other suffix: plain text
        reader = parse_text
    try:
        return reader(doc_id, text)
    except RecursionError as exc:  # JSON nested thousands deep: the decoder recurses
        raise IngestError(f"{doc_id}: nested too deeply to read") from exc


def parse_file(doc_id: str, data: bytes) -> Transcript:
    """A file's bytes → its transcript (pure: no I/O); `text` is the canonical text."""
    binary = BINARY_READERS.get(_suffix(doc_id))
    if binary is not None:
        try:
            doc = binary(doc_id, data)
        except RecursionError as exc:
            raise IngestError(f"{doc_id}: nested too deeply to read") from exc
        return replace(doc, sha256=hashlib.sha256(data).hexdigest())
    return parse_transcript(doc_id, decode_text(PurePosixPath(doc_id).name, data))


def sidecar_for(path: Path) -> Path | None:
    """`talk.meta.json` or `talk.srt.meta.json` next to `talk.srt`, if there is one."""
    for candidate in (path.with_name(path.stem + SIDECAR), path.with_name(path.name + SIDECAR)):
        try:
            if candidate.is_file():
                return candidate
        except OSError:  # a name too long to exist (ENAMETOOLONG): there is no such sidecar
            continue
    return None


def read_transcript(path: Path, root: Path) -> Transcript:
    doc = parse_file(doc_id_for(path, root), _read_bytes(path))
    sidecar = sidecar_for(path)
    if sidecar is not None:
        text = read_source_text(sidecar)
        doc = with_overrides(doc, parse_sidecar(sidecar.name, text))
        names = sidecar_speakers(sidecar.name, json.loads(text))
        if names:
            doc = replace(doc, turns=rename_speakers(doc.turns, names))
    for problem in doc.problems:
        log.warning("%s: %s", doc.doc_id, problem)
    return doc


def doc_id_for(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _not_a_note(name: str) -> bool:
    """Not hidden, not a sidecar, not a README/SOURCE/LICENSE note (`name` relative to the root)."""
    # PurePosixPath(name)'s parts, without building one: `/health` asks this of every file in
    # the folder (a path object cost most of listing 10,000 files).
    parts = [p for p in name.split("/") if p not in ("", ".")]
    base = parts[-1] if parts else ""
    return (
        not base.lower().endswith(SIDECAR)
        and not _NOT_TRANSCRIPTS.fullmatch(base)
        and not any(part.startswith(".") for part in parts)
    )


def is_transcript_name(name: str) -> bool:
    """Whether a file of this name (relative to the source folder) is a transcript the index
    reads: a known suffix, and not hidden, a sidecar or a note."""
    return _suffix(name) in SUFFIXES and _not_a_note(name)


def _candidates(root: Path) -> list[Path]:
    """Files under `root` that could be transcripts: not hidden, not sidecars or notes."""
    return [root / name for name in candidate_names(root)]


def candidate_names(root: Path) -> list[str]:
    """`_candidates`, as names relative to `root`, by one walk that asks the file system for
    entry types instead of a stat per file (a scan of 10,000 files lists them in milliseconds).
    Symlinked folders are not followed; hidden ones hold nothing that is read."""
    return _listing(root)[0]


# A folder's (mtime, ctime) in ns, taken before it is listed; None where the listing cannot be
# kept: a folder that could not be listed, a symlinked file (its target can change unseen).
Stamp = tuple[int, int] | None


def candidate_set(root: Path) -> tuple[set[str], list[tuple[str, Stamp]]]:
    """`candidate_names` as a set (a listing with no order to keep, `/health`'s), and a stamp
    per folder listed: a file added, removed or renamed changes its folder's mtime and ctime."""
    stamps: list[tuple[str, Stamp]] = []
    return set(_listing(root, ordered=False, stamps=stamps)[0]), stamps


def folder_stamp(folder: str) -> Stamp:
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_ctime_ns


def check_source_folder(root: Path) -> None:
    """IngestError unless `root` is a folder: not found, or a file (`--source talk.txt`)."""
    if not root.is_dir():
        if root.exists():
            raise IngestError(f"source folder {root} is a file: give the folder that holds it")
        raise IngestError(f"source folder not found: {root}")


def _listing(
    root: Path, *, ordered: bool = True, stamps: list[tuple[str, Stamp]] | None = None
) -> tuple[list[str], set[str]]:
    """(candidate_names, the names of the sidecars beside them) from one walk."""
    check_source_folder(root)
    out: list[str] = []
    sidecars: set[str] = set()
    _walk(str(root), "", out, sidecars, stamps)
    return (sorted(out, key=lambda n: n.split("/")) if ordered else out), sidecars


def _walk(
    folder: str,
    prefix: str,
    out: list[str],
    sidecars: set[str],
    stamps: list[tuple[str, Stamp]] | None,
) -> None:
    if stamps is not None:
        stamps.append((folder, folder_stamp(folder)))  # before the listing: a change after shows
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except OSError as exc:
        log.warning("skipped %s: cannot list it (%s)", folder, exc.strerror or exc)
        if stamps is not None:
            stamps.append((folder, None))
        return
    for e in entries:
        name = prefix + e.name
        try:
            if e.is_dir() and not e.is_symlink():
                if not e.name.startswith("."):
                    _walk(e.path, name + "/", out, sidecars, stamps)
            elif e.is_file():
                if _not_a_note(name):
                    out.append(name)
                    if stamps is not None and e.is_symlink():
                        stamps.append((e.path, None))
                elif e.name.endswith(SIDECAR):
                    sidecars.add(name)
        except OSError as exc:
            # One entry the file system will not stat (a name too long, no permission) must not
            # stop every other transcript from being indexed.
            log.warning("skipped %s: cannot read it (%s)", e.name, exc.strerror or exc)
            if stamps is not None:
                stamps.append((e.path, None))


def split_names(root: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """The names of `list_sources` and of `list_unsupported`, and source name → its sidecar's
    name (what `sidecar_for` finds), from one listing."""
    names, sidecars = _listing(root)
    sources = [n for n in names if _suffix(n) in SUFFIXES]
    found = {}
    for n in sources:
        for candidate in _sidecar_names(n):
            if candidate in sidecars:
                found[n] = candidate
                break
    return sources, [n for n in names if _suffix(n) not in SUFFIXES], found


def _sidecar_names(name: str) -> tuple[str, str]:
    """`talk.meta.json` and `talk.srt.meta.json` for `talk.srt`, in the order they are used."""
    folder, _, base = name.rpartition("/")
    stem = base[: len(base) - len(_suffix(base))] if _suffix(base) else base
    prefix = f"{folder}/" if folder else ""
    return f"{prefix}{stem}{SIDECAR}", f"{prefix}{base}{SIDECAR}"


def list_sources(root: Path) -> list[Path]:
    """Transcript files under `root`, in a stable order; hidden files are skipped."""
    return [p for p in _candidates(root) if p.suffix.lower() in SUFFIXES]


def list_unsupported(root: Path) -> list[Path]:
    """Files under `root` of a type qa does not read (reported, never indexed)."""
    return [p for p in _candidates(root) if p.suffix.lower() not in SUFFIXES]


def unsupported_reason(path: Path) -> str:
    kind = f"{path.suffix} files" if path.suffix else "files without a suffix"
    return f"unsupported file type: {kind} are not read (qa reads {', '.join(sorted(SUFFIXES))})"
