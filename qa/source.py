"""The source folder: the transcripts the index is built from, and what may be written there.

Only transcript files the index would read can be written or deleted through qa (never
`SOURCE.md`, a README or licence, a `.meta.json` sidecar, a hidden file or anything outside the
folder). Writes are atomic (a temporary name, fsync, rename) and can be undone, so a change whose
update fails leaves the folder as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from qa.errors import IngestError, NotFound, StorageError
from qa.fsio import atomic_write, fsync_dir
from qa.ingest import candidate_set, folder_stamp, is_transcript_name, read_source_text
from qa.ingest import upload as uploads
from qa.segments import join
from qa.store import IndexData

UPLOAD_PREFIX = ".upload-"  # hidden, so never indexed half-written


@dataclass(frozen=True, slots=True)
class Undo:
    """How to put a file back as it was before a write or delete."""

    path: Path
    before: bytes | None  # None: the file did not exist


# A folder's stamp is trusted to show a change only once it is this old: a file system may
# keep coarse timestamps, so two changes within one tick could leave the same stamp.
SETTLED_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class _Listing:
    names: set[str]
    stamps: tuple[tuple[str, tuple[int, int]], ...]  # each folder listed: (mtime, ctime) in ns


class SourceFolder:
    def __init__(self, root: Path, *, max_upload_bytes: int) -> None:
        self.root = root
        self.max_upload_bytes = max_upload_bytes
        self._listing: _Listing | None = None

    def check_upload(self, name: str, data: bytes) -> str:
        """The document id for an upload, after every check (name, size, encoding, parsable
        text); nothing is written. BadUpload / UnsupportedType / PayloadTooLarge otherwise."""
        doc_id = uploads.check_name(name)
        if not is_transcript_name(doc_id):
            raise uploads.not_a_transcript(doc_id)
        uploads.check_content(doc_id, data, self.max_upload_bytes)  # parsed as indexing will
        return doc_id

    def names(self) -> set[str]:
        """The ids of the transcripts (and unsupported files) in the folder, by listing it, or
        the last listing while none of its folders has changed since (a stat per folder
        instead of a listing of every file: `/health` asks this at every call).

        A folder's stamp is its mtime and ctime, taken before it is listed and checked again
        after the walk: ctime cannot be set back (`rsync -a`, `tar x` restore mtimes) and also
        moves when permissions change. A listing is kept only when every stamp is settled and
        unchanged, no folder failed to list and no file is a symlink."""
        held = self._listing
        if held is not None and all(folder_stamp(f) == st for f, st in held.stamps):
            return set(held.names)
        names, stamps = candidate_set(self.root)
        settled = time.time_ns() - SETTLED_NS
        kept: list[tuple[str, tuple[int, int]]] = []
        for f, st in stamps:
            if st is None or max(st) > settled or folder_stamp(f) != st:
                self._listing = None
                return set(names)
            kept.append((f, st))
        self._listing = _Listing(names, tuple(kept))
        return set(names)

    def check_size(self, size: int) -> None:
        """PayloadTooLarge if an upload of `size` bytes is over the limit."""
        uploads.check_size(size, self.max_upload_bytes)

    def path_of(self, doc_id: str) -> Path:
        """The file of a transcript qa may touch; NotFound for anything else."""
        uploads.check_doc_id(doc_id)  # an id no file can have is not found, not a failed stat
        parts = PurePosixPath(doc_id).parts
        if (
            not parts
            or doc_id.startswith("/")
            or "\\" in doc_id
            or any(p == ".." for p in parts)
            or not is_transcript_name(doc_id)
        ):
            raise NotFound(f"no document {doc_id!r}")
        return self.root / doc_id

    def snapshot(self, doc_id: str) -> Undo:
        """How to put the transcript's file back as it is now (before another process's write)."""
        path = self.path_of(doc_id)
        return Undo(path, _read_or_none(path) if path.is_file() else None)

    def write(self, doc_id: str, data: bytes) -> Undo:
        path = self.path_of(doc_id)
        undo = Undo(path, _read_or_none(path))
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data, prefix=UPLOAD_PREFIX)
        except OSError as exc:
            raise StorageError(f"cannot store {doc_id} in the source folder: {exc}") from exc
        return undo

    def delete(self, doc_id: str) -> Undo | None:
        """Remove the transcript's file; None when there was no file."""
        path = self.path_of(doc_id)
        if path.exists() and not path.is_file():
            raise NotFound(f"no document {doc_id!r}")  # a folder, a device: not a transcript
        before = _read_or_none(path)
        if before is None:
            return None
        try:
            path.unlink()
            fsync_dir(path.parent)
        except OSError as exc:
            raise StorageError(f"cannot delete {doc_id} from the source folder: {exc}") from exc
        return Undo(path, before)

    def undo(self, change: Undo | None) -> None:
        """Put the file back as it was (best effort: the update that failed is reported)."""
        if change is None:
            return
        with contextlib.suppress(OSError):
            if change.before is None:
                change.path.unlink(missing_ok=True)
                fsync_dir(change.path.parent)
            else:
                atomic_write(change.path, change.before, prefix=UPLOAD_PREFIX)

    def clean(self) -> None:
        """Uploads interrupted before their rename (call with the index lock held)."""
        if self.root.is_dir():
            for p in self.root.glob(f"{UPLOAD_PREFIX}*"):
                with contextlib.suppress(OSError):
                    os.unlink(p)


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StorageError(f"cannot read {path.name}: {exc.strerror or exc}") from exc


class SourceTexts:
    """The canonical text of indexed documents, as the source holds it now.

    For .docx, .pdf and .html that is the text extracted at indexing (kept, hash-checked, with the
    document); for text formats the file itself, re-read when its size or mtime changes. A quote
    is served only if it is still a slice of this text: a file edited or deleted since it was
    indexed never has words put in its speakers' mouths.
    """

    def __init__(self, folder: SourceFolder) -> None:
        self._folder = folder
        self._lock = threading.Lock()
        # doc → (file stamp, text, sha256 of the text)
        self._cache: dict[str, tuple[tuple[int, int, int, int], str, str]] = {}

    def get(self, index: IndexData, doc_id: str) -> str | None:
        """The text, or None when the document is not indexed or its file is gone or unreadable."""
        got = self._read(index, doc_id)
        return None if got is None else got[0]

    def read(self, index: IndexData, doc_id: str) -> tuple[str, bool] | None:
        """The text and whether it is still the text the document was indexed from (one read)."""
        got = self._read(index, doc_id)
        entry = index.documents.get(doc_id)
        if got is None or entry is None:
            return None
        return got[0], got[1] == entry.sha256

    def _read(self, index: IndexData, doc_id: str) -> tuple[str, str] | None:
        entry = index.documents.get(doc_id)
        if entry is None:
            return None
        stored = index.stored_text(entry.segment)
        if stored is not None:  # kept with the document when it was indexed
            return stored, entry.sha256
        path = self._folder.root / doc_id
        try:
            st = path.stat()
        except OSError:
            return None
        # ctime and inode too: `cp -p`, `rsync -t` and `touch -r` keep mtime (and often size).
        stamp = (st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size)
        with self._lock:
            hit = self._cache.get(doc_id)
        if hit is not None and hit[0] == stamp:
            return hit[1], hit[2]
        try:
            text = read_source_text(path)
        except IngestError:
            return None
        sha = hashlib.sha256(text.encode("utf-8")).hexdigest()  # as the index hashed it
        with self._lock:
            if len(self._cache) > 2 * len(index.documents) + 16:  # drop documents gone since
                self._cache = {d: v for d, v in self._cache.items() if d in index.documents}
            self._cache[doc_id] = (stamp, text, sha)
        return text, sha

    def holds(
        self, index: IndexData, doc_id: str, segments: tuple[tuple[int, int], ...], text: str
    ) -> bool:
        """Whether `text` is still exactly those slices of the document's canonical text."""
        source = self.get(index, doc_id)
        return source is not None and join(source, segments) == text
