"""A scan reads only the files whose stamp changed since their hash was taken (qa.ingest.stamps)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from fakes import HashEmbedder

from qa.ingest import source_hash
from qa.ingest.stamps import STAMPS_FILE, FileStamps
from qa.service import QAService
from qa.settings import IndexingSettings, Settings
from qa.update import scan_sources

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
LATER = -(10**12)  # racy_ns: as if every hash had been taken long after the file was last touched


class Counting:
    def __init__(self) -> None:
        self.read: list[str] = []

    def __call__(self, path: Path) -> str:
        self.read.append(path.name)
        return source_hash(path)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_a_settled_unchanged_file_is_not_read_again_even_by_another_process(
    tmp_path: Path,
) -> None:
    f = write(tmp_path / "a.txt", "Q: one?\nA: two.\n")
    table = tmp_path / "index" / STAMPS_FILE
    table.parent.mkdir()
    count = Counting()
    first = FileStamps(table, racy_ns=LATER)
    h = first.hash("a.txt", f, count)
    first.save()
    again = FileStamps(table, racy_ns=LATER)  # a new process: the table was persisted
    assert again.hash("a.txt", f, count) == h
    assert count.read == ["a.txt"]


def test_a_same_size_edit_with_its_old_mtime_put_back_is_read(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", "Q: one?\nA: two.\n")
    before = f.stat()
    stamps = FileStamps(tmp_path / STAMPS_FILE, racy_ns=LATER)
    old = stamps.hash("a.txt", f, source_hash)
    stamps.save()
    write(f, "Q: one?\nA: six.\n")  # same size
    os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))  # `touch -d`, `cp -p`
    assert f.stat().st_size == before.st_size and f.stat().st_mtime_ns == before.st_mtime_ns
    new = FileStamps(tmp_path / STAMPS_FILE, racy_ns=LATER).hash("a.txt", f, source_hash)
    assert new != old and new == source_hash(f)


def test_a_file_hashed_right_after_a_write_is_read_again(tmp_path: Path) -> None:
    """With the default window: a write in the same clock tick could leave the stamp as it was."""
    f = write(tmp_path / "a.txt", "Q: one?\nA: two.\n")
    count = Counting()
    first = FileStamps(tmp_path / STAMPS_FILE)
    first.hash("a.txt", f, count)
    first.save()
    FileStamps(tmp_path / STAMPS_FILE).hash("a.txt", f, count)
    assert count.read == ["a.txt", "a.txt"]


def test_a_damaged_table_is_ignored_and_rewritten(tmp_path: Path) -> None:
    f = write(tmp_path / "a.txt", "Q: one?\nA: two.\n")
    table = write(tmp_path / STAMPS_FILE, '{"format": 1, "files": {"a.txt": [1, 2')
    count = Counting()
    stamps = FileStamps(table, racy_ns=LATER)
    assert stamps.hash("a.txt", f, count) == source_hash(f)
    stamps.save()
    assert json.loads(table.read_text())["files"]["a.txt"][4] == source_hash(f)
    write(table, '{"format": 1, "files": {"a.txt": "nonsense"}}')
    assert FileStamps(table, racy_ns=LATER).hash("a.txt", f, count) == source_hash(f)
    assert count.read == ["a.txt", "a.txt"]


def test_a_scan_with_stamps_equals_one_without_and_forgets_deleted_files(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(SEEDS, src)
    talk = write(src / "talk.txt", "Interviewer: Why?\n\nGuest: Because.\n")
    write(src / "talk.meta.json", '{"title": "A talk"}')
    table = tmp_path / STAMPS_FILE
    plain = scan_sources(src)
    assert plain[0]["talk.txt"][1] is not None  # the sidecar's hash
    assert scan_sources(src, FileStamps(table, racy_ns=LATER)) == plain
    assert scan_sources(src, FileStamps(table, racy_ns=LATER)) == plain  # from the table
    write(src / "talk.meta.json", '{"title": "Another"}')
    talk.unlink()
    write(src / "other.txt", "Interviewer: Why?\n\nGuest: Because.\n")
    write(src / "other.meta.json", '{"title": "Another"}')
    after = scan_sources(src, FileStamps(table, racy_ns=LATER))
    assert after == scan_sources(src)
    assert "talk.txt" not in after[0] and after[0]["other.txt"][1] is not None
    kept = json.loads(table.read_text())["files"]
    assert "talk.txt" not in kept and "talk.meta.json" not in kept and "other.txt" in kept


@pytest.mark.parametrize("mode", ["stamps", "content"])
def test_an_update_keeps_the_table_unless_told_to_hash_every_file(
    tmp_path: Path, mode: str
) -> None:
    shutil.copytree(SEEDS, tmp_path / "src")
    settings = Settings(
        source_dir=tmp_path / "src",
        index_dir=tmp_path / "index",
        reload_interval=-1,
        indexing=IndexingSettings(scan=mode),  # type: ignore[arg-type]
    )
    service = QAService(settings, embedder=HashEmbedder())
    service.update()
    table = tmp_path / "index" / STAMPS_FILE
    assert table.is_file() == (mode == "stamps")
    write(tmp_path / "src" / "new.txt", "Interviewer: Why?\n\nGuest: Because it rained.\n")
    assert service.pending_changes()["added"] == ["new.txt"]
    assert service.update().added == 1
    assert service.pending_changes() == {"added": [], "removed": [], "changed": []}
