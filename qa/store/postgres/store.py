"""The PostgreSQL backend of the store (`IndexStore`): the same versions over per-document records
as the files backend (qa.store.files), in tables (qa.store.postgres.schema).

- A document is one transaction: its row in `qa_documents` (records, canonical text, sentence
  and context vectors) and its rows in `qa_chunks` / `qa_questions` (pgvector), committed
  together or not at all. A killed writer leaves nothing; two writers of the same document
  (same content, so the same name) keep one (`ON CONFLICT DO NOTHING`).
- A version is one row of `qa_versions` (its manifest); the live one is the newest. Saving it
  is one statement, so a reader sees the old version or the new one, never half of one.
- A reader loads a version in one REPEATABLE READ transaction: the manifest and the documents it
  names come from one snapshot, whatever writers commit meanwhile.
- The writer lock is a session advisory lock: PostgreSQL drops it when its holder's connection
  goes, even after kill -9.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import psycopg
from pgvector.psycopg import register_vector
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from qa.errors import IndexBusy, IndexIncompatible, IndexMissing, QAError, StorageError
from qa.ingest import read_source_text
from qa.models import Chunk, Sentence
from qa.settings import PostgresSettings
from qa.sparse import SparseIndex
from qa.store import segment
from qa.store.base import IndexData, text_key_blocks
from qa.store.cache import EmbeddingCache
from qa.store.manifest import READABLE_FORMATS, DocEntry, Manifest
from qa.store.postgres import schema
from qa.store.postgres.vectors import LOCAL_BITS, PgCache, PgVectors
from qa.store.segment import CHUNK_FIELDS, SENTENCE_FIELDS, DocPart

KEEP_VERSIONS = 2
# Defaults for a PgStore made without Settings: the values are defined once, in qa.settings.
_DEFAULTS = PostgresSettings()
HNSW_M = _DEFAULTS.hnsw_m
HNSW_EF_CONSTRUCTION = _DEFAULTS.hnsw_ef_construction
EF_SEARCH = _DEFAULTS.ef_search
Conn = psycopg.Connection[tuple[Any, ...]]

DOC_COLUMNS = (
    "name, key, doc_id, sha256, dim, records::text, canonical, binary_source,"
    " sentence_vectors, context_vectors, text_keys"
)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    head, sep, tail = url.partition("@")
    if not sep or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, user = head.partition("//")
    return f"{scheme}//{user.split(':', 1)[0]}:***@{tail}"


def configure_connection(conn: Conn, ef_search: int = EF_SEARCH) -> None:
    register_vector(conn)
    conn.execute(f"SET hnsw.ef_search = {int(ef_search)}".encode())
    # Rows a filter (or another version's documents) rejects do not cost the top k.
    conn.execute("SET hnsw.iterative_scan = relaxed_order")
    # psycopg prepares a query run five times; PostgreSQL then may keep a generic plan, made
    # without knowing LIMIT or the filter's size, and at ~1M rows that plan is an exact scan
    # (~1.7 s instead of ~60 ms: docs/benchmarks.md). Every search is planned with its values.
    conn.execute("SET plan_cache_mode = force_custom_plan")


class PgStore:
    """The PostgreSQL backend (see the module docstring)."""

    backend = "postgresql"

    def __init__(
        self,
        url: str,
        *,
        source_dir: Path | None = None,
        pool_size: int = 4,
        ef_search: int = EF_SEARCH,
        hnsw_m: int = HNSW_M,
        hnsw_ef_construction: int = HNSW_EF_CONSTRUCTION,
    ) -> None:
        self.url = url
        self.ef_search = ef_search
        self.hnsw_m, self.hnsw_ef_construction = hnsw_m, hnsw_ef_construction
        self._source_dir = source_dir  # where a text format's canonical text is read when written
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            open=False,
            kwargs={"autocommit": True},
            configure=self._configure_new,
        )
        self._opened = False
        self._hnsw: set[tuple[str, int]] = set()

    # -- connections ----------------------------------------------------------------------
    def _configure_new(self, conn: Conn) -> None:
        configure_connection(conn, self.ef_search)

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A pooled connection (autocommit; `conn.transaction()` for more than one statement),
        the schema checked once per process; database errors become StorageError."""
        if not self._opened:
            self._open()
        try:
            with self._pool.connection(timeout=30) as conn:
                yield conn
        except QAError:
            raise
        except psycopg.Error as exc:
            raise StorageError(f"database error ({redact(self.url)}): {exc}") from exc
        except Exception as exc:  # the pool's own timeout
            if type(exc).__module__.startswith("psycopg_pool"):
                raise StorageError(f"cannot reach the database {redact(self.url)}: {exc}") from exc
            raise

    def _open(self) -> None:
        # The schema first, on a plain connection: the pool's connections register pgvector's
        # type, which an empty database does not have yet.
        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=30) as conn:
                have = schema.applied(conn)
                if have == 0:
                    schema.migrate(conn)  # an empty database: create the schema
        except psycopg.Error as exc:
            raise StorageError(f"cannot reach the database {redact(self.url)}: {exc}") from exc
        if have and have < schema.SCHEMA_VERSION:
            raise IndexIncompatible(
                f"the database has schema version {have}, this qa needs "
                f"{schema.SCHEMA_VERSION}: run `qa db migrate`"
            )
        if have > schema.SCHEMA_VERSION:
            raise IndexIncompatible(
                f"the database has schema version {have}, this qa knows "
                f"{schema.SCHEMA_VERSION}: upgrade qa"
            )
        try:
            self._pool.open(wait=True, timeout=30)
        except Exception as exc:
            raise StorageError(f"cannot reach the database {redact(self.url)}: {exc}") from exc
        self._opened = True

    def fetch(self, query: str, params: Any) -> list[tuple[Any, ...]]:
        with self.connection() as conn:
            return conn.execute(query.encode(), params).fetchall()

    def execute(self, query: str, params: Any) -> int:
        with self.connection() as conn:
            return conn.execute(query.encode(), params).rowcount

    def schema_version(self) -> int:
        with self.connection() as conn:
            return schema.applied(conn)

    def migrate(self, target: int = schema.SCHEMA_VERSION) -> tuple[int, list[int]]:
        """Apply the migrations up to `target` (`qa db migrate`), on a connection of its own:
        the pool refuses a database whose schema is behind. Returns (version now, applied)."""
        try:
            with psycopg.connect(self.url, autocommit=True, connect_timeout=30) as conn:
                done = schema.migrate(conn, target)
                return schema.applied(conn), done
        except psycopg.Error as exc:
            raise StorageError(f"cannot migrate {redact(self.url)}: {exc}") from exc

    def close(self) -> None:
        self._pool.close()
        self._opened = False

    # -- versions -------------------------------------------------------------------------
    def current(self) -> str | None:
        rows = self.fetch("SELECT name FROM qa_versions ORDER BY id DESC LIMIT 1", ())
        return str(rows[0][0]) if rows else None

    def manifest(self) -> Manifest:
        with self.connection() as conn:
            return self._manifest(conn)[1]

    def _manifest(self, conn: Conn) -> tuple[str, Manifest]:
        row = conn.execute(
            "SELECT name, manifest::text FROM qa_versions ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            raise IndexMissing(
                f"no index in the database {redact(self.url)}: build one with `qa index build`"
            )
        name, text = row
        fmt = json.loads(text).get("format")
        if fmt not in READABLE_FORMATS:
            raise IndexIncompatible(
                f"index in the database has format {fmt!r}: rebuild it with `qa index build`"
            )
        return name, Manifest.from_json(text, f"database version {name}")

    def load(
        self, *, reuse: IndexData | None = None, known: Mapping[str, DocPart] | None = None
    ) -> IndexData:
        have: dict[str, DocPart] = {**(reuse.parts if reuse else {}), **(known or {})}
        with self.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            name, manifest = self._manifest(conn)
            names = [manifest.documents[d].segment for d in sorted(manifest.documents)]
            keys = dict(
                conn.execute(
                    "SELECT name, key FROM qa_documents WHERE name = ANY(%s)", (names,)
                ).fetchall()
            )
            missing = [n for n in names if n not in have or n not in keys]
            if missing:
                rows = conn.execute(
                    f"SELECT {DOC_COLUMNS} FROM qa_documents WHERE name = ANY(%s)".encode(),
                    (missing,),
                ).fetchall()
                have.update({row[0]: part_of_row(row) for row in rows})
        parts: list[tuple[str, DocPart]] = []
        for doc_id in sorted(manifest.documents):
            entry = manifest.documents[doc_id]
            part = have.get(entry.segment)
            if part is None or entry.segment not in keys:
                raise StorageError(
                    f"{doc_id}: its stored records ({entry.segment}) are missing from the "
                    "database: run `qa index update` to re-index it"
                )
            if part.doc_id != doc_id or part.sha256 != entry.sha256:
                raise StorageError(
                    f"stored document {entry.segment} holds {part.doc_id!r}, not {doc_id!r} "
                    "at the hash the manifest records: run `qa index update` to re-index it"
                )
            parts.append((entry.segment, part))
        return self._assemble(name, manifest, parts, keys)

    def _assemble(
        self,
        name: str,
        manifest: Manifest,
        parts: Sequence[tuple[str, DocPart]],
        keys: Mapping[str, int],
    ) -> IndexData:
        dim = manifest.dim
        chunks: list[Chunk] = []
        sentences: list[Sentence] = []
        texts: list[str] = []
        question_chunks: list[list[int]] = []
        for _, part in parts:
            off = len(chunks)
            chunks.extend(segment.chunk_at(c, c.id + off) for c in part.chunks)
            sentences.extend(segment.sentence_in(s, s.chunk_id + off) for s in part.sentences)
            texts.extend(part.sentence_texts)
            question_chunks.extend([i + off for i in q] for q in part.question_chunks)
        doc_keys = [keys[n] for n, _ in parts]
        return IndexData(
            manifest=manifest.model_copy(update={"version": name}),
            chunks=chunks,
            sentences=sentences,
            sentence_texts=texts,
            sentence_vectors=segment.concat([p.sentence_vectors for _, p in parts], dim),
            context_vectors=segment.concat([p.context_vectors for _, p in parts], dim),
            chunk_store=PgVectors(
                self, "qa_chunks", dim, doc_keys, [len(p.chunks) for _, p in parts]
            ),
            question_store=PgVectors(
                self, "qa_questions", dim, doc_keys, [len(p.question_chunks) for _, p in parts]
            ),
            question_chunks=question_chunks,
            sparse=SparseIndex.from_tokens([t for _, p in parts for t in p.tokens]),
            version=name,
            parts={n: _slim(p) for n, p in parts},
        )

    def has_document(self, entry: DocEntry) -> bool:
        rows = self.fetch("SELECT size FROM qa_documents WHERE name = %s", (entry.segment,))
        return bool(rows) and (entry.size == 0 or int(rows[0][0]) == entry.size)

    def verify(self) -> list[str]:
        manifest = self.manifest()
        rows = self.fetch(
            "SELECT d.name, (SELECT count(*) FROM qa_chunks c WHERE c.doc_key = d.key),"
            " (SELECT count(*) FROM qa_questions q WHERE q.doc_key = d.key)"
            " FROM qa_documents d WHERE d.name = ANY(%s)",
            ([e.segment for e in manifest.documents.values()],),
        )
        found = {str(n): (int(c), int(q)) for n, c, q in rows}
        problems = []
        for doc_id, entry in sorted(manifest.documents.items()):
            counts = found.get(entry.segment)
            if counts is None:
                problems.append(f"{doc_id}: stored document {entry.segment} is missing")
            elif counts != (entry.chunks, entry.questions):
                problems.append(f"{doc_id}: stored document {entry.segment} is damaged")
        return problems

    def write_document(self, part: DocPart) -> tuple[str, int]:
        name, data = segment.encode(part)
        with self.connection() as conn, conn.transaction():
            self.write_in(conn, part, name, len(data))
        return name, len(data)

    def write_in(self, conn: Conn, part: DocPart, name: str, size: int) -> None:
        """Store `part` as `name` within the caller's transaction (unless it is stored)."""
        dim = int(part.chunk_vectors.shape[1]) if part.chunk_vectors.ndim == 2 else 0
        self._ensure_hnsw(conn, dim)
        canonical, binary = self._canonical(part)
        records = {
            "chunks": [[getattr(c, f) for f in CHUNK_FIELDS] for c in part.chunks],
            "sentences": [[getattr(s, f) for f in SENTENCE_FIELDS] for s in part.sentences],
            "sentence_texts": list(part.sentence_texts),
            "question_chunks": [list(q) for q in part.question_chunks],
            "tokens": list(part.tokens),
        }
        row = conn.execute(
            "INSERT INTO qa_documents (name, doc_id, sha256, dim, records, canonical,"
            " binary_source, sentence_vectors, context_vectors, text_keys, size)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (name) DO NOTHING RETURNING key",
            (
                name, part.doc_id, part.sha256, dim, Jsonb(records), canonical, binary,
                _blob(part.sentence_vectors), _blob(part.context_vectors), part.text_keys, size,
            ),
        ).fetchone()  # fmt: skip
        if row is None:
            return  # stored already (by us earlier, or by another writer)
        key = int(row[0])
        with conn.cursor() as cur:
            with cur.copy(
                "COPY qa_chunks (doc_key, local, dim, speaker, date, start_off, end_off,"
                " embedding) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int8", "int4", "int4", "text", "text", "int4", "int4", "vector"])
                for c, v in zip(part.chunks, part.chunk_vectors, strict=True):
                    copy.write_row((key, c.id, dim, c.speaker, c.date, c.start, c.end, v))
            with cur.copy(
                "COPY qa_questions (doc_key, local, dim, embedding) FROM STDIN WITH (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["int8", "int4", "int4", "vector"])
                for i, v in enumerate(part.question_vectors):
                    copy.write_row((key, i, dim, v))

    def _canonical(self, part: DocPart) -> tuple[str | None, bool]:
        """The canonical text to keep with the document: a .docx/.pdf/.html's extracted text; a text
        format's file, if it still has the content hash it was indexed at (replicas on other
        hosts then quote from the table, not from a folder they may not share)."""
        if part.text is not None:
            return part.text, True
        if self._source_dir is None:
            return None, False
        try:
            text = read_source_text(self._source_dir / part.doc_id)
        except (QAError, OSError):
            return None, False
        ok = hashlib.sha256(text.encode("utf-8")).hexdigest() == part.sha256
        return (text if ok else None), False

    def _ensure_hnsw(self, conn: Conn, dim: int) -> None:
        """An HNSW index per table for vectors of `dim` (partial, on a cast: a column of one
        dimension could not hold another model's vectors)."""
        for table in ("qa_chunks", "qa_questions"):
            if (table, dim) in self._hnsw or dim <= 0:
                continue
            name = f"{table}_hnsw_{dim}"
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
            if not (exists and exists[0]):
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (schema.INDEX_LOCK,))
                    conn.execute(
                        f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING hnsw"
                        f" ((embedding::vector({dim})) vector_ip_ops)"
                        f" WITH (m = {int(self.hnsw_m)},"
                        f" ef_construction = {int(self.hnsw_ef_construction)})"
                        f" WHERE dim = {dim}".encode()
                    )
            self._hnsw.add((table, dim))

    def save(self, manifest: Manifest) -> str:
        with self.connection() as conn, conn.transaction():
            (number,) = conn.execute("SELECT nextval('qa_versions_id_seq')").fetchone() or (0,)
            name = f"{int(number):06d}-" + time.strftime("%Y%m%dT%H%M%S")
            body = manifest.model_copy(update={"version": name}).to_json().decode()
            conn.execute(
                "INSERT INTO qa_versions (id, name, manifest) VALUES (%s, %s, %s::jsonb)",
                (number, name, body),
            )
        self._prune()
        return name

    def _prune(self) -> None:
        # A reader loading an older version reads one snapshot: deleting it cannot tear it.
        with self.connection() as conn, conn.transaction():
            conn.execute(
                "DELETE FROM qa_versions WHERE id NOT IN"
                " (SELECT id FROM qa_versions ORDER BY id DESC LIMIT %s)",
                (KEEP_VERSIONS,),
            )
        self.collect()

    def recover(self) -> list[str]:
        return []  # every write is a transaction: a crash leaves nothing to remove

    def referenced(self, conn: Conn) -> str:
        """SQL for the names a kept version or an open indexing run names."""
        del conn
        return (
            "SELECT e.value->>'segment' FROM qa_versions v,"
            " jsonb_each(v.manifest->'documents') e"
            " UNION SELECT j.name FROM qa_jobs j JOIN qa_runs r ON r.id = j.run"
            " WHERE r.state = 'open' AND j.name IS NOT NULL"
        )

    def collect(self) -> int:
        with self.connection() as conn:
            return conn.execute(
                f"DELETE FROM qa_documents WHERE name NOT IN ({self.referenced(conn)})".encode()
            ).rowcount

    def text_keys(self) -> set[bytes]:
        with self.connection() as conn:
            rows = conn.execute(
                f"SELECT text_keys FROM qa_documents WHERE name IN ({self.referenced(conn)})".encode()
            ).fetchall()
        return text_key_blocks((bytes(r[0]) for r in rows), segment.KEY_BYTES)

    def size_on_disk(self) -> int:
        if self.current() is None:
            return 0
        names = [e.segment for e in self.manifest().documents.values()]
        rows = self.fetch(
            "SELECT coalesce(sum(pg_column_size(d.*)), 0)"
            " + coalesce((SELECT sum(pg_column_size(c.*)) FROM qa_chunks c"
            "   JOIN qa_documents x ON x.key = c.doc_key WHERE x.name = ANY(%(n)s)), 0)"
            " + coalesce((SELECT sum(pg_column_size(q.*)) FROM qa_questions q"
            "   JOIN qa_documents x ON x.key = q.doc_key WHERE x.name = ANY(%(n)s)), 0)"
            " FROM qa_documents d WHERE d.name = ANY(%(n)s)",
            {"n": names},
        )
        return int(rows[0][0])

    def cache_bytes(self) -> int:
        return int(self.fetch("SELECT pg_total_relation_size('qa_embeddings')", ())[0][0])

    def lock(self, timeout: float) -> PgLock:
        return PgLock(self, timeout)

    def cache(self, model: str, dim: int) -> EmbeddingCache:
        return PgCache(self, model, dim)


class PgLock:
    """One writer at a time, across hosts: a session advisory lock on its own connection."""

    def __init__(self, store: PgStore, timeout: float) -> None:
        self._store = store
        self._timeout = timeout
        self._conn: Conn | None = None

    def __enter__(self) -> PgLock:
        self._store.schema_version()  # the schema checked before anything is written
        try:
            conn: Conn = psycopg.connect(self._store.url, autocommit=True)
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot reach the database {redact(self._store.url)}: {exc}"
            ) from exc
        deadline = time.monotonic() + self._timeout
        while True:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (schema.WRITER_LOCK,)).fetchone()
            if row and row[0]:
                break
            if time.monotonic() >= deadline:
                conn.close()
                raise IndexBusy(
                    "the index in the database is being updated by another process; "
                    "try again when it finishes"
                )
            time.sleep(0.05)
        self._conn = conn
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            self._conn.close()  # closing the session releases its advisory locks
            self._conn = None


def _blob(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


def _array(blob: bytes, dim: int) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4").reshape(-1, dim) if dim else np.zeros((0, 0), "<f4")


def part_of_row(row: tuple[Any, ...]) -> DocPart:
    """A document back from its `qa_documents` row (chunk and question vectors stay in the
    database: searches run there)."""
    _, _, doc_id, sha, dim, records_text, canonical, _, sv, cv, keys = row
    records = json.loads(records_text)
    empty = np.zeros((0, dim), dtype=np.float32)
    return DocPart(
        doc_id=doc_id,
        sha256=sha,
        chunks=tuple(Chunk(*r) for r in records["chunks"]),
        sentences=tuple(Sentence(*r) for r in records["sentences"]),
        sentence_texts=tuple(records["sentence_texts"]),
        chunk_vectors=empty,
        sentence_vectors=_array(bytes(sv), dim),
        context_vectors=_array(bytes(cv), dim),
        question_chunks=tuple(tuple(q) for q in records["question_chunks"]),
        question_vectors=empty,
        tokens=tuple(records["tokens"]),
        text_keys=bytes(keys),
        # The canonical text of every format: quotes are checked against it (qa.source).
        text=canonical,
    )


def _slim(part: DocPart) -> DocPart:
    """What a version keeps of a part for the next reload: no chunk or question vectors (they
    live in the database), whether it was just written or read."""
    if not len(part.chunk_vectors) and not len(part.question_vectors):
        return part
    empty = np.zeros((0, part.sentence_vectors.shape[1] if part.sentence_vectors.ndim == 2 else 0))
    return replace(part, chunk_vectors=empty, question_vectors=empty)


__all__ = ["LOCAL_BITS", "PgLock", "PgStore", "redact"]
