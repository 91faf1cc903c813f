"""Incremental updates, the embedding cache, the lock, crash leftovers and reload (fast: fake model)."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import Built
from fakes import HashEmbedder

from qa.errors import IndexBusy, IngestError
from qa.ingest import list_sources, read_transcript
from qa.segments import join
from qa.service import QAService
from qa.settings import ChunkingSettings, Settings
from qa.sparse import tokenize
from qa.store.lock import IndexLock
from qa.update import chunk_document

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
A, B = "000_c8b093dbc246d9b3.txt", "003_aef95c100974d035.txt"
NEW = """Interviewer:
What did the expedition find in the Atacama desert?

Dr. Rivera:
We found extremophile bacteria living inside salt crystals. Nobody on the team expected that.
The colony survives on the moisture the salt pulls out of the air at night.
"""


class CountingEmbedder(HashEmbedder):
    """Remembers every text sent to the model."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.seen.extend(texts)
        return super().embed_batch(texts)


@pytest.fixture
def service(tmp_path: Path) -> QAService:
    shutil.copytree(SEEDS, tmp_path / "src")
    return QAService(
        Settings(source_dir=tmp_path / "src", index_dir=tmp_path / "index", reload_interval=-1),
        embedder=CountingEmbedder(),
    )


def counting(service: QAService) -> CountingEmbedder:
    emb = service.embedder
    assert isinstance(emb, CountingEmbedder)
    emb.seen.clear()
    return emb


def chunk_texts(service: QAService, doc_id: str) -> set[str]:
    text = (service.settings.source_dir / doc_id).read_text(encoding="utf-8")
    return {c.text for c in chunk_document(doc_id, text, service.settings.chunking).chunks}


def assert_consistent(service: QAService) -> None:
    """Every id in range, FAISS holds exactly the live chunks, the manifest agrees."""
    data = service.index
    n = len(data.chunks)
    assert [c.id for c in data.chunks] == list(range(n))
    assert len(data.chunk_store) == n and len(data.question_store) == len(data.question_chunks)
    assert len(data.sentences) == len(data.sentence_texts) == len(data.sentence_vectors)
    assert len(data.context_vectors) == len(data.sentences)
    assert {c.doc_id for c in data.chunks} == set(data.documents)
    for doc_id, meta in data.documents.items():
        assert meta.chunks == sum(c.doc_id == doc_id for c in data.chunks)
    source = service.settings.source_dir
    for s, text in zip(data.sentences, data.sentence_texts, strict=True):
        chunk = data.chunks[s.chunk_id]
        assert (source / chunk.doc_id).read_text(encoding="utf-8")[s.start : s.end] == text
    for ids in data.question_chunks:
        assert len({data.chunks[i].doc_id for i in ids}) == 1


def test_add_change_delete_embed_only_new_text(service: QAService) -> None:
    src = service.settings.source_dir
    first = service.build()
    assert first.doc_ids.added == (A, B) and first.chunks_embedded == first.chunks > 0

    emb = counting(service)
    (src / "new.txt").write_text(NEW, encoding="utf-8")
    added = service.update()
    new_chunks = chunk_texts(service, "new.txt")
    assert (added.doc_ids.added, added.doc_ids.changed, added.doc_ids.removed, added.unchanged) == (
        ("new.txt",),
        (),
        (),
        2,
    )
    assert added.chunks_embedded == len(new_chunks) and added.written
    assert added.chunks == first.chunks + len(new_chunks)
    # The model saw this document's texts and nothing else.
    assert set(emb.seen) == set(chunk_document("new.txt", NEW, service.settings.chunking).texts())
    assert_consistent(service)

    # Change one document: only its new text goes through the model.
    before = chunk_texts(service, B)
    with (src / B).open("a", encoding="utf-8") as f:
        f.write(
            "\n\nRon Baron:\nWhat comes after Mars?\n\nElon Musk:\nThe moons of Jupiter, eventually.\n"
        )
    emb = counting(service)
    changed = service.update()
    assert (changed.doc_ids.added, changed.doc_ids.changed, changed.doc_ids.removed) == (
        (),
        (B,),
        (),
    )
    assert changed.chunks_embedded == len(chunk_texts(service, B) - before) == 2
    assert not set(emb.seen) & before  # unchanged chunks of the changed document: from the cache
    assert_consistent(service)

    # Delete one: nothing embedded, its chunks and vectors are gone from FAISS.
    gone = service.index.documents[A].chunks
    total = len(service.index.chunks)
    emb = counting(service)
    (src / A).unlink()
    removed = service.update()
    assert (removed.doc_ids.removed, removed.chunks_embedded, emb.seen) == ((A,), 0, [])
    assert len(service.index.chunk_store) == total - gone == removed.chunks
    assert all(c.doc_id != A for c in service.index.chunks)
    assert_consistent(service)

    # Putting it back is free: every vector comes from the embedding cache.
    shutil.copy(SEEDS / A, src / A)
    emb = counting(service)
    back = service.update()
    assert back.doc_ids.added == (A,) and back.chunks_embedded == 0 and emb.seen == []
    assert_consistent(service)


def test_incremental_index_equals_a_full_build(service: QAService, tmp_path: Path) -> None:
    src = service.settings.source_dir
    service.build()
    (src / "new.txt").write_text(NEW, encoding="utf-8")
    (src / A).unlink()
    service.update()
    fresh = QAService(
        Settings(source_dir=src, index_dir=tmp_path / "fresh", reload_interval=-1),
        embedder=HashEmbedder(),
    )
    fresh.build()
    a, b = service.index, fresh.index
    assert a.chunks == b.chunks and a.sentences == b.sentences
    assert a.sentence_texts == b.sentence_texts and a.question_chunks == b.question_chunks
    np.testing.assert_allclose(a.sentence_vectors, b.sentence_vectors, atol=1e-6)
    np.testing.assert_allclose(a.context_vectors, b.context_vectors, atol=1e-6)
    # The vector stores hold the same vectors under the same ids: every probe ranks alike.
    probe = np.random.default_rng(0).standard_normal((8, a.sentence_vectors.shape[1]))
    for store in ("chunk_store", "question_store"):
        sa, ia = getattr(a, store).search(probe, 10_000)
        sb, ib = getattr(b, store).search(probe, 10_000)
        assert ia.shape[1] == len(getattr(a, store)) and (ia == ib).all()
        np.testing.assert_allclose(sa, sb, atol=1e-5)
    assert a.documents == b.documents
    for query in ("salt bacteria", "moons of Jupiter after Mars", "rocket engines factory"):
        np.testing.assert_allclose(a.sparse.scores(query), b.sparse.scores(query), rtol=1e-6)


def test_nothing_changed_writes_nothing(service: QAService) -> None:
    first = service.build()
    again = service.update()
    assert not again.written and again.version == first.version
    assert (again.doc_ids.added, again.doc_ids.changed, again.doc_ids.removed, again.unchanged) == (
        (),
        (),
        (),
        2,
    )
    # A fresh process (no index in memory) agrees.
    other = QAService(service.settings, embedder=HashEmbedder())
    assert not other.update().written


def test_update_without_an_index_builds_one(service: QAService) -> None:
    report = service.update()
    assert report.written and report.doc_ids.added == (A, B)
    assert_consistent(service)


def test_another_model_or_chunking_rebuilds(service: QAService) -> None:
    first = service.build()
    other = QAService(
        service.settings.with_overrides(chunking={"size": 300}), embedder=HashEmbedder()
    )
    report = other.update()
    assert report.doc_ids.added == (A, B) and report.chunks > first.chunks
    assert other.index.manifest.chunking["size"] == 300


def test_crash_leftovers_are_cleaned_up(service: QAService) -> None:
    service.build()
    idx = service.settings.index_dir
    live = (idx / "CURRENT").read_text()
    (idx / "versions" / ".tmp-000009-x").mkdir()
    (idx / "versions" / "999999-never-live").mkdir()  # renamed, CURRENT never switched
    (idx / ".CURRENT.abcdef").write_text("999999-never-live")
    (service.settings.source_dir / ".upload-deadbeef").write_text("half")
    assert service.store.current() == live
    (service.settings.source_dir / "new.txt").write_text(NEW, encoding="utf-8")
    report = service.update()
    left = sorted(p.name for p in (idx / "versions").iterdir())
    assert left == sorted([live, report.version])
    assert not list(idx.glob(".CURRENT.*"))
    assert not list(service.settings.source_dir.glob(".upload-*"))


def test_two_updaters_are_serialized(service: QAService, tmp_path: Path) -> None:
    service.build()
    src = service.settings.source_dir
    for i in range(4):
        (src / f"new{i}.txt").write_text(NEW.replace("Atacama", f"Atacama {i}"), encoding="utf-8")
    others = [QAService(service.settings, embedder=HashEmbedder()) for _ in range(3)]
    errors: list[BaseException] = []

    def run(s: QAService) -> None:
        try:
            s.update()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    final = QAService(service.settings, embedder=HashEmbedder())
    assert len(final.load().documents) == 6 and not final.update().written
    assert_consistent(final)


def test_a_held_lock_times_out_clearly(service: QAService) -> None:
    service.build()
    impatient = QAService(
        service.settings.model_copy(update={"lock_timeout": 0.2}), embedder=HashEmbedder()
    )
    with IndexLock(service.settings.index_dir), pytest.raises(IndexBusy, match="another process"):
        impatient.update()


def test_a_reader_picks_up_another_writers_version(service: QAService) -> None:
    service.build()
    reader = QAService(
        service.settings.model_copy(update={"reload_interval": 0.0}), embedder=HashEmbedder()
    )
    old = reader.index
    (service.settings.source_dir / "new.txt").write_text(NEW, encoding="utf-8")
    new_version = service.update().version
    deadline = time.monotonic() + 10
    while reader.index.version != new_version and time.monotonic() < deadline:
        time.sleep(0.05)
    assert reader.index.version == new_version and "new.txt" in reader.index.documents
    assert old.version != new_version and "new.txt" not in old.documents  # never mutated


def test_status_reports_size_and_staleness(service: QAService) -> None:
    service.build()
    info = service.index_info()
    assert info.documents == 2 and info.size_bytes > 0 and info.cache_bytes > 0
    assert not info.stale and info.last_update
    (service.settings.source_dir / "new.txt").write_text(NEW, encoding="utf-8")
    info = service.index_info()
    assert info.stale and info.pending["added"] == ["new.txt"]


def test_serving_after_an_update_names_the_files_it_skipped(
    service: QAService, caplog: pytest.LogCaptureFixture
) -> None:
    """`qa serve --build` printed that it was updating and then nothing of the files the update
    skipped; the server's watcher logged nothing of them either."""
    from qa.watch import watch

    (service.settings.source_dir / "broken.txt").write_bytes(b"Ann: caf\xe9\n")
    said: list[str] = []
    assert service.check_index(update=True, notify=said.append)
    assert said[-1] == (
        "warning: broken.txt: skipped: not valid UTF-8 (byte offset 8: invalid continuation byte)"
    )
    stop = threading.Event()
    stop.set()  # one update, then return
    with caplog.at_level("WARNING", logger="qa"):
        watch(service, stop)
    assert "qa: broken.txt: skipped: not valid UTF-8" in caplog.text


def test_watch_refuses_a_source_folder_that_does_not_exist(service: QAService) -> None:
    """`QA_SOURCE_DIR=/data/transcirpts qa index watch` made that folder, empty, and updated the
    index from it: every document removed from the live version."""
    from qa.watch import watch

    service.build()
    before = service.index.version
    typo = service.settings.source_dir.with_name("scr")
    watcher = QAService(service.settings.model_copy(update={"source_dir": typo}))
    stop = threading.Event()
    stop.set()
    with pytest.raises(IngestError, match=r"^source folder not found: .*scr$"):
        watch(watcher, stop)
    assert not typo.exists()
    assert watcher.store.current() == before


def test_an_update_from_a_folder_with_no_transcripts_left_changes_nothing(
    service: QAService,
) -> None:
    """An unmounted share looks like an emptied folder: updating from it removed every document.
    It is refused; building afresh, or deleting the documents one by one, still empties it."""
    service.build()
    before = service.store.current()
    docs = sorted(service.store.manifest().documents)
    src = service.settings.source_dir
    held = src.with_name("held")
    src.rename(held)
    src.mkdir()
    with pytest.raises(IngestError, match=rf"would remove every indexed document \({len(docs)};"):
        service.update()
    assert service.store.current() == before
    shutil.rmtree(src)
    held.rename(src)
    for doc_id in docs:  # the last delete empties the index: asked for, one by one
        service.delete_document(doc_id)
    assert service.store.manifest().documents == {}


def test_watch_updates_on_changes(service: QAService) -> None:
    from qa.watch import watch

    service.build()
    service = QAService(
        service.settings.model_copy(update={"watch_debounce_ms": 100}), embedder=HashEmbedder()
    )
    src = service.settings.source_dir
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(service, stop), daemon=True)
    thread.start()
    try:

        def wait_for(cond: object) -> bool:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if callable(cond) and cond():
                    return True
                time.sleep(0.05)
            return False

        (src / "new.txt").write_text(NEW, encoding="utf-8")
        assert wait_for(lambda: "new.txt" in service.index.documents)
        (src / A).unlink()
        assert wait_for(lambda: A not in service.index.documents)
        (src / ".hidden.txt").write_text(NEW, encoding="utf-8")  # ignored, as by list_sources
        time.sleep(0.5)
        assert ".hidden.txt" not in service.index.documents
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_renumbering_keeps_every_field() -> None:
    from dataclasses import fields

    from qa.models import Chunk, Sentence
    from qa.store.segment import chunk_at, sentence_in

    c = Chunk(
        1, "d.srt", "Ann", 5, 9, 2, 3, "a b", 0, "q?", "ANN", ((5, 6), (8, 9)),
        ((1.0, 2.0), (2.0, 3.0)), "T", "2024-01-02",
    )  # fmt: skip
    moved = chunk_at(c, 7)
    assert moved.id == 7
    assert all(
        getattr(moved, f.name) == getattr(c, f.name) for f in fields(Chunk) if f.name != "id"
    )
    s = Sentence(5, 9, 1, 2, 3, ((5, 6), (8, 9)), ((1.0, 2.0), (2.0, 3.0)))
    s2 = sentence_in(s, 7)
    assert s2.chunk_id == 7
    assert all(
        getattr(s2, f.name) == getattr(s, f.name) for f in fields(Sentence) if f.name != "chunk_id"
    )


def test_editing_a_sidecar_marks_the_document_changed(service: QAService) -> None:
    src = service.settings.source_dir
    service.build()
    sidecar = src / (Path(A).stem + ".meta.json")
    sidecar.write_text('{"title": "Penn on Musk", "date": "2025-01-02"}', encoding="utf-8")
    assert service.pending_changes()["changed"] == [A]
    report = service.update()
    assert report.doc_ids.changed == (A,) and report.chunks_embedded == 0  # text unchanged
    chunks = [c for c in service.index.chunks if c.doc_id == A]
    assert {(c.title, c.date) for c in chunks} == {("Penn on Musk", "2025-01-02")}
    assert not any(service.pending_changes().values())
    sidecar.write_text('{"title": "Penn, again"}', encoding="utf-8")
    assert service.update().doc_ids.changed == (A,)
    sidecar.unlink()
    assert service.update().doc_ids.changed == (A,)
    assert {c.title for c in service.index.chunks if c.doc_id == A} != {"Penn, again"}


def test_a_failed_update_after_an_upload_leaves_the_folder_as_it_was(
    service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.errors import StorageError

    service.build()
    src = service.settings.source_dir
    before = (src / A).read_bytes()

    def fail(*_: object, **__: object) -> None:
        raise StorageError("disk full")

    monkeypatch.setattr(service.indexer, "update_locked", fail)
    with pytest.raises(StorageError):
        service.add_document("fresh.txt", NEW.encode())
    with pytest.raises(StorageError):
        service.add_document(A, NEW.encode())
    with pytest.raises(StorageError):
        service.delete_document(B)
    assert not (src / "fresh.txt").exists() and (src / A).read_bytes() == before
    assert (src / B).is_file()


def test_notes_and_sidecars_are_not_writable_through_the_facade(service: QAService) -> None:
    from qa.errors import BadUpload, NotFound

    src = service.settings.source_dir
    (src / "SOURCE.md").write_text("notes\n", encoding="utf-8")
    service.build()
    for name in ("SOURCE.md", "README.txt", "LICENSE.md", Path(A).stem + ".meta.json"):
        with pytest.raises(BadUpload):
            service.add_document(name, NEW.encode())
        with pytest.raises(NotFound):
            service.delete_document(name)
    assert (src / "SOURCE.md").read_text(encoding="utf-8") == "notes\n"
    assert not (src / "README.txt").exists()


# -- one long turn: indexing cost grows with the text, not with its square ------------------------

_WORDS = [
    *("robots", "factory", "battery", "rocket", "launch", "orbit", "engine", "production"),
    *("vehicle", "software", "neural", "network", "patients", "implant", "autonomy", "safety"),
    *("driving", "energy", "solar", "grid", "storage", "cost", "price", "market", "year"),
    *("month", "tenfold", "thousands", "million", "billion", "Mars", "Starship", "Optimus"),
]


def long_turn(n_bytes: int, seed: int = 0) -> str:
    """`Alice: ` and one paragraph of varied sentences, about `n_bytes` long: a monologue."""
    rng = random.Random(seed)
    parts, size = [], 0
    while size < n_bytes:
        s = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 24))).capitalize() + "."
        parts.append(s)
        size += len(s) + 1
    return "Alice: " + " ".join(parts) + "\n"


def test_bm25_tokens_of_a_long_turn_are_a_window_around_each_chunk() -> None:
    chunking = ChunkingSettings(size=600, overlap=120)
    small = chunk_document("a.txt", long_turn(40_000), chunking)
    large = chunk_document("a.txt", long_turn(160_000), chunking)
    assert max(len(t) for t in large.bm25) <= chunking.bm25_window
    # Linear: four times the text, about four times the tokens (the square would be sixteen).
    ratio = sum(map(len, large.bm25)) / sum(map(len, small.bm25))
    assert 3 < ratio < 6
    # Each window holds its own chunk's words.
    for chunk, tokens in zip(large.chunks, large.bm25, strict=True):
        assert set(tokenize(chunk.text)) <= set(tokens)


def test_bm25_tokens_of_ordinary_turns_are_the_whole_turn(hashed: Built) -> None:
    chunking = hashed.service.settings.chunking
    for path in list_sources(hashed.source):
        doc = read_transcript(path, hashed.source)
        done = chunk_document(doc.doc_id, doc.text, chunking, doc)
        for chunk, tokens in zip(done.chunks, done.bm25, strict=True):
            turn = join(doc.text, doc.turns[chunk.turn_index].segments)
            assert tokens == tokenize(f"{chunk.question or ''} {turn}")


def test_segment_bytes_grow_linearly_with_one_long_turn(tmp_path: Path) -> None:
    sizes = {}
    for n in (32_000, 128_000):
        source = tmp_path / f"src{n}"
        source.mkdir()
        (source / "lecture.txt").write_text(long_turn(n), encoding="utf-8")
        index = tmp_path / f"index{n}"
        QAService(Settings(source_dir=source, index_dir=index), HashEmbedder()).build()
        sizes[n] = sum(p.stat().st_size for p in (index / "segments").glob("*.seg"))
    assert sizes[128_000] / sizes[32_000] < 6  # four times the text; the square would be sixteen


_BUILD_CHILD = """
import sys
from pathlib import Path
import numpy as np
from qa.embed import Embedder
from qa.service import QAService
from qa.settings import Settings

class Cheap(Embedder):
    # One-hot vectors by a text's hash: costs nothing, so the child measures everything else.
    name, dim, backend = "cheap", 16, "cheap"

    def embed_batch(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        out[np.arange(len(texts)), [hash(t) % self.dim for t in texts]] = 1.0
        return out

src, index = Path(sys.argv[1]), Path(sys.argv[2])
QAService(Settings(source_dir=src, index_dir=index), embedder=Cheap()).build()
# This process image's own peak (VmHWM starts afresh at exec; ru_maxrss would carry the forked
# parent's, the whole test session's, over).
print(next(x.split()[1] for x in open("/proc/self/status") if x.startswith("VmHWM:")))
"""
# About twice what the fixed build takes, far below what the quadratic one did (docs/reliability.md).
LONG_TURN_RSS_CEILING_MB = 1024


@pytest.mark.slow
def test_indexing_a_2mb_single_turn_stays_under_a_memory_ceiling(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "lecture.txt").write_text(long_turn(2 * 2**20), encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-c", _BUILD_CHILD, str(source), str(tmp_path / "index")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    killed = False
    while child.poll() is None:
        # Killed at the ceiling rather than waited for: a quadratic build would take the machine.
        rss_kb = 0
        with contextlib.suppress(OSError), open(f"/proc/{child.pid}/status") as f:
            rss_kb = next((int(x.split()[1]) for x in f if x.startswith("VmRSS:")), 0)
        if rss_kb > LONG_TURN_RSS_CEILING_MB * 1024:
            os.kill(child.pid, signal.SIGKILL)
            killed = True
        time.sleep(0.05)
    assert not killed, f"killed at the {LONG_TURN_RSS_CEILING_MB} MB ceiling"
    out = child.stdout.read() if child.stdout else ""
    assert child.returncode == 0
    peak_mb = int(out.split()[-1]) / 1024
    assert peak_mb < LONG_TURN_RSS_CEILING_MB, f"peak RSS {peak_mb:.0f} MB"


def test_an_indexed_file_that_cannot_be_read_for_now_keeps_its_entry(
    service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa.ingest

    service.build()
    real = qa.ingest._read_bytes

    def flaky(path: Path) -> bytes:
        if path.name == A:
            try:
                raise PermissionError(13, "Permission denied")
            except OSError as exc:
                raise qa.errors.IngestError(f"{path}: cannot read (denied)") from exc
        return real(path)

    monkeypatch.setattr(qa.ingest, "_read_bytes", flaky)
    report = service.update()
    assert A in service.index.documents and not report.doc_ids.removed
    assert any(p.startswith(f"{A}: kept from the previous version") for p in report.problems)


def test_an_index_written_before_the_bm25_window_is_not_stale(service: QAService) -> None:
    import json

    service.build()
    root = service.settings.index_dir
    path = root / "versions" / (root / "CURRENT").read_text().strip() / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["chunking"]["bm25_window"]
    manifest["format"] = 3  # what the previous release wrote
    path.write_text(json.dumps(manifest))
    fresh = QAService(service.settings, embedder=HashEmbedder())
    assert not any(fresh.pending_changes().values())
    assert not fresh.update().written and fresh.load().chunks


def test_a_failure_after_the_switch_does_not_undo_the_upload(
    service: QAService, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qa.errors import StorageError

    service.build()

    def broken(*_: object, **__: object) -> None:
        raise StorageError("disk full while pruning")

    monkeypatch.setattr(service.indexer, "_maybe_prune_cache", broken)
    _, report = service.add_document("late.txt", NEW.encode())
    assert report.written and (service.settings.source_dir / "late.txt").is_file()
    assert not any(service.pending_changes().values())
