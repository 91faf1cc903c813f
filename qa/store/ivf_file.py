"""A version's trained IVF index kept beside its manifest, so loading it does not train again.

An IVF store (qa.store.ann) is built when a version is loaded: k-means over a sample, then every
vector assigned to its cell, about 1.2 s at 60k vectors. The first load of a version writes the
result as `versions/<name>/<store>.ivf`; later loads (a restart, another process, a CLI query)
read it instead. The file is derived and optional: the manifest and its segments stay the source
of truth, and a file that is missing, unreadable, corrupt or made for other vectors is ignored
(with a warning for the last three) and the index is trained as before.

    magic  b"QAIVF1\\n"
    8 bytes  header length, little-endian
    header   JSON: the key (what the index was built from) and the payload's length and hash
    payload  faiss.serialize_index bytes

Written under a temporary name, fsynced and renamed, so a reader sees a whole file or none; a
temporary left by a crash is removed by IndexDir.recover().
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any

import faiss
import numpy as np

log = logging.getLogger("qa")

MAGIC = b"QAIVF1\n"
SUFFIX = ".ivf"
TMP_PREFIX = ".tmp-"


def key(
    store: str, version: str, segments: list[str], ntotal: int, dim: int, plan: dict[str, Any]
) -> dict[str, Any]:
    """What an index file must have been built from to stand in for training: ids are positions
    in the version's segment order, so the ordered segment names (content hashes) fix them."""
    return {
        "store": store,
        "version": version,
        "segments": hashlib.sha256("\n".join(segments).encode()).hexdigest(),
        "ntotal": int(ntotal),
        "dim": int(dim),
        "nlist": int(plan["nlist"]),
        "nprobe": int(plan["nprobe"]),
        "storage": plan.get("storage", "fp16"),
        "faiss": faiss.__version__,
    }


def path_for(folder: Path, store: str) -> Path:
    return folder / f"{store}{SUFFIX}"


def _digest(payload: memoryview | bytes) -> str:
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


def read(path: Path, want: dict[str, Any]) -> tuple[faiss.Index, int] | None:
    """The index in `path` and its drift (vectors changed since its cells were trained) if it was
    built from exactly `want`; None otherwise (train instead)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("qa: cannot read trained index %s (%s); training it again", path, exc)
        return None
    try:
        if not data.startswith(MAGIC):
            raise ValueError("not a qa IVF file")
        at = len(MAGIC)
        size = int.from_bytes(data[at : at + 8], "little")
        header = json.loads(data[at + 8 : at + 8 + size].decode())
        payload = memoryview(data)[at + 8 + size :]
        if header.get("key") != want:
            log.warning("qa: trained index %s was made for other vectors; training again", path)
            return None
        if len(payload) != header["length"] or _digest(payload) != header["blake2b"]:
            raise ValueError("payload length or checksum differs")
        index = faiss.deserialize_index(np.frombuffer(payload, dtype=np.uint8))
        ivf = faiss.extract_index_ivf(index)
        if (
            index.ntotal != want["ntotal"]
            or index.d != want["dim"]
            or ivf.nlist != want["nlist"]
            or not index.is_trained
        ):
            raise ValueError("index contents differ from its header")
        ivf.nprobe = want["nprobe"]
        return index, int(header.get("drift", 0))
    except (ValueError, KeyError, TypeError, RuntimeError, UnicodeDecodeError) as exc:
        log.warning("qa: trained index %s is unusable (%s); training it again", path, exc)
        return None


def write(path: Path, index: faiss.Index, key: dict[str, Any], drift: int = 0) -> bool:
    """Store `index` under `path` atomically; best effort (a failure only means training later)."""
    tmp = path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        payload = faiss.serialize_index(index)
        header = json.dumps(
            {
                "key": key,
                "drift": int(drift),
                "length": len(payload),
                "blake2b": _digest(payload.data),
            },
            separators=(",", ":"),
        ).encode()
        with open(tmp, "wb") as f:
            f.write(MAGIC)
            f.write(len(header).to_bytes(8, "little"))
            f.write(header)
            f.write(payload.data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, path)
    except (OSError, RuntimeError) as exc:
        # A read-only index, a full disk, the version pruned meanwhile: load as usual.
        log.warning("qa: cannot keep the trained index as %s: %s", path, exc)
        tmp.unlink(missing_ok=True)
        return False
    return True
