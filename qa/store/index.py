"""One index version on disk, and the folder that holds versions.

    index/
      CURRENT              name of the live version, replaced by atomic rename
      versions/<name>/     manifest.json, chunks.jsonl, sentences.jsonl, sentences.npy,
                           chunks.faiss, questions.faiss, questions.json

A version folder is written completely under a temporary name, fsynced, renamed into place, and
only then named in CURRENT: a crash at any moment leaves the previous version live. `recover()`
(run by every writer, under the lock) removes what a crash left behind: temporary folders and
pointers, and versions that were renamed into place but never made live.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from qa.debug import pause_point
from qa.errors import IndexIncompatible, IndexMissing, StorageError
from qa.models import Chunk, Sentence
from qa.sparse import SparseIndex
from qa.store.faiss_store import FaissStore

FORMAT_VERSION = 2  # 2: sentence context vectors and BM25 joined the version folder
KEEP_VERSIONS = 2


@dataclass
class IndexData:
    """Everything one query needs, for one version."""

    manifest: dict[str, Any]
    chunks: list[Chunk]
    sentences: list[Sentence]
    sentence_texts: list[str]
    sentence_vectors: np.ndarray
    context_vectors: np.ndarray  # each sentence embedded with its neighbours (see service)
    chunk_store: FaissStore
    question_store: FaissStore
    question_chunks: list[list[int]]  # question key id → the chunks that answer it
    sparse: SparseIndex
    version: str = ""
    chunk_sentences: dict[int, list[int]] = field(default_factory=dict)
    speaker_names: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for i, s in enumerate(self.sentences):
            self.chunk_sentences.setdefault(s.chunk_id, []).append(i)
        # Whole labels and their capitalised words: `Elon Musk`, `Elon`, `Musk`.
        names: set[str] = set()
        for label in {c.speaker for c in self.chunks if c.speaker}:
            names.add(label)
            names.update(w for w in label.split() if len(w) >= 3 and w[0].isupper())
        self.speaker_names = frozenset(names)

    @property
    def documents(self) -> dict[str, dict[str, Any]]:
        docs: dict[str, dict[str, Any]] = self.manifest["documents"]
        return docs


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class IndexDir:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.versions = root / "versions"

    def current(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {self.root / 'CURRENT'}: {exc}") from exc
        return name or None

    def manifest(self) -> dict[str, Any]:
        """The live version's manifest (cheap: no vectors are read)."""
        name = self.current()
        if name is None:
            raise IndexMissing(f"no index in {self.root}: build one with `qa index build`")
        return _read_manifest(self.versions / name)

    def load(self) -> IndexData:
        # A writer may replace CURRENT and prune the version we are reading: then read the new one.
        for _ in range(3):
            name = self.current()
            if name is None:
                raise IndexMissing(f"no index in {self.root}: build one with `qa index build`")
            try:
                return self._load(name)
            except (StorageError, IndexMissing):
                if self.current() == name:
                    raise
        return self._load(self.current() or "")

    def _load(self, name: str) -> IndexData:
        path = self.versions / name
        manifest = _read_manifest(path)
        try:
            chunks = [Chunk(**json.loads(line)) for line in _lines(path / "chunks.jsonl")]
            sentences, texts = [], []
            for line in _lines(path / "sentences.jsonl"):
                row = json.loads(line)
                texts.append(row.pop("text"))
                sentences.append(Sentence(**row))
            vectors = np.load(path / "sentences.npy")
            contexts = np.load(path / "contexts.npy")
            question_chunks = json.loads((path / "questions.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise StorageError(f"index version {name} is unreadable: {exc}") from exc
        return IndexData(
            manifest=manifest,
            chunks=chunks,
            sentences=sentences,
            sentence_texts=texts,
            sentence_vectors=vectors,
            context_vectors=contexts,
            chunk_store=FaissStore.load(path / "chunks.faiss"),
            question_store=FaissStore.load(path / "questions.faiss"),
            question_chunks=question_chunks,
            sparse=SparseIndex.load(path / "bm25", len(chunks)),
            version=name,
        )

    def save(self, data: IndexData) -> str:
        """Write `data` as a new version and make it live; returns the version name."""
        try:
            self.versions.mkdir(parents=True, exist_ok=True)
            self._clean_temporaries()
            # A counter first, so names sort in creation order even within one second.
            numbers = [
                int(p.name[:6]) for p in self.versions.glob("[0-9]*-*") if p.name[:6].isdigit()
            ]
            name = f"{max(numbers, default=0) + 1:06d}-" + time.strftime("%Y%m%dT%H%M%S")
            tmp = self.versions / f".tmp-{name}"
            tmp.mkdir()
            data.manifest["version"] = name
            _write(tmp / "manifest.json", json.dumps(data.manifest, indent=2).encode())
            _write(
                tmp / "chunks.jsonl",
                "".join(
                    json.dumps(_row(c, CHUNK_FIELDS), ensure_ascii=False) + "\n"
                    for c in data.chunks
                ).encode(),
            )
            _write(
                tmp / "sentences.jsonl",
                "".join(
                    json.dumps({**_row(s, SENTENCE_FIELDS), "text": t}, ensure_ascii=False) + "\n"
                    for s, t in zip(data.sentences, data.sentence_texts, strict=True)
                ).encode(),
            )
            for fname, array in (
                ("sentences.npy", data.sentence_vectors),
                ("contexts.npy", data.context_vectors),
            ):
                with open(tmp / fname, "wb") as f:
                    np.save(f, array.astype(np.float32))
                    f.flush()
                    os.fsync(f.fileno())
            data.chunk_store.save(tmp / "chunks.faiss")
            data.question_store.save(tmp / "questions.faiss")
            _write(tmp / "questions.json", json.dumps(data.question_chunks).encode())
            data.sparse.save(tmp / "bm25")
            # FAISS and bm25s write their own files: fsync those too, and every folder.
            for path in sorted(tmp.rglob("*"), key=lambda p: -len(p.parts)):
                if path.is_dir():
                    _fsync_dir(path)
                else:
                    fd = os.open(path, os.O_RDONLY)
                    os.fsync(fd)
                    os.close(fd)
            _fsync_dir(tmp)
            pause_point("version-written")
            previous = self.current()
            os.rename(tmp, self.versions / name)
            _fsync_dir(self.versions)
            pause_point("version-renamed")
            pointer = self.root / f".CURRENT.{uuid.uuid4().hex[:6]}"
            _write(pointer, name.encode())
            os.replace(pointer, self.root / "CURRENT")
            _fsync_dir(self.root)
            pause_point("current-switched")
        except OSError as exc:
            raise StorageError(f"cannot write index to {self.root}: {exc}") from exc
        data.version = name
        self._prune(keep={name, previous or ""})
        return name

    def recover(self) -> list[str]:
        """Remove what an interrupted writer left; call with the index lock held.

        Returns the names removed. Versions newer than CURRENT were renamed into place by a run
        that died before switching CURRENT: they were never live, so nobody can be reading them.
        """
        if not self.versions.is_dir():
            return []
        removed = [p.name for p in self.versions.glob(".tmp-*")]
        removed += [p.name for p in self.root.glob(".CURRENT.*")]
        self._clean_temporaries()
        live = self.current()
        for p in self.versions.iterdir():
            if not p.name.startswith(".") and (live is None or p.name > live):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
        return removed

    def size_on_disk(self) -> int:
        """Bytes of the live version."""
        name = self.current()
        if name is None:
            return 0
        return sum(p.stat().st_size for p in (self.versions / name).rglob("*") if p.is_file())

    def _clean_temporaries(self) -> None:
        for p in self.versions.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
        for p in self.root.glob(".CURRENT.*"):
            p.unlink(missing_ok=True)

    def _prune(self, keep: set[str]) -> None:
        # Older versions go, but not the one that was live until now: a reader may be loading it.
        names = sorted(p.name for p in self.versions.iterdir() if not p.name.startswith("."))
        for old in names[:-KEEP_VERSIONS]:
            if old not in keep:
                shutil.rmtree(self.versions / old, ignore_errors=True)


CHUNK_FIELDS = tuple(f.name for f in fields(Chunk))
SENTENCE_FIELDS = tuple(f.name for f in fields(Sentence))


def _row(obj: object, names: tuple[str, ...]) -> dict[str, Any]:
    """`dataclasses.asdict` for flat records, without its deep copies (10× faster)."""
    return {name: getattr(obj, name) for name in names}


def _lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln]


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexMissing(
            f"index version {path.name} has no manifest: rebuild with `qa index build`"
        ) from exc
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot read manifest in {path}: {exc}") from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexIncompatible(
            f"index in {path.parent.parent} has format {manifest.get('format')!r}, this qa reads "
            f"format {FORMAT_VERSION}: rebuild it with `qa index build`"
        )
    return manifest


def check_model(manifest: dict[str, Any], model: str, dim: int) -> None:
    """Refuse an index built with another model or dimension."""
    if manifest.get("model") != model or manifest.get("dim") != dim:
        raise IndexIncompatible(
            f"index was built with model {manifest.get('model')!r} (dim {manifest.get('dim')}), "
            f"but this service uses {model!r} (dim {dim}): rebuild it with `qa index build`"
        )
