"""Persistence behind two contracts (qa.store.base): `IndexStore` for versions of the index and
`VectorIndex` for searchable vectors. `open_store` picks the backend: the files under `index/`
(qa.store.files, FAISS) by default, PostgreSQL + pgvector (qa.store.postgres) when
`QA_STORE` / `--store` is a `postgresql://` URL."""

from __future__ import annotations

from dataclasses import dataclass

from qa.errors import InvalidInput
from qa.settings import Settings
from qa.store.base import IndexData, IndexStore, VectorIndex
from qa.store.manifest import FORMAT_VERSION, DocEntry, Manifest
from qa.store.queue import WorkQueue

__all__ = [
    "FORMAT_VERSION",
    "Backend",
    "DocEntry",
    "IndexData",
    "IndexStore",
    "Manifest",
    "VectorIndex",
    "describe",
    "open_store",
    "work_queue",
]

DATABASE_SCHEMES = ("postgresql://", "postgres://")


def open_store(settings: Settings) -> IndexStore:
    """The store the settings name: `store` (a database URL) if set, else the index folder."""
    url = settings.store
    if not url:
        from qa.store.files import IndexDir

        return IndexDir(settings.index_dir, hole_share=settings.indexing.hole_share)
    if not url.startswith(DATABASE_SCHEMES):
        raise InvalidInput(
            "QA_STORE / --store must be a postgresql:// URL (unset: the files in QA_INDEX_DIR)"
        )
    try:
        from qa.store.postgres import PgStore
    except ImportError as exc:
        raise InvalidInput(
            f"QA_STORE names a database but its driver is missing ({exc.name}): "
            "pip install 'psycopg[binary]' psycopg-pool pgvector"
        ) from exc
    pg = settings.postgres
    return PgStore(
        url,
        source_dir=settings.source_dir,
        pool_size=pg.pool_size,
        ef_search=pg.ef_search,
        hnsw_m=pg.hnsw_m,
        hnsw_ef_construction=pg.hnsw_ef_construction,
    )


@dataclass(frozen=True, slots=True)
class Backend:
    """Which backend a store is, for /health: `files` or `postgresql`, and the schema version."""

    name: str
    schema: int | None = None


def describe(store: IndexStore) -> Backend:
    name = getattr(store, "backend", "files")
    if name == "files":
        return Backend("files")
    schema_version = getattr(store, "schema_version", None)
    return Backend(str(name), schema_version() if callable(schema_version) else None)


def work_queue(store: IndexStore) -> WorkQueue | None:
    """The store's work queue for parallel indexing (qa.work), None if it has none (files)."""
    if getattr(store, "backend", "files") != "postgresql":
        return None
    from qa.store.postgres.queue import PgQueue
    from qa.store.postgres.store import PgStore

    return PgQueue(store) if isinstance(store, PgStore) else None
