"""Incremental indexing: the source folder against the live index, document by content hash.

New and changed documents are chunked, only texts the embedding cache has not seen go through the
model, and each becomes one segment file (qa.store.segment). The new version is a manifest that
names the segments of every document: unchanged ones keep the segments earlier versions wrote, so
an update reads and writes nothing of them. A removed document is simply not named; its vectors
are absent from the FAISS stores assembled when the version is loaded, not hidden by a filter.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.chunk import chunk_transcript
from qa.debug import pause_point
from qa.embed import Embedder
from qa.errors import IndexIncompatible, IndexMissing, IngestError, QAError, StorageError
from qa.ingest import (
    is_binary,
    parse_transcript,
    read_source_text,
    read_transcript,
    source_hash,
    split_names,
    unsupported_reason,
)
from qa.ingest.pages import with_pages
from qa.ingest.stamps import STAMPS_FILE, FileStamps
from qa.live import LiveIndex
from qa.models import (
    Chunk,
    DocChanges,
    PruneReport,
    Sentence,
    SkippedFile,
    Transcript,
    UpdateReport,
)
from qa.segments import join
from qa.settings import ChunkingSettings, Settings
from qa.sparse import tokenize, tokenize_spans
from qa.store import DocEntry, IndexStore, Manifest, ann
from qa.store.cache import EmbeddingCache, text_key
from qa.store.contexts import combine_pairs, derive_contexts, sentence_pairs
from qa.store.manifest import SkippedEntry
from qa.store.segment import STORED_DTYPE, DocPart

log = logging.getLogger("qa")
CACHE_SLACK = 10_000  # cached embeddings tolerated beyond the ratio (a few interviews' worth)

Progress = Callable[[int, int], None]  # (texts embedded so far, texts to embed)


@dataclass(frozen=True, slots=True)
class Plan:
    """How the source folder differs from the index; each a sorted tuple of doc ids."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    @property
    def touched(self) -> bool:
        return bool(self.added or self.changed or self.removed)


class Stopwatch:
    """Seconds per named step, for the report (and the benchmark's breakdown)."""

    def __init__(self) -> None:
        self.start = self._last = time.perf_counter()
        self.phases: list[tuple[str, float]] = []

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases.append((name, now - self._last))
        self._last = now

    @property
    def total(self) -> float:
        return time.perf_counter() - self.start


# What decides that a document changed: the sha256 of its text and of its sidecar (or None).
SourceState = tuple[str, str | None]


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def scan(source: Path, stamps: FileStamps | None = None) -> dict[str, SourceState]:
    """doc id → (content hash (qa.ingest.source_hash), sha256 of its sidecar or None)."""
    return scan_sources(source, stamps)[0]


def scan_stamps(settings: Settings) -> FileStamps:
    """The remembered hashes of the source files (qa.ingest.stamps), per the settings."""
    keep = settings.indexing.scan == "stamps"
    return FileStamps(settings.index_dir / STAMPS_FILE if keep else None)


def scan_sources(
    source: Path, stamps: FileStamps | None = None
) -> tuple[dict[str, SourceState], dict[str, str], set[str]]:
    """(doc id → SourceState, doc id → why it cannot be indexed, the ids of those that failed
    with an I/O error, which may pass) for the files under `source`.

    One bad file never stops the others: a file that cannot even be read, or is of a type qa
    does not read, is named with its reason instead of failing the scan. Files that read but do
    not parse are found when they are parsed (Indexer.update_locked). `stamps`: files whose
    stamp is unchanged since their hash was taken are not read again (None: every file is).
    """
    stamps = stamps or FileStamps(None)
    out: dict[str, SourceState] = {}
    bad: dict[str, str] = {}
    io_errors: set[str] = set()
    sources, unsupported, sidecars = split_names(source)
    for doc_id in sources:
        path = source / doc_id
        try:
            sidecar = sidecars.get(doc_id)
            meta = None
            if sidecar is not None:
                meta = stamps.hash(sidecar, source / sidecar, _sidecar_hash)
            out[doc_id] = (stamps.hash(doc_id, path, source_hash), meta)
        except IngestError as exc:
            bad[doc_id] = skip_reason(doc_id, exc.message)
            if isinstance(exc.__cause__, OSError):
                io_errors.add(doc_id)
    for doc_id in unsupported:
        bad[doc_id] = unsupported_reason(source / doc_id)
    stamps.save()
    return out, bad, io_errors


def _sidecar_hash(path: Path) -> str:
    return _sha256(read_source_text(path))


def skip_reason(doc_id: str, message: str) -> str:
    """An error message without the file name it starts with (the report names the file)."""
    for prefix in (f"{doc_id}: ", f"{doc_id.rsplit('/', 1)[-1]}: "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def still_skipped(
    previous: dict[str, SkippedEntry], current: dict[str, SourceState]
) -> dict[str, SkippedEntry]:
    """Files that failed before and have the same content hash now: not read again."""
    return {
        d: e
        for d, e in previous.items()
        if e.sha256 is not None and d in current and current[d][0] == e.sha256
    }


def _skipped_files(skipped: dict[str, SkippedEntry]) -> tuple[SkippedFile, ...]:
    return tuple(SkippedFile(d, skipped[d].reason) for d in sorted(skipped))


def _skipped_problems(skipped: dict[str, SkippedEntry]) -> tuple[str, ...]:
    return tuple(f"{f.doc_id}: skipped: {f.reason}" for f in _skipped_files(skipped))


STRICT_NAMES = 20  # files a --strict refusal names besides the first


def _check_strict(strict: bool, skipped: dict[str, SkippedEntry], problems: Sequence[str]) -> None:
    """`--strict`: any skipped file or reader problem fails the update before anything is
    written, so the previous version keeps serving."""
    if not strict:
        return
    found = [*_skipped_problems(skipped), *problems]
    if found:
        # Every file named (the first with why), so one run shows what to fix.
        rest = list(dict.fromkeys(p.split(": ", 1)[0] for p in found[1:]))
        shown = ", ".join(rest[:STRICT_NAMES]) + (", …" if len(rest) > STRICT_NAMES else "")
        more = f" (and {len(found) - 1} more, in {shown})" if rest else ""
        raise IngestError(f"--strict: {found[0]}{more}; nothing was written")


def _check_not_emptied(source: Path, previous: Manifest | None) -> None:
    """An update must not empty an index because its folder shows no transcripts: an unmounted
    share or a mistyped path looks just like that. Building afresh (`qa index build`) or
    deleting the documents one by one still empties it."""
    if previous is not None and previous.documents:
        n = len(previous.documents)
        raise IngestError(
            f"source folder {source} has no transcripts, so this update would remove every "
            f"indexed document ({n}; is the folder mounted?); nothing was changed. To empty the "
            "index on purpose, run `qa index build`"
        )


def indexed_state(manifest: Manifest) -> dict[str, SourceState]:
    return {d: (e.sha256, e.meta_sha256) for d, e in manifest.documents.items()}


def plan(current: dict[str, SourceState], indexed: dict[str, SourceState]) -> Plan:
    return Plan(
        added=tuple(sorted(set(current) - set(indexed))),
        changed=tuple(sorted(d for d in set(current) & set(indexed) if current[d] != indexed[d])),
        removed=tuple(sorted(set(indexed) - set(current))),
        unchanged=tuple(sorted(d for d in set(current) & set(indexed) if current[d] == indexed[d])),
    )


def sentence_contexts(
    chunks: Sequence[Chunk], sentences: Sequence[Sentence], texts: Sequence[str]
) -> list[str]:
    """Each sentence with its neighbours in the turn; a turn's first sentence gets the question.

    A short answer ("Yes, it's already up and running.") means nothing alone; with the question
    it answers, or the sentence it continues, it can be found.
    """
    turn_of = [(chunks[s.chunk_id].doc_id, chunks[s.chunk_id].turn_index) for s in sentences]
    out = []
    for i, s in enumerate(sentences):
        first = i == 0 or turn_of[i - 1] != turn_of[i]
        last = i + 1 == len(sentences) or turn_of[i + 1] != turn_of[i]
        before = (chunks[s.chunk_id].question or "")[-300:] if first else texts[i - 1]
        after = "" if last else texts[i + 1]
        out.append(" ".join(p for p in (before, texts[i], after) if p))
    return out


@dataclass(frozen=True, slots=True)
class _Chunked:
    """A new or changed document, chunked, waiting for its vectors."""

    doc_id: str
    sha256: str
    chunks: list[Chunk]
    sentences: list[Sentence]
    sentence_texts: list[str]
    # The context texts embedded: one per sentence (`embedded`), none (`derived`), or the
    # sentence pairs whose vectors are summed into the contexts (`pairs`, qa.store.contexts).
    contexts: list[str]
    questions: list[tuple[str, list[int]]]
    bm25: list[list[str]]  # the BM25 tokens of each chunk (see bm25_tokens)
    problems: tuple[str, ...] = ()  # what the reader could not read, with line numbers
    text: str | None = None  # the canonical text of a .docx/.pdf/.html, kept in its segment
    derived: bool = False  # context vectors derived from the sentences' (qa.store.contexts)
    pairs: bool = False  # context vectors made from embedded sentence pairs (qa.store.contexts)

    def texts(self) -> Iterable[str]:
        yield from (c.text for c in self.chunks)
        yield from (q for q, _ in self.questions)
        yield from self.sentence_texts
        yield from self.contexts


def chunk_document(
    doc_id: str, text: str, chunking: ChunkingSettings, transcript: Transcript | None = None
) -> _Chunked:
    """Chunk one document; `transcript` is it already read (with its sidecar metadata applied)."""
    doc = transcript or parse_transcript(doc_id, text)
    chunks, sentences = chunk_transcript(doc, chunking)
    chunks, sentences = with_pages(doc, chunks, sentences)  # PDF: page and printed lines
    derived = chunking.contexts == "derived"
    pairs = chunking.contexts == "pairs"
    # A subtitle sentence is several cue slices joined by spaces, not one slice of the file.
    sentence_texts = [join(text, s.segments) for s in sentences]
    # The interviewer's question is its own key, mapped to every chunk of the answering turn.
    questions: dict[int, tuple[str, list[int]]] = {}
    for chunk in chunks:
        if chunk.question:
            questions.setdefault(chunk.turn_index, (chunk.question, []))[1].append(chunk.id)
    return _Chunked(
        doc_id=doc_id,
        sha256=doc.sha256,
        chunks=chunks,
        sentences=sentences,
        sentence_texts=sentence_texts,
        contexts=_context_texts(chunking, chunks, sentences, sentence_texts),
        questions=list(questions.values()),
        bm25=bm25_tokens(doc, chunks, chunking),
        problems=tuple(doc.problems),
        text=text if is_binary(doc_id) else None,
        derived=derived,
        pairs=pairs,
    )


def _context_texts(
    chunking: ChunkingSettings,
    chunks: Sequence[Chunk],
    sentences: Sequence[Sentence],
    sentence_texts: Sequence[str],
) -> list[str]:
    if chunking.contexts == "derived":
        return []
    if chunking.contexts == "pairs":
        return sentence_pairs(chunks, sentences, sentence_texts)[0]
    return sentence_contexts(chunks, sentences, sentence_texts)


def _stack(vectors: dict[str, np.ndarray], texts: Iterable[str], dim: int) -> np.ndarray:
    """The rows as the segment will store them (float16, qa.store.segment), back in float32: the
    part this process serves equals what any other process reads from the file."""
    rows = [vectors[t] for t in texts]
    if not rows:
        return np.zeros((0, dim), dtype=np.float32)
    return np.vstack(rows).astype(STORED_DTYPE).astype(np.float32)


def finish(doc: _Chunked, vectors: dict[str, np.ndarray], dim: int, model: str) -> DocPart:
    sentence_vectors = _stack(vectors, doc.sentence_texts, dim)
    question_vectors = _stack(vectors, (q for q, _ in doc.questions), dim)
    question_chunks = tuple(tuple(ids) for _, ids in doc.questions)
    if doc.derived:
        contexts = derive_contexts(
            doc.chunks,
            doc.sentences,
            doc.sentence_texts,
            sentence_vectors,
            question_chunks,
            question_vectors,
        )
    elif doc.pairs:
        _, members = sentence_pairs(doc.chunks, doc.sentences, doc.sentence_texts)
        pair_vectors = _stack(vectors, doc.contexts, dim)
        contexts = combine_pairs(
            doc.contexts, pair_vectors, members, doc.sentence_texts, sentence_vectors
        )
    else:
        contexts = _stack(vectors, doc.contexts, dim)
    return DocPart(
        doc_id=doc.doc_id,
        sha256=doc.sha256,
        chunks=tuple(doc.chunks),
        sentences=tuple(doc.sentences),
        sentence_texts=tuple(doc.sentence_texts),
        chunk_vectors=_stack(vectors, (c.text for c in doc.chunks), dim),
        sentence_vectors=sentence_vectors,
        context_vectors=contexts,
        question_chunks=question_chunks,
        question_vectors=question_vectors,
        tokens=tuple(doc.bm25),
        # What the cache may not forget while a kept version names this segment.
        text_keys=b"".join(sorted({text_key(model, t) for t in doc.texts()})),
        text=doc.text,
        derived_contexts=doc.derived,
        pair_contexts=doc.pairs,
    )


def bm25_tokens(
    doc: Transcript, chunks: Sequence[Chunk], chunking: ChunkingSettings
) -> list[list[str]]:
    """What BM25 indexes for each chunk: the question it answers, and its turn or its text alone.

    Turn scope lets a long answer match on all its words (SciFact: whole-document BM25 0.674
    nDCG@10 vs 0.622 per chunk); dense scoring still tells its chunks apart. A turn longer than
    `chunking.bm25_window` tokens (a lecture, a monologue, one long cue) gives each chunk only
    that many tokens around it: the whole turn for every chunk would make the tokens, the segment
    and the memory grow with the square of the turn. Each turn and question is tokenised once.
    """
    if chunking.bm25_scope != "turn":
        return [tokenize(f"{c.question or ''} {c.text}") for c in chunks]
    window = chunking.bm25_window
    asked: dict[str, list[str]] = {}
    turns: dict[int, tuple[list[str], list[int], _Offsets]] = {}
    out: list[list[str]] = []
    for c in chunks:
        q = c.question or ""
        if q not in asked:
            asked[q] = tokenize(q)
        if c.turn_index not in turns:
            turn = doc.turns[c.turn_index]
            toks, starts = tokenize_spans(join(doc.text, turn.segments))
            turns[c.turn_index] = (toks, starts, _Offsets(turn.segments))
        toks, starts, offsets = turns[c.turn_index]
        if len(toks) <= window:
            out.append(asked[q] + toks)
            continue
        middle = offsets.local(c.start) + len(c.text) // 2
        lo = bisect.bisect_right(starts, middle) - window // 2
        lo = max(0, min(lo, len(toks) - window))
        out.append(asked[q] + toks[lo : lo + window])
    return out


class _Offsets:
    """Source offsets → offsets in a turn's joined text (qa.segments.join), by bisection."""

    def __init__(self, segments: Sequence[tuple[int, int]]) -> None:
        self._sources = [s for s, _ in segments]
        self._joined: list[int] = []
        at = 0
        for s, e in segments:
            self._joined.append(at)
            at += e - s + 1

    def local(self, offset: int) -> int:
        k = max(0, bisect.bisect_right(self._sources, offset) - 1)
        return self._joined[k] + max(0, offset - self._sources[k])


def stored_vectors(part: DocPart, *, contexts: bool = True) -> dict[str, np.ndarray]:
    """text → vector for every text a stored document was built from (its chunks, questions,
    sentences and embedded contexts): what a new version of it need not embed again.
    `contexts=False` leaves the context vectors out (a version whose contexts were not embedded
    may hold segments that do not say so: qa db export writes no such flag)."""
    out = dict(zip((c.text for c in part.chunks), part.chunk_vectors, strict=True))
    asked = [part.chunks[ids[0]].question or "" for ids in part.question_chunks]
    out.update(zip(asked, part.question_vectors, strict=True))
    out.update(zip(part.sentence_texts, part.sentence_vectors, strict=True))
    # Pair contexts are sums: the pairs' own vectors are in the cache (`keep`), not the segment.
    if contexts and not part.derived_contexts and not part.pair_contexts:
        texts = sentence_contexts(part.chunks, part.sentences, part.sentence_texts)
        out.update(zip(texts, part.context_vectors, strict=True))
    return out


def embed_missing(
    texts: Sequence[str],
    embedder: Embedder,
    cache: EmbeddingCache,
    batch_size: int,
    progress: Progress | None = None,
    known: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], set[str]]:
    """Vectors for `texts`: `known` ones (read from stored documents), else from the cache, else
    embedded and then cached. Returns (vectors, embedded)."""
    unique = list(dict.fromkeys(texts))
    have = known or {}
    vectors = {t: have[t] for t in unique if t in have}
    vectors.update(cache.get_many(t for t in unique if t not in vectors))
    # Sorted by length: a batch of similar lengths pads less (sentences vs 600-character chunks).
    todo = sorted((t for t in unique if t not in vectors), key=len)
    step = max(1, batch_size)
    if progress:
        progress(0, len(todo))
    for at in range(0, len(todo), step):
        part = todo[at : at + step]
        vecs = embedder.embed(part, step)
        cache.put_many(part, vecs)  # committed per batch: a crash loses one batch at most
        vectors.update(zip(part, vecs, strict=True))
        if progress:
            progress(at + len(part), len(todo))
        pause_point("embedding")
    return vectors, set(todo)


def manifest_for(
    embedder: Embedder,
    chunking: ChunkingSettings,
    documents: dict[str, DocEntry],
    exact_below: int = ann.EXACT_BELOW,
    skipped: dict[str, SkippedEntry] | None = None,
) -> Manifest:
    """A version's manifest: settings, per document its hash, counts and segment, and which
    vector index each store gets when the version is loaded (qa.store.ann)."""
    draft = Manifest.of(
        model=embedder.name,
        embedder=embedder.backend,
        dim=embedder.dim,
        chunking=chunking.as_dict(),
        documents=documents,
        ann={},
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    plans = {
        "chunks": ann.plan(draft.counts.chunks, exact_below),
        "questions": ann.plan(draft.counts.questions, exact_below),
    }
    return draft.model_copy(update={"ann": plans, "skipped": dict(sorted((skipped or {}).items()))})


def same_chunking(manifest: Manifest, chunking: ChunkingSettings) -> bool:
    """Whether a version was chunked as `chunking` says. Versions written before the BM25
    window existed had none: they count as having today's, which changes no turn of ordinary
    length (docs/reliability.md), so upgrading does not re-index everything; nor had they the
    choice of derived contexts (qa.store.contexts): theirs were embedded."""
    recorded = {"bm25_window": chunking.bm25_window, "contexts": "embedded", **manifest.chunking}
    return recorded == chunking.as_dict()


def cache_model(emb: Embedder) -> str:
    """The embedding cache's model key. torch and the fp32 ONNX export give the same vectors
    and share entries; the int8 graph's are only close, so a later torch or fp32 build must not
    be served them from the cache."""
    return f"{emb.name}+{emb.backend}" if emb.backend == "onnx-int8" else emb.name


class Indexer:
    """Brings the store in line with a source folder; one writer at a time (the store's lock).

    New and changed documents are chunked and embedded (texts the cache has seen are not), each
    written as one stored document; the new version's manifest names every document, and the
    live index, if this process serves one, switches to it.
    """

    def __init__(
        self,
        settings: Settings,
        store: IndexStore,
        live: LiveIndex,
        embedder: Callable[[], Embedder],
        loaded: Callable[[], Embedder | None],
    ) -> None:
        self._settings = settings
        self._store = store
        self._live = live
        self._embedder = embedder  # loads the model when first needed
        self._loaded = loaded  # the model if already loaded: a no-op update needs none

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the writer lock (for a change to the source folder plus its update)."""
        with self._store.lock(self._settings.lock_timeout):
            yield

    def update_locked(
        self,
        source: Path,
        *,
        full: bool = False,
        progress: Progress | None = None,
        strict: bool = False,
        emptying: bool = False,
    ) -> UpdateReport:
        """Bring the index in line with `source` (`full`: from empty, vectors still cached);
        the caller holds the lock. `strict`: any skipped file or reader problem fails it.
        `emptying`: the caller removed the last transcript on purpose (else a folder with none
        left is refused, see `_check_not_emptied`)."""
        watch = Stopwatch()
        store = self._store
        store.recover()
        current, unreadable, io_errors = scan_sources(source, scan_stamps(self._settings))
        watch.lap("scan")
        # Only the manifest is read: unchanged documents' records are named, never opened.
        previous = None if full else self._previous()
        watch.lap("load")
        if not emptying and not current and not unreadable and not io_errors:
            _check_not_emptied(source, previous)
        # One bad file never stops the others. A file that failed before and has not changed
        # since is not read again; the manifest keeps the list.
        old_skipped = previous.skipped if previous else {}
        # An indexed document that failed to read with an I/O error (permissions, a network
        # file system) may be back next time: it keeps its entry rather than leaving the index.
        held_back = {d for d in io_errors if previous and d in previous.documents}
        skipped = {d: SkippedEntry(reason=r) for d, r in unreadable.items() if d not in held_back}
        skipped.update(still_skipped(old_skipped, current))
        readable = {d: h for d, h in current.items() if d not in skipped}
        if previous is not None:
            readable.update({d: indexed_state(previous)[d] for d in held_back})
        kept_back = tuple(
            f"{d}: kept from the previous version, cannot read it now: {unreadable[d]}"
            for d in sorted(held_back)
        )
        changes = plan(readable, indexed_state(previous) if previous else {})
        # An unchanged document whose stored records are gone (deleted by hand, a partial
        # restore) is indexed again from its source, its vectors from the cache.
        lost = tuple(
            d
            for d in changes.unchanged
            if previous and not store.has_document(previous.documents[d])
        )
        if lost:
            log.warning("qa: %d segment(s) missing, re-indexing %s", len(lost), ", ".join(lost))
        if previous is not None and not changes.touched and not lost and skipped == old_skipped:
            _check_strict(strict, skipped, ())
            self._live.refresh(previous.version)
            return UpdateReport(
                added=0,
                changed=0,
                removed=0,
                unchanged=len(changes.unchanged),
                chunks_embedded=0,
                texts_embedded=0,
                documents=len(previous.documents),
                chunks=previous.counts.chunks,
                sentences=previous.counts.sentences,
                seconds=watch.total,
                version=previous.version,
                written=False,
                phases=dict(watch.phases),
                problems=_skipped_problems(skipped) + kept_back,
                skipped=_skipped_files(skipped),
            )

        kept = set(changes.unchanged) - set(lost)
        documents = {d: previous.documents[d] for d in kept} if previous else {}
        chunking = self._settings.chunking
        todo = []
        for name in (*changes.added, *changes.changed, *lost):
            try:
                doc = read_transcript(source / name, source)
            except IngestError as exc:  # skipped and reported; the others are indexed
                skipped[name] = SkippedEntry(
                    sha256=current[name][0], reason=skip_reason(name, exc.message)
                )
                continue
            todo.append(chunk_document(doc.doc_id, doc.text, chunking, doc))
        _check_strict(strict, skipped, [f"{d.doc_id}: {p}" for d in todo for p in d.problems])
        watch.lap("chunk")
        emb = self._embedder()
        cache = store.cache(cache_model(emb), emb.dim)
        try:
            vectors, embedded = embed_missing(
                [t for d in todo for t in d.texts()],
                emb,
                cache,
                self._settings.batch_size,
                progress,
                self._stored(todo, cache.model, previous),
            )
            watch.lap("embed")
            written: dict[str, DocPart] = {}
            for d in todo:
                part = finish(d, vectors, emb.dim, cache.model)
                name, size = store.write_document(part)
                written[name] = part
                documents[d.doc_id] = part.entry(name, size, current[d.doc_id][1])
            manifest = manifest_for(emb, chunking, documents, self._settings.exact_below, skipped)
            version = store.save(manifest)
            watch.lap("save")
            # The version is live from here on: nothing after this may report the update failed
            # (a caller would undo a change that has happened).
            try:
                self._maybe_prune_cache(cache, full, manifest)
            except QAError as exc:
                log.warning("qa: could not prune the embedding cache: %s", exc)
        finally:
            cache.close()
        watch.lap("cache")
        self._live.refresh(version, written)
        watch.lap("reload")
        chunk_texts = {c.text for d in todo for c in d.chunks}
        # A changed document that no longer reads is out of the index: it counts as removed.
        added = tuple(d for d in changes.added if d in documents)
        changed = tuple(d for d in changes.changed if d in documents)
        removed = tuple(
            sorted({*changes.removed, *(d for d in changes.changed if d not in documents)})
        )
        return UpdateReport(
            added=len(added),
            changed=len(changed),
            removed=len(removed),
            unchanged=len(changes.unchanged),
            chunks_embedded=len(chunk_texts & embedded),
            texts_embedded=len(embedded),
            documents=len(documents),
            chunks=manifest.counts.chunks,
            sentences=manifest.counts.sentences,
            seconds=watch.total,
            version=version,
            written=True,
            phases=dict(watch.phases),
            problems=_skipped_problems(skipped)
            + kept_back
            + tuple(f"{d.doc_id}: {p}" for d in todo for p in d.problems),
            doc_ids=DocChanges(added, changed, removed),
            skipped=_skipped_files(skipped),
        )

    def _stored(
        self, todo: Sequence[_Chunked], model: str, previous: Manifest | None
    ) -> dict[str, np.ndarray]:
        """The vectors of the documents in `todo` as the live version stores them (a changed
        document's unchanged texts; every text on a rebuild), if the live version was embedded
        by the same model. Optional for a backend: one without `read_segment` relies on the cache.
        """
        read = getattr(self._store, "read_segment", None)
        if read is None:
            return {}
        try:
            live = previous or (self._store.manifest() if self._store.current() else None)
        except QAError:
            return {}
        if live is None or model != (
            f"{live.model}+{live.embedder}" if live.embedder == "onnx-int8" else live.model
        ):
            return {}
        out: dict[str, np.ndarray] = {}
        # The version's own record of how its contexts were made, besides each segment's.
        embedded = live.chunking.get("contexts", "embedded") == "embedded"
        for doc in todo:
            entry = live.documents.get(doc.doc_id)
            if entry is None:
                continue
            try:
                part = read(entry.segment)
            except QAError:
                continue  # a lost or damaged segment: the cache or the model then
            out.update(stored_vectors(part, contexts=embedded))
        return out

    def _maybe_prune_cache(self, cache: EmbeddingCache, full: bool, live: Manifest) -> None:
        """After a build, or once the cache outgrows what the live version uses, prune it.

        Counting is cheap (SQLite walks the key b-tree); collecting the kept texts reads every
        stored document's key block, so an ordinary update only does that when the cache holds
        more than `cache_max_ratio` × the live version's texts + CACHE_SLACK.
        """
        if self._settings.cache_mode == "journal":
            cache.prune(set())  # the segments hold every vector now
            return
        ratio = self._settings.cache_max_ratio
        if ratio < 0:
            return
        if not full and len(cache) <= ratio * live.texts + CACHE_SLACK:
            return
        gone = cache.prune(self._store.text_keys())
        if gone:
            log.info("qa: pruned %d embeddings no kept version uses", gone)

    def prune(self) -> PruneReport:
        """Crash leftovers, unreferenced stored documents, unused cached embeddings."""
        with self.locked():
            store = self._store
            leftovers = len(store.recover())
            segments = store.collect()
            manifest = store.manifest()
            cache = store.cache(manifest.model, manifest.dim)
            try:
                embeddings = cache.prune(store.text_keys())
                remaining = len(cache)
            finally:
                cache.close()
        return PruneReport(leftovers, segments, embeddings, remaining)

    def _previous(self) -> Manifest | None:
        """The live version's manifest to build on, or None when there is none we can reuse."""
        store = self._store
        if store.current() is None:
            return None
        try:
            m = store.manifest()
        except (IndexIncompatible, IndexMissing, StorageError) as exc:
            log.warning("qa: cannot reuse the index (%s); rebuilding from the source", exc)
            return None
        # Compared by name before the model is loaded: an update with nothing to do needs no model.
        loaded = self._loaded()
        model = loaded.name if loaded else self._settings.model_name
        dim = loaded.dim if loaded else m.dim
        if (m.model, m.dim) != (model, dim) or not same_chunking(m, self._settings.chunking):
            log.warning("qa: the index was built with another model or chunking; rebuilding")
            return None
        return m

    def pending(self, source: Path) -> dict[str, list[str]]:
        """How the source folder differs from the live index (by content hash)."""
        manifest = self._store.manifest()
        current = scan(source, scan_stamps(self._settings))
        known_bad = still_skipped(manifest.skipped, current)  # not pending: skipped
        p = plan({d: h for d, h in current.items() if d not in known_bad}, indexed_state(manifest))
        changes = {"added": list(p.added), "removed": list(p.removed), "changed": list(p.changed)}
        if not same_chunking(manifest, self._settings.chunking):
            changes["settings"] = ["chunking settings differ from the index"]
        return changes
