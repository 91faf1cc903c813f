"""Embedding cache: sha256(model + text) → vector, in one SQLite table under `index/cache/`.

Re-adding a text the index has seen before (an unchanged chunk of a changed document, a document
deleted and added back, a rebuild, an update that crashed half-way) costs a lookup, not a forward
pass. SQLite commits are atomic, so a crash loses at most the batch being written.

Vectors are kept as float16, as segments store them (qa.store.segment): half the bytes, and a
vector read from the cache is exactly what a segment would hold. Entries written as float32
before are still read.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from qa.errors import StorageError

_BATCH = 500  # SQLite's bound-parameter limit is 999 on old builds


def text_key(model: str, text: str) -> bytes:
    return hashlib.sha256(f"{model}\0{text}".encode()).digest()


class EmbeddingCache:
    def __init__(self, path: Path, model: str, dim: int) -> None:
        self.path = path
        self.model = model
        self.dim = dim
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=60, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL)"
                " WITHOUT ROWID"
            )
            # The number of entries, kept up to date by every write: counting a WITHOUT ROWID
            # table reads all of it (2 GB at 10,000 interviews), and updates check it each time.
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
            )
            self._db.commit()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the embedding cache {path}: {exc}") from exc

    def get_many(self, texts: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors among `texts`."""
        keys = {text_key(self.model, t): t for t in texts}
        found: dict[str, np.ndarray] = {}
        items = list(keys)
        half, full = self.dim * 2, self.dim * 4
        try:
            for at in range(0, len(items), _BATCH):
                part = items[at : at + _BATCH]
                rows = self._db.execute(
                    f"SELECT key, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})",
                    part,
                ).fetchall()
                for key, blob in rows:
                    if len(blob) == half:
                        found[keys[key]] = np.frombuffer(blob, dtype="<f2").astype(np.float32)
                    elif len(blob) == full:
                        found[keys[key]] = np.frombuffer(blob, dtype="<f4")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the embedding cache {self.path}: {exc}") from exc
        return found

    def put_many(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        rows = [
            (text_key(self.model, t), np.ascontiguousarray(v, dtype="<f2").tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        try:
            with self._db:
                # A key names one model's vector of one text: one already there is the same.
                added = self._db.executemany(
                    "INSERT OR IGNORE INTO vectors VALUES (?, ?)", rows
                ).rowcount
                self._db.execute(
                    "UPDATE meta SET value = value + ? WHERE name = 'count'", (max(added, 0),)
                )
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write the embedding cache {self.path}: {exc}") from exc

    def prune(self, keep: set[bytes], vacuum: bool = True) -> int:
        """Delete every entry whose key is not in `keep`; returns how many went.

        `keep` is the keys of the texts kept versions were built from (segments record them), so
        what goes is text no kept version uses: deleted documents, old chunkings, other models.
        VACUUM then gives the space back to the file system (SQLite only reuses it otherwise).
        """
        try:
            with self._db:
                self._db.execute("CREATE TEMP TABLE IF NOT EXISTS keep (key BLOB PRIMARY KEY)")
                self._db.execute("DELETE FROM keep")
                self._db.executemany("INSERT OR IGNORE INTO keep VALUES (?)", ((k,) for k in keep))
                gone = self._db.execute(
                    "DELETE FROM vectors WHERE key NOT IN (SELECT key FROM keep)"
                ).rowcount
                self._db.execute("DELETE FROM keep")
                self._db.execute("UPDATE meta SET value = value - ? WHERE name = 'count'", (gone,))
            if gone and vacuum:
                self._db.execute("VACUUM")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot prune the embedding cache {self.path}: {exc}") from exc
        return int(gone)

    def __len__(self) -> int:
        try:
            row = self._db.execute("SELECT value FROM meta WHERE name = 'count'").fetchone()
            if row is None:  # a cache written before the count was kept: counted once
                with self._db:
                    row = self._db.execute("SELECT count(*) FROM vectors").fetchone()
                    self._db.execute("INSERT INTO meta VALUES ('count', ?)", (int(row[0]),))
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read the embedding cache {self.path}: {exc}") from exc
        return int(row[0])

    def close(self) -> None:
        self._db.close()
