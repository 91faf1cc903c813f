"""Updates in a child process (what `qa serve` does): the change is served by the parent, the child
runs at a lower priority, and a child that dies fails only that update, changing nothing."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from conftest import Built

from qa.errors import StorageError
from qa.service import QAService
from qa.settings import Settings

pytestmark = pytest.mark.slow

NEW = (
    b"Interviewer:\nWhere do the bacteria live?\n\n"
    b"Dr. Rivera:\nInside salt crystals in the Atacama desert.\n"
)


def _service(seeded: Built, tmp_path: Path) -> QAService:
    source, index = tmp_path / "src", tmp_path / "index"
    shutil.copytree(seeded.source, source)
    shutil.copytree(seeded.index, index)
    svc = QAService(Settings(source_dir=source, index_dir=index), update_process=True)
    svc.load()
    return svc


def _wait_dead(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def test_an_upload_indexed_by_the_child_is_served_by_the_parent(
    seeded: Built, tmp_path: Path
) -> None:
    svc = _service(seeded, tmp_path)
    try:
        doc_id, report = svc.add_document("bacteria.txt", NEW)
        assert report.doc_ids.added == (doc_id,)
        pid = svc.indexing_pid
        assert pid is not None and pid != os.getpid()
        assert os.getpriority(os.PRIO_PROCESS, pid) > os.getpriority(os.PRIO_PROCESS, 0)
        answer = svc.ask("Where do the bacteria live?")
        assert any(q.doc_id == doc_id and "salt crystals" in q.text for q in answer.quotes)
        removed = svc.delete_document(doc_id)
        assert removed.doc_ids.removed == (doc_id,)
        assert doc_id not in svc.index.documents
    finally:
        svc.close()


def test_the_child_is_lowered_from_its_first_instruction(seeded: Built, tmp_path: Path) -> None:
    # load() spawns the child; its interpreter start and imports take far longer than this
    # check, so the priority seen here is the one the parent set at spawn.
    svc = _service(seeded, tmp_path)
    try:
        pid = svc.indexing_pid
        assert pid is not None
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        want = min(19, mine + svc.settings.indexing.nice)
        assert os.getpriority(os.PRIO_PROCESS, pid) == want
        assert want > mine or mine == 19
    finally:
        svc.close()


def test_a_dead_child_fails_only_that_update_and_changes_nothing(
    seeded: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = _service(seeded, tmp_path)
    try:
        svc.add_document("first.txt", NEW)  # the child is up and warm
        pid = svc.indexing_pid
        assert pid is not None
        # Killed while idle: the next write never reached it and goes to a new child.
        os.kill(pid, signal.SIGKILL)
        _wait_dead(pid)
        doc_id, report = svc.add_document("fourth.txt", NEW.replace(b"salt", b"sand"))
        assert report.doc_ids.added == (doc_id,)
        assert svc.indexing_pid not in (None, pid)
        version = svc.index.version
        # Killed in the middle of the write (the file stored, its vectors not yet computed).
        monkeypatch.setenv("QA_PAUSE_AT", "embedding")  # read by the next child:
        idle = svc.indexing_pid
        assert idle is not None
        os.kill(idle, signal.SIGKILL)  # (idle: the write below starts it)
        _wait_dead(idle)
        failed: list[BaseException] = []

        def upload() -> None:
            try:
                svc.add_document("third.txt", NEW.replace(b"salt", b"glass"))
            except StorageError as exc:
                failed.append(exc)

        writer = threading.Thread(target=upload)
        writer.start()
        deadline = time.monotonic() + 120
        while not (svc.settings.source_dir / "third.txt").exists():
            assert time.monotonic() < deadline and writer.is_alive()
            time.sleep(0.05)
        time.sleep(0.5)  # at the pause point: written, locked, not yet embedded
        pid = svc.indexing_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        writer.join(timeout=60)
        assert failed and "nothing was changed" in str(failed[0])
        assert not (svc.settings.source_dir / "third.txt").exists()
        assert svc.store.current() == version
        monkeypatch.delenv("QA_PAUSE_AT")
        # The next write starts a new child and works.
        doc_id, report = svc.add_document("second.txt", NEW.replace(b"salt", b"rock"))
        assert report.doc_ids.added == (doc_id,)
        assert svc.indexing_pid not in (None, pid)
    finally:
        svc.close()
