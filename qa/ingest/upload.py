"""Checks on a document sent over HTTP, all made before anything is written."""

from __future__ import annotations

from qa.errors import BadUpload, PayloadTooLarge, UnsupportedType
from qa.ingest import SUFFIXES, is_binary, parse_file
from qa.models import Transcript

MAX_NAME_BYTES = 255


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
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise BadUpload(f"a document name must be at most {MAX_NAME_BYTES} bytes")
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    if suffix not in SUFFIXES:
        raise UnsupportedType(
            f"{name!r}: only {', '.join(sorted(SUFFIXES))} transcripts can be uploaded"
        )
    return name


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
