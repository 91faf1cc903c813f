"""Index versions on disk: small manifests over shared, immutable per-document segments.

    index/
      CURRENT              name of the live version, replaced by atomic rename
      versions/<name>/     manifest.json: settings, and per document its hash, counts, segment;
                           chunks.ivf, questions.ivf: trained IVF stores kept by the first load
                           (derived and optional, qa.store.ivf_file)
      segments/<hash>.seg  one document's records, tokens and vectors (qa.store.segment)

An update writes only the segments of new and changed documents and a new manifest; unchanged
documents keep pointing at the segments earlier versions wrote. The global structures (the FAISS
id space, BM25's statistics) are assembled from the segments when a version is loaded, reusing
the segments a process already holds in memory, so a reload reads only what changed.

Crash safety: segments are written under temporary names, fsynced and renamed; the version
folder is then written under a temporary name, fsynced, renamed into place, and only then named
in CURRENT, so a crash at any moment leaves the previous version live. `recover()` (run by every
writer, under the lock) removes what a crash left behind; after each switch, versions beyond the
last KEEP_VERSIONS and segments that no remaining version references are deleted.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from qa.debug import pause_point
from qa.errors import IndexIncompatible, IndexMissing, StorageError
from qa.models import Chunk, Sentence
from qa.sparse import SparseIndex
from qa.store import ivf_file, segment
from qa.store.faiss_store import FaissStore
from qa.store.segment import DocPart

FORMAT_VERSION = 3  # 3: per-document segments shared between versions; 2: a whole copy each
KEEP_VERSIONS = 2
SEGMENTS = "segments"


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
    parts: dict[str, DocPart] = field(default_factory=dict)  # segment name → part, for reloads
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


def assemble(
    manifest: dict[str, Any],
    parts: Sequence[tuple[str, DocPart]],
    folder: Path | None = None,
    previous: IndexData | None = None,
) -> IndexData:
    """One version from its (segment name, part) list, in order: ids become positions.

    Flat FAISS stores are filled from the vectors (a copy) and BM25 is indexed from the stored
    tokens; about 0.1 s per 1,000 abstracts, paid when a version is loaded, not when it is written.
    An IVF store is read from the version's `folder` if an earlier load kept it there, else
    built on the cells of the `previous` version's store when few vectors changed since those
    were trained (qa.store.ann.REUSE_CELLS_BELOW), else trained; then kept (qa.store.ivf_file).
    """
    dim = int(manifest["dim"])
    chunks: list[Chunk] = []
    sentences: list[Sentence] = []
    sentence_texts: list[str] = []
    question_chunks: list[list[int]] = []
    for _, part in parts:
        off = len(chunks)
        chunks.extend(segment.chunk_at(c, c.id + off) for c in part.chunks)
        sentences.extend(segment.sentence_in(s, s.chunk_id + off) for s in part.sentences)
        sentence_texts.extend(part.sentence_texts)
        question_chunks.extend([i + off for i in ids] for ids in part.question_chunks)
    arrays = {
        name: segment.concat([getattr(p, name) for _, p in parts], dim)
        for name in ("chunk_vectors", "question_vectors", "sentence_vectors", "context_vectors")
    }
    # Exact below the threshold, IVF-fp16 above (qa.store.ann): as the writer planned it.
    plans = manifest.get("ann", {})
    segments = [name for name, _ in parts]
    version = str(manifest.get("version", ""))
    earlier = {
        "chunks": _earlier(previous, "chunk_store", parts, "chunk_vectors"),
        "questions": _earlier(previous, "question_store", parts, "question_vectors"),
    }
    chunk_store = _store(
        "chunks",
        plans.get("chunks"),
        arrays["chunk_vectors"],
        folder,
        version,
        segments,
        earlier["chunks"],
    )
    question_store = _store(
        "questions",
        plans.get("questions"),
        arrays["question_vectors"],
        folder,
        version,
        segments,
        earlier["questions"],
    )
    return IndexData(
        manifest=manifest,
        chunks=chunks,
        sentences=sentences,
        sentence_texts=sentence_texts,
        sentence_vectors=arrays["sentence_vectors"],
        context_vectors=arrays["context_vectors"],
        chunk_store=chunk_store,
        question_store=question_store,
        question_chunks=question_chunks,
        sparse=SparseIndex.from_tokens([t for _, p in parts for t in p.tokens]),
        version=str(manifest.get("version", "")),
        parts=_views(parts, arrays),
    )


def _earlier(
    previous: IndexData | None, store: str, parts: Sequence[tuple[str, DocPart]], attr: str
) -> tuple[FaissStore, int] | None:
    """The previous version's store and how many of its vectors this version adds or drops."""
    if previous is None:
        return None
    now = {name for name, _ in parts}
    added = sum(len(getattr(p, attr)) for name, p in parts if name not in previous.parts)
    dropped = sum(len(getattr(p, attr)) for name, p in previous.parts.items() if name not in now)
    earlier: FaissStore = getattr(previous, store)
    return earlier, added + dropped


def _store(
    name: str,
    plan: dict[str, Any] | None,
    vectors: np.ndarray,
    folder: Path | None,
    version: str,
    segments: list[str],
    earlier: tuple[FaissStore, int] | None = None,
) -> FaissStore:
    """The FAISS store `plan` names over `vectors` (ids = positions). An IVF one is read from the
    version's kept file when it matches; else built on the earlier version's cells if they are
    still close enough to the data, else trained; and then kept for the next load."""
    from qa.store import ann

    plan = plan or {"type": "flat"}
    ids = np.arange(len(vectors))
    if plan.get("type") != "ivf" or folder is None or len(vectors) == 0:
        return FaissStore.from_plan(plan, ids, vectors)
    dim = vectors.shape[1]
    want = ivf_file.key(name, version, segments, len(vectors), dim, plan)
    path = ivf_file.path_for(folder, name)
    found = ivf_file.read(path, want)
    if found is not None:
        index, drift = found
        return FaissStore(dim, index, drift=drift)
    store = None
    if earlier is not None:
        before, change = earlier
        drift = before.drift + change
        cells = ann.reuse_cells(before.index, plan, dim) if before.approximate else None
        if cells is not None and drift < ann.REUSE_CELLS_BELOW * len(vectors):
            ann.train_and_add(cells, plan, ids, vectors)  # trained already: only adds
            store = FaissStore(dim, cells, drift=drift)
    if store is None:
        store = FaissStore.from_plan(plan, ids, vectors)
    ivf_file.write(path, store.index, want, store.drift)
    return store


def _views(
    parts: Sequence[tuple[str, DocPart]], arrays: dict[str, np.ndarray]
) -> dict[str, DocPart]:
    """The parts again, their vectors now views into the version's arrays.

    Kept for the next reload; as views they cost no memory of their own, and the buffers they
    were read from (or embedded into) can be freed.
    """
    out: dict[str, DocPart] = {}
    at = dict.fromkeys(arrays, 0)

    def view(part: DocPart, a: str) -> np.ndarray:
        n = len(getattr(part, a))
        at[a] += n
        return arrays[a][at[a] - n : at[a]]

    for name, part in parts:
        out[name] = replace(
            part,
            chunk_vectors=view(part, "chunk_vectors"),
            question_vectors=view(part, "question_vectors"),
            sentence_vectors=view(part, "sentence_vectors"),
            context_vectors=view(part, "context_vectors"),
        )
    return out


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic collector off while a version is assembled.

    Loading creates ~30,000 small objects per 1,000 abstracts, none of them cyclic garbage, and
    each allocation burst made the collector walk the whole heap: 0.1 s of a 0.55 s load.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        self.segments = root / SEGMENTS

    def current(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {self.root / 'CURRENT'}: {exc}") from exc
        return name or None

    def manifest(self) -> dict[str, Any]:
        """The live version's manifest (cheap: no segment is read)."""
        name = self.current()
        if name is None:
            raise IndexMissing(f"no index in {self.root}: build one with `qa index build`")
        return _read_manifest(self.versions / name)

    def load(
        self, reuse: IndexData | None = None, known: Mapping[str, DocPart] | None = None
    ) -> IndexData:
        """The live version. Segments found in `reuse` (the version a process holds) or `known`
        (parts it just wrote) are not read again: a reload reads only what changed."""
        # A writer may replace CURRENT and prune the version we are reading: then read the new one.
        for _ in range(3):
            name = self.current()
            if name is None:
                raise IndexMissing(f"no index in {self.root}: build one with `qa index build`")
            try:
                with _no_gc():
                    return self._load(name, reuse, known)
            except (StorageError, IndexMissing):
                if self.current() == name:
                    raise
        with _no_gc():
            return self._load(self.current() or "", reuse, known)

    def _load(
        self, name: str, reuse: IndexData | None, known: Mapping[str, DocPart] | None
    ) -> IndexData:
        manifest = _read_manifest(self.versions / name)
        have: dict[str, DocPart] = {**(reuse.parts if reuse else {}), **(known or {})}
        parts = []
        for doc_id in sorted(manifest["documents"]):
            seg = manifest["documents"][doc_id]["segment"]
            part = have.get(seg)
            parts.append((seg, part if part is not None else self.read_segment(seg)))
        data = assemble(manifest, parts, self.versions / name, reuse)
        data.version = name
        return data

    def has_segment(self, name: str) -> bool:
        return bool(name) and (self.segments / name).is_file()

    def read_segment(self, name: str) -> DocPart:
        try:
            return segment.decode((self.segments / name).read_bytes())
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise StorageError(f"index segment {name} is unreadable: {exc}") from exc

    def write_segment(self, part: DocPart) -> str:
        """Store `part` (if no identical segment exists yet) and return its name.

        The file is fsynced; the folder is fsynced by `save`, before any manifest names it.
        """
        name, data = segment.encode(part)
        path = self.segments / name
        if path.is_file():
            return name
        try:
            self.segments.mkdir(parents=True, exist_ok=True)
            tmp = self.segments / f".tmp-{uuid.uuid4().hex[:8]}-{name}"
            _write(tmp, data)
            os.rename(tmp, path)
        except OSError as exc:
            raise StorageError(f"cannot write index segment {path}: {exc}") from exc
        return name

    def save(self, manifest: dict[str, Any]) -> str:
        """Write `manifest` as a new version (its segments already written) and make it live."""
        try:
            self.versions.mkdir(parents=True, exist_ok=True)
            if self.segments.is_dir():
                _fsync_dir(self.segments)  # the renames of the segments this version names
            self._clean_temporaries()
            # A counter first, so names sort in creation order even within one second.
            numbers = [
                int(p.name[:6]) for p in self.versions.glob("[0-9]*-*") if p.name[:6].isdigit()
            ]
            name = f"{max(numbers, default=0) + 1:06d}-" + time.strftime("%Y%m%dT%H%M%S")
            tmp = self.versions / f".tmp-{name}"
            tmp.mkdir()
            manifest["version"] = name
            # Compact: with `indent`, json falls back to its pure-Python encoder (3× slower).
            body = json.dumps(manifest, ensure_ascii=False, separators=(",", ":"))
            _write(tmp / "manifest.json", body.encode())
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
        self._prune(keep={name, previous or ""})
        return name

    def recover(self) -> list[str]:
        """Remove what an interrupted writer left; call with the index lock held.

        Returns the names removed. Versions newer than CURRENT were renamed into place by a run
        that died before switching CURRENT: they were never live, so nobody can be reading them.
        Segments only they named go with the next switch's collection (or are reused by it).
        """
        if not self.versions.is_dir():
            return []
        removed = [p.name for p in self.versions.glob(".tmp-*")]
        removed += [p.name for p in self.root.glob(".CURRENT.*")]
        removed += [p.name for p in self.segments.glob(".tmp-*")]
        removed += [p.name for p in self.versions.glob(f"*/{ivf_file.TMP_PREFIX}*")]
        self._clean_temporaries()
        live = self.current()
        for p in self.versions.iterdir():
            if not p.name.startswith(".") and (live is None or p.name > live):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p.name)
        return removed

    def kept_versions(self) -> list[str]:
        if not self.versions.is_dir():
            return []
        return sorted(p.name for p in self.versions.iterdir() if not p.name.startswith("."))

    def referenced_segments(self) -> set[str]:
        """Segments some version on disk names (an unreadable or old-format one names none)."""
        names: set[str] = set()
        for v in self.kept_versions():
            try:
                manifest = json.loads((self.versions / v / "manifest.json").read_text("utf-8"))
            except (OSError, ValueError):
                continue
            if manifest.get("format") == FORMAT_VERSION:
                names.update(d["segment"] for d in manifest["documents"].values())
        return names

    def text_keys(self, names: Iterable[str]) -> set[bytes]:
        """Embedding-cache keys of the texts these segments were built from."""
        keys: set[bytes] = set()
        for name in names:
            try:
                block = segment.keys_of((self.segments / name).read_bytes())
            except (OSError, ValueError, KeyError) as exc:
                raise StorageError(f"index segment {name} is unreadable: {exc}") from exc
            keys.update(
                block[i : i + segment.KEY_BYTES] for i in range(0, len(block), segment.KEY_BYTES)
            )
        return keys

    def size_on_disk(self) -> int:
        """Bytes of the live version: its manifest and the segments it names."""
        name = self.current()
        if name is None:
            return 0
        manifest = _read_manifest(self.versions / name)
        total = (self.versions / name / "manifest.json").stat().st_size
        for seg in {d["segment"] for d in manifest["documents"].values()}:
            with contextlib.suppress(OSError):  # collected meanwhile by a writer
                total += (self.segments / seg).stat().st_size
        return total

    def _clean_temporaries(self) -> None:
        for p in self.versions.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
        for p in self.root.glob(".CURRENT.*"):
            p.unlink(missing_ok=True)
        for p in self.segments.glob(".tmp-*"):
            p.unlink(missing_ok=True)
        for p in self.versions.glob(f"*/{ivf_file.TMP_PREFIX}*"):  # a trained index half-written
            p.unlink(missing_ok=True)

    def _prune(self, keep: set[str]) -> None:
        # Older versions go, but not the one that was live until now: a reader may be loading it.
        names = self.kept_versions()
        for old in names[:-KEEP_VERSIONS]:
            if old not in keep:
                shutil.rmtree(self.versions / old, ignore_errors=True)
        self.collect_segments()

    def collect_segments(self) -> int:
        """Delete segments no version on disk names; call with the index lock held."""
        if not self.segments.is_dir():
            return 0
        used = self.referenced_segments()
        gone = 0
        for p in self.segments.glob(f"*{segment.SUFFIX}"):
            if p.name not in used:
                p.unlink(missing_ok=True)
                gone += 1
        return gone


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
