"""The library facade: build, search, ask, status. CLI and HTTP are thin shells over this."""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np

from qa.answer import AnswerSettings, compose, select_quotes
from qa.answertype import places
from qa.chunk import ChunkSettings
from qa.embed import Embedder, MicroBatcher, load_embedder
from qa.errors import (
    IndexIncompatible,
    IndexMissing,
    IngestError,
    InvalidInput,
    NotFound,
    QAError,
    StorageError,
)
from qa.ingest import SUFFIXES, parse_transcript, read_transcript
from qa.ingest import upload as uploads
from qa.metrics import UPDATE_SECONDS
from qa.models import Answer, Hit
from qa.retrieve import Filters, Query, RetrievalSettings, retrieve, speaker_names
from qa.settings import Settings
from qa.store import IndexData, IndexDir
from qa.store.cache import EmbeddingCache
from qa.store.index import check_model
from qa.store.lock import IndexLock
from qa.store.segment import DocPart
from qa.update import (
    Progress,
    Stopwatch,
    UpdateReport,
    chunk_document,
    embed_missing,
    finish,
    manifest_for,
    plan,
    scan,
    sentence_contexts,
)

__all__ = ["QAService", "UpdateReport", "clean_question", "sentence_contexts"]

log = logging.getLogger("qa")
UPLOAD_PREFIX = ".upload-"  # hidden, so never indexed half-written

MAX_QUESTION_CHARS = 2000
CACHE_FILE = "embeddings.sqlite"
CACHE_SLACK = 10_000  # cached embeddings tolerated beyond the ratio (a few interviews' worth)
QUERY_CACHE_SIZE = 1024


def clean_question(question: str) -> str:
    q = question.strip()
    if not q:
        raise InvalidInput("question must not be empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"question is longer than {MAX_QUESTION_CHARS} characters")
    return q


class QAService:
    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings()
        self._embedder = embedder
        self._index: IndexData | None = None
        self._lock = threading.Lock()  # guards `_index` and the reload bookkeeping
        self._load_lock = threading.Lock()  # one first load, however many requests arrive
        self._checked = time.monotonic()  # when CURRENT was last compared with `_index`
        self._reloading = False
        self._micro_batcher: Embedder | None = None
        # Repeated questions skip the model: vectors depend on the text only, not on the index.
        self._query_cache: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()

    # -- components -----------------------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            s = self.settings
            self._embedder = load_embedder(
                s.embedder, s.model_name, s.model_path, s.onnx_dir, threads=s.embed_threads
            )
        return self._embedder

    @property
    def index_dir(self) -> IndexDir:
        return IndexDir(self.settings.index_dir)

    @property
    def chunking(self) -> ChunkSettings:
        s = self.settings
        return ChunkSettings(s.chunk_size, s.chunk_overlap, s.bm25_scope)

    @property
    def index(self) -> IndexData:
        """The live version. Take it once per request: a reload swaps it, never changes it.

        At most every `reload_interval` seconds this compares CURRENT on disk with the version in
        memory; when another process has written a newer one, it is loaded in a background thread
        and swapped in, while requests keep being answered from the one they hold.
        """
        data = self._index
        if data is None:
            with self._load_lock:
                data = self._index or self.load()
        self._maybe_reload(data)
        return data

    def load(self) -> IndexData:
        """Model and index now, not on the first request (a missing index raises here)."""
        data = self.index_dir.load(reuse=self._index)
        check_model(data.manifest, self.embedder.name, self.embedder.dim)
        self._install(data)
        return data

    def warm(self) -> None:
        """Load the model, the index and the place list now: a server's first request should
        not pay for them. A missing or incompatible index raises here."""
        self.load()
        places()  # 50 ms, otherwise on the first "which city" question

    def _install(self, data: IndexData) -> None:
        with self._lock:
            self._index = data
            self._checked = time.monotonic()

    def _maybe_reload(self, data: IndexData) -> None:
        interval = self.settings.reload_interval
        if interval < 0 or time.monotonic() - self._checked < interval:
            return
        with self._lock:
            if self._reloading:
                return
            self._checked = time.monotonic()
            try:
                name = self.index_dir.current()
            except QAError:
                return
            if name is None or name == data.version:
                return
            self._reloading = True
        threading.Thread(target=self._reload, name="qa-reload", daemon=True).start()

    def _reload(self) -> None:
        try:
            data = self.index_dir.load(reuse=self._index)  # reads only the segments it lacks
            check_model(data.manifest, self.embedder.name, self.embedder.dim)
            with self._lock:
                # An update of our own may have installed something newer meanwhile.
                if self.index_dir.current() == data.version:
                    self._index = data
            log.info("qa: now serving index version %s", data.version)
        except QAError as exc:
            log.warning("qa: index reload failed, still serving the previous version: %s", exc)
        finally:
            with self._lock:
                self._reloading = False

    # -- indexing -------------------------------------------------------------------------
    def build(self, source: Path | None = None, progress: Progress | None = None) -> UpdateReport:
        """Index every transcript under `source` into a new version: an update from empty.

        Vectors still come from the embedding cache when a text was embedded before.
        """
        return self.update(source, full=True, progress=progress)

    def update(
        self, source: Path | None = None, *, full: bool = False, progress: Progress | None = None
    ) -> UpdateReport:
        """Bring the index in line with the source folder; one writer at a time (index/LOCK)."""
        source = source or self.settings.source_dir
        if not source.is_dir():  # before the lock, which would create the index folder
            raise IngestError(f"source folder not found: {source}")
        with IndexLock(self.settings.index_dir, self.settings.lock_timeout):
            report = self._update_locked(source, full, progress)
        if report.written:
            UPDATE_SECONDS.observe(report.seconds)
        return report

    def _update_locked(
        self, source: Path, full: bool, progress: Progress | None = None
    ) -> UpdateReport:
        watch = Stopwatch()
        idx = self.index_dir
        idx.recover()
        _clean_uploads(source)
        current = scan(source)
        watch.lap("scan")
        # Only the manifest is read: unchanged documents' segments are named, never opened.
        previous = None if full else self._previous()
        watch.lap("load")
        indexed = {d: m["sha256"] for d, m in previous["documents"].items()} if previous else {}
        changes = plan(current, indexed)
        # An unchanged document whose segment is gone (deleted by hand, a partial restore) is
        # indexed again from its source, its vectors from the cache: one stat per document.
        lost = tuple(
            d
            for d in changes.unchanged
            if previous and not idx.has_segment(previous["documents"][d].get("segment", ""))
        )
        if lost:
            log.warning("qa: %d segment(s) missing, re-indexing %s", len(lost), ", ".join(lost))
        if previous is not None and not changes.touched and not lost:
            self._refresh(previous["version"])
            counts = previous["counts"]
            return UpdateReport(
                (),
                (),
                (),
                len(changes.unchanged),
                0,
                0,
                len(previous["documents"]),
                counts["chunks"],
                counts["sentences"],
                watch.total,
                previous["version"],
                written=False,
                phases=tuple(watch.phases),
            )

        kept = set(changes.unchanged) - set(lost)
        documents = {d: previous["documents"][d] for d in kept} if previous else {}
        todo = [
            chunk_document(doc.doc_id, doc.text, self.chunking, doc)
            for doc in (
                read_transcript(source / d, source)
                for d in (*changes.added, *changes.changed, *lost)
            )
        ]
        watch.lap("chunk")
        emb = self.embedder
        cache = self._cache(_cache_model(emb), emb.dim)
        try:
            vectors, embedded = embed_missing(
                [t for d in todo for t in d.texts()],
                emb,
                cache,
                self.settings.batch_size,
                progress,
            )
            watch.lap("embed")
            written: dict[str, DocPart] = {}
            for d in todo:
                part = finish(d, vectors, emb.dim, cache.model)
                name = idx.write_segment(part)
                written[name] = part
                documents[d.doc_id] = part.entry(name)
            manifest = manifest_for(emb, self.chunking, documents, self.settings.exact_below)
            version = idx.save(manifest)
            watch.lap("save")
            self._maybe_prune_cache(cache, full, manifest)
        finally:
            cache.close()
        watch.lap("cache")
        self._refresh(version, written)
        watch.lap("reload")
        chunk_texts = {c.text for d in todo for c in d.chunks}
        return UpdateReport(
            changes.added,
            changes.changed,
            changes.removed,
            len(changes.unchanged),
            len(chunk_texts & embedded),
            len(embedded),
            len(documents),
            manifest["counts"]["chunks"],
            manifest["counts"]["sentences"],
            watch.total,
            version,
            written=True,
            phases=tuple(watch.phases),
            problems=tuple(f"{d.doc_id}: {p}" for d in todo for p in d.problems),
        )

    def _refresh(self, version: str, known: dict[str, DocPart] | None = None) -> None:
        """Serve `version` now if this process serves at all (a CLI update loads nothing).

        Assembled from the parts the held version already has and those just written, so only
        the global structures are rebuilt; a process that holds no index loads lazily.
        """
        # Under the first-load lock: a first load that read CURRENT before our switch finishes
        # first, and is then brought up to date here instead of being served stale.
        with self._load_lock:
            held = self._index
            if held is None or held.version == version:
                return
            try:
                data = self.index_dir.load(reuse=held, known=known)
                check_model(data.manifest, self.embedder.name, self.embedder.dim)
            except QAError as exc:
                log.warning("qa: cannot load the new index version, serving the old one: %s", exc)
                return
            self._install(data)

    def _cache(self, model: str, dim: int) -> EmbeddingCache:
        return EmbeddingCache(self.index_dir.root / "cache" / CACHE_FILE, model, dim)

    def _maybe_prune_cache(self, cache: EmbeddingCache, full: bool, live: dict[str, Any]) -> None:
        """After a build, or once the cache outgrows what the live version uses, prune it.

        Counting is cheap (3–8 ms for 20,000 entries: SQLite walks the key b-tree); collecting
        the kept texts reads every segment's key block, so an ordinary update only does that
        when the cache holds more than `cache_max_ratio` × the live version's texts + CACHE_SLACK.
        """
        ratio = self.settings.cache_max_ratio
        if ratio < 0:
            return
        if not full:
            used = sum(int(d.get("texts", 0)) for d in live["documents"].values())
            if len(cache) <= ratio * used + CACHE_SLACK:
                return
        idx = self.index_dir
        gone = cache.prune(idx.text_keys(idx.referenced_segments()))
        if gone:
            log.info("qa: pruned %d embeddings no kept version uses", gone)

    def prune(self) -> dict[str, int]:
        """`qa index prune`: crash leftovers, unreferenced segments, unused cached embeddings."""
        with IndexLock(self.settings.index_dir, self.settings.lock_timeout):
            idx = self.index_dir
            leftovers = len(idx.recover())
            segments = idx.collect_segments()
            manifest = idx.manifest()
            cache = self._cache(manifest["model"], manifest["dim"])
            try:
                embeddings = cache.prune(idx.text_keys(idx.referenced_segments()))
                remaining = len(cache)
            finally:
                cache.close()
        return {
            "leftovers": leftovers,
            "segments": segments,
            "embeddings": embeddings,
            "embeddings_kept": remaining,
        }

    def _previous(self) -> dict[str, Any] | None:
        """The live version's manifest to build on, or None when there is none we can reuse."""
        idx = self.index_dir
        if idx.current() is None:
            return None
        try:
            m = idx.manifest()
        except (IndexIncompatible, IndexMissing, StorageError) as exc:
            log.warning("qa: cannot reuse the index (%s); rebuilding from the source", exc)
            return None
        # Compared by name before the model is loaded: an update with nothing to do needs no model.
        loaded = self._embedder
        model = loaded.name if loaded else self.settings.model_name
        dim = loaded.dim if loaded else m.get("dim")
        if (m.get("model"), m.get("dim"), m.get("chunking")) != (
            model,
            dim,
            self.chunking.as_dict(),
        ):
            log.warning("qa: the index was built with another model or chunking; rebuilding")
            return None
        return m

    def add_document(self, name: str, data: bytes) -> tuple[str, UpdateReport]:
        """Store an uploaded transcript in the source folder and index it.

        Every check (name, size, encoding, parsable text) runs before anything is written.
        """
        limit = self.settings.max_upload_bytes
        doc_id = uploads.check_name(name)
        parse_transcript(doc_id, uploads.decode(name, data, limit))
        source = self.settings.source_dir
        with IndexLock(self.settings.index_dir, self.settings.lock_timeout):
            _write_atomic(source, doc_id, data)
            return doc_id, self._update_locked(source, full=False)

    def delete_document(self, doc_id: str) -> UpdateReport:
        """Remove a transcript from the source folder and from the index."""
        source = self.settings.source_dir
        with IndexLock(self.settings.index_dir, self.settings.lock_timeout):
            path = source / doc_id
            indexed = self._index is not None and doc_id in self._index.documents
            parts = Path(doc_id).parts
            if (
                not parts
                or doc_id.startswith("/")
                or any(p == ".." or p.startswith(".") for p in parts)
                or path.suffix.lower() not in SUFFIXES
            ):
                raise NotFound(f"no document {doc_id!r}")  # only transcripts, only in the folder
            if path.is_file():
                try:
                    path.unlink()
                    _fsync_dir(path.parent)
                except OSError as exc:
                    raise StorageError(f"cannot delete {path}: {exc}") from exc
            elif not indexed and doc_id not in self.index_dir.manifest()["documents"]:
                raise NotFound(f"no document {doc_id!r} in {source}")
            return self._update_locked(source, full=False)

    def pending_changes(self, source: Path | None = None) -> dict[str, list[str]]:
        """How the source folder differs from the live index (by content hash)."""
        source = source or self.settings.source_dir
        manifest = self.index_dir.manifest()
        indexed = {d: m["sha256"] for d, m in manifest["documents"].items()}
        p = plan(scan(source), indexed)
        changes = {"added": list(p.added), "removed": list(p.removed), "changed": list(p.changed)}
        if manifest.get("chunking") != self.chunking.as_dict():
            changes["settings"] = ["chunking settings differ from the index"]
        return changes

    def index_info(self) -> dict[str, Any]:
        """What `qa index status` shows: size, age and staleness of the live version."""
        idx = self.index_dir
        manifest = idx.manifest()
        changes = self.pending_changes()
        cache = idx.root / "cache"
        return {
            "documents": len(manifest["documents"]),
            "chunks": manifest["counts"]["chunks"],
            "model": manifest["model"],
            "version": manifest.get("version"),
            "last_update": manifest.get("created"),
            "size_bytes": idx.size_on_disk(),
            "cache_bytes": sum(p.stat().st_size for p in cache.glob("*") if p.is_file()),
            "stale": any(changes.values()),
            "pending": changes,
        }

    # -- querying -------------------------------------------------------------------------
    def _query(self, question: str, index: IndexData) -> Query:
        content, named = speaker_names(question, index.speaker_names)
        key = (question, content)
        with self._lock:
            vecs = self._query_cache.get(key)
            if vecs is not None:
                self._query_cache.move_to_end(key)
        if vecs is None:
            texts = [question] if content in ("", question) else [question, content]
            vecs = self._batcher().embed_batch(texts)  # one forward pass, even for two texts
            with self._lock:
                self._query_cache[key] = vecs
                if len(self._query_cache) > QUERY_CACHE_SIZE:
                    self._query_cache.popitem(last=False)
        return Query(text=question, vec=vecs[0], content_vec=vecs[-1], named=named)

    def _batcher(self) -> Embedder:
        with self._lock:
            if self._micro_batcher is None:
                self._micro_batcher = MicroBatcher(self.embedder)
            return self._micro_batcher

    def search(
        self,
        question: str,
        k: int = 5,
        docs: Collection[str] = (),
        speakers: Collection[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[Hit]:
        q = clean_question(question)
        filters = Filters.of(docs, speakers, date_from, date_to)
        index = self.index  # one version for the whole request
        return retrieve(index, self._query(q, index), k, self._retrieval(), filters)

    def ask(
        self,
        question: str,
        k: int = 5,
        docs: Collection[str] = (),
        speakers: Collection[str] = (),
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> Answer:
        q = clean_question(question)
        filters = Filters.of(docs, speakers, date_from, date_to)
        index = self.index
        query = self._query(q, index)
        s = self.settings
        retrieval = self._retrieval()
        pool = retrieve(index, query, max(k, s.candidates), retrieval, filters)
        answer_settings = AnswerSettings(
            max_quotes=min(k, s.max_quotes),
            abstain_threshold=s.abstain_threshold,
            passage_weight=s.passage_weight,
            context_weight=s.context_weight,
            speaker_bonus=s.speaker_bonus,
            editorial_penalty=s.editorial_penalty,
            type_bonus=s.type_bonus,
            type_penalty=s.type_penalty,
            question_penalty=s.question_penalty,
            asking_turn_penalty=s.asking_turn_penalty,
        )
        quotes, passages = select_quotes(index, query, pool, answer_settings)
        return compose(q, quotes, passages[:k], answer_settings)

    def _retrieval(self) -> RetrievalSettings:
        s = self.settings
        return RetrievalSettings(
            mode=s.mode,
            fusion=s.fusion,
            candidates=s.candidates,
            question_weight=s.question_weight,
            dense_weight=s.dense_weight,
            bm25_weight=s.bm25_weight,
        )

    # -- introspection --------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        index = self.index
        return {
            "status": "ok",
            "documents": len(index.documents),
            "chunks": len(index.chunks),
            "model": index.manifest["model"],
            "version": index.version,
        }

    def documents(self) -> list[dict[str, Any]]:
        return [
            {"doc_id": doc_id, "sha256": d["sha256"], "chunks": d["chunks"]}
            for doc_id, d in sorted(self.index.documents.items())
        ]


def _cache_model(emb: Embedder) -> str:
    """The embedding cache's model key. torch and the fp32 ONNX export give the same vectors
    (~1e-6) and share entries; the int8 graph's are only close, so a later torch or fp32 build
    must not be served them from the cache."""
    return f"{emb.name}+{emb.backend}" if emb.backend == "onnx-int8" else emb.name


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomic(folder: Path, name: str, data: bytes) -> None:
    """Write under a hidden temporary name, fsync, rename: the folder never shows half a file."""
    tmp = folder / f"{UPLOAD_PREFIX}{uuid.uuid4().hex[:8]}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / name)
        _fsync_dir(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot store {name} in {folder}: {exc}") from exc


def _clean_uploads(source: Path) -> None:
    """Uploads interrupted before their rename (call with the index lock held)."""
    if source.is_dir():
        for p in source.glob(f"{UPLOAD_PREFIX}*"):
            p.unlink(missing_ok=True)
