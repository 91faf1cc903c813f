"""Write endpoints: POST/DELETE /documents, POST /index/update, upload checks, the API key (fake model)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import HashEmbedder
from fastapi.testclient import TestClient

from qa.api import create_app
from qa.service import QAService
from qa.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
NEW = "Interviewer:\nWhere do the bacteria live?\n\nDr. Rivera:\nInside salt crystals.\n"


def make_client(
    tmp_path: Path, client_headers: dict[str, str] | None = None, **settings: Any
) -> Iterator[tuple[TestClient, QAService]]:
    shutil.copytree(SEEDS, tmp_path / "src")
    svc = QAService(
        Settings(source_dir=tmp_path / "src", index_dir=tmp_path / "index", **settings),
        embedder=HashEmbedder(),
    )
    svc.build()
    with TestClient(create_app(service=svc), headers=client_headers or {}) as client:
        yield client, svc


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, QAService]]:
    yield from make_client(
        tmp_path, {"Authorization": f"Bearer {KEY}"}, max_upload_bytes=4000, api_key=KEY
    )


KEY = "test-write-key"


def snapshot(svc: QAService) -> tuple[list[str], str | None]:
    files = sorted(p.name for p in svc.settings.source_dir.iterdir())
    return files, svc.store.current()


def test_upload_json_then_multipart_then_delete(client: tuple[TestClient, QAService]) -> None:
    c, svc = client
    r = c.post("/documents", json={"name": "rivera.txt", "text": NEW})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["doc_id"] == "rivera.txt" and body["update"]["added"] == 1
    assert body["update"]["chunks_embedded"] > 0
    assert (svc.settings.source_dir / "rivera.txt").read_text(encoding="utf-8") == NEW
    assert "rivera.txt" in {d["doc_id"] for d in c.get("/documents").json()}

    # The same name again replaces it: 200, "changed".
    files = {
        "file": ("rivera.txt", (NEW + "\nDr. Rivera:\nAlso in caves.\n").encode(), "text/plain")
    }
    r = c.post("/documents", files=files)
    assert r.status_code == 200 and r.json()["update"]["changed"] == 1

    r = c.delete("/documents/rivera.txt")
    assert r.status_code == 200 and r.json()["removed"] == 1
    assert not (svc.settings.source_dir / "rivera.txt").exists()
    assert "rivera.txt" not in {d["doc_id"] for d in c.get("/documents").json()}
    assert c.get("/health").json()["documents"] == 2

    r = c.delete("/documents/rivera.txt")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    # Only transcripts are deleted: not a file of another type (.rtf), nor outside the folder.
    (svc.settings.source_dir / "notes.rtf").write_text("keep me", encoding="utf-8")
    for other in ("notes.rtf", "../index/CURRENT", ".hidden.txt"):
        assert c.delete(f"/documents/{other}").status_code == 404
    assert (svc.settings.source_dir / "notes.rtf").exists()
    assert (svc.settings.index_dir / "CURRENT").exists()


@pytest.mark.parametrize(
    ("name", "data", "status", "error", "detail"),
    [
        ("../evil.txt", NEW.encode(), 400, "bad_upload", "path separators"),
        ("sub/evil.txt", NEW.encode(), 400, "bad_upload", "path separators"),
        ("a..b.txt", NEW.encode(), 400, "bad_upload", "'..'"),
        (".hidden.txt", NEW.encode(), 400, "bad_upload", "dot"),
        ("notes.rtf", NEW.encode(), 415, "unsupported_media_type", ".txt"),
        ("notes.pdf", NEW.encode(), 400, "ingest_error", "not a readable PDF"),
        ("notes.docx", NEW.encode(), 400, "ingest_error", "not a zip file"),
        ("../../etc/x.txt", NEW.encode(), 400, "bad_upload", "path separators"),
        ("bad.txt", b"Alice:\nhello \xff world\n", 400, "bad_upload", "byte offset 13"),
        ("empty.txt", b"   \n\n", 400, "ingest_error", "no transcript text"),
        ("big.txt", b"Alice:\n" + b"x" * 5000, 413, "payload_too_large", "4000 bytes"),
    ],
)
def test_refused_uploads_write_nothing(
    client: tuple[TestClient, QAService],
    name: str,
    data: bytes,
    status: int,
    error: str,
    detail: str,
) -> None:
    c, svc = client
    before = snapshot(svc)
    r = c.post("/documents", files={"file": (name, data, "text/plain")})
    assert r.status_code == status, r.text
    assert r.json()["error"] == error and detail in r.json()["detail"]
    if error != "bad_upload" or "offset" in detail:  # the JSON form, where it can carry the case
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None:
            r = c.post("/documents", json={"name": name, "text": text})
            assert r.status_code == status and r.json()["error"] == error
    assert snapshot(svc) == before


def test_upload_needs_a_body_it_understands(client: tuple[TestClient, QAService]) -> None:
    c, _ = client
    r = c.post("/documents", content=b"hello", headers={"content-type": "text/plain"})
    assert r.status_code == 400 and r.json()["error"] == "bad_upload"
    r = c.post("/documents", json={"name": "x.txt"})
    assert r.status_code == 422 and r.json()["detail"] == "invalid text"
    r = c.post("/documents", files={"other": ("x.txt", b"A:\nhi\n", "text/plain")})
    assert r.status_code == 400 and "`file`" in r.json()["detail"]


def test_oversized_request_is_refused_before_reading(client: tuple[TestClient, QAService]) -> None:
    c, svc = client
    before = snapshot(svc)
    big = "Alice:\n" + "x" * (100 * 1024)
    r = c.post("/documents", json={"name": "big.txt", "text": big})
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"
    assert snapshot(svc) == before


def test_index_update_endpoint(client: tuple[TestClient, QAService]) -> None:
    c, svc = client
    (svc.settings.source_dir / "dropped.txt").write_text(NEW, encoding="utf-8")
    r = c.post("/index/update")
    assert r.status_code == 200 and r.json()["doc_ids"]["added"] == ["dropped.txt"]
    r = c.post("/index/update")
    assert r.status_code == 200 and not r.json()["written"]


def test_write_endpoints_need_the_api_key(tmp_path: Path) -> None:
    for c, _ in make_client(tmp_path, api_key="s3cret"):
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            r = c.post("/documents", json={"name": "k.txt", "text": NEW}, headers=headers)
            assert r.status_code == 401 and r.json()["error"] == "unauthorized"
            assert c.delete("/documents/k.txt", headers=headers).status_code == 401
            assert c.post("/index/update", headers=headers).status_code == 401
        ok = {"Authorization": "Bearer s3cret"}
        assert (
            c.post("/documents", json={"name": "k.txt", "text": NEW}, headers=ok).status_code == 201
        )
        assert c.delete("/documents/k.txt", headers=ok).status_code == 200
        # Reading needs no key.
        assert c.post("/ask", json={"question": "Neuralink?"}).status_code == 200
        assert c.get("/documents").status_code == 200


def test_app_with_watch_indexes_files_dropped_into_the_source(tmp_path: Path) -> None:
    import time

    shutil.copytree(SEEDS, tmp_path / "src")
    svc = QAService(
        Settings(
            source_dir=tmp_path / "src",
            index_dir=tmp_path / "index",
            watch_debounce_ms=100,
            reload_interval=-1,
        ),
        embedder=HashEmbedder(),
    )
    svc.build()
    with TestClient(create_app(service=svc, watch=True)) as c:
        (tmp_path / "src" / "dropped.txt").write_text(NEW, encoding="utf-8")
        deadline = time.monotonic() + 20
        while "dropped.txt" not in {d["doc_id"] for d in c.get("/documents").json()}:
            assert time.monotonic() < deadline, "the watcher never indexed dropped.txt"
            time.sleep(0.1)


@pytest.mark.parametrize(
    "name", ["nul\x00.txt", "tab\tname.txt", "../../etc/x.txt", "..", "/abs.txt"]
)
def test_json_upload_names_are_checked_before_writing(
    client: tuple[TestClient, QAService], name: str
) -> None:
    c, svc = client
    before = sorted(p.name for p in svc.settings.source_dir.rglob("*"))
    r = c.post("/documents", json={"name": name, "text": NEW})
    assert r.status_code == 400 and r.json()["error"] == "bad_upload"
    assert sorted(p.name for p in svc.settings.source_dir.rglob("*")) == before
    assert not Path("/etc/x.txt").exists()


def test_write_endpoints_are_closed_without_a_configured_key(tmp_path: Path) -> None:
    for c, svc in make_client(tmp_path):
        r = c.post("/documents", json={"name": "k.txt", "text": NEW})
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
        assert c.delete("/documents/000_c8b093dbc246d9b3.txt").status_code == 403
        assert c.post("/index/update").status_code == 403
        assert not (svc.settings.source_dir / "k.txt").exists()


def test_read_endpoints_can_be_keyed(tmp_path: Path) -> None:
    for c, _ in make_client(tmp_path, read_api_key="r34d"):
        assert c.post("/ask", json={"question": "Neuralink?"}).status_code == 401
        assert c.get("/search", params={"q": "Neuralink"}).status_code == 401
        assert c.get("/documents").status_code == 401
        ok = {"Authorization": "Bearer r34d"}
        assert c.post("/ask", json={"question": "Neuralink?"}, headers=ok).status_code == 200
        assert c.get("/health").status_code == 200  # for load balancers


# -- names that break the folder, ids no file can have, paths in messages -----------------------


def test_a_name_whose_sidecar_cannot_fit_is_refused_and_later_writes_work(
    client: tuple[TestClient, QAService],
) -> None:
    c, svc = client
    before = snapshot(svc)
    for stem_bytes in (242, 246, 250, 251):  # + ".txt": 246–255 bytes
        name = "é" * (stem_bytes // 2) + "x" * (stem_bytes % 2) + ".txt"
        r = c.post("/documents", json={"name": name, "text": NEW})
        assert r.status_code == 400 and r.json()["error"] == "bad_upload", r.text
        assert "245 bytes" in r.json()["detail"]
        assert snapshot(svc) == before
    # Nothing is left behind that would break the next write.
    assert c.post("/documents", json={"name": "next.txt", "text": NEW}).status_code == 201
    assert c.delete("/documents/next.txt").status_code == 200
    assert c.post("/index/update").status_code == 200


def test_the_longest_name_allowed_round_trips(client: tuple[TestClient, QAService]) -> None:
    c, _ = client
    name = "n" * 241 + ".txt"  # 245 bytes: its sidecar name is 255
    assert c.post("/documents", json={"name": name, "text": NEW}).status_code == 201
    assert any(d["doc_id"] == name for d in c.get("/documents").json())
    assert c.delete(f"/documents/{name}").status_code == 200


def test_a_too_long_name_already_in_the_folder_does_not_stop_updates(
    client: tuple[TestClient, QAService],
) -> None:
    c, svc = client
    name = "m" * 250 + ".txt"  # put there by hand: its sidecar name would be 264 bytes
    (svc.settings.source_dir / name).write_text(NEW, encoding="utf-8")
    r = c.post("/index/update")
    assert r.status_code == 200, r.text
    assert c.post("/documents", json={"name": "after.txt", "text": NEW}).status_code == 201
    assert c.delete("/documents/after.txt").status_code == 200


def test_an_entry_that_cannot_be_looked_at_is_skipped(client: tuple[TestClient, QAService]) -> None:
    c, svc = client
    odd = svc.settings.source_dir / "unstatable.txt"
    odd.symlink_to(odd.name)  # a link to itself: looking at it fails (ELOOP)
    r = c.post("/index/update")
    assert r.status_code == 200, r.text
    assert odd.name not in {d["doc_id"] for d in c.get("/documents").json()}


@pytest.mark.parametrize("length", [300, 5000])
def test_delete_of_an_id_no_file_can_have_is_a_json_404(
    client: tuple[TestClient, QAService], length: int
) -> None:
    c, _ = client
    r = c.delete(f"/documents/{'d' * length}.txt")
    assert r.status_code == 404 and r.json()["error"] == "not_found", r.text
    assert len(r.json()["detail"]) < 200


NAMES_THAT_LIE = (
    "evil\u202etxt.md",  # right-to-left override: shows as `evildm.txt`
    "zero\u200bwidth.txt",
    "joiner\u200d.txt",
    "bom\ufeff.txt",
    "c1\x85control.txt",
    "c1\x9b.txt",
    "CON.txt",
    "nul.md",
    "COM1.srt",
    "lpt9.vtt",
    "Aux.tar.txt",
    " padded.txt",
)


def test_names_that_display_as_something_else_or_that_windows_reserves_are_refused(
    client: tuple[TestClient, QAService],
) -> None:
    c, svc = client
    before = snapshot(svc)
    for name in NAMES_THAT_LIE:
        r = c.post("/documents", json={"name": name, "text": NEW})
        assert r.status_code == 400 and r.json()["error"] == "bad_upload", (name, r.text)
        r = c.post("/documents", files={"file": (name, NEW.encode(), "text/plain")})
        assert r.status_code == 400, (name, r.text)
    assert snapshot(svc) == before


def test_write_errors_name_documents_not_server_paths(
    client: tuple[TestClient, QAService], tmp_path: Path
) -> None:
    c, svc = client
    r = c.delete("/documents/never-there.txt")
    assert r.status_code == 404
    body = r.text
    assert "never-there.txt" in body
    for folder in (tmp_path, svc.settings.source_dir, svc.settings.index_dir):
        assert str(folder) not in body and str(folder.resolve()) not in body
    # A storage failure's OSError text carries the full path: it is cut to the name too.
    (svc.settings.source_dir / "blocked.txt").mkdir()  # a folder where the file should go
    r = c.post("/documents", json={"name": "blocked.txt", "text": NEW})
    assert r.status_code >= 400 and r.headers["content-type"].startswith("application/json")
    assert str(tmp_path) not in r.text and "blocked.txt" in r.text
