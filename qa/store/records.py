"""A version over mapped groups (qa.store.groups): global ids, vectors, records read lazily.

Ids are positions in the version (documents in manifest order, as before): each segment is one
contiguous run of chunk, sentence and question ids, and lies inside one group. Vectors are
gathered from the groups' mapped files for the ids asked; chunk and sentence records are decoded
from a segment's JSON only when a query reaches one of its chunks (and kept, a bounded number of
segments); filters read compact columns (a facet row per chunk), never the records.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, overload

import numpy as np

from qa.models import Chunk, Filters, Sentence
from qa.store import segment
from qa.store.groups import Facet, Group
from qa.store.segment import DocPart, Records

# Segments whose records (and sentence vectors, float16) a version keeps decoded: ~0.5 MB each
# for an interview of ~75 chunks; a query reads those of its ~30 candidate chunks.
RECORD_CACHE = 256


class Layout:
    """Where each of a version's segments lies: globally and inside its group."""

    def __init__(self, segments: Sequence[str], groups: Sequence[Group]) -> None:
        where: dict[str, tuple[int, int]] = {}
        for gi, g in enumerate(groups):
            for j, s in enumerate(g.segments):
                where[s] = (gi, j)
        self.segments = list(segments)
        self.groups = list(groups)
        index = {s: i for i, s in enumerate(self.segments)}
        self.group = np.asarray([where[s][0] for s in segments], dtype=np.int64)
        pos = [where[s][1] for s in segments]
        self.starts: dict[str, np.ndarray] = {}
        self.local: dict[str, np.ndarray] = {}
        self.to_global: dict[str, list[np.ndarray]] = {}
        for kind in ("chunks", "sentences", "questions"):
            counts = np.asarray(
                [getattr(groups[g], kind)[j] for g, j in zip(self.group, pos, strict=True)],
                dtype=np.int64,
            )
            starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            local_starts = [
                np.concatenate([[0], np.cumsum(getattr(g, kind))]).astype(np.int64) for g in groups
            ]
            self.starts[kind] = starts
            self.local[kind] = np.asarray(
                [local_starts[g][j] for g, j in zip(self.group, pos, strict=True)], dtype=np.int64
            )
            # Per group: global id of each of its rows (segments in the group's order).
            maps = []
            for gi, g in enumerate(groups):
                shift = np.zeros(len(g.segments), dtype=np.int64)
                for j, s in enumerate(g.segments):
                    shift[j] = starts[index[s]] - local_starts[gi][j]
                maps.append(np.repeat(shift, getattr(g, kind)) + np.arange(local_starts[gi][-1]))
            self.to_global[kind] = maps

    def total(self, kind: str) -> int:
        return int(self.starts[kind][-1])

    def segment_of(self, kind: str, ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts[kind], ids, side="right") - 1

    def locate(self, kind: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Global `kind` ids → (index of their group, their row in it)."""
        seg = self.segment_of(kind, ids)
        return self.group[seg], self.local[kind][seg] + ids - self.starts[kind][seg]


class SentenceRows:
    """A version's sentence (or context) vectors as float32 rows by global sentence id, gathered
    from the records of the segments they belong to."""

    def __init__(self, layout: Layout, cache: RecordsCache, attr: str, dim: int) -> None:
        self._layout, self._cache, self._attr = layout, cache, attr
        self.shape = (layout.total("sentences"), dim)
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        ids = np.arange(self.shape[0])[key] if isinstance(key, slice) else np.asarray(key)
        one = ids.ndim == 0
        ids = ids.reshape(-1).astype(np.int64)
        lay = self._layout
        seg = lay.segment_of("sentences", ids)
        local = ids - lay.starts["sentences"][seg]
        out = np.empty((len(ids), self.shape[1]), dtype=np.float32)
        for s in np.unique(seg):
            m = seg == s
            out[m] = getattr(self._cache.get(lay.segments[int(s)]), self._attr)[local[m]]
        return out[0] if one else out

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self[np.arange(self.shape[0])]
        return out if dtype is None else out.astype(dtype, copy=False)


class RecordsCache:
    """Decoded records of a bounded number of segments, shared by a version's lazy sequences."""

    def __init__(self, read: Callable[[str], Records], known: Mapping[str, Records]) -> None:
        self._read = read
        # Those just written (a build writes them all): no more than the cache holds.
        self._items: OrderedDict[str, Records] = OrderedDict(list(known.items())[-RECORD_CACHE:])
        self._lock = threading.Lock()

    def get(self, name: str) -> Records:
        with self._lock:
            hit = self._items.get(name)
            if hit is not None:
                self._items.move_to_end(name)
                return hit
        rec = self._read(name)
        with self._lock:
            self._items[name] = rec
            while len(self._items) > RECORD_CACHE:
                self._items.popitem(last=False)
        return rec


class _Lazy:
    def __init__(self, layout: Layout, cache: RecordsCache, kind: str) -> None:
        self._layout, self._cache, self._kind = layout, cache, kind
        self._n = layout.total(kind)

    def __len__(self) -> int:
        return self._n

    def _locate(self, i: int) -> tuple[int, int]:
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        seg = int(self._layout.segment_of(self._kind, np.asarray([i]))[0])
        return seg, i - int(self._layout.starts[self._kind][seg])

    def _records(self, seg: int) -> Records:
        return self._cache.get(self._layout.segments[seg])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)  # type: ignore[call-overload]

    __hash__ = None  # type: ignore[assignment]


class LazyChunks(_Lazy, Sequence[Chunk]):
    def __init__(self, layout: Layout, cache: RecordsCache) -> None:
        super().__init__(layout, cache, "chunks")

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | Sequence[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        seg, local = self._locate(i)
        off = int(self._layout.starts["chunks"][seg])
        return segment.chunk_at(self._records(seg).chunks[local], local + off)

    def __iter__(self) -> Iterator[Chunk]:
        for seg in range(len(self._layout.segments)):
            off = int(self._layout.starts["chunks"][seg])
            for c in self._records(seg).chunks:
                yield segment.chunk_at(c, c.id + off)


class LazySentences(_Lazy, Sequence[Sentence]):
    def __init__(self, layout: Layout, cache: RecordsCache) -> None:
        super().__init__(layout, cache, "sentences")

    @overload
    def __getitem__(self, i: int) -> Sentence: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Sentence]: ...
    def __getitem__(self, i: int | slice) -> Sentence | Sequence[Sentence]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        seg, local = self._locate(i)
        s = self._records(seg).sentences[local]
        return segment.sentence_in(s, s.chunk_id + int(self._layout.starts["chunks"][seg]))


class LazyTexts(_Lazy, Sequence[str]):
    def __init__(self, layout: Layout, cache: RecordsCache) -> None:
        super().__init__(layout, cache, "sentences")

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        seg, local = self._locate(i)
        return self._records(seg).sentence_texts[local]


class ChunkSentences(Mapping[int, list[int]]):
    """chunk id → its sentence ids, from the chunk's segment's records."""

    def __init__(self, layout: Layout, cache: RecordsCache) -> None:
        self._layout, self._cache = layout, cache
        self._n = layout.total("chunks")

    def __getitem__(self, cid: int) -> list[int]:
        if not 0 <= cid < self._n:
            raise KeyError(cid)
        lay = self._layout
        seg = int(lay.segment_of("chunks", np.asarray([cid]))[0])
        local = cid - int(lay.starts["chunks"][seg])
        s0 = int(lay.starts["sentences"][seg])
        rec = self._cache.get(lay.segments[seg])
        out = [s0 + j for j, s in enumerate(rec.sentences) if s.chunk_id == local]
        if not out:
            raise KeyError(cid)
        return out

    def __iter__(self) -> Iterator[int]:
        return iter(range(self._n))

    def __len__(self) -> int:
        return self._n


class QuestionChunks(Sequence[list[int]]):
    """question key id → the chunk ids that answer it (from the groups' columns)."""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, layout: Layout) -> None:
        self._layout = layout
        self._n = layout.total("questions")

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> list[int]: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[list[int]]: ...
    def __getitem__(self, i: int | slice) -> list[int] | Sequence[list[int]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        lay = self._layout
        seg = int(lay.segment_of("questions", np.asarray([i]))[0])
        g = lay.groups[int(lay.group[seg])]
        row = int(lay.local["questions"][seg]) + i - int(lay.starts["questions"][seg])
        a, b = int(g.arrays["q_ptr"][row]), int(g.arrays["q_ptr"][row + 1])
        to_global = lay.to_global["chunks"][int(lay.group[seg])]
        return [int(c) for c in to_global[g.arrays["q_rows"][a:b]]]

    def admitted(self, chunks: np.ndarray) -> np.ndarray:
        """Question ids with at least one chunk in the boolean mask `chunks`."""
        out = []
        lay = self._layout
        for gi, g in enumerate(lay.groups):
            hit = chunks[lay.to_global["chunks"][gi][g.arrays["q_rows"]]]
            ptr = np.asarray(g.arrays["q_ptr"])
            any_hit = np.add.reduceat(hit.astype(np.int64), ptr[:-1]) if len(hit) else None
            if any_hit is None:
                continue
            ok = (any_hit > 0) & (np.diff(ptr) > 0)
            out.append(lay.to_global["questions"][gi][ok])
        return np.sort(np.concatenate(out)) if out else np.zeros(0, np.int64)


class Columns:
    """Per chunk, its facet (doc, speaker, label, date): filters and speaker names read these."""

    def __init__(self, layout: Layout) -> None:
        self.facets: list[Facet] = []
        self.facet = np.zeros(layout.total("chunks"), dtype=np.int32)
        for gi, g in enumerate(layout.groups):
            off = len(self.facets)
            self.facets.extend(g.facets)
            self.facet[layout.to_global["chunks"][gi]] = np.asarray(g.arrays["facet"]) + off
        self.questions = QuestionChunks(layout)

    def admitted(self, filters: Filters) -> np.ndarray:
        ok = np.asarray(
            [
                filters.admits(Chunk(0, d, s, 0, 0, 0, 0, "", 0, label=lb, date=dt))
                for d, s, lb, dt in self.facets
            ],
            dtype=bool,
        )
        return ok[self.facet] if len(ok) else np.zeros(0, dtype=bool)

    def speakers(self) -> set[str]:
        return {s for _, s, _, _ in self.facets if s}


class LazyParts(Mapping[str, DocPart]):
    """segment name → its whole part (vectors too), decoded when asked (updates, .docx text)."""

    def __init__(self, names: Sequence[str], read: Callable[[str], DocPart]) -> None:
        self._names = list(names)
        self._set = set(names)
        self._read = read

    def __getitem__(self, name: str) -> DocPart:
        if name not in self._set:
            raise KeyError(name)
        return self._read(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._set
