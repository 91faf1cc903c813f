"""The store contract: what retrieval and the indexer need from wherever the index lives.

Two Protocols, one per role, and nothing else of a backend is visible outside `qa.store`:

- `VectorIndex`: one set of vectors (chunks, or interviewer questions) searchable by inner
  product, ids = positions in the version, with an optional id filter.
- `IndexStore`: versions of the index: read the live one (`load`), write documents and a
  manifest naming them (`write_document`, `save`: adding, replacing and removing documents is a
  new manifest), recovery, collection, the embedding cache, one writer at a time.

The files under `index/` (qa.store.files, FAISS via qa.store.faiss_store) are the backend today;
a database backend is one more module implementing the same two contracts, picked by
`qa.store.open_store`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

import numpy as np

from qa.models import Chunk, DocOutline, Filters, Sentence, speaker_keys
from qa.store.cache import EmbeddingCache
from qa.store.manifest import DocEntry, Manifest
from qa.store.records import Columns, LazyChunks
from qa.store.segment import DocPart


class Sparse(Protocol):
    """BM25 over a version's chunks (qa.sparse: bm25s in memory, or postings per group)."""

    size: int

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk, by id (0 where no query term occurs)."""
        ...

    def document_frequency(self, term: str) -> int:
        """How many chunks hold `term` (a `qa.sparse.tokenize` token)."""
        ...


class VectorRows(Protocol):
    """A version's vectors by id: an array, or rows gathered from mapped files on demand."""

    def __getitem__(self, key: Any) -> np.ndarray: ...

    def __len__(self) -> int: ...


@runtime_checkable
class VectorIndex(Protocol):
    """Unit vectors searchable by inner product (cosine); ids are positions in the version."""

    @property
    def approximate(self) -> bool:
        """True when a search only sees part of the data (IVF cells): a filter must then be
        passed as `among`, since filtering the top-k afterwards could leave nothing."""
        ...

    def __len__(self) -> int: ...

    def search(
        self, queries: np.ndarray, k: int, among: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids) of the top `k` per query, each (len(queries), ≤k); with `among`, only
        those ids are considered; missing slots have id -1."""
        ...


@dataclass
class IndexData:
    """Everything one query needs, for one version (whatever backend it came from)."""

    manifest: Manifest
    chunks: Sequence[Chunk]
    sentences: Sequence[Sentence]
    sentence_texts: Sequence[str]
    sentence_vectors: VectorRows
    context_vectors: VectorRows  # each sentence embedded with its neighbours (qa.update)
    chunk_store: VectorIndex
    question_store: VectorIndex
    question_chunks: Sequence[list[int]]  # question key id → the chunks that answer it
    sparse: Sparse
    version: str = ""
    parts: Mapping[str, DocPart] = field(default_factory=dict)  # segment name → part
    chunk_sentences: Mapping[int, list[int]] = field(default_factory=dict)
    speaker_names: frozenset[str] = frozenset()
    # Compact per-chunk columns (the files backend): filters and names read these, not records.
    columns: Columns | None = None
    texts: Mapping[str, str | None] = field(default_factory=dict)  # segment → stored text

    def __post_init__(self) -> None:
        if self.columns is not None:
            speakers = self.columns.speakers()
        else:
            chunk_sentences: dict[int, list[int]] = {}
            for i, s in enumerate(self.sentences):
                chunk_sentences.setdefault(s.chunk_id, []).append(i)
            self.chunk_sentences = chunk_sentences
            speakers = {c.speaker for c in self.chunks if c.speaker}
        # Whole labels and their capitalised words: `Elon Musk`, `Elon`, `Musk`.
        names: set[str] = set()
        for label in speakers:
            names.add(label)
            names.update(w for w in label.split() if len(w) >= 3 and w[0].isupper())
        self.speaker_names = frozenset(names)

    @cached_property
    def speaker_keys(self) -> frozenset[str]:
        """The speaker filter values some chunk of this version admits (qa.models)."""
        if self.columns is not None:
            return self.columns.speaker_keys()
        return speaker_keys({(c.speaker, c.label) for c in self.chunks})

    def admitted(self, filters: Filters) -> np.ndarray:
        """Per chunk id, whether `filters` admit it (exact: the fields a filter reads)."""
        if self.columns is not None:
            return self.columns.admitted(filters)
        return np.fromiter((filters.admits(c) for c in self.chunks), bool, len(self.chunks))

    def admitted_questions(self, chunks: np.ndarray) -> np.ndarray:
        """Question key ids with at least one chunk in the boolean mask `chunks`."""
        if self.columns is not None:
            return self.columns.questions.admitted(chunks)
        return np.asarray(
            [q for q, ids in enumerate(self.question_chunks) if chunks[ids].any()], np.int64
        )

    def outlines(self) -> dict[str, DocOutline]:
        """Per document, what a list of documents shows (the files backend keeps them)."""
        if self.columns is not None:
            return dict(self.columns.outlines)
        by_doc: dict[str, list[Chunk]] = {}
        for c in self.chunks:
            by_doc.setdefault(c.doc_id, []).append(c)
        return {d: DocOutline.of(d, cs) for d, cs in by_doc.items()}

    def unlabelled_chunks(self, cid: int) -> list[int]:
        """Ids of the chunks of chunk `cid`'s document with no speaker, in order (the files
        backend reads its facet columns: no record is decoded)."""
        if self.columns is not None:
            return self.columns.unlabelled(cid)
        doc = self.chunks[cid].doc_id
        lo = hi = cid
        while lo > 0 and self.chunks[lo - 1].doc_id == doc:
            lo -= 1
        while hi + 1 < len(self.chunks) and self.chunks[hi + 1].doc_id == doc:
            hi += 1
        return [i for i in range(lo, hi + 1) if self.chunks[i].speaker is None]

    def chunks_of(self, doc_id: str, *, near: int | None = None) -> list[Chunk]:
        """One document's chunks, in id order (the files backend reads its segment alone).
        `near`, the id of one of them, spares other backends a pass over every chunk: a
        document's chunks are one run of ids, found by walking out from it."""
        entry = self.documents.get(doc_id)
        if entry is None:
            return []
        if isinstance(self.chunks, LazyChunks):
            return self.chunks.of_segment(entry.segment)
        if near is not None and self.chunks[near].doc_id == doc_id:
            lo = hi = near
            while lo > 0 and self.chunks[lo - 1].doc_id == doc_id:
                lo -= 1
            while hi + 1 < len(self.chunks) and self.chunks[hi + 1].doc_id == doc_id:
                hi += 1
            return [self.chunks[i] for i in range(lo, hi + 1)]
        return [c for c in self.chunks if c.doc_id == doc_id]

    def stored_text(self, segment: str) -> str | None:
        """The canonical text a .docx, .pdf or .html segment keeps (None for text formats)."""
        if segment in self.texts:
            return self.texts[segment]
        part = self.parts.get(segment)
        return part.text if part is not None else None

    @property
    def documents(self) -> dict[str, DocEntry]:
        return self.manifest.documents


class IndexStore(Protocol):
    """Versions of the index. Writers hold `lock()`; readers never need it."""

    def current(self) -> str | None:
        """The live version's name, or None before the first build."""
        ...

    def manifest(self) -> Manifest:
        """The live version's manifest (cheap: no document is read). IndexMissing if none."""
        ...

    def load(
        self, *, reuse: IndexData | None = None, known: Mapping[str, DocPart] | None = None
    ) -> IndexData:
        """The live version, assembled; parts held in `reuse` or just written (`known`) are not
        read again, so a reload reads only what changed."""
        ...

    def has_document(self, entry: DocEntry) -> bool:
        """Whether the records `entry` names are present at their size (cheap: no hashing); a
        partial restore or a truncated file loses some."""
        ...

    def write_document(self, part: DocPart) -> tuple[str, int]:
        """Store one document's records (idempotent); the name a manifest cites, and its size."""
        ...

    def verify(self) -> list[str]:
        """Check every stored document the live version names against its hash (slow: reads
        them all); returns one line per damaged or missing one."""
        ...

    def save(self, manifest: Manifest) -> str:
        """Make `manifest` (its documents already written) the live version; returns its name."""
        ...

    def recover(self) -> list[str]:
        """Remove what an interrupted writer left (under the lock); returns what went."""
        ...

    def collect(self) -> int:
        """Delete stored documents no kept version names (under the lock); returns how many."""
        ...

    def text_keys(self) -> set[bytes]:
        """Embedding-cache keys of every text some kept version was built from."""
        ...

    def size_on_disk(self) -> int:
        """Bytes the live version occupies."""
        ...

    def cache_bytes(self) -> int:
        """Bytes the embedding cache occupies."""
        ...

    def lock(self, timeout: float) -> AbstractContextManager[object]:
        """Exclusive writer access (IndexBusy after `timeout` seconds)."""
        ...

    def cache(self, model: str, dim: int) -> EmbeddingCache:
        """The embedding cache for `model` (close it after use)."""
        ...


def text_key_blocks(blocks: Iterable[bytes], width: int) -> set[bytes]:
    """Concatenated fixed-width keys → the set of keys."""
    return {block[i : i + width] for block in blocks for i in range(0, len(block), width)}
