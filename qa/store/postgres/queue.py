"""The work queue of parallel indexing: one run per update, one job per document to (re)index.

Workers claim jobs with `SELECT … FOR UPDATE SKIP LOCKED`: the row lock is held by the claiming
transaction, and that same transaction writes the document's rows and marks the job done. So
a job is embedded by one worker at a time, once done it is never claimed again, and a worker
killed mid-document rolls its transaction back: no partial document, and the job is free again
for the next worker (the lock went with the connection).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg.types.json import Jsonb

from qa.debug import pause_point
from qa.errors import StorageError
from qa.store.manifest import DocEntry, SkippedEntry
from qa.store.postgres.store import Conn, PgStore, configure_connection, redact
from qa.store.queue import Job, JobResult, Run
from qa.store.segment import DocPart, encode


@dataclass
class PgClaim:
    """A claimed job; `done` or `skip` it before the claim's transaction ends."""

    job: Job
    _conn: Conn
    _store: PgStore
    _worker: str

    def done(self, part: DocPart) -> DocEntry:
        name, data = encode(part)
        self._store.write_in(self._conn, part, name, len(data))
        pause_point("document-written")  # tests kill a worker here, its rows uncommitted
        self._conn.execute(
            "UPDATE qa_jobs SET state = 'done', name = %s, size = %s, worker = %s"
            " WHERE run = %s AND doc_id = %s",
            (name, len(data), self._worker, self.job.run, self.job.doc_id),
        )
        return part.entry(name, len(data), self.job.meta_sha256)

    def skip(self, reason: str) -> None:
        self._conn.execute(
            "UPDATE qa_jobs SET state = 'skipped', reason = %s, worker = %s"
            " WHERE run = %s AND doc_id = %s",
            (reason, self._worker, self.job.run, self.job.doc_id),
        )


class PgQueue:
    def __init__(self, store: PgStore) -> None:
        self._store = store

    def open_run(
        self,
        *,
        base: str | None,
        model: str,
        chunking: Mapping[str, object],
        keep: Mapping[str, DocEntry],
        skipped: Mapping[str, SkippedEntry],
        jobs: Sequence[tuple[str, str, str | None]],
    ) -> int:
        """A new run (call under the writer lock, after `find_run` found none)."""
        with self._store.connection() as conn, conn.transaction():
            row = conn.execute(
                "INSERT INTO qa_runs (base, model, chunking, keep, skipped)"
                " VALUES (%s, %s, %s, %s, %s) RETURNING id",
                (
                    base,
                    model,
                    Jsonb(dict(chunking)),
                    Jsonb({d: e.model_dump() for d, e in keep.items()}),
                    Jsonb({d: e.model_dump() for d, e in skipped.items()}),
                ),
            ).fetchone()
            run = int(row[0]) if row else 0
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO qa_jobs (run, doc_id, sha256, meta_sha256) VALUES (%s, %s, %s, %s)",
                    [(run, d, sha, meta) for d, sha, meta in jobs],
                )
        return run

    def find_run(self) -> Run | None:
        """The open run, if an update is under way."""
        rows = self._store.fetch(
            "SELECT id, base, model, chunking::text, keep::text, skipped::text FROM qa_runs"
            " WHERE state = 'open' ORDER BY id LIMIT 1",
            (),
        )
        if not rows:
            return None
        run, base, model, chunking, keep, skipped = rows[0]
        return Run(
            id=int(run),
            base=base,
            model=model,
            chunking=json.loads(chunking),
            keep={d: DocEntry(**e) for d, e in json.loads(keep).items()},
            skipped={d: SkippedEntry(**e) for d, e in json.loads(skipped).items()},
        )

    @contextmanager
    def claim(self, run: int, worker: str) -> Iterator[PgClaim | None]:
        """The next unclaimed job of `run` in its own transaction (None: none left to claim);
        committed when the block ends, rolled back if it raises or the process dies."""
        try:
            conn: Conn = psycopg.connect(self._store.url, autocommit=True)
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot reach the database {redact(self._store.url)}: {exc}"
            ) from exc
        try:
            configure_connection(conn)
            with conn.transaction():
                row = conn.execute(
                    "SELECT run, doc_id, sha256, meta_sha256 FROM qa_jobs"
                    " WHERE run = %s AND state = 'todo' ORDER BY doc_id"
                    " FOR UPDATE SKIP LOCKED LIMIT 1",
                    (run,),
                ).fetchone()
                yield None if row is None else PgClaim(Job(*row), conn, self._store, worker)
        except psycopg.Error as exc:
            raise StorageError(f"database error ({redact(self._store.url)}): {exc}") from exc
        finally:
            conn.close()

    def results(self, run: int) -> tuple[int, list[JobResult]]:
        rows = self._store.fetch(
            "SELECT j.doc_id, j.state, j.name, j.size, j.meta_sha256, j.reason, j.sha256, true,"
            " (SELECT jsonb_build_array(jsonb_array_length(d.records->'chunks'),"
            "   jsonb_array_length(d.records->'sentences'),"
            "   jsonb_array_length(d.records->'question_chunks'), length(d.text_keys) / 32))"
            " FROM qa_jobs j LEFT JOIN qa_documents d USING (name)"
            " WHERE j.run = %s ORDER BY j.doc_id",
            (run,),
        )
        todo = 0
        out: list[JobResult] = []
        for doc_id, state, name, size, meta, reason, sha, _, counts in rows:
            if state == "todo":
                todo += 1
            elif state == "done":
                chunks, sentences, questions, texts = counts
                entry = DocEntry(
                    sha256=sha, segment=name, chunks=chunks, sentences=sentences,
                    questions=questions, texts=texts, size=size, meta_sha256=meta,
                )  # fmt: skip
                out.append(JobResult(doc_id, sha, entry, None))
            else:
                out.append(JobResult(doc_id, sha, None, reason))
        return todo, out

    def close_run(self, run: int) -> None:
        self._store.execute("UPDATE qa_runs SET state = 'closed' WHERE id = %s", (run,))
