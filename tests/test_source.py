"""The source folder: only transcripts the index reads can be written or deleted, atomically."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import qa.ingest
import qa.source
from qa.errors import BadUpload, NotFound
from qa.source import UPLOAD_PREFIX, SourceFolder

TEXT = b"Alice:\nWhere is the cat?\nBob:\nOn the mat.\n"


@pytest.fixture
def folder(tmp_path: Path) -> SourceFolder:
    (tmp_path / "SOURCE.md").write_text("where these came from\n", encoding="utf-8")
    (tmp_path / "talk.meta.json").write_text('{"title": "T"}', encoding="utf-8")
    return SourceFolder(tmp_path, max_upload_bytes=10_000)


@pytest.mark.parametrize(
    "name", ["SOURCE.md", "README.txt", "readme.md", "LICENSE.txt", "talk.meta.json"]
)
def test_notes_and_sidecars_cannot_be_uploaded(folder: SourceFolder, name: str) -> None:
    with pytest.raises(BadUpload, match="not a transcript"):
        folder.check_upload(name, TEXT)


@pytest.mark.parametrize(
    "doc_id", ["SOURCE.md", "talk.meta.json", "LICENSE", "../x.txt", "/etc/x.txt", ".hidden.txt"]
)
def test_only_transcripts_can_be_deleted(folder: SourceFolder, doc_id: str) -> None:
    with pytest.raises(NotFound):
        folder.delete(doc_id)
    assert (folder.root / "SOURCE.md").exists() and (folder.root / "talk.meta.json").exists()


def test_write_is_atomic_and_undoable(folder: SourceFolder) -> None:
    first = folder.write("a.txt", TEXT)
    assert (folder.root / "a.txt").read_bytes() == TEXT
    assert not list(folder.root.glob(f"{UPLOAD_PREFIX}*"))
    second = folder.write("a.txt", b"Alice:\nChanged.\n")
    folder.undo(second)
    assert (folder.root / "a.txt").read_bytes() == TEXT  # back to what it was
    folder.undo(first)
    assert not (folder.root / "a.txt").exists()  # it did not exist before


def test_delete_is_undoable(folder: SourceFolder) -> None:
    folder.write("a.txt", TEXT)
    undo = folder.delete("a.txt")
    assert not (folder.root / "a.txt").exists()
    folder.undo(undo)
    assert (folder.root / "a.txt").read_bytes() == TEXT
    assert folder.delete("never.txt") is None


def test_a_folder_named_like_a_transcript_is_not_found(folder: SourceFolder) -> None:
    (folder.root / "x.txt").mkdir()
    with pytest.raises(NotFound):
        folder.delete("x.txt")


def test_names_follow_every_change_without_listing_an_unchanged_folder(
    folder: SourceFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = folder.root
    (root / "sub").mkdir()
    (root / "a.txt").write_bytes(TEXT)
    (root / "sub" / "b.txt").write_bytes(TEXT)
    monkeypatch.setattr(qa.source, "SETTLED_NS", 0)  # stamps count as settled at once
    listings = []
    real = qa.source.candidate_set
    monkeypatch.setattr(qa.source, "candidate_set", lambda r: listings.append(r) or real(r))
    assert folder.names() == {"a.txt", "sub/b.txt"}
    assert folder.names() == {"a.txt", "sub/b.txt"} and len(listings) == 1  # kept
    (root / "sub" / "c.txt").write_bytes(TEXT)  # a change in a subfolder
    assert folder.names() == {"a.txt", "sub/b.txt", "sub/c.txt"}
    (root / "a.txt").rename(root / "d.txt")
    assert folder.names() == {"d.txt", "sub/b.txt", "sub/c.txt"}
    # A tool that restores the folder's mtime (rsync -a, tar x) cannot restore its ctime.
    before = os.stat(root / "sub").st_mtime_ns
    (root / "sub" / "b.txt").unlink()
    os.utime(root / "sub", ns=(before, before))
    assert folder.names() == {"d.txt", "sub/c.txt"}
    # Stamps younger than SETTLED_NS are not trusted: each call lists the folder again.
    monkeypatch.setattr(qa.source, "SETTLED_NS", 3600 * 10**9)
    (root / "e.txt").write_bytes(TEXT)
    before_calls = len(listings)
    assert folder.names() == folder.names() == {"d.txt", "e.txt", "sub/c.txt"}
    assert len(listings) == before_calls + 2


def test_a_folder_that_failed_to_list_is_listed_again(
    folder: SourceFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = folder.root
    (root / "sub").mkdir()
    (root / "sub" / "b.txt").write_bytes(TEXT)
    monkeypatch.setattr(qa.source, "SETTLED_NS", 0)
    real = os.scandir

    def failing(path: str) -> object:
        if path.endswith("sub"):
            raise OSError(24, "Too many open files")
        return real(path)

    monkeypatch.setattr(qa.ingest.os, "scandir", failing)
    assert folder.names() == set()  # skipped, with a warning
    monkeypatch.setattr(qa.ingest.os, "scandir", real)
    assert folder.names() == {"sub/b.txt"}  # nothing changed on disk, but it is seen now


def test_a_symlinked_transcript_is_followed_to_its_target(
    folder: SourceFolder, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    target = tmp_path_factory.mktemp("elsewhere") / "t.txt"
    target.write_bytes(TEXT)
    (folder.root / "link.txt").symlink_to(target)
    monkeypatch.setattr(qa.source, "SETTLED_NS", 0)
    assert "link.txt" in folder.names()
    target.unlink()  # no folder of the source changes
    assert "link.txt" not in folder.names()
