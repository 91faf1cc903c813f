"""Checks on a document sent over HTTP, all made before anything is written."""

from __future__ import annotations

import re
import unicodedata

from qa.errors import BadUpload, NotFound, PayloadTooLarge, UnsupportedType
from qa.ingest import SIDECAR, SUFFIXES, is_binary, parse_file
from qa.models import Transcript

# A file name is at most 255 bytes (NAME_MAX), and so is every name derived from it: the sidecar
# `NAME.meta.json` (qa.ingest.sidecar_for) is the longest.
NAME_MAX = 255
MAX_NAME_BYTES = NAME_MAX - len(SIDECAR)
PATH_MAX = 4096
# Names Windows reserves for devices whatever the extension (`CON.txt`, `nul.md`): a folder
# shared with or copied to Windows could not hold them.
_RESERVED = re.compile(r"(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?", re.IGNORECASE)
# Characters that are not visible text: controls (C0, DEL, C1), format characters (bidi overrides
# such as U+202E, zero-width spaces and joiners, the BOM), surrogates, private use, unassigned,
# line and paragraph separators. They make a name display as something it is not.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def check_name(name: str) -> str:
    """A plain file name in the source folder: `interview.txt`, never a path."""
    if not name or not name.strip():
        raise BadUpload("the document needs a file name")
    if "/" in name or "\\" in name or ".." in name:
        raise BadUpload(f"{name!r}: a document name must not contain path separators or '..'")
    if name.startswith("."):
        raise BadUpload(f"{name!r}: a document name must not start with a dot")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise BadUpload(f"{name!r}: a document name must not contain control characters")
    if any(unicodedata.category(ch) in _INVISIBLE for ch in name):
        raise BadUpload(
            f"{name!r}: a document name must not contain invisible or format characters "
            "(bidi overrides, zero-width characters, C1 controls)"
        )
    if name != name.strip():
        raise BadUpload(f"{name!r}: a document name must not start or end with a space")
    if _RESERVED.fullmatch(name):
        raise BadUpload(f"{name!r}: {name.split('.')[0]} is a reserved device name on Windows")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise BadUpload(
            f"a document name must be at most {MAX_NAME_BYTES} bytes "
            f"(its sidecar {SIDECAR} must fit in {NAME_MAX})"
        )
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix not in SUFFIXES:
        raise UnsupportedType(
            f"{name!r}: only {', '.join(sorted(SUFFIXES))} transcripts can be uploaded"
        )
    return name


def check_doc_id(doc_id: str) -> str:
    """A document id a route may look up: one that could name a file (else: no such document).

    Checked before the file system is asked, which would fail (name too long) rather than answer.
    """
    parts = doc_id.split("/")
    if (
        len(doc_id.encode("utf-8", "surrogatepass")) > PATH_MAX
        or any(len(p.encode("utf-8", "surrogatepass")) > NAME_MAX for p in parts)
        or any(unicodedata.category(ch) in ("Cc", "Cs") for ch in doc_id)
    ):
        shown = doc_id if len(doc_id) <= 80 else f"{doc_id[:60]}… ({len(doc_id)} characters)"
        raise NotFound(f"no document {shown!r}")
    return doc_id


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise PayloadTooLarge(f"a document may be at most {limit} bytes ({size} sent)")


def decode(name: str, data: bytes, limit: int) -> str:
    """The upload's text, exactly as `read_source_text` will read it back."""
    check_size(len(data), limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadUpload(f"{name}: not valid UTF-8 (byte offset {exc.start}: {exc.reason})") from exc
    return text


def encode(name: str, text: str, limit: int) -> bytes:
    """A JSON upload's text as the bytes to store."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadUpload(
            f"{name}: text is not valid Unicode (character {exc.start}: {exc.reason})"
        ) from exc
    check_size(len(data), limit)
    return data


def check_content(name: str, data: bytes, limit: int) -> Transcript:
    """The upload parsed exactly as indexing will read it back, or the reason it is refused.

    Text formats must be valid UTF-8 (400 naming the byte offset); a .docx must be a zip within
    the entry and inflated-size limits (400, or 413 for a zip bomb) and a PDF within the page
    limit (413) with a text layer (400); every format needs some transcript text (400).
    """
    check_size(len(data), limit)
    if not is_binary(name):
        decode(name, data, limit)
    return parse_file(name, data)  # IngestError is a 400, PayloadTooLarge a 413


def not_a_transcript(name: str) -> BadUpload:
    """The error for a name qa reads as a note or sidecar, not a transcript."""
    return BadUpload(
        f"{name!r} is not a transcript the index reads (README, SOURCE, LICENSE and .meta.json "
        "files are notes, not transcripts)"
    )
