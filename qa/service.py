"""The library facade: index, ask, search, status. CLI, HTTP and the web page are thin shells
over this; each part below has one job:

- `LiveIndex` (qa.live): the version served, background reload and swap;
- `Indexer` (qa.update): updates of the store from the source folder, pruning, pending changes;
- `SourceFolder` (qa.source): what may be written or deleted in the source folder;
- `Searcher` (qa.searcher): questions → passages and answers, with the query cache.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.answertype import places
from qa.dbadmin import StoreAdmin
from qa.embed import Embedder, load_embedder
from qa.errors import (
    IndexIncompatible,
    IndexMissing,
    NotFound,
    QAError,
    SourceChanged,
)
from qa.indexproc import IndexProcess, IndexProcessDied
from qa.ingest import SUFFIXES, check_source_folder
from qa.live import LiveIndex
from qa.metrics import UPDATE_SECONDS
from qa.models import (
    Answer,
    DocumentInfo,
    Filters,
    Health,
    IndexStatus,
    Passage,
    PruneReport,
    SkippedFile,
    UpdateReport,
)
from qa.searcher import Searcher
from qa.settings import Settings, load_settings
from qa.source import SourceFolder, SourceTexts, Undo
from qa.store import IndexData, describe, open_store
from qa.update import Indexer, Progress

__all__ = ["QAService"]

NO_FILTERS = Filters()


class QAService(StoreAdmin):  # StoreAdmin: `qa db …` and `qa worker` (#17)
    def __init__(
        self,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
        *,
        update_process: bool = False,
    ) -> None:
        """`update_process`: run updates in a child process (qa.indexproc; what `qa serve`
        does), unless `embedder` is given (a child could not share it)."""
        self.settings = settings or load_settings()
        self._embedder = embedder
        self._embedder_lock = threading.Lock()
        s = self.settings
        self.store = open_store(s)
        self.live = LiveIndex(
            self.store, lambda: (self.embedder.name, self.embedder.dim),
            reload_interval=s.reload_interval,
        )  # fmt: skip
        self.source = SourceFolder(s.source_dir, max_upload_bytes=s.max_upload_bytes)
        self.indexer = Indexer(
            s, self.store, self.live, lambda: self.embedder, lambda: self._embedder
        )
        self.texts = SourceTexts(self.source)
        self.searcher = Searcher(s, self.live, lambda: self.embedder, self.texts)
        self._process = IndexProcess(s, QAService) if update_process and embedder is None else None

    @property
    def embedder(self) -> Embedder:
        """The model, loaded on first use (an update with nothing to do never loads it)."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    self._embedder = load_embedder(self.settings)
        return self._embedder

    @property
    def index(self) -> IndexData:
        """The live version; take it once per request (a reload swaps it, never changes it)."""
        return self.live.get()

    def load(self) -> IndexData:
        """Load the model, the live version and the place list now (server start-up)."""
        # The model in a thread while the index loads: its runtime builds the session in C++,
        # mostly outside the GIL, so on two cores the two overlap.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qa-model") as pool:
            model = pool.submit(lambda: self.embedder)
            places()  # 50 ms, otherwise on the first "which city" question
            data = self.live.load()
            model.result()
        if self._process is not None:
            # After the index: the child's start (imports, its own model) would compete with
            # this process's start-up for the CPU.
            self._process.start()
        return data

    # -- questions ------------------------------------------------------------------------
    def ask(self, question: str, *, k: int = 5, filters: Filters = NO_FILTERS) -> Answer:
        """Verbatim, cited quotes that answer `question`, or an honest refusal."""
        return self.searcher.ask(question, k=k, filters=filters)

    def search(self, question: str, *, k: int = 5, filters: Filters = NO_FILTERS) -> list[Passage]:
        """The top `k` passages for `question`, with scores."""
        return self.searcher.search(question, k=k, filters=filters)

    # -- indexing -------------------------------------------------------------------------
    # What the shells may say about sources without reaching into qa.ingest.
    upload_suffixes: tuple[str, ...] = tuple(sorted(SUFFIXES))  # what add_document takes

    @staticmethod
    def check_source_folder(folder: Path) -> None:
        """IngestError unless `folder` is a folder (not found, or a file)."""
        check_source_folder(folder)

    def build(self, *, progress: Progress | None = None, strict: bool = False) -> UpdateReport:
        """Index every transcript into a new version: an update from empty (vectors cached)."""
        return self.update(full=True, progress=progress, strict=strict)

    def update(
        self, *, full: bool = False, progress: Progress | None = None, strict: bool = False
    ) -> UpdateReport:
        """Bring the index in line with the source folder; one writer at a time. Files that
        cannot be read are skipped and reported (`strict`: refused, nothing written)."""
        folder = self.settings.source_dir
        check_source_folder(folder)  # before the lock, which would create the index folder
        if self._process is not None and progress is None:
            return self._in_child(lambda p: p.update(full=full, strict=strict), None)
        with self.indexer.locked():
            return self._update_locked(full=full, progress=progress, strict=strict)

    def check_index(self, *, update: bool, notify: Callable[[str], None] | None = None) -> bool:
        """Before serving: whether the index was missing or stale. When `update`, bring it up to
        date (telling `notify` first); else raise IndexMissing if there is none, and tell
        `notify` that it is stale."""
        try:
            changes = self.indexer.pending(self.settings.source_dir)
        except (IndexMissing, IndexIncompatible):
            if not update:
                raise
            changes = {"missing": ["no usable index yet"]}
        found = ", ".join(f"{kind}: {len(v)}" for kind, v in changes.items() if v)
        if not found:
            return False
        if update:
            if notify:
                notify(f"index is missing or stale ({found}); updating…")
            report = self.update()
            if notify:
                for problem in report.problems:  # skipped files, and why
                    notify(f"warning: {problem}")
        elif notify:
            notify(f"warning: index is stale ({found}); run `qa index update`")
        return True

    def add_document(self, name: str, data: bytes) -> tuple[str, UpdateReport]:
        """Store an uploaded transcript in the source folder and index it, or change nothing.

        Every check (name, size, encoding, parsable text) runs before anything is written; if
        the update then fails, the folder is put back as it was.
        """
        doc_id = self.source.check_upload(name, data)
        if self._process is not None:
            before = self.source.snapshot(doc_id)
            return doc_id, self._in_child(lambda p: p.add_document(name, data), before)
        with self.indexer.locked():
            undo = self.source.write(doc_id, data)
            try:
                return doc_id, self._update_locked()
            except BaseException:
                self.source.undo(undo)
                raise

    def delete_document(self, doc_id: str) -> UpdateReport:
        """Remove a transcript from the source folder and from the index, or change nothing."""
        self.source.path_of(doc_id)  # NotFound for anything but a transcript in the folder
        if self._process is not None:
            before = self.source.snapshot(doc_id)
            return self._in_child(lambda p: p.delete_document(doc_id), before)
        with self.indexer.locked():
            undo = self.source.delete(doc_id)
            if undo is None and doc_id not in self._indexed():
                raise NotFound(f"no document {doc_id!r}")
            try:
                return self._update_locked(emptying=True)
            except BaseException:
                self.source.undo(undo)
                raise

    def _in_child(
        self, write: Callable[[IndexProcess], UpdateReport], before: Undo | None
    ) -> UpdateReport:
        """Run `write` in the indexing process, then serve the version it made.

        If the process dies, the lock is free again: a version it switched to stays (the
        change happened; a no-op update reports it); otherwise the source file is put back as
        `before` held it and the write fails, having changed nothing.
        """
        assert self._process is not None
        version = self.store.current()
        try:
            report = write(self._process)
        except IndexProcessDied as exc:
            with self.indexer.locked():
                if self.store.current() != version:
                    return self._update_locked()
                self.source.undo(before)
            raise IndexProcessDied(f"{exc.message}; nothing was changed") from exc
        self.live.refresh(report.version)  # reads only the documents the child wrote
        return report

    def _update_locked(
        self,
        *,
        full: bool = False,
        progress: Progress | None = None,
        strict: bool = False,
        emptying: bool = False,
    ) -> UpdateReport:
        self.source.clean()
        folder = self.settings.source_dir
        report = self.indexer.update_locked(
            folder, full=full, progress=progress, strict=strict, emptying=emptying
        )
        if report.written:
            UPDATE_SECONDS.observe(report.seconds)
        return report

    @property
    def indexing_pid(self) -> int | None:
        """The indexing process's id while one runs (diagnostics)."""
        return self._process.pid if self._process is not None else None

    def close(self) -> None:
        """Stop the indexing process, if one runs (it starts again when needed)."""
        if self._process is not None:
            self._process.close()

    def _indexed(self) -> set[str]:
        """Documents of the live version (call under the lock: the manifest is authoritative;
        a version held in memory may predate another process's update)."""
        try:
            return set(self.store.manifest().documents)
        except QAError:
            held = self.live.held
            return set(held.documents) if held is not None else set()

    def prune(self) -> PruneReport:
        """Drop crash leftovers, unreferenced segments and unused cached embeddings."""
        return self.indexer.prune()

    def evaluate(self, gold: Path, *, fmt: str = "seedqa", k: int = 5) -> dict[str, Any]:
        """`qa eval`: seedqa measures this index; beir and squad index their gold documents in a
        temporary folder (with this service's settings otherwise) and measure every mode."""
        from qa.evaluate import evaluate

        return evaluate(self, gold, fmt=fmt, k=k)

    # -- introspection --------------------------------------------------------------------
    def pending_changes(self) -> dict[str, list[str]]:
        """How the source folder differs from the live index (by content hash)."""
        return self.indexer.pending(self.settings.source_dir)

    def index_info(self) -> IndexStatus:
        """Size, age and staleness of the live version (`qa index status`)."""
        manifest = self.store.manifest()
        changes = self.pending_changes()
        return IndexStatus(
            documents=len(manifest.documents),
            chunks=manifest.counts.chunks,
            model=manifest.model,
            version=manifest.version,
            last_update=manifest.created,
            size_bytes=self.store.size_on_disk(),
            cache_bytes=self.store.cache_bytes(),
            stale=any(changes.values()),
            pending=changes,
            problems=tuple(self.store.verify()),
            skipped=tuple(SkippedFile(d, e.reason) for d, e in sorted(manifest.skipped.items())),
        )

    def status(self) -> Health:
        """What `/health` reports."""
        index = self.index
        backend = describe(self.store)  # #17
        return Health(
            status="ok",
            documents=len(index.documents),
            chunks=len(index.chunks),
            model=index.manifest.model,
            version=index.version,
            stale=self._names_differ(index),
            backend=backend.name,
            schema_version=backend.schema,
        )

    def _names_differ(self, index: IndexData) -> bool:
        """Whether the folder's transcripts differ by name from the version's (a listing, no
        reading: cheap enough for a load balancer's health checks)."""
        try:
            names = self.source.names()
        except QAError:
            return True
        return names != set(index.documents) | set(index.manifest.skipped)

    def documents(self) -> list[DocumentInfo]:
        """The indexed documents with their content hash and chunk count, then the files the
        last update skipped, with the reason."""
        index = self.index
        indexed = [
            DocumentInfo(doc_id=doc_id, sha256=d.sha256, chunks=d.chunks)
            for doc_id, d in sorted(index.documents.items())
        ]
        skipped = [
            DocumentInfo(doc_id=d, sha256=e.sha256, chunks=0, status="skipped", reason=e.reason)
            for d, e in sorted(index.manifest.skipped.items())
        ]
        return indexed + skipped

    def document_text(self, doc_id: str, *, as_indexed: bool = True) -> str:
        """The canonical text of an indexed document: what its quotes' offsets refer to.

        For .docx, .pdf and .html the text extracted when it was indexed (kept with the document); for
        text formats the file as `Path.read_text(encoding="utf-8")` reads it. A file changed
        since it was indexed is SourceChanged (its offsets would point elsewhere), unless
        `as_indexed` is False (checking that a quote is still an exact slice of it).
        """
        self.source.path_of(doc_id)  # only transcripts in the folder
        got = self.texts.read(self.index, doc_id)
        if got is None:
            raise NotFound(f"no document {doc_id!r} in the index, or its file cannot be read")
        text, same = got
        if as_indexed and not same:
            raise SourceChanged(
                f"{doc_id} changed since it was indexed: offsets refer to the indexed text "
                "(run `qa index update`, or wait for the server's update)"
            )
        return text
