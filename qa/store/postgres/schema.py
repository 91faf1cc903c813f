"""The database schema, as numbered migrations applied in order by `qa db migrate`.

`qa_schema` records which ones a database has. A store refuses a database whose schema is older
than this code's (`qa db migrate` first: replicas of the old code may still be running), creates
the schema in an empty one, and refuses a newer one (an older qa must not write it).

Migrations only ever add: a migration applied to a live database must not break the replicas
still running the previous code until they are restarted.
"""

from __future__ import annotations

import psycopg

from qa.errors import IndexIncompatible

# One advisory lock key per purpose (any constant; they share PostgreSQL's one key space).
MIGRATE_LOCK = 0x5141_0001
WRITER_LOCK = 0x5141_0002
INDEX_LOCK = 0x5141_0003

MIGRATIONS: tuple[str, ...] = (
    # 1: documents, their chunk and question vectors, versions, the embedding cache.
    """
    CREATE EXTENSION IF NOT EXISTS vector;
    CREATE TABLE qa_documents (
        key bigserial PRIMARY KEY,
        name text NOT NULL UNIQUE,        -- the files backend's segment name: same content, same name
        doc_id text NOT NULL,
        sha256 text NOT NULL,             -- of the canonical text
        dim int NOT NULL,
        records jsonb NOT NULL,           -- chunks, sentences, texts, question keys, BM25 tokens
        canonical text,                   -- the text every offset refers to (NULL: not known)
        binary_source boolean NOT NULL,   -- .docx/.pdf: `canonical` is the extracted text
        sentence_vectors bytea NOT NULL,  -- float32, rows × dim: read whole, never searched in SQL
        context_vectors bytea NOT NULL,
        text_keys bytea NOT NULL,         -- embedding-cache keys of every text embedded for it
        size bigint NOT NULL,
        created timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX qa_documents_doc ON qa_documents (doc_id);
    CREATE TABLE qa_chunks (
        doc_key bigint NOT NULL REFERENCES qa_documents (key) ON DELETE CASCADE,
        local int NOT NULL,               -- the chunk's id within its document
        -- doc_key << 20 | local (qa.store.postgres.vectors): positions map to rows and back.
        cid bigint GENERATED ALWAYS AS (doc_key * 1048576 + local) STORED PRIMARY KEY,
        dim int NOT NULL,                 -- HNSW indexes are per dimension (partial, on a cast)
        speaker text,
        date text,
        start_off int NOT NULL,
        end_off int NOT NULL,
        embedding vector NOT NULL,
        UNIQUE (doc_key, local)
    );
    CREATE TABLE qa_questions (
        doc_key bigint NOT NULL REFERENCES qa_documents (key) ON DELETE CASCADE,
        local int NOT NULL,
        cid bigint GENERATED ALWAYS AS (doc_key * 1048576 + local) STORED PRIMARY KEY,
        dim int NOT NULL,
        embedding vector NOT NULL,
        UNIQUE (doc_key, local)
    );
    CREATE TABLE qa_versions (
        id bigserial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        manifest jsonb NOT NULL,
        created timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE qa_embeddings (key bytea PRIMARY KEY, vec bytea NOT NULL);
    """,
    # 2: the work queue of parallel indexing (qa.store.postgres.queue).
    """
    CREATE TABLE qa_runs (
        id bigserial PRIMARY KEY,
        base text,                        -- the version the run builds on (NULL: none)
        state text NOT NULL DEFAULT 'open',
        model text NOT NULL,
        chunking jsonb NOT NULL,
        keep jsonb NOT NULL,              -- doc id → manifest entry of the unchanged documents
        skipped jsonb NOT NULL,           -- doc id → why the scan could not index it
        created timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE qa_jobs (
        run bigint NOT NULL REFERENCES qa_runs (id) ON DELETE CASCADE,
        doc_id text NOT NULL,
        sha256 text NOT NULL,
        meta_sha256 text,
        state text NOT NULL DEFAULT 'todo',   -- todo, done, skipped
        name text,                            -- the stored document, once done
        size bigint,
        reason text,                          -- why it was skipped
        worker text,
        PRIMARY KEY (run, doc_id)
    );
    CREATE INDEX qa_jobs_todo ON qa_jobs (run) WHERE state = 'todo';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def applied(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The schema version of the database (0: none yet)."""
    row = conn.execute("SELECT to_regclass('qa_schema') IS NOT NULL").fetchone()
    if not row or not row[0]:
        return 0
    got = conn.execute("SELECT coalesce(max(version), 0) FROM qa_schema").fetchone()
    return int(got[0]) if got else 0  # type: ignore[call-overload]


def migrate(
    conn: psycopg.Connection[tuple[object, ...]], target: int = SCHEMA_VERSION
) -> list[int]:
    """Apply the migrations up to `target`, each in its own transaction; returns those applied.

    Under an advisory lock, so two processes migrating at once apply each migration once.
    """
    if not 0 <= target <= SCHEMA_VERSION:
        raise IndexIncompatible(f"no schema version {target} (this qa knows 1..{SCHEMA_VERSION})")
    done: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS qa_schema"
            " (version int PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"
        )
        have = applied(conn)
        if have > SCHEMA_VERSION:
            raise IndexIncompatible(
                f"the database has schema version {have}, this qa knows {SCHEMA_VERSION}: "
                "upgrade qa"
            )
        for number in range(have + 1, target + 1):
            with conn.transaction():
                conn.execute(MIGRATIONS[number - 1].encode())
                conn.execute("INSERT INTO qa_schema (version) VALUES (%s)", (number,))
            done.append(number)
    return done
