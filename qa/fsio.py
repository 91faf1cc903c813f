"""Durable file writes: the one place qa writes a file atomically and fsyncs a directory."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """Make the renames and creations in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_synced(path: Path, data: bytes) -> None:
    """Write `path` and fsync it (not atomic by itself: write under a temporary name)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write(path: Path, data: bytes, *, prefix: str = ".tmp-", sync_dir: bool = True) -> None:
    """Write under a hidden temporary name in the same folder, fsync, rename over `path`.

    Readers see the old file or the new one, never half of one; a crash leaves at most a
    temporary file whose name starts with `prefix` (writers clean those up). Raises OSError.
    """
    tmp = path.with_name(f"{prefix}{uuid.uuid4().hex[:8]}")
    try:
        write_synced(tmp, data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if sync_dir:
        fsync_dir(path.parent)
