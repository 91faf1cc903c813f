"""A version over mapped groups (qa.store.groups): global ids, vectors, records read lazily.

Ids are positions in the version (documents in manifest order, as before): each segment is one
contiguous run of chunk, sentence and question ids, and lies inside one group. Vectors are
gathered from the groups' mapped files for the ids asked; chunk and sentence records are decoded
from a segment's JSON only when a query reaches one of its chunks (and kept, a bounded number of
segments); filters read compact columns (a facet row per chunk), never the records.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np
import orjson

from qa.errors import StorageError
from qa.models import Chunk, Filters, Sentence, speaker_keys
from qa.store.groups import Facet, Group, outline
from qa.store.segment import CHUNK_FIELDS, SENTENCE_FIELDS, DocPart, Records

# Segments whose records (and sentence vectors, float16) a version keeps decoded: ~0.5 MB each
# for an interview of ~75 chunks; a query reads those of its ~30 candidate chunks.
RECORD_CACHE = 256
CHUNK_CACHE = 50_000  # chunk records a version keeps decoded (a query reads ~30)


class Layout:
    """Where each of a version's segments lies: globally and inside its group.

    A group may hold segments the version does not name (a document changed or deleted since the
    group was written: qa.store.groups): their rows are holes, with no global id (-1 in
    `to_global`), listed per group in `holes` and masked out of `keep`."""

    def __init__(self, segments: Sequence[str], groups: Sequence[Group]) -> None:
        wanted = set(segments)
        where: dict[str, tuple[int, int]] = {}
        for gi, g in enumerate(groups):
            for j, s in enumerate(g.segments):
                if s in wanted:
                    where[s] = (gi, j)
        self.segments = list(segments)
        self.groups = list(groups)
        self.where = where  # segment → (its group's index, its place in that group)
        index = self.position = {s: i for i, s in enumerate(self.segments)}
        self.group = np.asarray([where[s][0] for s in segments], dtype=np.int64)
        pos = [where[s][1] for s in segments]
        # Per group: whether each of its segments is in the version (False: a hole), or None
        # when all are.
        self.present: list[np.ndarray | None] = []
        for g in groups:
            here = np.fromiter((s in wanted for s in g.segments), bool, len(g.segments))
            self.present.append(None if here.all() else here)
        self.starts: dict[str, np.ndarray] = {}
        self.local: dict[str, np.ndarray] = {}
        self.to_global: dict[str, list[np.ndarray]] = {}
        # Per kind and group: the rows of holes (local), and a mask of the others (None: no hole).
        self.holes: dict[str, list[np.ndarray]] = {}
        self.keep: dict[str, list[np.ndarray | None]] = {}
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
            # Per group: global id of each of its rows (segments in the group's order), -1 for
            # the rows of a hole.
            maps: list[np.ndarray] = []
            holes: list[np.ndarray] = []
            keeps: list[np.ndarray | None] = []
            for gi, g in enumerate(groups):
                shift = np.zeros(len(g.segments), dtype=np.int64)
                for j, s in enumerate(g.segments):
                    if s in index:
                        shift[j] = starts[index[s]] - local_starts[gi][j]
                ids = np.repeat(shift, getattr(g, kind)) + np.arange(local_starts[gi][-1])
                mine = self.present[gi]
                if mine is None:
                    holes.append(np.zeros(0, dtype=np.int64))
                    keeps.append(None)
                else:
                    keep = np.repeat(mine, getattr(g, kind))
                    ids[~keep] = -1
                    holes.append(np.flatnonzero(~keep).astype(np.int64))
                    keeps.append(keep)
                maps.append(ids)
            self.to_global[kind] = maps
            self.holes[kind] = holes
            self.keep[kind] = keeps

        # Python lists of the same, for one id at a time (bisect beats numpy on scalars).
        self._starts = {k: v.tolist() for k, v in self.starts.items()}
        self._local = {k: v.tolist() for k, v in self.local.items()}
        self._group = self.group.tolist()

    def total(self, kind: str) -> int:
        return int(self.starts[kind][-1])

    def locate1(self, kind: str, i: int) -> tuple[int, int, int]:
        """One global `kind` id → (its segment, its group's index, its row in that group)."""
        starts = self._starts[kind]
        seg = bisect.bisect_right(starts, i) - 1
        return seg, self._group[seg], self._local[kind][seg] + i - starts[seg]

    def starts_of(self, kind: str, seg: int) -> int:
        """The first global `kind` id of segment `seg`."""
        return int(self._starts[kind][seg])

    def local_of(self, kind: str, seg: int) -> int:
        """The first row of segment `seg`'s `kind` in its group."""
        return int(self._local[kind][seg])

    def segment_of(self, kind: str, ids: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts[kind], ids, side="right") - 1

    def locate(self, kind: str, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Global `kind` ids → (index of their group, their row in it)."""
        seg = self.segment_of(kind, ids)
        return self.group[seg], self.local[kind][seg] + ids - self.starts[kind][seg]


class SentenceRows:
    """A version's sentence (or context) vectors as float32 rows by global sentence id, read
    from the segment files: for each segment a query reaches, the span of rows it asks for."""

    def __init__(
        self, layout: Layout, folder: Path, which: int, cache: RecordsCache, dim: int
    ) -> None:
        self._layout, self._folder, self._which, self._cache = layout, folder, which, cache
        self._dir = str(folder)  # joined as a string: a query reads ~60 segments, pathlib is slow
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
            out[m] = self._rows(int(s), local[m])
        return out[0] if one else out

    def _rows(self, seg: int, rows: np.ndarray) -> np.ndarray:
        lay = self._layout
        name = lay.segments[seg]
        g, j = lay.where[name]
        sentences_at, contexts_at, stored = lay.groups[g].vec_at[j]
        at, dtype = (sentences_at, contexts_at)[self._which], np.dtype(stored)
        if at < 0:  # derived contexts: not in the file, derived when the segment is decoded
            derived: np.ndarray = self._cache.get(name).context_vectors[rows]
            return derived
        lo, hi = int(rows.min()), int(rows.max()) + 1
        width = self.shape[1] * dtype.itemsize
        try:
            fd = os.open(os.path.join(self._dir, name), os.O_RDONLY)
            try:
                data = os.pread(fd, (hi - lo) * width, at + lo * width)
            finally:
                os.close(fd)
        except OSError as exc:
            raise StorageError(f"index segment {name} is unreadable: {exc}") from exc
        if len(data) != (hi - lo) * width:
            raise StorageError(f"index segment {name} is truncated: rebuild with `qa index build`")
        block = np.frombuffer(data, dtype=dtype).reshape(hi - lo, self.shape[1])
        picked: np.ndarray = block[rows - lo]
        return picked

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self[np.arange(self.shape[0])]
        return out if dtype is None else out.astype(dtype, copy=False)


class RecordsCache:
    """Whole segments decoded, a bounded number: the slow path, for what the groups do not keep
    (a .docx, .pdf or .html's canonical text, derived context vectors)."""

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


# Where a record's JSON lists of pairs sit (qa.store.groups.chunk_record): made tuples here, so
# the models' own normalisation (qa.models) finds them done.
_CHUNK_PAIRS = (CHUNK_FIELDS.index("segments"), CHUNK_FIELDS.index("times"))
_SENTENCE_PAIRS = (SENTENCE_FIELDS.index("segments"), SENTENCE_FIELDS.index("times"))


def _pairs(row: list[Any], at: tuple[int, int]) -> list[Any]:
    for i in at:
        row[i] = tuple(map(tuple, row[i]))
    return row


class Record:
    """One chunk's records, decoded: the chunk (this version's id), its sentences' (global) ids
    and their texts; the sentences themselves are built on first use. Most records a question
    decodes are only looked at for their chunk (the rest of a turn, of a document), and building
    their sentences was most of the cost of decoding them."""

    __slots__ = ("_raw", "_sentences", "chunk", "ids", "texts")

    def __init__(
        self, chunk: Chunk, raw: list[list[Any]], ids: tuple[int, ...], texts: tuple[str, ...]
    ) -> None:
        self.chunk, self.ids, self.texts = chunk, ids, texts
        self._raw: list[list[Any]] | None = raw
        self._sentences: tuple[Sentence, ...] | None = None

    @property
    def sentences(self) -> tuple[Sentence, ...]:
        # Two threads may both build them (the same values). `_raw` is read first and dropped
        # only after `_sentences` is set, so a thread that finds no raw lists finds the tuple.
        raw, built = self._raw, self._sentences
        if built is None:
            cid = self.chunk.id
            try:
                built = tuple(
                    Sentence(x[0], x[1], cid, *_pairs(x, _SENTENCE_PAIRS)[3:]) for x in raw or ()
                )
            except (TypeError, ValueError, IndexError, KeyError) as exc:
                raise StorageError(
                    f"the index record of chunk {cid} is damaged ({exc}): "
                    "delete index/groups/ to have it built again"
                ) from exc
            self._sentences = built
            self._raw = None
        return built


class ChunkRecords:
    """Chunk records read one at a time from the groups' `records`, numbered for this version
    (a bounded LRU of decoded ones): a query decodes its candidates' records, not documents."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        # A plain dict, emptied when full: the answer stage reads ~1,000 records per question,
        # so a hit must cost a dict lookup, not a lock and an LRU reorder.
        self._items: dict[int, Record] = {}
        self._sentences: dict[int, tuple[int, int]] = {}  # sentence id → (chunk id, place)

    def get(self, cid: int) -> Record:
        """Chunk `cid`'s record."""
        hit = self._items.get(cid)
        if hit is not None:
            return hit
        lay = self.layout
        seg, g, row = lay.locate1("chunks", cid)
        group = lay.groups[g]
        a = group.arrays
        lo, hi = int(a["rec_ptr"][row]), int(a["rec_ptr"][row + 1])
        first = lay.starts_of("sentences", seg)
        try:
            c, sents, local, texts = orjson.loads(a["records"][lo:hi].tobytes())
            # Built once with this version's ids (JSON lists become tuples here, once).
            rec = Record(
                Chunk(cid, *_pairs(c, _CHUNK_PAIRS)[1:]),
                sents,
                tuple(first + int(j) for j in local),
                tuple(texts),
            )
        except (orjson.JSONDecodeError, TypeError, ValueError) as exc:
            raise StorageError(
                f"index group {group.id} is damaged ({exc}): "
                "delete index/groups/ to have it built again"
            ) from exc
        if len(self._items) >= CHUNK_CACHE:
            self._items = {}
        self._items[cid] = rec
        return rec

    def chunk(self, cid: int) -> Chunk:
        return self.get(cid).chunk

    def sentence(self, sid: int) -> tuple[Record, int]:
        """The record of sentence `sid`'s chunk and the sentence's place in it."""
        hit = self._sentences.get(sid)
        if hit is None:
            hit = self._sentence(sid)
            if len(self._sentences) >= 4 * CHUNK_CACHE:
                self._sentences = {}
            self._sentences[sid] = hit
        return self.get(hit[0]), hit[1]

    def _sentence(self, sid: int) -> tuple[int, int]:
        lay = self.layout
        seg, g, srow = lay.locate1("sentences", sid)
        a = lay.groups[g].arrays
        crow = int(a["sent_chunk"][srow])  # the chunk's row in the group
        cid = lay.starts_of("chunks", seg) + crow - lay.local_of("chunks", seg)
        return cid, int(a["sent_pos"][srow])


class _Lazy:
    def __init__(self, records: ChunkRecords, kind: str) -> None:
        self._records, self._kind = records, kind
        self._n = records.layout.total(kind)

    def __len__(self) -> int:
        return self._n

    def _index(self, i: int) -> int:
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return i

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and list(self) == list(other)  # type: ignore[call-overload]

    __hash__ = None  # type: ignore[assignment]


class LazyChunks(_Lazy, Sequence[Chunk]):
    def __init__(self, records: ChunkRecords) -> None:
        super().__init__(records, "chunks")

    @overload
    def __getitem__(self, i: int) -> Chunk: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Chunk]: ...
    def __getitem__(self, i: int | slice) -> Chunk | Sequence[Chunk]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        return self._records.chunk(self._index(i))

    def __iter__(self) -> Iterator[Chunk]:
        return (self._records.chunk(i) for i in range(self._n))

    def of_segment(self, name: str) -> list[Chunk]:
        """The chunks of one segment (one document)."""
        lay = self._records.layout
        seg = lay.position.get(name)
        if seg is None:
            return []
        lo, hi = int(lay.starts["chunks"][seg]), int(lay.starts["chunks"][seg + 1])
        return [self._records.chunk(i) for i in range(lo, hi)]


class LazySentences(_Lazy, Sequence[Sentence]):
    def __init__(self, records: ChunkRecords) -> None:
        super().__init__(records, "sentences")

    @overload
    def __getitem__(self, i: int) -> Sentence: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Sentence]: ...
    def __getitem__(self, i: int | slice) -> Sentence | Sequence[Sentence]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        rec, pos = self._records.sentence(self._index(i))
        return rec.sentences[pos]


class LazyTexts(_Lazy, Sequence[str]):
    def __init__(self, records: ChunkRecords) -> None:
        super().__init__(records, "sentences")

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        rec, pos = self._records.sentence(self._index(i))
        return rec.texts[pos]


class ChunkSentences(Mapping[int, list[int]]):
    """chunk id → its sentence ids, from the chunk's record."""

    def __init__(self, records: ChunkRecords) -> None:
        self._records = records
        self._n = records.layout.total("chunks")

    def __getitem__(self, cid: int) -> list[int]:
        if not 0 <= cid < self._n:
            raise KeyError(cid)
        ids = self._records.get(cid).ids
        if not ids:
            raise KeyError(cid)
        return list(ids)

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
            mapped = lay.to_global["chunks"][gi][g.arrays["q_rows"]]
            if not len(mapped) or not len(chunks):
                continue
            # A hole's questions point at its own chunks (-1): never admitted.
            hit = chunks[np.maximum(mapped, 0)] & (mapped >= 0)
            ptr = np.asarray(g.arrays["q_ptr"])
            any_hit = np.add.reduceat(hit.astype(np.int64), ptr[:-1])
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
            keep = layout.keep["chunks"][gi]
            if keep is None:
                self.facet[layout.to_global["chunks"][gi]] = np.asarray(g.arrays["facet"]) + off
            else:  # a group with holes: its removed rows have no id
                ids = layout.to_global["chunks"][gi][keep]
                self.facet[ids] = np.asarray(g.arrays["facet"])[keep] + off
        # Facets only removed rows had (a hole's document, speakers) are in no filter's choices.
        self._used = np.bincount(self.facet, minlength=len(self.facets)) > 0
        self.questions = QuestionChunks(layout)
        self._starts = layout.starts["chunks"]
        self._no_speaker = np.asarray([s is None for _, s, _, _ in self.facets], dtype=bool)
        self.outlines = {
            g.docs[j][0]: outline(g, j)
            for g in layout.groups
            for j, s in enumerate(g.segments)
            if s in layout.where
        }

    def admitted(self, filters: Filters) -> np.ndarray:
        ok = np.asarray(
            [
                filters.admits(Chunk(0, d, s, 0, 0, 0, 0, "", 0, label=lb, date=dt))
                for d, s, lb, dt in self.facets
            ],
            dtype=bool,
        )
        return ok[self.facet] if len(ok) else np.zeros(0, dtype=bool)

    def unlabelled(self, cid: int) -> list[int]:
        """The chunks with no speaker (editorial text) of chunk `cid`'s document, in order."""
        seg = int(np.searchsorted(self._starts, cid, side="right")) - 1
        lo, hi = int(self._starts[seg]), int(self._starts[seg + 1])
        return (lo + np.flatnonzero(self._no_speaker[self.facet[lo:hi]])).tolist()

    def speakers(self) -> set[str]:
        return {f[1] for f, used in zip(self.facets, self._used, strict=True) if used and f[1]}

    def speaker_keys(self) -> frozenset[str]:
        pairs = {(f[1], f[2]) for f, used in zip(self.facets, self._used, strict=True) if used}
        return speaker_keys(pairs)


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
