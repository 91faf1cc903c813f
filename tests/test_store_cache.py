"""qa.store.cache: the entry count is kept by every write (no table scan), exact through puts
of known texts, prunes, and for a cache written before the count was kept."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from qa.store.cache import EmbeddingCache, text_key


def vectors(n: int) -> np.ndarray:
    return np.random.default_rng(n).standard_normal((n, 8)).astype(np.float32)


def counted(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM vectors").fetchone()[0])


def test_the_count_follows_puts_and_prunes(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    cache = EmbeddingCache(path, "m", 8)
    assert len(cache) == 0
    cache.put_many(["a", "b", "c"], vectors(3))
    cache.put_many(["b", "c", "d"], vectors(3))  # two already there
    assert len(cache) == 4 == counted(path)
    gone = cache.prune({text_key("m", "a"), text_key("m", "d")})
    assert gone == 2 and len(cache) == 2 == counted(path)
    cache.close()
    again = EmbeddingCache(path, "m", 8)  # kept in the file
    assert len(again) == 2 and set(again.get_many(["a", "b", "d"])) == {"a", "d"}


def test_a_cache_without_a_count_is_counted_once(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:  # as qa wrote it before keeping the count
        db.execute("CREATE TABLE vectors (key BLOB PRIMARY KEY, vec BLOB NOT NULL) WITHOUT ROWID")
        db.executemany(
            "INSERT INTO vectors VALUES (?, ?)",
            [(text_key("m", t), vectors(1)[0].astype("<f2").tobytes()) for t in "xyz"],
        )
    cache = EmbeddingCache(path, "m", 8)
    assert len(cache) == 3
    cache.put_many(["x", "w"], vectors(2))
    assert len(cache) == 4 == counted(path)
