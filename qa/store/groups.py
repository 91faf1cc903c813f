"""Derived, checksummed structures over groups of segments, memory-mapped at load.

    index/groups/<id>/      id: hash of the group's segment names, in order
      meta.json             segments (name and counts), vocabulary, facets, files' sizes and hashes
      chunk.npy question.npy  the group's chunk and question vectors, float16, for a store that
                            searches them exactly; a store past `exact_below` keeps them in its
                            IVF file (<kind>.ivf, qa.store.ivf_file) instead, so they are not
                            stored twice (format 2)
      post_ptr.npy post_rows.npy post_tf.npy doclen.npy  BM25 postings (qa.sparse.Postings)
      facet.npy             per chunk: its row of `facets` (doc, speaker, label, date)
      q_ptr.npy q_rows.npy  per question key: the chunks that answer it
    versions/<name>/groups.json   the groups that cover the version, in order

Loading a version used to decode every segment and index BM25 over every chunk (linear in the
archive, docs/benchmarks-archive.md). A version is now a list of groups, each covering some of
its segments: the arrays are mapped, not read, and a reload after adding one document builds one
small group from that document alone and maps the others. Groups merge like an LSM tree (a new
group absorbs the one before it while it is at least a quarter of its size), so a version has
O(log n) groups and each chunk is rewritten O(log n) times over the archive's life.

A held group stays in use after some of its segments left the version (a document changed or
deleted), while their chunks are at most HOLE_SHARE of the group's: the group's files do not
change, the version leaves those rows out ("holes", derived at load from which of the group's
segments it names: qa.store.records.Layout). A hole has no id in the version; vector stores skip
it with a selector, BM25 leaves it out of N, the lengths and every df, filters and outlines never
see it. Past the share, the group is compacted: merged alone from its own arrays, its holes left
out (no segment is decoded; a large group's vectors are read from its live segments by offset to
train its cells again). A merge drops the holes of the groups it absorbs (it reads no segment a
hole names: those may be collected), so a change inside the largest group costs what adding one
document does.

Groups are derived: the segments stay the source of truth. A group that is missing, unreadable
or whose small files do not match their recorded hashes (vectors: their sizes; `verify` hashes
them too) is ignored and built again from its segments. Written under a temporary name, fsynced
and renamed, so a reader sees a whole group or none.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from qa.fsio import fsync_dir
from qa.models import Chunk, DocOutline, Sentence
from qa.settings import IndexingSettings
from qa.store.segment import CHUNK_FIELDS, SENTENCE_FIELDS, DocPart

log = logging.getLogger("qa")

GROUPS = "groups"
TMP_PREFIX = ".tmp-"
VERSION_FILE = "groups.json"
VECTORS = ("chunk", "question")  # sentence vectors are read from the segments (`vec_at`)
# Large arrays are checked by size at every read and by hash on `full` reads; small ones by hash.
_LARGE = ("post_rows", "post_tf", "records", "rec_ptr", "sent_chunk", "sent_pos")
_SMALL = ("post_ptr", "doclen", "facet", "q_ptr", "q_rows")
_ARRAYS = (*VECTORS, *_LARGE, *_SMALL)
# Bumped when the files change: a group of another format is built again. 2: vectors an IVF
# file holds are not kept as .npy too (1 is read as well: it always keeps them).
GROUP_FORMAT = 2
READ_FORMATS = frozenset({1, 2})
TF_MAX = 65_535  # a term's count in one chunk, stored as uint16
MERGE_RATIO = 4  # a new group absorbs the previous one while it is at least 1/4 of its size
# A held group stays in use while the chunks of its segments the version no longer names (holes)
# are at most this share of its chunks; past it, it is compacted. The default of
# QA_INDEXING__HOLE_SHARE, for callers that pass none (`plan`).
HOLE_SHARE: float = IndexingSettings.model_fields["hole_share"].default
# Facet row: (doc_id, speaker, label, date), the only fields a filter reads (qa.models.Filters).
Facet = tuple[str, str | None, str | None, str | None]


@dataclass(frozen=True)
class Group:
    """One group, mapped: arrays are read-only views of its files."""

    id: str
    segments: tuple[str, ...]
    chunks: np.ndarray  # per segment: chunk count (and sentences, questions likewise)
    sentences: np.ndarray
    questions: np.ndarray
    vocab: dict[str, int]
    facets: list[Facet]
    arrays: dict[str, np.ndarray]
    docs: list[tuple[str, str]]  # per segment: (doc_id, sha256) it holds
    # per segment: byte offsets of its sentence and context vectors in its file (-1: derived,
    # not stored) and their dtype (qa.store.segment.vector_blocks)
    vec_at: list[tuple[int, int, str]]
    has_text: list[bool]  # per segment: it keeps a canonical text (a .docx, .pdf or .html)
    outlines: list[list[Any]]  # per segment: its document's outline (`outline`)

    @property
    def size(self) -> int:
        return int(self.chunks.sum())

    def rows(self, kind: str) -> int:
        """How many `kind` ("chunk" or "question") vectors the group has."""
        return self.size if kind == "chunk" else int(self.questions.sum())

    def vector_blocks(self, kind: str, dim: int) -> list[tuple[int, int, str]]:
        """Per segment: (byte offset, rows, dtype) of its `kind` vectors in its file. A segment
        stores chunk, question, sentence, context vectors in that order (qa.store.segment), and
        `vec_at` says where its sentence vectors start."""
        out = []
        for (sent_at, _, dtype), c, q in zip(self.vec_at, self.chunks, self.questions, strict=True):
            item = dim * np.dtype(dtype).itemsize
            start = sent_at - (int(c) + int(q)) * item
            out.append(
                (start, int(c), dtype)
                if kind == "chunk"
                else (start + int(c) * item, int(q), dtype)
            )
        return out


def group_id(segments: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(segments).encode()).hexdigest()[:40]


def _digest(data: bytes | memoryview) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _file_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            h.update(block)
    return h.hexdigest()


def _outline(part: DocPart) -> list[Any]:
    o = DocOutline.of(part.doc_id, part.chunks)
    return [o.title, o.date, list(o.speakers), o.turns, o.duration]


def outline(group: Group, j: int) -> DocOutline:
    """The outline of the document in the group's `j`-th segment."""
    title, date, speakers, turns, duration = group.outlines[j]
    return DocOutline(group.docs[j][0], title, date, tuple(speakers), int(turns), duration)


def chunk_record(
    c: Chunk, sentences: Sequence[Sentence], js: Sequence[int], part: DocPart
) -> bytes:
    """One chunk's records as the group stores them: the chunk's fields, its sentences' fields,
    their places in the segment (ids local to the document, so merging groups changes nothing)
    and their texts (JSON, read one chunk at a time)."""
    return orjson.dumps(
        [
            [getattr(c, n) for n in CHUNK_FIELDS],
            [[getattr(s, n) for n in SENTENCE_FIELDS] for s in sentences],
            list(js),
            [part.sentence_texts[j] for j in js],
        ]
    )


def build(
    parts: Sequence[tuple[str, DocPart]], dim: int, vec_at: Mapping[str, Sequence[Any]]
) -> dict[str, Any]:
    """The arrays and metadata of a group over `parts`, in memory (written by `write`);
    `vec_at`: per segment, where its sentence and context vectors lie in its file
    (qa.store.segment.vector_blocks)."""
    vec = {
        "chunk": [p.chunk_vectors for _, p in parts],
        "question": [p.question_vectors for _, p in parts],
    }
    arrays: dict[str, np.ndarray] = {
        k: (np.concatenate(v) if v else np.zeros((0, dim))).astype(np.float16)
        for k, v in vec.items()
    }
    vocab: dict[str, int] = {}
    terms: list[int] = []
    rows: list[int] = []
    tfs: list[int] = []
    doclen: list[int] = []
    facets: dict[Facet, int] = {}
    facet: list[int] = []
    q_counts: list[int] = []
    q_rows: list[int] = []
    blobs: list[bytes] = []
    sent_chunk: list[int] = []
    sent_pos: list[int] = []
    row = 0
    for _, part in parts:
        mine: list[list[int]] = [[] for _ in part.chunks]
        for j, sent in enumerate(part.sentences):
            sent_chunk.append(row + sent.chunk_id)
            sent_pos.append(len(mine[sent.chunk_id]))
            mine[sent.chunk_id].append(j)
        for c, js in zip(part.chunks, mine, strict=True):
            blobs.append(chunk_record(c, [part.sentences[j] for j in js], js, part))
        for c, toks in zip(part.chunks, part.tokens, strict=True):
            # bm25s indexes an empty document as one placeholder token (qa.sparse): length 1.
            doclen.append(len(toks) or 1)
            counts: dict[str, int] = {}
            for t in toks:
                counts[t] = counts.get(t, 0) + 1
            for t, n in counts.items():
                terms.append(vocab.setdefault(t, len(vocab)))
                rows.append(row + c.id)
                tfs.append(n)
            key = (c.doc_id, c.speaker, c.label, c.date)
            facet.append(facets.setdefault(key, len(facets)))
        for ids in part.question_chunks:
            q_counts.append(len(ids))
            q_rows.extend(row + i for i in ids)
        row += len(part.chunks)
    order = np.argsort(np.asarray(terms, dtype=np.int64), kind="stable")
    term_arr = np.asarray(terms, dtype=np.int64)[order]
    arrays["post_ptr"] = np.searchsorted(term_arr, np.arange(len(vocab) + 1)).astype(np.int64)
    arrays["post_rows"] = np.asarray(rows, dtype=np.int32)[order]
    arrays["post_tf"] = np.minimum(np.asarray(tfs, dtype=np.int64), TF_MAX).astype(np.uint16)[order]
    arrays["doclen"] = np.asarray(doclen, dtype=np.int32)
    arrays["records"] = np.frombuffer(b"".join(blobs), dtype=np.uint8)
    arrays["rec_ptr"] = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
    arrays["sent_chunk"] = np.asarray(sent_chunk, dtype=np.int32)
    arrays["sent_pos"] = np.asarray(sent_pos, dtype=np.int32)
    arrays["facet"] = np.asarray(facet, dtype=np.int32)
    arrays["q_ptr"] = np.concatenate([[0], np.cumsum(q_counts, dtype=np.int64)]).astype(np.int64)
    arrays["q_rows"] = np.asarray(q_rows, dtype=np.int32)
    meta = {
        "segments": [
            [
                name,
                len(p.chunks),
                len(p.sentences),
                len(p.question_chunks),
                p.doc_id,
                p.sha256,
                *vec_at[name],
                p.text is not None,
                _outline(p),
            ]
            for name, p in parts
        ],
        "format": GROUP_FORMAT,
        "dim": dim,
        "vocab": list(vocab),
        "facets": [list(f) for f in facets],
    }
    return {"meta": meta, "arrays": arrays}


def present(group: Group, segments: Container[str]) -> np.ndarray:
    """Per segment of `group`: whether it is among `segments` (a version's); False: a hole."""
    return np.fromiter((s in segments for s in group.segments), bool, len(group.segments))


def live_size(group: Group, segments: Container[str]) -> int:
    """The group's chunks that belong to `segments` (its size without its holes)."""
    return int(group.chunks[present(group, segments)].sum())


def _runs(keep: np.ndarray, counts: np.ndarray) -> list[tuple[int, int]]:
    """Row ranges [lo, hi) of the kept segments, adjacent ones joined (`counts`: rows each)."""
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    out: list[tuple[int, int]] = []
    for j in np.flatnonzero(keep):
        lo, hi = int(starts[j]), int(starts[j + 1])
        if out and out[-1][1] == lo:
            out[-1] = (out[-1][0], hi)
        elif hi > lo:
            out.append((lo, hi))
    return out


def merge(
    groups: Sequence[Group],
    dim: int,
    vectors: Callable[[Group, str], np.ndarray],
    segments: Container[str] | None = None,
) -> dict[str, Any]:
    """One group's arrays from several mapped ones: rows are renumbered, vocabularies unified,
    postings re-sorted by term. `vectors(group, kind)`: a group's vectors it does not keep as
    .npy (an IVF file holds them), read from its segments (rows of holes need not be read).
    With `segments` (a version's), the groups' segments not among them (holes) are left out."""
    vocab: dict[str, int] = {}
    facets: dict[Facet, int] = {}
    out: dict[str, list[np.ndarray]] = {k: [] for k in _ARRAYS}
    terms: list[np.ndarray] = []
    kept_meta: list[list[Any]] = []
    row = 0
    for g in groups:
        a = g.arrays
        keep = present(g, segments) if segments is not None else np.ones(len(g.segments), bool)
        whole = bool(keep.all())
        c_keep = np.repeat(keep, g.chunks)
        s_keep = np.repeat(keep, g.sentences)
        q_keep = np.repeat(keep, g.questions)
        # old row → new row (-1: a hole's); a group without holes keeps its rows, shifted
        new_row = None if whole else np.where(c_keep, np.cumsum(c_keep) - 1, -1).astype(np.int64)
        for k in VECTORS:
            v = a[k] if k in a else vectors(g, k)
            counts = g.chunks if k == "chunk" else g.questions
            out[k].extend(v[lo:hi] for lo, hi in _runs(keep, counts))
        remap = np.asarray([vocab.setdefault(t, len(vocab)) for t in g.vocab], dtype=np.int64)
        ptr = a["post_ptr"]
        term = np.repeat(remap, np.diff(ptr))
        prow = a["post_rows"]
        ptf = a["post_tf"]
        if not whole:
            m = c_keep[prow]
            term, prow, ptf = term[m], prow[m], ptf[m]
        terms.append(term)
        out["post_rows"].append(_renumber(prow, new_row, row))
        out["post_tf"].append(ptf)
        out["doclen"].append(a["doclen"][c_keep] if not whole else a["doclen"])
        fmap = np.asarray([facets.setdefault(f, len(facets)) for f in g.facets], dtype=np.int32)
        facet = a["facet"][c_keep] if not whole else a["facet"]
        out["facet"].append(fmap[facet] if len(fmap) else facet)
        q_counts = np.diff(a["q_ptr"])
        q_rows = a["q_rows"]
        if not whole:
            q_rows = q_rows[np.repeat(q_keep, q_counts)]
            q_counts = q_counts[q_keep]
        out["q_ptr"].append(q_counts)
        out["q_rows"].append(_renumber(q_rows, new_row, row))
        rec_ptr = a["rec_ptr"]
        out["records"].extend(
            a["records"][int(rec_ptr[lo]) : int(rec_ptr[hi])] for lo, hi in _runs(keep, g.chunks)
        )
        out["rec_ptr"].append(np.diff(rec_ptr)[c_keep] if not whole else np.diff(rec_ptr))
        sent_chunk = a["sent_chunk"]
        sent_pos = a["sent_pos"]
        if not whole:
            sent_chunk, sent_pos = sent_chunk[s_keep], sent_pos[s_keep]
        out["sent_chunk"].append(_renumber(sent_chunk, new_row, row))
        out["sent_pos"].append(sent_pos)
        row += int(c_keep.sum())
        kept_meta.extend(
            [s, int(c), int(n), int(q), *g.docs[j], *g.vec_at[j], g.has_text[j], g.outlines[j]]
            for j, (s, c, n, q) in enumerate(
                zip(g.segments, g.chunks, g.sentences, g.questions, strict=True)
            )
            if keep[j]
        )
    term_arr = np.concatenate(terms) if terms else np.zeros(0, np.int64)
    order = np.argsort(term_arr, kind="stable")
    # Pieces, written one by one (never all in memory): the vectors and the records.
    arrays: dict[str, Any] = {k: out[k] for k in (*VECTORS, "records")}
    arrays["post_ptr"] = np.searchsorted(term_arr[order], np.arange(len(vocab) + 1)).astype(
        np.int64
    )
    arrays["post_rows"] = _cat(out["post_rows"], np.int32)[order]
    arrays["post_tf"] = _cat(out["post_tf"], np.uint16)[order]
    arrays["doclen"] = _cat(out["doclen"], np.int32)
    arrays["facet"] = _cat(out["facet"], np.int32)
    counts = _cat(out["q_ptr"], np.int64)
    arrays["q_ptr"] = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64)
    arrays["q_rows"] = _cat(out["q_rows"], np.int32)
    sizes = _cat(out["rec_ptr"], np.int64)
    arrays["rec_ptr"] = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
    arrays["sent_chunk"] = _cat(out["sent_chunk"], np.int32)
    arrays["sent_pos"] = _cat(out["sent_pos"], np.int32)
    meta = {
        "segments": kept_meta,
        "format": GROUP_FORMAT,
        "dim": dim,
        "vocab": list(vocab),
        "facets": [list(f) for f in facets],
    }
    return {"meta": meta, "arrays": arrays}


def _renumber(rows: np.ndarray, new_row: np.ndarray | None, at: int) -> np.ndarray:
    """Rows of a group as the merged group numbers them (`new_row`: old → new, None: the same)."""
    return rows + at if new_row is None else new_row[rows] + at


def _cat(parts: Sequence[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)


def write(root: Path, built: dict[str, Any]) -> str:
    """Store a built group under `root/groups/` atomically; its id."""
    meta = dict(built["meta"])
    dim = int(meta["dim"])
    gid = group_id([s[0] for s in meta["segments"]])
    folder = root / GROUPS
    final = folder / gid
    if final.is_dir():
        if read(root, gid) is not None:
            return gid
        # Damaged: out of the way first (a process mapping its files keeps them until it unmaps).
        shutil.rmtree(final.rename(folder / f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-damaged"))
    tmp = folder / f"{TMP_PREFIX}{uuid.uuid4().hex[:8]}-{gid}"
    tmp.mkdir(parents=True)
    files: dict[str, list[Any]] = {}
    for name, arr in built["arrays"].items():
        path = tmp / f"{name}.npy"
        if isinstance(arr, list):  # merged pieces: copied one by one, never all in memory
            rows = sum(len(a) for a in arr)
            shape = (rows, dim) if name in VECTORS else (rows,)
            dtype = np.float16 if name in VECTORS else np.uint8
            out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
            at = 0
            for a in arr:
                out[at : at + len(a)] = a
                at += len(a)
            out.flush()
            del out
            with open(path, "rb+") as f:
                os.fsync(f.fileno())
        else:
            with open(path, "wb") as f:
                np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
                f.flush()
                os.fsync(f.fileno())
        digest = _file_digest(path)
        small = name in _SMALL
        files[name] = [path.stat().st_size, digest if small else None, None if small else digest]
    meta["files"] = files
    data = json.dumps(meta, ensure_ascii=False, separators=(",", ":")).encode()
    with open(tmp / "meta.json", "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(tmp)
    try:
        os.rename(tmp, final)
    except OSError:  # another process wrote the same group meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
        if not final.is_dir():
            raise
    fsync_dir(folder)
    return gid


def read(root: Path, gid: str, *, full: bool = False) -> Group | None:
    """A group, mapped; None if it is missing or damaged (then it is built again).

    Small files are checked against their hashes at every read; the vectors by size only (hashing
    them would read every vector at every load, which is what mapping avoids), and by hash when
    `full` (qa index verify)."""
    folder = root / GROUPS / gid
    try:
        meta = json.loads((folder / "meta.json").read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("qa: derived group %s is unreadable (%s); building it again", gid, exc)
        return None
    try:
        if meta.get("format") not in READ_FORMATS:
            log.info("qa: group %s was written by another qa version; building it again", gid)
            return None
        segments = tuple(str(s[0]) for s in meta["segments"])
        if group_id(segments) != gid:
            raise ValueError("its segments do not match its name")
        arrays: dict[str, np.ndarray] = {}
        for name in _ARRAYS:
            if name in VECTORS and name not in meta["files"]:
                continue  # held by the store's IVF file (format 2)
            size, small, large = meta["files"][name]
            path = folder / f"{name}.npy"
            if path.stat().st_size != size:
                raise ValueError(f"{name}.npy has the wrong size")
            if small is not None and _file_digest(path) != small:
                raise ValueError(f"{name}.npy does not match its hash")
            if full and large is not None and _file_digest(path) != large:
                raise ValueError(f"{name}.npy does not match its hash")
            # A plain ndarray over the mapping: np.memmap's own indexing is slow on scalars.
            arrays[name] = np.load(path, mmap_mode="r", allow_pickle=False).view(np.ndarray)
        counts = np.asarray([s[1:4] for s in meta["segments"]], dtype=np.int64).reshape(-1, 3)
        group = Group(
            id=gid,
            segments=segments,
            chunks=counts[:, 0],
            sentences=counts[:, 1],
            questions=counts[:, 2],
            vocab={t: i for i, t in enumerate(meta["vocab"])},
            facets=[(f[0], f[1], f[2], f[3]) for f in meta["facets"]],
            arrays=arrays,
            docs=[(str(s[4]), str(s[5])) for s in meta["segments"]],
            vec_at=[(int(s[6]), int(s[7]), str(s[8])) for s in meta["segments"]],
            has_text=[bool(s[9]) for s in meta["segments"]],
            outlines=[list(s[10]) for s in meta["segments"]],
        )
        n = group.size
        rows = (len(arrays[a]) for a in ("chunk", "doclen", "facet") if a in arrays)
        if any(r != n for r in rows) or len(arrays["rec_ptr"]) != n + 1:
            raise ValueError("array lengths differ from its counts")
        return group
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        log.warning("qa: derived group %s is damaged (%s); building it again", gid, exc)
        return None


def plan(
    segments: Sequence[str], held: Sequence[Group], hole_share: float | None = None
) -> tuple[list[Group], list[str], set[str]]:
    """Which held groups still cover part of `segments`, the segments none covers (in version
    order), and which of those groups to compact. A group is kept as it is while the chunks of
    its segments not in `segments` (its holes) are at most `hole_share` (HOLE_SHARE) of its
    chunks and it still holds one of them; past that share it is compacted: merged alone, its
    holes left out, from its own arrays (no segment decoded)."""
    share = HOLE_SHARE if hole_share is None else hole_share
    want = set(segments)
    kept: list[Group] = []
    compact: set[str] = set()
    covered: set[str] = set()
    for g in held:
        mine = [s for s in g.segments if s in want]
        if not mine or not covered.isdisjoint(mine):
            continue
        if len(mine) < len(g.segments):
            removed = g.size - live_size(g, want)
            if removed > share * g.size:
                compact.add(g.id)
        kept.append(g)
        covered.update(mine)
    return kept, [s for s in segments if s not in covered], compact


def should_merge(newest: int, before: int) -> bool:
    return newest * MERGE_RATIO >= before


def read_version(folder: Path) -> list[str] | None:
    try:
        data = json.loads((folder / VERSION_FILE).read_bytes())
        return [str(g) for g in data["groups"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_version(folder: Path, ids: Sequence[str]) -> None:
    """Best effort: without it the next load finds the groups by the previous version's list."""
    tmp = folder / f"{TMP_PREFIX}{uuid.uuid4().hex[:6]}-{VERSION_FILE}"
    try:
        tmp.write_text(json.dumps({"groups": list(ids)}), encoding="utf-8")
        os.replace(tmp, folder / VERSION_FILE)
    except OSError as exc:
        log.warning("qa: cannot record the groups of %s: %s", folder.name, exc)
        tmp.unlink(missing_ok=True)
