"""Parallel indexing: several processes (`qa worker`, on one host or many) share one update
through the store's work queue (qa.store.queue; PostgreSQL: qa.store.postgres.queue).

1. Plan (under the writer lock, a scan and no model): the first worker compares the source
   folder with the live version and opens a run, one job per new, changed or lost document;
   later workers join the open run.
2. Work (no global lock): each worker claims one job at a time, reads, chunks and embeds it
   (through the shared embedding cache) and stores it, in the claim's transaction.
3. Finish (under the writer lock): the worker that sees no job left unfinished writes the
   version: the run's kept documents plus every finished job, and closes the run.

Each document is embedded by one worker; a worker killed mid-document leaves its job to the
next one. Mixing `qa index update` with workers on one store is safe (both take the writer lock
to save) but an update saved while a run is open is superseded by the run's version.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

from qa.embed import Embedder
from qa.errors import IngestError, InvalidInput
from qa.ingest import check_source_folder, read_transcript
from qa.models import WorkReport
from qa.settings import Settings
from qa.store import IndexStore, work_queue
from qa.store.manifest import SkippedEntry
from qa.store.queue import Run, WorkQueue
from qa.update import (
    cache_model,
    chunk_document,
    embed_missing,
    finish,
    indexed_state,
    manifest_for,
    plan,
    same_chunking,
    scan_sources,
    scan_stamps,
    skip_reason,
    still_skipped,
)

log = logging.getLogger("qa")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def work(settings: Settings, store: IndexStore, embedder: Callable[[], Embedder]) -> WorkReport:
    """Take part in the update of `store` from `settings.source_dir` until no job is left."""
    queue = work_queue(store)
    if queue is None:
        raise InvalidInput(
            "`qa worker` shares work through a database: set QA_STORE=postgresql://… "
            "(the files backend indexes with `qa index update`)"
        )
    start = time.perf_counter()
    source = settings.source_dir
    check_source_folder(source)
    me = worker_name()
    with store.lock(settings.lock_timeout):
        run = queue.find_run() or _open_run(settings, store, queue, embedder)
    if run is None:
        return WorkReport(worker=me, documents=0, skipped=0, texts_embedded=0, version=None,
                          seconds=time.perf_counter() - start)  # fmt: skip
    emb = embedder()
    cache = store.cache(cache_model(emb), emb.dim)
    done = skipped = embedded = 0
    try:
        while True:
            with queue.claim(run.id, me) as claim:
                if claim is None:
                    break
                try:
                    doc = read_transcript(source / claim.job.doc_id, source)
                except IngestError as exc:
                    claim.skip(skip_reason(claim.job.doc_id, exc.message))
                    skipped += 1
                    continue
                chunked = chunk_document(doc.doc_id, doc.text, settings.chunking, doc)
                vectors, new = embed_missing(list(chunked.texts()), emb, cache, settings.batch_size)
                claim.done(finish(chunked, vectors, emb.dim, cache.model))
                done += 1
                embedded += len(new)
    finally:
        cache.close()
    version = _finish(settings, store, queue, run, emb)
    return WorkReport(worker=me, documents=done, skipped=skipped, texts_embedded=embedded,
                      version=version, seconds=time.perf_counter() - start)  # fmt: skip


def _open_run(
    settings: Settings, store: IndexStore, queue: WorkQueue, embedder: Callable[[], Embedder]
) -> Run | None:
    """A run for what differs between the source folder and the live version (None: nothing)."""
    current, unreadable, _ = scan_sources(settings.source_dir, scan_stamps(settings))
    previous = store.manifest() if store.current() is not None else None
    emb = embedder()
    if previous is not None and (
        (previous.model, previous.dim) != (emb.name, emb.dim)
        or not same_chunking(previous, settings.chunking)
    ):
        previous = None  # another model or chunking: everything again (vectors cached)
    old_skipped = previous.skipped if previous else {}
    skipped = {d: SkippedEntry(reason=r) for d, r in unreadable.items()}
    skipped.update(still_skipped(old_skipped, current))
    readable = {d: h for d, h in current.items() if d not in skipped}
    changes = plan(readable, indexed_state(previous) if previous else {})
    lost = [
        d for d in changes.unchanged if previous and not store.has_document(previous.documents[d])
    ]
    if previous is not None and not changes.touched and not lost and skipped == old_skipped:
        return None
    keep = (
        {d: previous.documents[d] for d in changes.unchanged if d not in lost} if previous else {}
    )
    jobs = [(d, *readable[d]) for d in (*changes.added, *changes.changed, *lost)]
    run = queue.open_run(
        base=previous.version if previous else None,
        model=emb.name,
        chunking=settings.chunking.as_dict(),
        keep=keep,
        skipped=skipped,
        jobs=jobs,
    )
    log.info("qa: opened indexing run %d: %d document(s) to index", run, len(jobs))
    return queue.find_run()


def _finish(
    settings: Settings, store: IndexStore, queue: WorkQueue, run: Run, emb: Embedder
) -> str | None:
    """Write the run's version if every job is finished (else another worker will)."""
    with store.lock(settings.lock_timeout):
        if (open_run := queue.find_run()) is None or open_run.id != run.id:
            return None  # finished by another worker
        todo, results = queue.results(run.id)
        if todo:
            return None
        documents = dict(run.keep)
        skipped = dict(run.skipped)
        for r in results:
            if r.entry is not None:
                documents[r.doc_id] = r.entry
            else:
                skipped[r.doc_id] = SkippedEntry(sha256=r.sha256, reason=r.reason or "unreadable")
        manifest = manifest_for(emb, settings.chunking, documents, settings.exact_below, skipped)
        version = store.save(manifest)
        queue.close_run(run.id)
        log.info("qa: indexing run %d finished: version %s", run.id, version)
        return version


__all__ = ["work", "worker_name"]
