"""One bad file never stops the others: skipped and reported, the rest indexed (fake model)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from fakes import HashEmbedder
from fastapi.testclient import TestClient

from qa.api import create_app
from qa.errors import IngestError
from qa.models import Filters, dump
from qa.segments import join
from qa.service import QAService
from qa.settings import Settings
from tests import transcript_files as tf

KEY = "k"


def service(tmp_path: Path, **kw: object) -> QAService:
    return QAService(
        Settings(source_dir=tmp_path / "src", index_dir=tmp_path / "index", **kw),  # type: ignore[arg-type]
        embedder=HashEmbedder(),
    )


@pytest.fixture
def mixed(tmp_path: Path) -> QAService:
    tf.write_all(tmp_path / "src")
    (tmp_path / "src" / "photo.png").write_bytes(b"\x89PNG....")
    return service(tmp_path, api_key=KEY)


def test_bad_files_are_skipped_with_their_reason_and_the_rest_is_indexed(mixed: QAService) -> None:
    report = mixed.build()
    good = {e.name for e in tf.EXPECT}
    assert set(report.doc_ids.added) == good
    reasons = {f.doc_id: f.reason for f in report.skipped}
    assert reasons.keys() == {*tf.BROKEN, "photo.png"}
    assert "not valid UTF-8" in reasons["binary.txt"]
    assert "not a JSON list of turns" in reasons["broken.json"]
    assert "unsupported file type" in reasons["photo.png"]
    assert any(p.startswith("broken.json: skipped: ") for p in report.problems)
    assert dump(report)["skipped"][0] == {
        "doc_id": "binary.txt",
        "reason": reasons["binary.txt"],
    }

    # Every good file answers, with its speaker, its time and exact slices of its canonical text.
    for e in tf.EXPECT:
        hits = mixed.search(e.sentence, k=3, filters=Filters.of(docs=[e.name]))
        assert hits, e.name
        text = mixed.document_text(e.name)
        for h in hits:
            assert join(text, h.segments) == h.text
        # The fake embedder ranks loosely: the chunk holding the sentence is among the top 3.
        best = next(h for h in hits if e.sentence.split(",")[0] in h.text)
        assert best.speaker == e.speaker, e.name
        if e.time is not None:
            assert best.time_start == pytest.approx(e.time), e.name
        if e.page is not None:
            assert best.page == e.page

    # Status and /documents list the skipped files; they are not "pending" changes.
    info = mixed.index_info()
    assert not info.stale, info.pending
    assert {s.doc_id for s in info.skipped} == {*tf.BROKEN, "photo.png"}
    docs = {d.doc_id: d for d in mixed.documents()}
    assert docs["broken.json"].status == "skipped" and docs["broken.json"].reason
    assert docs["otter.txt"].status == "indexed"


def test_an_unchanged_bad_file_is_not_read_again_and_a_fixed_one_is_indexed(
    mixed: QAService,
) -> None:
    first = mixed.build()
    again = mixed.update()
    assert not again.written and again.skipped == first.skipped
    assert again.problems  # still reported
    (mixed.settings.source_dir / "broken.json").write_text(
        '[{"speaker": "A", "text": "Fixed now."}]', encoding="utf-8"
    )
    fixed = mixed.update()
    assert fixed.doc_ids.added == ("broken.json",)
    assert "broken.json" not in {f.doc_id for f in fixed.skipped}


def test_a_good_file_that_breaks_leaves_the_index(mixed: QAService) -> None:
    mixed.build()
    (mixed.settings.source_dir / "zoom.vtt").write_bytes(b"\xff\xfe garbage")
    report = mixed.update()
    assert "zoom.vtt" in report.doc_ids.removed
    assert "zoom.vtt" in {f.doc_id for f in report.skipped}
    assert "zoom.vtt" not in mixed.index.documents


def test_strict_fails_before_writing_anything(mixed: QAService) -> None:
    with pytest.raises(IngestError, match=r"--strict: binary\.txt: skipped"):
        mixed.build(strict=True)
    assert mixed.store.current() is None


def test_document_text_route_and_documents_listing(mixed: QAService) -> None:
    mixed.build()
    with TestClient(create_app(service=mixed)) as c:
        r = c.get("/documents/hearing.pdf/text")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert r.text == mixed.document_text("hearing.pdf") and tf.PDF_HEADER in r.text
        r = c.get("/documents/otter.txt/text")
        assert r.text == (mixed.settings.source_dir / "otter.txt").read_text(encoding="utf-8")
        assert c.get("/documents/nope.txt/text").status_code == 404
        assert c.get("/documents/broken.json/text").status_code == 404
        listed = {d["doc_id"]: d for d in c.get("/documents").json()}
        assert listed["binary.txt"]["status"] == "skipped"
        assert "not valid UTF-8" in listed["binary.txt"]["reason"]
        body = c.post("/index/update", headers={"Authorization": f"Bearer {KEY}"}).json()
        assert any(p.startswith("binary.txt: skipped") for p in body["problems"])


def test_uploads_of_word_and_pdf_with_their_limits(mixed: QAService, tmp_path: Path) -> None:
    mixed.build()
    auth = {"Authorization": f"Bearer {KEY}"}
    with TestClient(create_app(service=mixed), headers=auth) as c:
        data = tf.pdf_file(tmp_path / "p.pdf", first=1).read_bytes()
        r = c.post("/documents", files={"file": ("second.pdf", data, "application/pdf")})
        assert r.status_code == 201, r.text
        data = tf.docx_bytes(tmp_path / "w.docx").read_bytes()
        r = c.post("/documents", files={"file": ("notes.docx", data, "application/octet-stream")})
        assert r.status_code == 201, r.text
        assert "Cocoa" in c.get("/documents/notes.docx/text").text

        before = sorted(p.name for p in mixed.settings.source_dir.iterdir())
        bomb = io.BytesIO()
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("word/document.xml", b"<" * (80 * 1024 * 1024))
        r = c.post("/documents", files={"file": ("bomb.docx", bomb.getvalue(), "x/y")})
        assert r.status_code == 413 and "uncompressed" in r.json()["detail"]
        r = c.post("/documents", files={"file": ("fake.docx", b"not a zip", "x/y")})
        assert r.status_code == 400 and "not a zip" in r.json()["detail"]
        r = c.post(
            "/documents",
            files={"file": ("scan.pdf", tf.blank_pdf(tmp_path / "s.pdf").read_bytes(), "x/y")},
        )
        assert r.status_code == 400 and "no text layer" in r.json()["detail"]
        assert sorted(p.name for p in mixed.settings.source_dir.iterdir()) == before


def test_json_nested_thousands_deep_is_skipped_not_a_crash(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    deep = "[" * 100_000 + "]" * 100_000
    (src / "deep.json").write_text(deep, encoding="utf-8")
    (src / "wrapped.json").write_text('{"segments": ' + deep + "}", encoding="utf-8")
    (src / "good.txt").write_text("Ann: The lamp is green.\nBob: Fine.\n", encoding="utf-8")
    (src / "good.meta.json").write_text(deep, encoding="utf-8")
    (src / "zebra.txt").write_text("Ann: The zebra is teal.\nBob: Fine.\n", encoding="utf-8")
    svc = service(tmp_path, api_key=KEY)
    report = svc.build()
    assert set(report.doc_ids.added) == {"zebra.txt"}
    reasons = {f.doc_id: f.reason for f in report.skipped}
    assert "nested too deeply" in reasons["deep.json"]
    assert "nested too deeply" in reasons["wrapped.json"]
    assert "not valid JSON" in reasons["good.txt"]  # its sidecar
    auth = {"Authorization": f"Bearer {KEY}"}
    with TestClient(create_app(service=svc), headers=auth) as c:
        r = c.post("/documents", files={"file": ("up.json", deep.encode(), "application/json")})
        assert r.status_code == 400 and "nested too deeply" in r.json()["detail"]
        r = c.post("/documents", files={"file": ("ok.txt", b"Ann: Hi there.\n", "text/plain")})
        assert r.status_code == 201, r.text


def test_a_file_changed_since_indexing_is_not_served_as_the_indexed_text(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "zebra.txt").write_bytes(b"Ann: The zebra is teal.\r\nBob: Fine.\r\n")
    svc = service(tmp_path)
    svc.build()
    with TestClient(create_app(service=svc)) as c:
        assert c.get("/documents/zebra.txt/text").text.startswith("Ann: The zebra")
        (src / "zebra.txt").write_text("A new first line.\nAnn: The zebra is teal.\nBob: Fine.\n")
        r = c.get("/documents/zebra.txt/text")
        assert r.status_code == 409 and "changed since it was indexed" in r.json()["detail"]
        reader = c.get("/transcripts/zebra.txt?start=5&end=23")
        assert reader.status_code == 409 and "changed since it was indexed" in reader.text
        svc.update()
        assert c.get("/documents/zebra.txt/text").text.startswith("A new first line")


def test_a_broken_multipart_upload_is_named_as_such(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("Ann: Hi.\n", encoding="utf-8")
    svc = service(tmp_path, api_key=KEY)
    svc.build()
    auth = {"Authorization": f"Bearer {KEY}"}
    with TestClient(create_app(service=svc), headers=auth) as c:
        r = c.post(
            "/documents",
            content=b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a\rb.txt"\r\n\r\nhi',
            headers={"content-type": "multipart/form-data; boundary=xyz"},
        )
        assert r.status_code in (400, 422), r.text
        assert "JSON" not in r.json()["detail"]
