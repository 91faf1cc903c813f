"""The source folder: only transcripts the index reads can be written or deleted, atomically."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

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


def _age(*folders: Path) -> None:
    """Make the folders' mtimes an hour old: settled, so a listing of them may be kept."""
    old = time.time_ns() - 3600 * 10**9
    for f in folders:
        os.utime(f, ns=(old, old))


def test_names_follow_every_change_without_listing_an_unchanged_folder(
    folder: SourceFolder, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = folder.root
    (root / "sub").mkdir()
    (root / "a.txt").write_bytes(TEXT)
    (root / "sub" / "b.txt").write_bytes(TEXT)
    _age(root, root / "sub")
    listings = []
    real = qa.source.candidate_set
    monkeypatch.setattr(qa.source, "candidate_set", lambda r: listings.append(r) or real(r))
    assert folder.names() == {"a.txt", "sub/b.txt"}
    assert folder.names() == {"a.txt", "sub/b.txt"} and len(listings) == 1  # kept
    (root / "sub" / "c.txt").write_bytes(TEXT)  # a change in a subfolder
    assert folder.names() == {"a.txt", "sub/b.txt", "sub/c.txt"}
    (root / "a.txt").rename(root / "d.txt")
    assert folder.names() == {"d.txt", "sub/b.txt", "sub/c.txt"}
    # Just changed, the folders' mtimes are not trusted yet: each call lists them again.
    before = len(listings)
    folder.names()
    assert len(listings) == before + 1
    _age(root, root / "sub")
    folder.names()
    (root / "sub" / "b.txt").unlink()
    assert folder.names() == {"d.txt", "sub/c.txt"}
