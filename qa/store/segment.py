"""One document's share of the index, as one immutable file that versions share.

    index/segments/<sha256 of the file's bytes>.seg

A segment holds everything the index keeps for one document: chunks and sentences (ids local to
the document), sentence texts, question keys, BM25 tokens, the four kinds of vectors and the
embedding-cache keys of every text it was built from (so the cache can be pruned to what kept
versions use). It is named by the hash of its own bytes, so a name always means the same content:
versions share unchanged documents' segments, and a crashed writer's segment is simply reused.

File layout: 8-byte little-endian header length, a JSON header (records, texts, tokens, array
shapes, `dtype`), then the arrays (little-endian) in _ARRAYS order, then the 32-byte cache keys.
Since index format 6 the header is zlib-compressed (level 1): its records, texts and BM25 tokens
(a turn's tokens repeat for each of its chunks) were a quarter of a segment and compress ~4×
(docs/benchmarks-archive.md). A header that starts with `{` is plain JSON (format 5 and before).

Vectors are stored as float16 (`"dtype": "f2"`, format 5): half the bytes, and scores move by
~1e-3, far below what separates answers (docs/benchmarks-archive.md); they are float32 again in
memory. Segments written before (no `dtype`) hold float32 and read as before. Context vectors
derived from the sentence vectors (`"contexts": "derived"`, qa.store.contexts) are not stored:
they are derived again when the segment is read. Those made from sentence pairs
(`"contexts": "pairs"`) are stored like embedded ones.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from qa.models import Chunk, Sentence
from qa.store.contexts import derive_contexts
from qa.store.manifest import DocEntry

SUFFIX = ".seg"
KEY_BYTES = 32  # sha256 digests, as qa.store.cache.text_key makes them
_ARRAYS = ("chunk_vectors", "question_vectors", "sentence_vectors", "context_vectors")
_LEN = struct.Struct("<Q")
HEADER_LEVEL = 1  # zlib: ~4× smaller at ~75 MB/s; level 6 gains 14% more at a third the speed
STORED_DTYPE = "f2"  # numpy's name for float16 (float32 segments, format 4 and before: "f4")


@dataclass(frozen=True, slots=True)
class DocPart:
    """One document's share of a version; chunk ids are local (0..n-1)."""

    doc_id: str
    sha256: str
    chunks: tuple[Chunk, ...]
    sentences: tuple[Sentence, ...]
    sentence_texts: tuple[str, ...]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    context_vectors: np.ndarray
    question_chunks: tuple[tuple[int, ...], ...]  # per question key: the local chunks answering it
    question_vectors: np.ndarray
    tokens: tuple[list[str], ...]  # BM25 tokens per chunk (of the question and the chunk text)
    text_keys: bytes = b""  # embedding-cache keys of every text embedded for it, concatenated
    # The canonical text of a .docx, .pdf or .html (what its offsets refer to; the file is not text);
    # None for text formats, whose canonical text is the file itself.
    text: str | None = None
    derived_contexts: bool = False  # context vectors derived, not embedded (qa.store.contexts)
    # Context vectors summed from embedded sentence pairs (qa.store.contexts): stored as usual,
    # but no text of the document embeds to them, so an update must not reuse them as such.
    pair_contexts: bool = False

    def entry(self, name: str, size: int, meta_sha256: str | None = None) -> DocEntry:
        """What a version manifest records for this document."""
        return DocEntry(
            sha256=self.sha256,
            segment=name,
            chunks=len(self.chunks),
            sentences=len(self.sentences),
            questions=len(self.question_chunks),
            texts=len(self.text_keys) // KEY_BYTES,
            size=size,
            meta_sha256=meta_sha256,
        )


CHUNK_FIELDS = tuple(f.name for f in fields(Chunk))
SENTENCE_FIELDS = tuple(f.name for f in fields(Sentence))


def encode(part: DocPart) -> tuple[str, bytes]:
    """(file name, bytes) of a part; the name is the hash of the bytes."""
    dim = part.chunk_vectors.shape[1] if part.chunk_vectors.ndim == 2 else 0
    header = {
        "doc_id": part.doc_id,
        "sha256": part.sha256,
        "dim": dim,
        # Rows as lists in field order: a third of the size of dicts, and faster to read back.
        "chunks": [[getattr(c, n) for n in CHUNK_FIELDS] for c in part.chunks],
        "sentences": [[getattr(s, n) for n in SENTENCE_FIELDS] for s in part.sentences],
        "sentence_texts": list(part.sentence_texts),
        "question_chunks": [list(q) for q in part.question_chunks],
        "tokens": list(part.tokens),
        "rows": [0 if _skipped(part, a) else len(getattr(part, a)) for a in _ARRAYS],
        "dtype": STORED_DTYPE,
        "keys": len(part.text_keys) // KEY_BYTES,
    }
    if part.text is not None:
        header["text"] = part.text
    if part.derived_contexts:
        header["contexts"] = "derived"
    elif part.pair_contexts:
        header["contexts"] = "pairs"
    head = zlib.compress(
        json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode(), HEADER_LEVEL
    )
    body = [_LEN.pack(len(head)), head]
    for a in _ARRAYS:
        if not _skipped(part, a):
            body.append(np.ascontiguousarray(getattr(part, a), dtype=f"<{STORED_DTYPE}").tobytes())
    body.append(part.text_keys)
    data = b"".join(body)
    return hashlib.sha256(data).hexdigest()[:40] + SUFFIX, data


def _skipped(part: DocPart, array: str) -> bool:
    return array == "context_vectors" and part.derived_contexts


def name_matches(name: str, data: bytes) -> bool:
    """Whether `data` is what was written under `name` (the hash of the bytes)."""
    return name == hashlib.sha256(data).hexdigest()[:40] + SUFFIX


def _header(data: bytes) -> tuple[dict[str, Any], int]:
    (n,) = _LEN.unpack_from(data, 0)
    end = _LEN.size + n
    if end > len(data):
        raise ValueError("truncated segment header")
    head = data[_LEN.size : end]
    if head[:1] != b"{":
        try:
            head = zlib.decompress(head)
        except zlib.error as exc:
            raise ValueError(f"segment header does not decompress: {exc}") from exc
    header: dict[str, Any] = json.loads(head)
    return header, end


def decode(data: bytes) -> DocPart:
    """A part back from its bytes (ValueError/KeyError/TypeError if they are not a segment)."""
    header, at = _header(data)
    dim = int(header["dim"])
    dtype = np.dtype(f"<{header.get('dtype', 'f4')}")
    arrays: dict[str, np.ndarray] = {}
    for a, rows in zip(_ARRAYS, header["rows"], strict=True):
        size = rows * dim * dtype.itemsize
        if at + size > len(data):
            raise ValueError("truncated segment vectors")
        stored = np.frombuffer(data, dtype=dtype, count=rows * dim, offset=at).reshape(rows, dim)
        # float32 in memory either way (a view of the file's bytes when they were float32).
        arrays[a] = stored if dtype == np.dtype("<f4") else stored.astype(np.float32)
        at += size
    keys = data[at : at + header["keys"] * KEY_BYTES]
    if len(keys) != header["keys"] * KEY_BYTES:
        raise ValueError("truncated segment keys")
    chunks = tuple(Chunk(*row) for row in header["chunks"])
    sentences = tuple(Sentence(*row) for row in header["sentences"])
    sentence_texts = tuple(header["sentence_texts"])
    question_chunks = tuple(tuple(q) for q in header["question_chunks"])
    derived = header.get("contexts") == "derived"
    if derived:
        arrays["context_vectors"] = derive_contexts(
            chunks,
            sentences,
            sentence_texts,
            arrays["sentence_vectors"],
            question_chunks,
            arrays["question_vectors"],
        )
    return DocPart(
        doc_id=header["doc_id"],
        sha256=header["sha256"],
        chunks=chunks,
        sentences=sentences,
        sentence_texts=sentence_texts,
        question_chunks=question_chunks,
        tokens=tuple(header["tokens"]),
        text_keys=keys,
        text=header.get("text"),
        derived_contexts=derived,
        pair_contexts=header.get("contexts") == "pairs",
        **arrays,
    )


@dataclass(frozen=True, slots=True)
class Records:
    """What a query reads of a segment for its candidates: records, and the sentence and context
    vectors (float16, as stored; the chunk and question vectors are in the groups' stores)."""

    chunks: tuple[Chunk, ...]
    sentences: tuple[Sentence, ...]
    sentence_texts: tuple[str, ...]
    text: str | None
    sentence_vectors: np.ndarray
    context_vectors: np.ndarray

    @classmethod
    def of(cls, part: DocPart) -> Records:
        return cls(
            part.chunks,
            part.sentences,
            part.sentence_texts,
            part.text,
            part.sentence_vectors.astype(np.float16),
            part.context_vectors.astype(np.float16),
        )


def records(data: bytes) -> Records:
    """A segment's `Records` (ValueError/KeyError/TypeError if the bytes are not a segment)."""
    return Records.of(decode(data))


def vector_blocks(data: bytes) -> tuple[int, int, str]:
    """Where a segment's sentence and context vectors start in its bytes (-1: contexts derived,
    not stored) and their numpy dtype: a query reads just the rows it needs from the file."""
    header, at = _header(data)
    rows, dim = header["rows"], int(header["dim"])
    dtype = np.dtype(f"<{header.get('dtype', 'f4')}")
    sentences = at + (rows[0] + rows[1]) * dim * dtype.itemsize
    contexts = (
        -1 if header.get("contexts") == "derived" else sentences + rows[2] * dim * dtype.itemsize
    )
    return sentences, contexts, dtype.str


def keys_of(data: bytes) -> bytes:
    """The cache keys block alone (pruning needs no records or vectors)."""
    header, at = _header(data)
    at += sum(header["rows"]) * int(header["dim"]) * np.dtype(header.get("dtype", "f4")).itemsize
    return data[at : at + header["keys"] * KEY_BYTES]


def chunk_at(c: Chunk, id_: int) -> Chunk:
    # Positional construction: `dataclasses.replace` costs ~4× more, on every chunk of a version.
    # Every field, in declaration order (tests/test_update.py checks none is dropped).
    return Chunk(
        id_, c.doc_id, c.speaker, c.start, c.end, c.line_start, c.line_end, c.text, c.turn_index,
        c.question, c.label, c.segments, c.times, c.title, c.date,
        c.page, c.page_line_start, c.page_line_end,
    )  # fmt: skip


def sentence_in(s: Sentence, chunk_id: int) -> Sentence:
    return Sentence(
        s.start, s.end, chunk_id, s.line_start, s.line_end, s.segments, s.times,
        s.page, s.page_line_start, s.page_line_end,
    )  # fmt: skip


def concat(arrays: Sequence[np.ndarray], dim: int) -> np.ndarray:
    return (
        np.concatenate(arrays).astype(np.float32, copy=False)
        if arrays
        else np.zeros((0, dim), dtype=np.float32)
    )
