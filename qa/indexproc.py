"""Index updates in a child process, so that a server's readers keep their CPU and the GIL.

Chunking, BM25 statistics and the Python around the model hold the GIL, and the model takes a
core: run in the serving process, an upload stalls every request that arrives meanwhile
(docs/reliability.md, Soak). In the child, at a lower scheduling priority and with its own model,
the update only competes for CPU the readers leave; the server then loads the version it wrote,
reading just the new documents.

The parent holds the writer lock for the whole change (source folder write + update + undo), so
the child runs `update_locked` without taking it. A child that dies (killed, out of memory) fails
that one update with a clear error, the previous version keeps serving, and the next update
starts a new child.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from qa.errors import StorageError
from qa.models import UpdateReport
from qa.settings import Settings

log = logging.getLogger("qa")

_child: object | None = None  # the child's QAService (typed loosely: imported in the child only)


def _start(settings: Settings, niceness: int, threads: int) -> None:
    """In the child: lower priority, fewer model threads, then load the model once."""
    global _child
    if niceness:
        with contextlib.suppress(OSError):  # not permitted here: the parent's priority
            os.nice(niceness)
    from qa.service import QAService

    _child = QAService(settings.with_overrides(embed_threads=threads))
    _ = _child.embedder  # loaded now, not inside the first update
    if "torch" in sys.modules:  # the torch backend; the ONNX one took `embed_threads`
        sys.modules["torch"].set_num_threads(threads)


def _ready() -> None:
    """Nothing: submitting it makes the pool start its child (and run `_start`)."""


def _update(folder: Path, full: bool, strict: bool) -> UpdateReport:
    from qa.service import QAService

    assert isinstance(_child, QAService)
    return _child.indexer.update_locked(folder, full=full, strict=strict)


class IndexProcess:
    """A single child process that runs index updates; started on first use, kept warm."""

    def __init__(self, settings: Settings, *, current: Callable[[], str | None]) -> None:
        """`current`: the store's live version name, to tell whether a child that died had
        already made its version live."""
        self._settings = settings
        self._current = current
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def update_locked(
        self, folder: Path, *, full: bool = False, strict: bool = False
    ) -> UpdateReport:
        """`Indexer.update_locked` in the child (the caller holds the writer lock)."""
        before = self._current()
        pool = self._ensure()
        try:
            return pool.submit(_update, folder, full, strict).result()
        except BrokenProcessPool as exc:
            self._discard(pool)
            if self._current() != before:
                # It died after switching versions: the change is live, so it must not be
                # reported as failed (the caller would undo it). A new child reports the state.
                return self._ensure().submit(_update, folder, full, strict).result()
            raise StorageError(
                "the indexing process stopped before finishing (it failed to start, ran out of "
                "memory or was killed); nothing was changed, the previous version is served"
            ) from exc

    def start(self) -> None:
        """Start the child now, in the background, so the first update does not wait for it."""
        self._ensure().submit(_ready)

    def close(self) -> None:
        """Stop the child (waits for an update in progress)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    @property
    def pid(self) -> int | None:
        """The child's process id, once started (for tests and diagnostics)."""
        pool = self._pool
        procs = getattr(pool, "_processes", None) or {}
        return next(iter(procs), None)

    def _ensure(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                cfg = self._settings.indexing
                # spawn, not fork: the parent has threads (uvicorn, the model's runtime) that a
                # forked child would inherit in whatever state they were.
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start,
                    initargs=(self._settings, cfg.nice, cfg.threads),
                )
            return self._pool

    def _discard(self, pool: concurrent.futures.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)
        log.warning("qa: the indexing process died; the next update starts a new one")
