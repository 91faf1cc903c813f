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

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from qa.models import Chunk, Sentence
from qa.sparse import SparseIndex
from qa.store.cache import EmbeddingCache
from qa.store.manifest import DocEntry, Manifest
from qa.store.segment import DocPart


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
    chunks: list[Chunk]
    sentences: list[Sentence]
    sentence_texts: list[str]
    sentence_vectors: np.ndarray
    context_vectors: np.ndarray  # each sentence embedded with its neighbours (qa.update)
    chunk_store: VectorIndex
    question_store: VectorIndex
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
