"""`qa db import index/` and `qa db export index/`: the live version moved between the files
backend and the database with its vectors (nothing is embedded again), and the embedding cache
with it. Each document is one transaction on the database side and one segment file on the
files side; the version switches at the end, so an interrupted transfer changes nothing live.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from qa.errors import IndexMissing, StorageError
from qa.models import TransferReport
from qa.store.files import CACHE_FILE, IndexDir
from qa.store.postgres.store import DOC_COLUMNS, PgStore, part_of_row
from qa.store.segment import DocPart

_CACHE_BATCH = 5_000


def import_files(db: PgStore, folder: Path, *, lock_timeout: float) -> TransferReport:
    start = time.perf_counter()
    files = IndexDir(folder)
    if files.current() is None:
        raise IndexMissing(f"no index in {folder} to import")
    manifest = files.manifest()
    with db.lock(lock_timeout):
        for entry in manifest.documents.values():
            part = files.read_segment(entry.segment)
            with db.connection() as conn, conn.transaction():
                db.write_in(conn, part, entry.segment, entry.size)
        _import_cache(db, folder / "cache" / CACHE_FILE)
        version = db.save(manifest)
    return TransferReport(
        len(manifest.documents), manifest.counts.chunks, version, time.perf_counter() - start
    )


def _import_cache(db: PgStore, path: Path) -> None:
    if not path.is_file():
        return
    try:
        src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = src.execute("SELECT key, vec FROM vectors")
        while batch := rows.fetchmany(_CACHE_BATCH):
            db.execute(
                "INSERT INTO qa_embeddings (key, vec)"
                " SELECT * FROM unnest(%s::bytea[], %s::bytea[]) ON CONFLICT (key) DO NOTHING",
                ([bytes(k) for k, _ in batch], [bytes(v) for _, v in batch]),
            )
        src.close()
    except sqlite3.Error as exc:
        raise StorageError(f"cannot read the embedding cache {path}: {exc}") from exc


def export_files(db: PgStore, folder: Path, *, lock_timeout: float) -> TransferReport:
    start = time.perf_counter()
    manifest = db.manifest()
    files = IndexDir(folder)
    documents = dict(manifest.documents)
    with files.lock(lock_timeout):
        files.recover()
        for doc_id, entry in manifest.documents.items():
            name, size = files.write_document(read_full(db, entry.segment))
            documents[doc_id] = entry.model_copy(update={"segment": name, "size": size})
        version = files.save(manifest.model_copy(update={"documents": documents}))
    return TransferReport(
        len(documents), manifest.counts.chunks, version, time.perf_counter() - start
    )


def read_full(db: PgStore, name: str) -> DocPart:
    """A stored document with its chunk and question vectors, as the files backend writes it
    (a text format's canonical text is its file there, not part of the segment)."""
    rows = db.fetch(f"SELECT {DOC_COLUMNS} FROM qa_documents WHERE name = %s", (name,))
    if not rows:
        raise StorageError(f"stored document {name} is missing from the database")
    row = rows[0]
    part = part_of_row(row)
    key, dim, binary = int(row[1]), int(row[4]), bool(row[7])

    def vectors(table: str) -> np.ndarray:
        got = db.fetch(f"SELECT embedding FROM {table} WHERE doc_key = %s ORDER BY local", (key,))
        if not got:
            return np.zeros((0, dim), dtype=np.float32)
        return np.vstack([np.asarray(v.to_numpy(), dtype=np.float32) for (v,) in got])

    return replace(
        part,
        chunk_vectors=vectors("qa_chunks"),
        question_vectors=vectors("qa_questions"),
        text=part.text if binary else None,
    )
