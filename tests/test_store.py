"""Index build/save/load with a fake embedder (fast, logic only), and the manifest's refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fakes import HashEmbedder

from qa.chunk import chunk_transcript
from qa.errors import IndexIncompatible, IndexMissing
from qa.ingest import read_transcript
from qa.models import dump
from qa.service import QAService
from qa.settings import ChunkingSettings, Settings
from qa.store.files import IndexDir

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


@pytest.fixture
def service(tmp_path: Path) -> QAService:
    shutil.copytree(SEEDS, tmp_path / "seeds")
    return QAService(
        Settings(source_dir=tmp_path / "seeds", index_dir=tmp_path / "index"),
        embedder=HashEmbedder(),
    )


@pytest.fixture(params=["files", "postgres"])
def any_service(request: pytest.FixtureRequest, tmp_path: Path) -> QAService:
    """The same behaviour from either backend (#17): the files under index/, or PostgreSQL."""
    shutil.copytree(SEEDS, tmp_path / "seeds")
    store = request.getfixturevalue("pg_url") if request.param == "postgres" else ""
    return QAService(
        Settings(source_dir=tmp_path / "seeds", index_dir=tmp_path / "index", store=store),
        embedder=HashEmbedder(),
    )


def test_chunks_stay_inside_turns_with_exact_offsets() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        doc = read_transcript(path, SEEDS)
        chunks, sentences = chunk_transcript(doc, ChunkingSettings(size=300, overlap=60))
        for c in chunks:
            turn = doc.turns[c.turn_index]
            assert turn.start <= c.start < c.end <= turn.end
            assert doc.text[c.start : c.end] == c.text and c.speaker == turn.speaker
            assert c.line_start == doc.text.count("\n", 0, c.start) + 1
        for s in sentences:
            owner = chunks[s.chunk_id]
            turn = doc.turns[owner.turn_index]
            assert turn.start <= s.start < s.end <= turn.end and owner.start <= s.start


def test_answer_chunks_carry_the_interviewers_question() -> None:
    doc = read_transcript(SEEDS / "000_c8b093dbc246d9b3.txt", SEEDS)
    chunks, _ = chunk_transcript(doc, ChunkingSettings(size=600, overlap=120))
    up = next(c for c in chunks if c.text == "Yes, it's already up and running.")
    assert up.question == "I know you are building the largest AI center on Earth."


def test_save_load_roundtrip_and_pruning(service: QAService) -> None:
    first = service.build()
    loaded = QAService(service.settings, embedder=HashEmbedder()).load()
    assert loaded.version == first.version and len(loaded.chunks) == first.chunks
    assert set(loaded.documents) == {"000_c8b093dbc246d9b3.txt", "003_aef95c100974d035.txt"}
    for _ in range(3):
        service.build()
    versions = [
        p for p in (service.settings.index_dir / "versions").iterdir() if not p.name.startswith(".")
    ]
    assert len(versions) == 2
    current = (service.settings.index_dir / "CURRENT").read_text()
    assert (service.settings.index_dir / "versions" / current / "manifest.json").is_file()


def test_another_model_is_refused(any_service: QAService) -> None:
    service = any_service
    service.build()
    other = QAService(service.settings, embedder=HashEmbedder(dim=32, name="other-model"))
    with pytest.raises(IndexIncompatible, match="rebuild it with `qa index build`"):
        other.load()


def test_unknown_format_is_refused(service: QAService) -> None:
    report = service.build()
    manifest = service.settings.index_dir / "versions" / report.version / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "format": 999}))
    with pytest.raises(IndexIncompatible, match="format 999"):
        QAService(service.settings, embedder=HashEmbedder()).load()


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexMissing):
        QAService(Settings(index_dir=tmp_path / "none"), embedder=HashEmbedder()).load()


def test_pending_changes_by_content_hash(any_service: QAService) -> None:
    service = any_service
    service.build()
    src = service.settings.source_dir
    assert not any(service.pending_changes().values())
    (src / "new.txt").write_text("Alice:\nhello\n", encoding="utf-8")
    (src / "000_c8b093dbc246d9b3.txt").unlink()
    with (src / "003_aef95c100974d035.txt").open("a", encoding="utf-8") as f:
        f.write("\nmore")
    assert service.pending_changes() == {
        "added": ["new.txt"],
        "removed": ["000_c8b093dbc246d9b3.txt"],
        "changed": ["003_aef95c100974d035.txt"],
    }


# -- more of the store's contract ------------------------------------------------------------


def test_loaded_index_equals_the_built_one(any_service: QAService) -> None:
    service = any_service
    report = service.build()
    built = service.index
    fresh = QAService(service.settings, embedder=HashEmbedder())
    loaded = fresh.load()
    assert loaded.version == report.version == built.version
    assert loaded.chunks == built.chunks and loaded.sentences == built.sentences
    assert loaded.sentence_texts == built.sentence_texts
    assert loaded.sentence_vectors.shape == built.sentence_vectors.shape
    assert np.array_equal(np.asarray(loaded.sentence_vectors), np.asarray(built.sentence_vectors))
    assert loaded.manifest == built.manifest
    question = "How many actuators does each Optimus robot have?"
    assert dump(fresh.ask(question)) == dump(service.ask(question))
    assert [dump(h) for h in fresh.search(question, k=7)] == [
        dump(h) for h in service.search(question, k=7)
    ]
    assert dump(fresh.status()) == {
        "status": "ok",
        "documents": 2,
        "chunks": report.chunks,
        "model": "hash-bow",
        "version": report.version,
        "stale": False,
        "backend": "postgresql" if service.settings.store else "files",
        "schema_version": 2 if service.settings.store else None,
    }
    assert [d.doc_id for d in fresh.documents()] == [
        "000_c8b093dbc246d9b3.txt",
        "003_aef95c100974d035.txt",
    ]


@pytest.mark.parametrize(
    "embedder",
    [HashEmbedder(dim=32), HashEmbedder(name="other-model")],
    ids=["other-dim", "other-model"],
)
def test_incompatible_index_message_names_both_sides(
    service: QAService, embedder: HashEmbedder
) -> None:
    service.build()
    with pytest.raises(IndexIncompatible) as caught:
        QAService(service.settings, embedder=embedder).load()
    message = caught.value.message
    assert "'hash-bow' (dim 64)" in message
    assert f"{embedder.name!r} (dim {embedder.dim})" in message
    assert "qa index build" in message


def test_missing_index_in_an_empty_folder_says_how_to_build(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    svc = QAService(Settings(index_dir=tmp_path / "index"), embedder=HashEmbedder())
    with pytest.raises(IndexMissing, match="qa index build"):
        svc.load()
    with pytest.raises(IndexMissing):
        svc.status()


def test_current_naming_a_vanished_version_is_missing(service: QAService) -> None:
    report = service.build()
    shutil.rmtree(service.settings.index_dir / "versions" / report.version)
    with pytest.raises(IndexMissing, match="qa index build"):
        QAService(service.settings, embedder=HashEmbedder()).load()


def test_current_names_a_complete_version_and_old_ones_are_pruned(service: QAService) -> None:
    root = service.settings.index_dir
    (root / "versions").mkdir(parents=True)
    (root / "versions" / ".tmp-crashed").mkdir()  # left over by an interrupted build
    names = [service.build().version for _ in range(3)]
    assert len(set(names)) == 3
    current = (root / "CURRENT").read_text(encoding="utf-8").strip()
    assert current == names[-1]
    on_disk = sorted(p.name for p in (root / "versions").iterdir())
    assert on_disk == sorted(names[-2:]), "the oldest version is pruned, temporaries cleaned"
    manifest = json.loads((root / "versions" / current / "manifest.json").read_text())
    assert manifest["version"] == current and manifest["model"] == "hash-bow"
    assert manifest["counts"]["chunks"] == len(
        QAService(service.settings, HashEmbedder()).load().chunks
    )
    assert not list(root.glob(".CURRENT.*"))


def test_a_damaged_segment_is_refused_not_served(service: QAService) -> None:
    from qa.errors import StorageError

    service.build()
    tmp_path = service.settings.index_dir.parent
    segments = sorted((tmp_path / "index" / "segments").glob("*.seg"))
    data = bytearray(segments[0].read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit of a vector: it still decodes, only the hash can tell
    segments[0].write_bytes(bytes(data))
    store = IndexDir(service.settings.index_dir)
    assert any("is damaged" in p for p in store.verify())  # `qa index verify`
    # A load that reads segments whole (its groups are gone: built again) refuses it. A load
    # over the groups the writer built maps them and reads vectors by offset: unchecked.
    shutil.rmtree(tmp_path / "index" / "groups")
    with pytest.raises(StorageError, match="damaged"):
        QAService(service.settings, HashEmbedder()).load()
    # A build writes the segment again; the index loads and quotes the source.
    QAService(service.settings, HashEmbedder()).build()
    assert store.verify() == []
    assert QAService(service.settings, HashEmbedder()).load().chunks


def test_a_manifest_naming_another_documents_segment_is_refused(service: QAService) -> None:
    import json

    from qa.errors import StorageError

    service.build()
    root = service.settings.index_dir
    version = (root / "CURRENT").read_text().strip()
    path = root / "versions" / version / "manifest.json"
    manifest = json.loads(path.read_text())
    a, b = sorted(manifest["documents"])
    manifest["documents"][a]["segment"] = manifest["documents"][b]["segment"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(StorageError, match="holds"):
        QAService(service.settings, HashEmbedder()).load()


def test_status_reports_damage_and_prune_then_update_repairs_it(service: QAService) -> None:
    service.build()
    seg = sorted((service.settings.index_dir / "segments").glob("*.seg"))[0]
    data = bytearray(seg.read_bytes())
    data[-1] ^= 0xFF  # one flipped bit in the cache keys: same size, wrong hash
    seg.write_bytes(bytes(data))
    assert service.index_info().problems and "damaged" in service.index_info().problems[0]
    assert service.prune().segments >= 1  # the damaged file goes
    report = QAService(service.settings, HashEmbedder()).update()
    assert report.written and report.unchanged == 2  # re-indexed from the source, not "changed"
    assert service.index_info().problems == ()
    assert QAService(service.settings, HashEmbedder()).load().chunks


def test_a_truncated_segment_is_re_indexed_by_an_update(service: QAService) -> None:
    service.build()
    seg = sorted((service.settings.index_dir / "segments").glob("*.seg"))[0]
    seg.write_bytes(seg.read_bytes()[:100])
    report = QAService(service.settings, HashEmbedder()).update()
    assert report.written
    assert QAService(service.settings, HashEmbedder()).load().chunks
