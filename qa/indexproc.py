"""Index updates in a child process, so that a server's readers keep their CPU and the GIL.

Chunking, BM25 statistics and the Python around the model hold the GIL, and the model takes a
core: run in the serving process, an upload stalls every request that arrives meanwhile
(docs/reliability.md, Soak). The child runs the whole write (source folder change, update, undo
on failure) at a lower scheduling priority with its own model, under the writer lock, exactly as
an inline write would; the server then loads the version it wrote, reading just the new
documents.

A child that dies (killed, out of memory) fails that one write with `IndexProcessDied`; the
caller puts things right (qa.service) and the next write starts a new child. A child whose
parent dies exits at once, like a writer killed with it, so it never holds the lock alone.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol, TypeVar

from qa.errors import StorageError
from qa.models import UpdateReport
from qa.settings import Settings

log = logging.getLogger("qa")


class Writer(Protocol):
    """What the child runs: the service's writes, inline (qa.service.QAService)."""

    @property
    def embedder(self) -> object: ...

    def add_document(self, name: str, data: bytes) -> tuple[str, UpdateReport]: ...

    def delete_document(self, doc_id: str) -> UpdateReport: ...

    def update(self, *, full: bool = False, strict: bool = False) -> UpdateReport: ...


T = TypeVar("T")

# Builds the child's Writer from settings: a module-level callable, so spawn can pickle it.
WriterFactory = Callable[[Settings], Writer]

_child: Writer | None = None  # the service inside the child process


class IndexProcessDied(StorageError):
    """The child stopped before answering; whether its write happened is for the caller to see.

    503: the server is fine and a retry starts a new child."""

    status_code = 503


def _start(
    make: WriterFactory, settings: Settings, priority: int, threads: int, parent: int
) -> None:
    """In the child: exit with the parent, lower priority, fewer model threads, load the model."""
    global _child
    threading.Thread(target=_exit_with, args=(parent,), name="qa-orphan", daemon=True).start()
    _lower(0, priority)  # the parent set it already, unless it could not
    _child = make(settings.with_overrides(embed_threads=threads))
    _ = _child.embedder  # loaded now, not inside the first write
    if "torch" in sys.modules:  # the torch backend; the ONNX one took `embed_threads`
        sys.modules["torch"].set_num_threads(threads)


def _lower(pid: int, priority: int) -> None:
    """Set process `pid`'s (0: this one's) priority to `priority` (a niceness, never raised)."""
    with contextlib.suppress(OSError):  # not permitted or gone: the priority it has
        if os.getpriority(os.PRIO_PROCESS, pid) < priority:
            os.setpriority(os.PRIO_PROCESS, pid, priority)


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.1)
    os._exit(70)


def _ready() -> None:
    """Nothing: submitting it makes the pool start its child (and run `_start`)."""


def _service() -> Writer:
    assert _child is not None, "the indexing process was not initialised"
    return _child


def _add(name: str, data: bytes) -> UpdateReport:
    return _service().add_document(name, data)[1]


def _delete(doc_id: str) -> UpdateReport:
    return _service().delete_document(doc_id)


def _update(full: bool, strict: bool) -> UpdateReport:
    return _service().update(full=full, strict=strict)


class IndexProcess:
    """A single child process that runs index writes; started on demand, kept warm."""

    def __init__(self, settings: Settings, make: WriterFactory) -> None:
        self._settings = settings
        self._make = make
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def add_document(self, name: str, data: bytes) -> UpdateReport:
        """`QAService.add_document` in the child (the parent knows the document id)."""
        return self._call(_add, name, data)

    def delete_document(self, doc_id: str) -> UpdateReport:
        """`QAService.delete_document` in the child."""
        return self._call(_delete, doc_id)

    def update(self, *, full: bool = False, strict: bool = False) -> UpdateReport:
        """`QAService.update` in the child."""
        return self._call(_update, full, strict)

    def start(self) -> None:
        """Start the child now, in the background, so the first write does not wait for it."""
        self._submit(self._ensure(), _ready)

    def close(self) -> None:
        """Stop the child (waits for a write in progress)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    @property
    def pid(self) -> int | None:
        """The child's process id, once started (diagnostics)."""
        procs = getattr(self._pool, "_processes", None) or {}
        return next(iter(procs), None)

    def _call(self, fn: Callable[..., UpdateReport], *args: object) -> UpdateReport:
        pool = self._ensure()
        if not self._alive(pool):
            # It died while idle (killed, out of memory elsewhere): this write never reached it,
            # so it goes to a new child instead of failing for someone else's reason.
            self._discard(pool)
            pool = self._ensure()
        try:
            return self._submit(pool, fn, *args).result()
        except BrokenProcessPool as exc:
            self._discard(pool)
            raise IndexProcessDied(
                "the indexing process stopped before finishing (it failed to start, ran out "
                "of memory or was killed)"
            ) from exc

    @staticmethod
    def _alive(pool: concurrent.futures.ProcessPoolExecutor) -> bool:
        """False once the pool's child has exited (True before it is spawned)."""
        procs = getattr(pool, "_processes", None) or {}
        return all(p.is_alive() for p in list(procs.values()))

    def _submit(
        self, pool: concurrent.futures.ProcessPoolExecutor, fn: Callable[..., T], *args: object
    ) -> concurrent.futures.Future[T]:
        """`pool.submit`; the first one spawns the child, whose priority is lowered here at
        once: its interpreter start and imports, before `_start` runs, would otherwise compete
        at full priority with the server's own start-up (`/health`)."""
        future = pool.submit(fn, *args)
        for pid in list(getattr(pool, "_processes", None) or {}):
            _lower(pid, self._priority)
        return future

    @property
    def _priority(self) -> int:
        cfg = self._settings.indexing
        return min(19, os.getpriority(os.PRIO_PROCESS, 0) + cfg.nice)

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
                    initargs=(self._make, self._settings, self._priority, cfg.threads, os.getpid()),
                )
            return self._pool

    def _discard(self, pool: concurrent.futures.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)
        log.warning("qa: the indexing process died; the next write starts a new one")
