"""Content hashes remembered by file stamp, so that a scan reads only the files that changed.

A scan compares every source file's content hash with the index's (qa.update.scan_sources).
Hashing means reading and decoding every file: seconds at thousands of interviews, at every
update and at every `qa serve` start. A file whose stamp (size, mtime, ctime, inode) is the one
recorded with its hash is not read again.

The stamp is trusted only if the file had not been touched for `RACY_NS` when its hash was taken
(as git treats "racily clean" entries): a write in the same clock tick as an earlier one, on a
file system with coarse timestamps, can leave size and mtime unchanged. ctime cannot be set
back by a user (unlike mtime, with `touch -d` or `cp -p`), and any write or rename moves it.
`QA_INDEXING__SCAN=content` hashes every file at every scan instead.

The table lives beside the index (`STAMPS_FILE`); it is a cache: a missing, unreadable or
damaged one is rebuilt by hashing, and one that cannot be written only costs time.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from qa.fsio import atomic_write

log = logging.getLogger("qa.ingest")

STAMPS_FILE = "scan-stamps.json"
RACY_NS = 2_000_000_000  # FAT's mtime granularity, the coarsest in use
_FORMAT = 1

# (size, mtime_ns, ctime_ns, inode)
Stamp = tuple[int, int, int, int]


def stamp_of(st: os.stat_result) -> Stamp:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class FileStamps:
    """key → (stamp, hash, when hashed); `hash` returns a remembered hash or computes one."""

    def __init__(self, path: Path | None, *, racy_ns: int = RACY_NS) -> None:
        self._path = path  # None: remember nothing (QA_INDEXING__SCAN=content)
        self._racy_ns = racy_ns
        self._known: dict[str, tuple[Stamp, str, int]] = {}
        self._seen: dict[str, tuple[Stamp, str, int]] = {}
        self._changed = False
        if path is not None:
            self._known = _read(path)

    def hash(self, key: str, path: Path, compute: Callable[[Path], str]) -> str:
        """The content hash of `path`, from the table when its stamp says it has not changed.
        `compute`'s errors pass through (the file is then not remembered)."""
        if self._path is None:
            return compute(path)
        try:
            stamp: Stamp | None = stamp_of(os.stat(path))
        except OSError:
            stamp = None  # compute() reports it
        entry = self._known.get(key)
        if stamp is not None and entry is not None and entry[0] == stamp and self._settled(entry):
            self._seen[key] = entry
            return entry[1]
        now = time.time_ns()
        digest = compute(path)
        if stamp is not None:
            self._seen[key] = (stamp, digest, now)
            self._changed = True
        return digest

    def _settled(self, entry: tuple[Stamp, str, int]) -> bool:
        (_, mtime, ctime, _), _, hashed_at = entry
        return max(mtime, ctime) < hashed_at - self._racy_ns

    def save(self) -> None:
        """Keep what this scan saw (files gone since are forgotten). Best effort: an index
        folder that cannot be written costs the next scan its time, nothing else."""
        if self._path is None or (not self._changed and self._seen.keys() == self._known.keys()):
            return
        if not self._path.parent.is_dir():
            return  # no index yet: the first update writes the table
        rows = {k: [*s, h, t] for k, (s, h, t) in self._seen.items()}
        try:
            atomic_write(self._path, orjson.dumps({"format": _FORMAT, "files": rows}))
        except OSError as exc:
            log.warning(
                "qa: cannot write %s (%s); the next scan hashes every file", self._path, exc
            )
            return
        self._known, self._seen, self._changed = dict(self._seen), {}, False


def _read(path: Path) -> dict[str, tuple[Stamp, str, int]]:
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, orjson.JSONDecodeError) as exc:
        log.warning("qa: ignoring %s (%s); hashing every file", path, exc)
        return {}
    out: dict[str, tuple[Stamp, str, int]] = {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return out
    with contextlib.suppress(AttributeError, KeyError, TypeError, ValueError):
        for key, (size, mtime, ctime, ino, digest, hashed_at) in data["files"].items():
            if isinstance(digest, str):
                out[key] = ((int(size), int(mtime), int(ctime), int(ino)), digest, int(hashed_at))
    return out
