"""A group's trained IVF index kept in the group's folder, memory-mapped when it is read.

An IVF store (qa.store.ann) over a group's vectors (qa.store.groups) costs a k-means training and
the assignment of every vector to its cell, tens of seconds for a large group. The first load
that needs it writes the result beside the group's arrays; every later load (a restart, a
reload, another process, a CLI query) maps it instead: no training, no copy into memory, and the
pages a search touches are shared by every process serving the index.

    <store>.ivf        a plain FAISS index file (faiss.write_index), mapped with IO_FLAG_MMAP
    <store>.ivf.json   what it was built from (`key`), its size and blake2b hash

The files are derived and optional: the group's arrays stay the source of truth, and a file that
is missing, unreadable, of the wrong size or made for other vectors is ignored (with a warning
for the last three) and the index is trained again. Like the group's vectors, the payload is
checked by size at every read and by hash only when asked (`full`, `qa index verify`): hashing
it would read every page, which is what mapping avoids.

Written under temporary names, fsynced and renamed, the payload before its description, so a
reader sees both files whole or trains; a temporary left by a crash is removed by
IndexDir.recover().
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections.abc import Container, Iterable
from pathlib import Path
from typing import Any

import faiss

log = logging.getLogger("qa")

SUFFIX = ".ivf"
META_SUFFIX = ".ivf.json"
TMP_PREFIX = ".tmp-"


def key(store: str, group: str, ntotal: int, dim: int, plan: dict[str, Any]) -> dict[str, Any]:
    """What an index file must have been built from to stand in for training: ids are rows of
    the group, whose id (a hash of its ordered segment names) fixes them."""
    return {
        "store": store,
        "group": group,
        "ntotal": int(ntotal),
        "dim": int(dim),
        "nlist": int(plan["nlist"]),
        "nprobe": int(plan["nprobe"]),
        "storage": plan.get("storage", "fp16"),
        "faiss": faiss.__version__,
    }


def path_for(folder: Path, store: str) -> Path:
    return folder / f"{store}{SUFFIX}"


def _meta_path(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(SUFFIX) + META_SUFFIX)


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def read(
    path: Path,
    want: dict[str, Any],
    *,
    full: bool = False,
    holes: Container[str] = frozenset(),
) -> faiss.Index | None:
    """The index in `path`, mapped, if it was built from exactly `want`; None otherwise (train
    instead). `full` also checks the payload's hash (reads all of it). A file trained with some
    segments' rows as zeros (holes then, their files perhaps gone) stands in only while each of
    them is still a hole (`holes`): a document restored unchanged gets its old segment back."""
    meta_path = _meta_path(path)
    try:
        meta = json.loads(meta_path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("qa: cannot read trained index %s (%s); training it again", path, exc)
        return None
    try:
        if meta.get("key") != want:
            log.warning("qa: trained index %s was made for other vectors; training again", path)
            return None
        if any(name not in holes for name in meta.get("zeroed", ())):
            log.info("qa: trained index %s lacks a document now back; training again", path)
            return None
        if path.stat().st_size != meta["size"]:
            raise ValueError("its size differs from the recorded one")
        if full and _file_digest(path) != meta["blake2b"]:
            raise ValueError("it does not match its hash")
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        ivf = faiss.extract_index_ivf(index)
        if (
            index.ntotal != want["ntotal"]
            or index.d != want["dim"]
            or ivf.nlist != want["nlist"]
            or not index.is_trained
        ):
            raise ValueError("index contents differ from its description")
        ivf.nprobe = want["nprobe"]
        return index
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        log.warning("qa: trained index %s is unusable (%s); training it again", path, exc)
        return None


def write(path: Path, index: faiss.Index, key: dict[str, Any], zeroed: Iterable[str] = ()) -> bool:
    """Store `index` under `path` atomically; best effort (a failure only means training later).
    `zeroed`: the segments whose rows it holds as zeros (`read`)."""
    tag = uuid.uuid4().hex[:8]
    tmp = path.with_name(f"{TMP_PREFIX}{tag}-{path.name}")
    meta_path = _meta_path(path)
    tmp_meta = meta_path.with_name(f"{TMP_PREFIX}{tag}-{meta_path.name}")
    try:
        faiss.write_index(index, str(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        meta = {
            "key": key,
            "size": tmp.stat().st_size,
            "blake2b": _file_digest(tmp),
            "zeroed": sorted(zeroed),
        }
        with open(tmp_meta, "wb") as f:
            f.write(json.dumps(meta, separators=(",", ":")).encode())
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
        os.rename(tmp_meta, meta_path)
    except (OSError, RuntimeError) as exc:
        # A read-only index, a full disk, the group collected meanwhile: load as usual.
        log.warning("qa: cannot keep the trained index as %s: %s", path, exc)
        tmp.unlink(missing_ok=True)
        tmp_meta.unlink(missing_ok=True)
        return False
    return True
