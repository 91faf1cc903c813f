"""The files backend of the store (`IndexStore`): versions on disk, small manifests over shared,
immutable per-document segments.

    index/
      CURRENT              name of the live version, replaced by atomic rename
      versions/<name>/     manifest.json: settings, and per document its hash, counts, segment;
                           groups.json: the groups covering it (derived, written by a load)
      segments/<hash>.seg  one document's records, tokens and vectors (qa.store.segment)
      groups/<id>/         derived, memory-mapped arrays over a run of segments: vectors, BM25
                           postings, filter columns (qa.store.groups); chunk.ivf, question.ivf:
                           a large group's trained IVF store (qa.store.ivf_file)

An update writes only the segments of new and changed documents and a new manifest; unchanged
documents keep pointing at the segments earlier versions wrote. A load maps the groups the
version (or the one before it) is covered by, and builds a small group for the segments none
covers, so a reload after adding one interview reads that interview alone; groups merge like an
LSM tree as they accumulate. Records are decoded from a segment only when a query reaches it.

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
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from qa.debug import pause_point
from qa.errors import IndexIncompatible, IndexMissing, StorageError
from qa.fsio import fsync_dir, write_synced
from qa.sparse import GroupedBM25, Postings
from qa.store import ann, ivf_file, records, segment
from qa.store import groups as groups_mod
from qa.store.base import IndexData, VectorIndex, text_key_blocks
from qa.store.cache import EmbeddingCache
from qa.store.faiss_store import FaissStore
from qa.store.lock import IndexLock
from qa.store.manifest import FORMAT_VERSION, READABLE_FORMATS, DocEntry, Manifest
from qa.store.multi import GroupedStore
from qa.store.segment import DocPart

KEEP_VERSIONS = 2
SEGMENTS = "segments"
CACHE_FILE = "embeddings.sqlite"


STALE_TEMPORARY = 600.0  # seconds
BUILD_BATCH = 256  # segments decoded at once when a group is built from segments


def assemble(
    manifest: Manifest,
    groups: Sequence[groups_mod.Group],
    read_records: Callable[[str], segment.Records],
    read_part: Callable[[str], DocPart],
    store_for: Callable[[groups_mod.Group, str, int, int], FaissStore],
    segments: Path,
    known: Mapping[str, segment.Records] | None = None,
) -> IndexData:
    """One version over mapped groups (qa.store.records): ids are positions in manifest order.

    Nothing is decoded here: vectors stay in the groups' mapped files, BM25 scores their
    postings, records are read per segment when a query reaches them, and each group's vector
    stores come from `store_for` (exact below the manifest's `exact_below` vectors, else a kept,
    mapped IVF file: qa.store.ivf_file), so a reload builds only the stores of new groups.
    """
    dim = manifest.dim
    order = [manifest.documents[d].segment for d in sorted(manifest.documents)]
    layout = records.Layout(order, groups)
    cache = records.RecordsCache(read_records, known or {})
    chunk_records = records.ChunkRecords(layout)
    vectors = {
        attr: records.SentenceRows(layout, segments, which, cache, dim)
        for which, attr in enumerate(("sentence_vectors", "context_vectors"))
    }
    stores: dict[str, VectorIndex] = {}
    exact = exact_below(manifest)
    for name, kind in (("chunks", "chunk"), ("questions", "question")):
        stores[name] = GroupedStore(
            [store_for(g, kind, exact[kind], dim) for g in groups],
            layout.to_global[name],
            partial(layout.locate, name),
            layout.holes[name],
        )
    postings = [
        Postings(
            g.vocab,
            g.arrays["post_ptr"],
            g.arrays["post_rows"],
            g.arrays["post_tf"],
            g.arrays["doclen"],
            layout.to_global["chunks"][i],
            layout.keep["chunks"][i],
        )
        for i, g in enumerate(groups)
    ]
    columns = records.Columns(layout)
    return IndexData(
        manifest=manifest,
        chunks=records.LazyChunks(chunk_records),
        sentences=records.LazySentences(chunk_records),
        sentence_texts=records.LazyTexts(chunk_records),
        sentence_vectors=vectors["sentence_vectors"],
        context_vectors=vectors["context_vectors"],
        chunk_store=stores["chunks"],
        question_store=stores["questions"],
        question_chunks=columns.questions,
        sparse=GroupedBM25(postings, layout.total("chunks")),
        version=manifest.version,
        parts=records.LazyParts(order, read_part),
        chunk_sentences=records.ChunkSentences(chunk_records),
        columns=columns,
        texts=_StoredTexts(layout, cache),
    )


class _StoredTexts(Mapping[str, "str | None"]):
    """segment → the canonical text it keeps (a .docx, .pdf or .html; None for text formats, whose
    canonical text is the file): decoded from the segment only for those that keep one."""

    def __init__(self, layout: records.Layout, cache: records.RecordsCache) -> None:
        self._layout, self._cache = layout, cache

    def __getitem__(self, name: str) -> str | None:
        g, j = self._layout.where[name]
        return self._cache.get(name).text if self._layout.groups[g].has_text[j] else None

    def __contains__(self, name: object) -> bool:
        return name in self._layout.where

    def __iter__(self) -> Iterator[str]:
        return iter(self._layout.segments)

    def __len__(self) -> int:
        return len(self._layout.segments)


def exact_below(manifest: Manifest) -> dict[str, int]:
    """Per vector kind of a group: the size from which its store is IVF, as the version says."""
    return {
        kind: int((manifest.ann.get(name) or {}).get("exact_below", ann.EXACT_BELOW))
        for name, kind in (("chunks", "chunk"), ("questions", "question"))
    }


def group_store(
    root: Path,
    group: groups_mod.Group,
    kind: str,
    exact_below: int,
    dim: int,
    holes: frozenset[str] = frozenset(),
) -> FaissStore:
    """The store over one group's `kind` vectors: exact below `exact_below` of them (a float32
    copy), else IVF-fp16 mapped from the group's kept file, trained and kept when there is none
    (from the group's .npy or, when the IVF file held them, from its segments).

    `holes`: the group's segments the version leaves out (documents since changed or deleted).
    Their rows are never searched (qa.store.multi) and their files may be collected, so a store
    built from the segments holds them as zeros; a kept file records which, and is trained again
    once one of them is back in a version (qa.store.ivf_file.read)."""
    n = group.rows(kind)
    plan = ann.plan(n, exact_below)
    if n == 0:
        return FaissStore(dim)
    zeroed = frozenset() if kind in group.arrays else holes.intersection(group.segments)

    def vectors() -> np.ndarray:
        if kind in group.arrays:  # its .npy: no segment is read
            return group.arrays[kind]
        live = [s for s in group.segments if s not in zeroed]
        return group_vectors(root, group, kind, dim, frozenset(live))

    if plan["type"] != "ivf":
        return FaissStore.from_plan(plan, np.arange(n), np.asarray(vectors(), dtype=np.float32))
    path = ivf_file.path_for(root / groups_mod.GROUPS / group.id, kind)
    want = ivf_file.key(kind, group.id, n, dim, plan)
    index = ivf_file.read(path, want, holes=holes)
    if index is None:
        index = ann.build(plan, vectors())
        if ivf_file.write(path, index, want, zeroed):
            # Mapped rather than held: its pages are shared, and evictable under pressure.
            index = ivf_file.read(path, want, holes=holes) or index
    return FaissStore(dim, index)


def group_vectors(
    root: Path,
    group: groups_mod.Group,
    kind: str,
    dim: int,
    only: Container[str] | None = None,
) -> np.ndarray:
    """A group's `kind` vectors (float16): its mapped .npy, or read from its segments when its
    IVF file holds them instead (to train that file again, or to merge the group). With `only`,
    the rows of segments not in it (holes: their files may be gone) are zeros, not read."""
    if kind in group.arrays:
        return group.arrays[kind]
    out = np.empty((group.rows(kind), dim), dtype=np.float16)
    at = 0
    blocks = group.vector_blocks(kind, dim)
    for name, (offset, rows, dtype) in zip(group.segments, blocks, strict=True):
        if only is not None and name not in only:
            out[at : at + rows] = 0
            at += rows
            continue
        size = rows * dim * np.dtype(dtype).itemsize
        try:
            with open(root / SEGMENTS / name, "rb") as f:
                f.seek(offset)
                data = f.read(size)
        except OSError as exc:
            raise StorageError(f"index segment {name} is unreadable: {exc}") from exc
        if len(data) != size:
            raise StorageError(f"index segment {name} is unreadable: truncated vectors")
        out[at : at + rows] = np.frombuffer(data, dtype=dtype).reshape(rows, dim)
        at += rows
    return out


def write_group(root: Path, built: dict[str, Any], exact_below: Mapping[str, int]) -> str:
    """Write a built or merged group (qa.store.groups.write); its id. A store past its
    `exact_below` is trained now and kept as the group's IVF file, and its vectors are not
    written as .npy too: the IVF file holds them (the segments hold them as well)."""
    dim = int(built["meta"]["dim"])
    gid = groups_mod.group_id([s[0] for s in built["meta"]["segments"]])
    trained = []
    arrays = dict(built["arrays"])
    if groups_mod.read(root, gid) is None:
        for kind in groups_mod.VECTORS:
            pieces = arrays[kind] if isinstance(arrays[kind], list) else [arrays[kind]]
            n = sum(len(p) for p in pieces)
            plan = ann.plan(n, exact_below[kind])
            if n and plan["type"] == "ivf":
                whole = np.concatenate(pieces) if len(pieces) != 1 else pieces[0]
                trained.append((kind, plan, n, ann.build(plan, whole)))
                del arrays[kind]
    gid = groups_mod.write(root, {**built, "arrays": arrays})
    for kind, plan, n, index in trained:
        # If this fails, the next load trains the file again from the segments.
        path = ivf_file.path_for(root / groups_mod.GROUPS / gid, kind)
        ivf_file.write(path, index, ivf_file.key(kind, gid, n, dim, plan))
    return gid


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


class IndexDir:
    """The files backend: `index/` as versions over segments (see the module docstring)."""

    def __init__(self, root: Path, *, hole_share: float | None = None) -> None:
        self.root = root
        self.hole_share = hole_share  # None: qa.store.groups.HOLE_SHARE
        self.versions = root / "versions"
        self.segments = root / SEGMENTS
        self._mapped: dict[str, groups_mod.Group] = {}  # groups this process has mapped
        # Their vector stores, each with the holes it was built for (`group_store`).
        self._stores: dict[tuple[str, str, int], tuple[FaissStore, frozenset[str]]] = {}
        self._manifests: dict[str, Manifest] = {}  # the last version's, read once (immutable)

    def current(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {self.root / 'CURRENT'}: {exc}") from exc
        return name or None

    def manifest(self) -> Manifest:
        name = self.current()
        if name is None:
            raise IndexMissing(f"no index in {self.root}: build one with `qa index build`")
        return self._manifest(name)

    def _manifest(self, name: str) -> Manifest:
        """A version's manifest. A version folder never changes once named, so it is parsed
        once (10,000 documents: ~0.4 s, and a server start reads it to check staleness and
        then to load)."""
        hit = self._manifests.get(name)
        if hit is None:
            hit = _read_manifest(self.versions / name)
            self._manifests = {name: hit}
        return hit

    def load(
        self, *, reuse: IndexData | None = None, known: Mapping[str, DocPart] | None = None
    ) -> IndexData:
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
        folder = self.versions / name
        manifest = self._manifest(name)
        order = [manifest.documents[d].segment for d in sorted(manifest.documents)]
        groups = self._groups(folder, manifest, order, reuse, known or {})
        live_segments = frozenset(order)
        held = {g.segments[j]: g.docs[j] for g in groups for j in range(len(g.segments))}
        # The groups were built by the writer, so a load reads no segment whole; queries read
        # their sentence vectors, so one gone since is named now rather than by a query.
        folder_s = str(self.segments)
        for doc_id, entry in manifest.documents.items():
            if not os.path.exists(f"{folder_s}/{entry.segment}"):
                raise StorageError(
                    f"index segment {entry.segment} ({doc_id}) is missing: run `qa index update` "
                    "to re-index it"
                )
        for doc_id, entry in manifest.documents.items():
            doc, sha = held[entry.segment]
            if doc != doc_id or sha != entry.sha256:
                raise StorageError(
                    f"index segment {entry.segment} holds {doc!r}, not {doc_id!r} at the hash "
                    "the manifest records: run `qa index update` to re-index it"
                )
        just = {n: segment.Records.of(p) for n, p in (known or {}).items()}
        data = assemble(
            manifest,
            groups,
            self.read_records,
            self.read_segment,
            lambda g, kind, below, dim: self._store_for(g, kind, below, dim, live_segments),
            self.segments,
            just,
        )
        data.version = name
        # What this process keeps mapped or built is what the version it now serves uses (the
        # version it served until now holds its own references until it is released).
        live = {g.id for g in groups}
        self._mapped = {gid: g for gid, g in self._mapped.items() if gid in live}
        self._stores = {k: v for k, v in self._stores.items() if k[0] in live}
        return data

    def _store_for(
        self,
        group: groups_mod.Group,
        kind: str,
        exact_below: int,
        dim: int,
        live: frozenset[str],
    ) -> FaissStore:
        """A group's store, built or mapped once per process (groups never change), again only
        when a segment that was a hole for it is back in the version (`live`)."""
        holes = frozenset(s for s in group.segments if s not in live)
        key = (group.id, kind, exact_below)
        hit = self._stores.get(key)
        if hit is None or not hit[1] <= holes:
            store = group_store(self.root, group, kind, exact_below, dim, holes)
            hit = self._stores[key] = (store, holes)
        return hit[0]

    def _groups(
        self,
        folder: Path,
        manifest: Manifest,
        order: list[str],
        reuse: IndexData | None,
        known: Mapping[str, DocPart],
    ) -> list[groups_mod.Group]:
        """The mapped groups covering a version: those it recorded, else those of the version
        before, plus a new group for the segments none covers (merged per qa.store.groups)."""
        ids = groups_mod.read_version(folder)
        fresh = ids is not None
        if ids is None:
            ids = []
            for v in reversed(self.kept_versions()):
                if v != folder.name and (found := groups_mod.read_version(self.versions / v)):
                    ids = found
                    break
        held = [g for gid in ids if (g := self._group(gid)) is not None]
        kept, loose, compact = groups_mod.plan(order, held, self.hole_share)
        if fresh:
            # The writer recorded this version's groups under its own share: a reader set to
            # another one never compacts them (that would rewrite a version it did not write).
            compact = set()
        if fresh and not loose and not compact and len(kept) == len(ids):
            return kept
        exact = exact_below(manifest)
        # A merge leaves the holes of the groups it absorbs out, and never reads their segments.
        want = set(order)
        vectors = partial(group_vectors, self.root, dim=manifest.dim, only=want)
        for i, g in enumerate(kept):
            if g.id in compact:  # past its share of holes: merged alone, in its place
                done = self._group(
                    write_group(
                        self.root, groups_mod.merge([g], manifest.dim, vectors, want), exact
                    )
                )
                if done is None:
                    raise StorageError(f"cannot read the index group just written in {self.root}")
                kept[i] = done
        for start in range(0, len(loose), BUILD_BATCH):
            batch = loose[start : start + BUILD_BATCH]
            parts = []
            vec_at: dict[str, tuple[int, int, str]] = {}
            for seg in batch:
                part = known.get(seg)
                data = self._segment_bytes(seg) if part is None else self._segment_head(seg)
                if part is None:
                    part = self._decode(seg, data)
                try:
                    vec_at[seg] = segment.vector_blocks(data)
                except (ValueError, TypeError, KeyError) as exc:
                    raise StorageError(f"index segment {seg} is unreadable: {exc}") from exc
                parts.append((seg, part))
            built = groups_mod.build(parts, manifest.dim, vec_at)
            new = self._group(write_group(self.root, built, exact))
            if new is None:
                raise StorageError(f"cannot read the index group just written in {self.root}")
            del parts
            while kept and groups_mod.should_merge(new.size, groups_mod.live_size(kept[-1], want)):
                both = [kept.pop(), new]
                merged = groups_mod.merge(both, manifest.dim, vectors, want)
                new = self._group(write_group(self.root, merged, exact))
                if new is None:
                    raise StorageError(f"cannot read the index group just written in {self.root}")
            kept.append(new)
        groups_mod.write_version(folder, [g.id for g in kept])
        return kept

    def _group(self, gid: str) -> groups_mod.Group | None:
        hit = self._mapped.get(gid)
        if hit is None:
            hit = groups_mod.read(self.root, gid)
            if hit is not None:
                self._mapped[gid] = hit
        return hit

    def read_records(self, name: str) -> segment.Records:
        """A segment's records (no vectors), checked against its name like `read_segment`."""
        try:
            return segment.records(self._segment_bytes(name))
        except (ValueError, TypeError, KeyError) as exc:
            raise StorageError(f"index segment {name} is unreadable: {exc}") from exc

    def has_document(self, entry: DocEntry) -> bool:
        try:
            size = (self.segments / entry.segment).stat().st_size if entry.segment else -1
        except OSError:
            return False
        return size >= 0 and (entry.size == 0 or size == entry.size)

    def verify(self) -> list[str]:
        problems = []
        for doc_id, entry in sorted(self.manifest().documents.items()):
            try:
                data = (self.segments / entry.segment).read_bytes()
            except OSError:
                problems.append(f"{doc_id}: segment {entry.segment} is missing")
                continue
            if not segment.name_matches(entry.segment, data):
                problems.append(f"{doc_id}: segment {entry.segment} is damaged")
        return problems

    def _segment_bytes(self, name: str) -> bytes:
        try:
            data = (self.segments / name).read_bytes()
        except OSError as exc:
            raise StorageError(f"index segment {name} is unreadable: {exc}") from exc
        if not segment.name_matches(name, data):
            raise StorageError(
                f"index segment {name} is damaged (its bytes do not match its hash): "
                "rebuild with `qa index build`, or run `qa index prune` then `qa index update`"
            )
        return data

    def read_segment(self, name: str) -> DocPart:
        """A segment, checked against its name (the hash of its bytes): a damaged file is an
        error, never records or vectors that differ from what was written."""
        return self._decode(name, self._segment_bytes(name))

    def _segment_head(self, name: str) -> bytes:
        """A segment's length prefix and header alone (of one this process just wrote)."""
        try:
            with open(self.segments / name, "rb") as f:
                head = f.read(8)
                return head + f.read(int.from_bytes(head, "little"))
        except OSError as exc:
            raise StorageError(f"index segment {name} is unreadable: {exc}") from exc

    def _decode(self, name: str, data: bytes) -> DocPart:
        try:
            return segment.decode(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise StorageError(f"index segment {name} is unreadable: {exc}") from exc

    def write_document(self, part: DocPart) -> tuple[str, int]:
        """Store `part` as a segment (unless an intact identical one exists); its name and size.

        The file is fsynced; the folder is fsynced by `save`, before any manifest names it.
        """
        name, data = segment.encode(part)
        path = self.segments / name
        if path.is_file() and _intact(path, name):
            return name, len(data)
        try:
            self.segments.mkdir(parents=True, exist_ok=True)
            tmp = self.segments / f".tmp-{uuid.uuid4().hex[:8]}-{name}"
            write_synced(tmp, data)
            os.replace(tmp, path)  # over a damaged file of the same name, if there was one
        except OSError as exc:
            raise StorageError(f"cannot write index segment {path}: {exc}") from exc
        return name, len(data)

    def save(self, manifest: Manifest) -> str:
        try:
            self.versions.mkdir(parents=True, exist_ok=True)
            if self.segments.is_dir():
                fsync_dir(self.segments)  # the renames of the segments this version names
            self._clean_temporaries()
            # A counter first, so names sort in creation order even within one second.
            numbers = [
                int(p.name[:6]) for p in self.versions.glob("[0-9]*-*") if p.name[:6].isdigit()
            ]
            name = f"{max(numbers, default=0) + 1:06d}-" + time.strftime("%Y%m%dT%H%M%S")
            tmp = self.versions / f".tmp-{name}"
            tmp.mkdir()
            manifest = manifest.model_copy(update={"version": name})
            write_synced(tmp / "manifest.json", manifest.to_json())
            # The groups the version is mapped through, built here by the writer: otherwise the
            # first process to load it after a full build would build them all (minutes at
            # 10,000 interviews, docs/benchmarks-archive.md) before it could serve.
            order = [manifest.documents[d].segment for d in sorted(manifest.documents)]
            self._groups(tmp, manifest, order, None, {})
            fsync_dir(tmp)
            pause_point("version-written")
            previous = self.current()
            os.rename(tmp, self.versions / name)
            fsync_dir(self.versions)
            pause_point("version-renamed")
            pointer = self.root / f".CURRENT.{uuid.uuid4().hex[:6]}"
            write_synced(pointer, name.encode())
            os.replace(pointer, self.root / "CURRENT")
            fsync_dir(self.root)
            pause_point("current-switched")
        except OSError as exc:
            raise StorageError(f"cannot write index to {self.root}: {exc}") from exc
        self._prune(keep={name, previous or ""})
        return name

    def recover(self) -> list[str]:
        """Versions newer than CURRENT were renamed into place by a run that died before
        switching CURRENT: they were never live, so nobody can be reading them. Segments only
        they named go with the next switch's collection (or are reused by it)."""
        if not self.versions.is_dir():
            return []
        removed = [p.name for p in self.versions.glob(".tmp-*")]
        removed += [p.name for p in self.root.glob(".CURRENT.*")]
        removed += [p.name for p in self.segments.glob(".tmp-*")]
        removed += [p.name for p in self.versions.glob(f"*/{ivf_file.TMP_PREFIX}*")]
        removed += [p.name for p in self._stale_reader_temporaries()]
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
            if manifest.get("format") in READABLE_FORMATS:
                names.update(str(d.get("segment", "")) for d in manifest["documents"].values())
        return names

    def text_keys(self) -> set[bytes]:
        blocks = []
        for name in self.referenced_segments():
            try:
                data = (self.segments / name).read_bytes()
                if segment.name_matches(name, data):
                    blocks.append(segment.keys_of(data))
            except (OSError, ValueError, KeyError):
                continue  # a damaged segment keeps no cache entries: they are re-embedded
        return text_key_blocks(blocks, segment.KEY_BYTES)

    def size_on_disk(self) -> int:
        name = self.current()
        if name is None:
            return 0
        manifest = self._manifest(name)
        total = (self.versions / name / "manifest.json").stat().st_size
        for seg in {d.segment for d in manifest.documents.values()}:
            with contextlib.suppress(OSError):  # collected meanwhile by a writer
                total += (self.segments / seg).stat().st_size
        return total

    def cache_bytes(self) -> int:
        folder = self.root / "cache"
        return sum(p.stat().st_size for p in folder.glob("*") if p.is_file())

    def lock(self, timeout: float) -> IndexLock:
        return IndexLock(self.root, timeout)

    def cache(self, model: str, dim: int) -> EmbeddingCache:
        return EmbeddingCache(self.root / "cache" / CACHE_FILE, model, dim)

    def _clean_temporaries(self) -> None:
        for p in self.versions.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)
        for p in self.root.glob(".CURRENT.*"):
            p.unlink(missing_ok=True)
        for p in self.segments.glob(".tmp-*"):
            p.unlink(missing_ok=True)
        for p in self.versions.glob(f"*/{ivf_file.TMP_PREFIX}*"):  # a groups list half-written
            p.unlink(missing_ok=True)
        for p in self._stale_reader_temporaries():
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)

    def _stale_reader_temporaries(self) -> list[Path]:
        """A group, a trained index or the scan's stamp table (qa.ingest.stamps) half-written by
        a process that died. Readers write them, without the writer's lock: one younger than
        STALE_TEMPORARY may still be being written."""
        folder = self.root / groups_mod.GROUPS
        found = [
            *self.root.glob(".tmp-*"),
            *folder.glob(f"{groups_mod.TMP_PREFIX}*"),
            *folder.glob(f"*/{ivf_file.TMP_PREFIX}*"),
        ]
        now = time.time()
        stale = []
        for p in found:
            with contextlib.suppress(OSError):
                if now - p.stat().st_mtime > STALE_TEMPORARY:
                    stale.append(p)
        return stale

    def _prune(self, keep: set[str]) -> None:
        # Older versions go, but not the one that was live until now: a reader may be loading it.
        names = self.kept_versions()
        for old in names[:-KEEP_VERSIONS]:
            if old not in keep:
                shutil.rmtree(self.versions / old, ignore_errors=True)
        self._collect(verify=False)

    def collect(self) -> int:
        """Also deletes damaged segments a version names: the next update then finds the
        document missing and indexes it again."""
        return self._collect(verify=True)

    def _collect(self, *, verify: bool) -> int:
        self._collect_groups()
        if not self.segments.is_dir():
            return 0
        used = self.referenced_segments()
        gone = 0
        for p in self.segments.glob(f"*{segment.SUFFIX}"):
            if p.name not in used or (verify and not _intact(p, p.name)):
                p.unlink(missing_ok=True)
                gone += 1
        return gone

    def _collect_groups(self) -> None:
        """Groups no kept version lists go (a reader may be mid-way through listing a group it
        just built: one younger than a minute stays until the next collection)."""
        folder = self.root / groups_mod.GROUPS
        if not folder.is_dir():
            return
        used = {
            g
            for v in self.kept_versions()
            for g in groups_mod.read_version(self.versions / v) or ()
        }
        now = time.time()
        for p in folder.iterdir():
            if p.name in used:
                continue
            with contextlib.suppress(OSError):
                if now - p.stat().st_mtime > 60:
                    shutil.rmtree(p, ignore_errors=True)
                    self._mapped.pop(p.name, None)


def _intact(path: Path, name: str) -> bool:
    try:
        return segment.name_matches(name, path.read_bytes())
    except OSError:
        return False


def _check_part(part: DocPart, doc_id: str, entry: DocEntry) -> None:
    """A manifest must name the segment of this document, at this content hash."""
    if part.doc_id != doc_id or part.sha256 != entry.sha256:
        raise StorageError(
            f"index segment {entry.segment} holds {part.doc_id!r}, not {doc_id!r} at the hash "
            "the manifest records: run `qa index update` to re-index it"
        )


def _read_manifest(path: Path) -> Manifest:
    try:
        data = (path / "manifest.json").read_bytes()
    except FileNotFoundError as exc:
        raise IndexMissing(
            f"index version {path.name} has no manifest: rebuild with `qa index build`"
        ) from exc
    except OSError as exc:
        raise StorageError(f"cannot read manifest in {path}: {exc}") from exc
    try:
        fmt = json.loads(data).get("format")
    except (ValueError, AttributeError) as exc:
        raise StorageError(f"cannot read manifest in {path}: {exc}") from exc
    if fmt not in READABLE_FORMATS:
        raise IndexIncompatible(
            f"index in {path.parent.parent} has format {fmt!r}, this qa reads "
            f"format {FORMAT_VERSION}: rebuild it with `qa index build`"
        )
    return Manifest.from_json(data, str(path))
