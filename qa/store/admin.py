"""What `qa db …` does to a store: migrations, import from and export to the files backend.
The service (qa.dbadmin) calls these; for the files backend they say what to set instead."""

from __future__ import annotations

from pathlib import Path

from qa.errors import InvalidInput
from qa.models import SchemaReport, TransferReport
from qa.store.base import IndexStore


def _database(store: IndexStore, command: str) -> object:
    from qa.store.postgres.store import PgStore

    if not isinstance(store, PgStore):
        raise InvalidInput(f"`qa db {command}` needs a database: set QA_STORE or --store")
    return store


def migrate(store: IndexStore, target: int | None = None) -> SchemaReport:
    from qa.store.postgres.schema import SCHEMA_VERSION
    from qa.store.postgres.store import PgStore

    db = _database(store, "migrate")
    assert isinstance(db, PgStore)
    now, done = db.migrate(SCHEMA_VERSION if target is None else target)
    return SchemaReport("postgresql", now, SCHEMA_VERSION, tuple(done))


def import_files(store: IndexStore, folder: Path, *, lock_timeout: float) -> TransferReport:
    from qa.store.postgres.store import PgStore
    from qa.store.postgres.transfer import import_files as run

    db = _database(store, "import")
    assert isinstance(db, PgStore)
    return run(db, folder, lock_timeout=lock_timeout)


def export_files(store: IndexStore, folder: Path, *, lock_timeout: float) -> TransferReport:
    from qa.store.postgres.store import PgStore
    from qa.store.postgres.transfer import export_files as run

    db = _database(store, "export")
    assert isinstance(db, PgStore)
    return run(db, folder, lock_timeout=lock_timeout)
