"""One forward pass shared by concurrent callers."""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from qa.embed.base import Embedder


class MicroBatcher(Embedder):
    """Shares forward passes between concurrent callers.

    Each caller queues its texts and waits; one worker thread takes everything queued (up to
    `max_texts`) and embeds it in one batch. Under load, sixteen questions cost about one batched
    pass instead of sixteen passes queued behind a lock; alone, a caller waits for nothing.
    """

    def __init__(self, inner: Embedder, max_texts: int = 64) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.backend = inner.backend
        self.max_texts = max_texts
        self._queue: queue.SimpleQueue[tuple[list[str], Future[np.ndarray]]] = queue.SimpleQueue()
        self._worker = threading.Thread(target=self._run, name="qa-embed-batcher", daemon=True)
        self._worker.start()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        done: Future[np.ndarray] = Future()
        self._queue.put((list(texts), done))
        return done.result()

    def _run(self) -> None:
        while True:
            jobs = [self._queue.get()]
            size = len(jobs[0][0])
            while size < self.max_texts:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                jobs.append(job)
                size += len(job[0])
            try:
                vecs = self.inner.embed_batch([t for texts, _ in jobs for t in texts])
            except Exception as exc:  # every waiting caller gets the failure, none hangs
                for _, fut in jobs:
                    fut.set_exception(exc)
                continue
            at = 0
            for texts, fut in jobs:
                fut.set_result(vecs[at : at + len(texts)])
                at += len(texts)
