"""PostgreSQL + pgvector as the store (QA_STORE=postgresql://…): the same two contracts as the
files backend (qa.store.base), tables instead of files, and a work queue that lets several
indexing processes share an update (qa.store.postgres.queue). docs/deploy.md runs it."""

from __future__ import annotations

from qa.store.postgres.schema import SCHEMA_VERSION, migrate
from qa.store.postgres.store import PgStore

__all__ = ["SCHEMA_VERSION", "PgStore", "migrate"]
